#!/usr/bin/env bash
# apt-get through ferry (Acquire::http::Proxy) against a flat repository of three tiny
# packages served by nginx on loopback: `update`, then `install --download-only` of all
# three, whose .deb files are fetched on one pipelined connection; the downloaded files
# must equal the built ones and the origin's log must show each request passed through
# ferry (Via). Then the whole sequence again with the .deb files cleared: ferry serves
# them from its cache this time (access log TCP_MEM_HIT, no new origin request). apt runs in an isolated root under the temp dir (its own config, sources,
# state, cache and empty dpkg status): the machine's apt state is neither read nor
# written, and nothing is installed.
#
#   apt_test.sh <built ferry binary>
source "$(dirname "$0")/lib.sh"

binary=${1:?usage: apt_test.sh <ferry binary>}
need apt-get dpkg-deb dpkg-scanpackages gzip nginx sha256sum
pkgs=(ferry-test-alpha ferry-test-beta ferry-test-gamma)

# --- The packages: random, incompressible payloads of different sizes; beta depends
# on alpha so apt resolves something.
repo=$rc_tmp/www/debian
mkdir -p "$repo" || fail mkdir
kib=64
for p in "${pkgs[@]}"; do
  d=$rc_tmp/build/$p
  mkdir -p "$d/DEBIAN" "$d/usr/share/$p" || fail mkdir
  head -c $((kib * 1024)) /dev/urandom >"$d/usr/share/$p/payload" || fail "random file"
  depends=""
  [ "$p" = ferry-test-beta ] && depends="Depends: ferry-test-alpha (>= 1.0)"
  cat >"$d/DEBIAN/control" <<EOF
Package: $p
Version: 1.0
Architecture: all
Maintainer: ferry tests <tests@ferry.invalid>
Priority: optional
Section: misc
${depends:+$depends
}Description: ferry proxy test package
 Built by the ferry test suite to be fetched through the proxy.
EOF
  dpkg-deb --root-owner-group -Zgzip --build "$d" "$repo/${p}_1.0_all.deb" >/dev/null 2>"$rc_tmp/dpkg-deb.err" ||
    fail "dpkg-deb $p: $(cat "$rc_tmp/dpkg-deb.err")"
  kib=$((kib * 2))
done

