#!/usr/bin/env bash
# Checks the Dockerfile, .dockerignore and config/docker.yaml without a Docker engine:
# the container config passes `ferry --check`; the runtime packages exist in Debian and
# cover every library the binary links; the image runs as non-root, exposes 3128 and has
# a health check. It does not build the image.
#
#   check_dockerfile.sh <source dir> <built ferry binary>
# Exit status: 0 ok, 1 a check failed, 77 (skip) when `ferry --check` accepts a broken
# file, i.e. the config loader cannot yet tell whether config/docker.yaml is valid.
set -uo pipefail

src=${1:?usage: check_dockerfile.sh <source dir> <ferry binary>}
binary=${2:?usage: check_dockerfile.sh <source dir> <ferry binary>}
dockerfile=$src/Dockerfile
ignore=$src/.dockerignore
config=$src/config/docker.yaml
base_image=debian:bookworm-slim
# In debian:bookworm-slim already (apt itself needs them).
base_packages=(libc6 libgcc-s1 libstdc++6)

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

for f in "$dockerfile" "$ignore" "$config"; do
  [ -f "$f" ] || { echo "FAIL: missing $f" >&2; exit 1; }
done
[ -x "$binary" ] || { echo "FAIL: no ferry binary at $binary" >&2; exit 1; }

# The Dockerfile as instructions: comments dropped, continuation lines joined.
instructions=$(sed -e '/^[[:space:]]*#/d' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' \
               | sed -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e '/^$/d')
# The final (runtime) stage: everything after the last FROM.
runtime=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' <<<"$instructions")
has() { grep -qE -e "$2" <<<"$1"; }

# --- stages -----------------------------------------------------------------------------
froms=$(grep -cE '^FROM ' <<<"$instructions")
if [ "$froms" -ge 2 ]; then ok "multi-stage ($froms stages)"; else fail "not multi-stage: $froms FROM"; fi
while read -r _ image _; do
  [ "$image" = "$base_image" ] || fail "stage not on $base_image: FROM $image"
done < <(grep -E '^FROM ' <<<"$instructions")
has "$instructions" '^RUN .*scripts/setup build' || fail "build stage does not run scripts/setup build"
has "$instructions" '^RUN .*cmake --preset release.*cmake --build --preset release' \
  || fail "build stage does not run the release preset"
has "$runtime" '^COPY --from=[^ ]+ /src/build/release/ferry /usr/local/bin/ferry$' \
  || fail "runtime stage does not copy the release binary to /usr/local/bin/ferry"

# --- runtime stage basics (what hadolint and a reviewer look for first) -------------------
user=$(grep -E '^USER ' <<<"$runtime" | tail -n1 | cut -d' ' -f2)
case "${user%%:*}" in
  "") fail "runtime stage has no USER: it would run as root" ;;
  root | 0) fail "runtime stage runs as root (USER $user)" ;;
  *) ok "runs as USER $user" ;;
esac
healthcheck=$(grep -E '^HEALTHCHECK ' <<<"$runtime" | tail -n1)
if [ -z "$healthcheck" ] || has "$healthcheck" '^HEALTHCHECK NONE'; then
  fail "runtime stage has no HEALTHCHECK"
else
  has "$healthcheck" '127\.0\.0\.1/3128' || fail "HEALTHCHECK does not probe 127.0.0.1:3128"
  has "$healthcheck" 'curl|wget' && fail "HEALTHCHECK uses a tool the image does not have"
  ok "HEALTHCHECK present"
fi
if has "$runtime" '^EXPOSE (.* )?3128(/tcp)?( |$)'; then ok "EXPOSE 3128"; else fail "no EXPOSE 3128"; fi
has "$runtime" '^VOLUME .*/var/cache/ferry' || fail "no VOLUME /var/cache/ferry"
has "$runtime" '^STOPSIGNAL SIGTERM$' || fail "STOPSIGNAL is not SIGTERM"
has "$runtime" '^ENTRYPOINT \["/usr/local/bin/ferry"\]$' || fail "ENTRYPOINT is not [\"/usr/local/bin/ferry\"]"
has "$runtime" '^CMD \["--config", "/etc/ferry/ferry.yaml"\]$' || fail "CMD does not pass --config /etc/ferry/ferry.yaml"
has "$runtime" '^COPY config/docker.yaml /etc/ferry/ferry.yaml$' || fail "config/docker.yaml is not installed as /etc/ferry/ferry.yaml"

