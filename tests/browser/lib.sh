# Shared set-up for the browser tests, sourced first by each *_test.sh: headless Chromium
# in a private network namespace. Sourcing it re-executes the test in new network and
# mount namespaces (`unshare -n -m`) where only loopback exists, so neither the browser's
# own background requests nor any page can reach another machine, and where the test may
# give names to 127.0.0.1 in a private /etc/hosts. Then it sources tests/realclients/lib.sh
# (temp dir, background processes, nginx, ferry, waits). Each Chromium run gets a fresh
# profile. It does not install Chromium (scripts/setup test does).

if [ "${FERRY_IN_NETNS:-0}" != 1 ]; then
  command -v unshare >/dev/null || { echo "FAIL: unshare not found" >&2; exit 1; }
  netns=(unshare -n -m --propagation private)
  [ "$(id -u)" -eq 0 ] || netns=(unshare -r -n -m --propagation private)
  FERRY_IN_NETNS=1 exec "${netns[@]}" bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../realclients/lib.sh"
need ip chromium python3
ip link set lo up || fail "cannot bring lo up in the test's network namespace"
# Only loopback: any other link is a mistake in this file.
[ "$(ip -o link show | grep -vc ' lo:')" -eq 0 ] || fail "the network namespace has other links"

# loopback_names <name>...: these names resolve to 127.0.0.1, for the browser and for
# ferry, through an /etc/hosts seen only in this test's mount namespace.
loopback_names() {
  printf '127.0.0.1 localhost %s\n::1 localhost\n' "$*" >"$rc_tmp/hosts" &&
    mount --bind "$rc_tmp/hosts" /etc/hosts || fail "cannot mount a private /etc/hosts"
}

chromium_flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
                --disable-background-networking --disable-component-update --disable-sync
                --disable-extensions --hide-scrollbars --mute-audio)

# fresh_profile <name>: an empty $rc_tmp/<name>.profile for one Chromium run.
fresh_profile() {
  rm -rf "$rc_tmp/$1.profile" && mkdir -p "$rc_tmp/$1.profile" || fail "cannot make $rc_tmp/$1.profile"
}

# chromium_run <name> <args...>: Chromium with a fresh profile in $rc_tmp/<name>.profile,
# its output in $rc_tmp/<name>.out and .err, killed after 60 s.
chromium_run() {
  local name=$1
  shift
  fresh_profile "$name"
  timeout -k 5 60 chromium "${chromium_flags[@]}" --user-data-dir="$rc_tmp/$name.profile" "$@" \
    >"$rc_tmp/$name.out" 2>"$rc_tmp/$name.err"
}

# screenshot <name> <url> [cdp_load.py options] [-- chromium args]: Chromium with a fresh
# profile, driven over its DevTools pipe by cdp_load.py, loads the page (1000x900) and
# writes it to $rc_tmp/<name>.png once its load event came (and the --until expression is
# true). The driver's output (the authentication challenges it answered) is in
# $rc_tmp/<name>.out, Chromium's log in .err. Fails the test when the page did not load
# within 45 s.
screenshot() {
  local name=$1 url=$2 options=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do options+=("$1") && shift; done
  [ $# -gt 0 ] && shift
  fresh_profile "$name"
  rm -f "$rc_tmp/$name.png"
  timeout -k 5 60 python3 "$(dirname "${BASH_SOURCE[0]}")/cdp_load.py" "${options[@]}" \
    "$url" "$rc_tmp/$name.png" -- chromium "${chromium_flags[@]}" \
    --user-data-dir="$rc_tmp/$name.profile" "$@" >"$rc_tmp/$name.out" 2>"$rc_tmp/$name.err" &&
    [ -s "$rc_tmp/$name.png" ] ||
    fail "$name: no screenshot: $(grep '^cdp_load: ' "$rc_tmp/$name.err" || tail -n 5 "$rc_tmp/$name.err")"
}

# dump_dom <name> <url> [args...]: the page's DOM after 3 s of virtual time, on stdout.
dump_dom() {
  local name=$1 url=$2
  shift 2
  chromium_run "$name" --virtual-time-budget=3000 --dump-dom "$@" "$url" ||
    fail "chromium could not load $url: $(tail -n 5 "$rc_tmp/$name.err")"
  cat "$rc_tmp/$name.out"
}

# pixels <png> <rrggbb>...: how many pixels have exactly each colour, space-separated.
pixels() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/png_pixels.py" "$@"
}

# admin_port: the admin listener's port from ferry's log (start_ferry with admin.listen).
admin_port() {
  wait_until 10 grep -q "admin interface on 127.0.0.1:" "$rc_tmp/ferry.err" ||
    fail "ferry did not report its admin port"
  sed -n 's/.*admin interface on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$rc_tmp/ferry.err" | head -n 1
}