# --- A flat repository ("deb URI ./"): Packages, Packages.gz and an unsigned Release.
(cd "$repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>"$rc_tmp/scan.err") ||
  fail "dpkg-scanpackages: $(cat "$rc_tmp/scan.err")"
[ "$(grep -c '^Package: ' "$repo/Packages")" -eq 3 ] || fail "Packages does not list 3 packages"
gzip -9nk "$repo/Packages" || fail gzip
{
  echo "Origin: ferry-test"
  echo "Label: ferry-test"
  echo "Date: $(LC_ALL=C date -Ru)"
  echo "SHA256:"
  for f in Packages Packages.gz; do
    echo " $(sha "$repo/$f") $(stat -c %s "$repo/$f") $f"
  done
} >"$repo/Release"

start_nginx nginx "$rc_tmp/www"
# Package files never change once published: the refresh rule config/ferry.yaml suggests
# for a Debian mirror keeps them fresh, so the second run is served from the cache.
start_ferry "$binary" "443" "cache:
  refresh_rules:
    - {pattern: '\\.deb\$', min: 30d, percent: 100, max: 365d}"
note "ferry on $ferry_port, nginx on $nginx_port"

# --- apt's isolated root. APT_CONFIG is read before /etc/apt/apt.conf.d, so pointing
# Dir::Etc::parts and Dir::Etc::main away keeps the machine's settings (a proxy, hooks)
# out; Dir::State::status is an empty dpkg status.
aptroot=$rc_tmp/apt
mkdir -p "$aptroot/etc/apt.conf.d" "$aptroot/state/lists/partial" \
  "$aptroot/cache/archives/partial" "$aptroot/log" || fail mkdir
: >"$aptroot/state/status"
echo "deb [trusted=yes] http://127.0.0.1:$nginx_port/debian ./" >"$aptroot/etc/sources.list"
cat >"$aptroot/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$aptroot/etc/apt.conf.d";
Dir::Etc::sourcelist "$aptroot/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::preferences "/dev/null";
Dir::Etc::preferencesparts "-";
Dir::State "$aptroot/state";
Dir::State::status "$aptroot/state/status";
Dir::Cache "$aptroot/cache";
Dir::Log "$aptroot/log";
Debug::NoLocking "1";
APT::Sandbox::User "root";
Acquire::Retries "0";
Acquire::http::Timeout "20";
EOF
apt_() {
  APT_CONFIG=$aptroot/apt.conf timeout 60 apt-get -q -o "Acquire::http::Proxy=http://127.0.0.1:$ferry_port/" \
    -o Debug::Acquire::http=1 "$@"
}
# nginx access log lines for GETs of the .deb files.
deb_gets() { grep -c "\"GET /debian/\(\./\)\?ferry-test-[a-z]*_1\.0_all\.deb HTTP/1\.1\" 200 " "$nginx_log"; }

for run in 1 2; do
  # The second run keeps the package lists, as a real machine would (conditional GETs).
  rm -f "$aptroot"/cache/archives/*.deb
  apt_ update >"$rc_tmp/update.$run.out" 2>&1 ||
    fail "run $run: apt-get update: $(tail -n 20 "$rc_tmp/update.$run.out")"
  grep -qE '^(W|E): ' "$rc_tmp/update.$run.out" &&
    fail "run $run: apt-get update warned: $(grep -E '^(W|E): ' "$rc_tmp/update.$run.out")"
  ls "$aptroot"/state/lists/127.0.0.1*Packages >/dev/null 2>&1 || fail "run $run: no package list stored"

  apt_ -y --download-only install "${pkgs[@]}" >"$rc_tmp/install.$run.out" 2>&1 ||
    fail "run $run: apt-get install -d: $(tail -n 20 "$rc_tmp/install.$run.out")"
  for p in "${pkgs[@]}"; do
    got=$aptroot/cache/archives/${p}_1.0_all.deb
    [ -f "$got" ] || fail "run $run: apt did not download $p"
    [ "$(sha "$got")" = "$(sha "$repo/${p}_1.0_all.deb")" ] || fail "run $run: $p differs from the built package"
  done
  # apt sent several requests before reading a response: pipelining really happened.
  max_inflight=$(awk '/^GET .*\.deb HTTP/ { n++; if (n > m) m = n } /^Answer for: .*\.deb/ { n-- } END { print m + 0 }' \
    "$rc_tmp/install.$run.out")
  note "run $run: up to $max_inflight .deb requests in flight"
  [ "$max_inflight" -ge 2 ] || fail "run $run: apt did not pipeline the .deb requests"
  # Both runs together fetched each .deb from the origin once: run 2 was served by ferry.
  [ "$(deb_gets)" -eq 3 ] || fail "run $run: origin served $(deb_gets) .deb files, want 3"
  if [ "$run" = 2 ]; then
    hits=$(grep -c ' TCP_MEM_HIT/200 .*\.deb ' "$rc_tmp/ferry-access.log")
    [ "$hits" -eq 3 ] || fail "run 2: $hits .deb cache hits in ferry's access log, want 3"
  fi
  if [ "$run" = 1 ]; then
    grep -q '"[^"]*ferry[^"]*" [0-9]* [0-9]*$' "$nginx_log" || fail "origin saw no Via ferry"
    grep -v '"[^"]*ferry[^"]*" [0-9]* [0-9]*$' "$nginx_log" && fail "requests reached the origin without ferry"
  fi
  note "ok run $run"
done

check_ferry_alive
echo "PASS: apt-get update and download through ferry, twice"