# --- runtime packages ----------------------------------------------------------------------
install_run=$(grep -E '^RUN .*apt-get install' <<<"$runtime")
[ "$(grep -c . <<<"$install_run")" -eq 1 ] || fail "expected exactly one apt-get install in the runtime stage"
has "$install_run" 'apt-get update' || fail "runtime apt-get install without apt-get update in the same RUN"
has "$install_run" '--no-install-recommends' || fail "runtime apt-get install without --no-install-recommends"
has "$install_run" 'rm -rf /var/lib/apt/lists/?\*' || fail "runtime apt-get install leaves /var/lib/apt/lists"
# Package names: the words after `install` up to the next `&&`, minus options.
packages=()
read -r -a words <<<"$(sed -E 's/.*apt-get install//; s/&&.*//' <<<"$install_run")"
for w in "${words[@]}"; do [[ $w == -* ]] || packages+=("$w"); done
[ ${#packages[@]} -gt 0 ] || fail "no runtime packages found"
# One apt-cache call (each takes seconds): the names it prints are the ones that exist.
known=$(apt-cache show --no-all-versions "${packages[@]}" 2>/dev/null | sed -n 's/^Package: //p')
for p in "${packages[@]}"; do
  [[ $p == *-dev ]] && fail "runtime stage installs a -dev package: $p"
  if grep -qxF -e "$p" <<<"$known"; then
    ok "package $p exists"
  else
    fail "apt-cache knows no package $p"
  fi
done

# Every shared library the binary needs comes from a listed package or the base image.
# Sanitizer runtimes (asan/ubsan builds) are not part of a release binary.
mapfile -t needed < <(objdump -p "$binary" | awk '$1 == "NEEDED" {print $2}')
[ ${#needed[@]} -gt 0 ] || fail "objdump found no NEEDED entries in $binary"
patterns=()
for soname in "${needed[@]}"; do patterns+=("*/$soname"); done
# One dpkg call: lines like "libfmt9:amd64: /usr/lib/x86_64-linux-gnu/libfmt.so.9".
owned=$(dpkg -S "${patterns[@]}" 2>/dev/null)
for soname in "${needed[@]}"; do
  case "$soname" in lib*san.so.*) continue ;; esac
  owners=$(awk -v so="$soname" '{ n = split($NF, part, "/") } part[n] == so { sub(/: [^ ]*$/, ""); print }' \
           <<<"$owned" | tr ',' '\n' | sed 's/^ *//; s/:.*//' | sort -u)
  if [ -z "$owners" ]; then
    fail "$soname: no installed package provides it"
    continue
  fi
  found=""
  for o in $owners; do
    for p in "${packages[@]}" "${base_packages[@]}"; do [ "$o" = "$p" ] && found=$o; done
  done
  if [ -n "$found" ]; then
    ok "$soname from $found"
  else
    fail "$soname (from ${owners//$'\n'/ }) is not installed in the runtime stage"
  fi
done

# --- build context ---------------------------------------------------------------------------
grep -qxE '/?build/?' "$ignore" || fail ".dockerignore does not exclude build/"
for needed_path in src include cmake config scripts CMakeLists.txt CMakePresets.json; do
  grep -qxE "/?$needed_path(/.*)?" "$ignore" && fail ".dockerignore excludes $needed_path, which the build needs"
done

# --- config/docker.yaml ------------------------------------------------------------------------
# Uncommented lines only: the examples in comments are for the user to enable.
live=$(sed -e 's/#.*//' "$config")
has "$live" '0\.0\.0\.0:3128' || fail "docker.yaml does not listen on 0.0.0.0:3128"
has "$live" '127\.0\.0\.1:3129' || fail "docker.yaml does not keep the admin listener on 127.0.0.1:3129"
has "$live" '0\.0\.0\.0/0|::/0' && fail "docker.yaml admits every client: an open proxy"

if out=$("$binary" --check --config "$config" 2>&1); then
  ok "ferry --check accepts config/docker.yaml"
else
  fail "ferry --check rejects config/docker.yaml: $out"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi

# The --check above only means something if --check can say no.
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
{ cat "$config"; printf '\nno_such_key_for_this_test: 1\n'; } >"$tmp/broken.yaml"
if "$binary" --check --config "$tmp/broken.yaml" >/dev/null 2>&1; then
  echo "SKIP: ferry --check accepts a file with an unknown key, so the config check proves nothing yet" >&2
  exit 77
fi
ok "ferry --check rejects a broken copy"
