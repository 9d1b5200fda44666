#!/usr/bin/env bash
# Checks systemd/ferry.service with `systemd-analyze verify` and its security audit.
# Needs no running systemd: both commands only read unit files. The unit is copied with
# /usr/local/bin/ferry rewritten to the built binary, because verify insists that the
# commands exist; everything else is checked exactly as installed.
#
#   verify_unit.sh <ferry.service> <built ferry binary>
set -uo pipefail

unit=${1:?usage: verify_unit.sh <ferry.service> <ferry binary>}
binary=${2:?usage: verify_unit.sh <ferry.service> <ferry binary>}
installed_path=/usr/local/bin/ferry
max_exposure=25 # in tenths: 25 is an exposure level of 2.5 as printed (0 best, 10 worst)

fail() { echo "FAIL: $*" >&2; exit 1; }

analyze=$(command -v systemd-analyze) || fail "systemd-analyze not found (scripts/setup test installs systemd)"
[ -f "$unit" ] || fail "no unit file at $unit"
[ -x "$binary" ] || fail "no ferry binary at $binary"
grep -q "^ExecStart=$installed_path " "$unit" || fail "ExecStart does not run $installed_path"

tmp=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
sed "s|$installed_path|$binary|g" "$unit" >"$tmp/ferry.service"
cmp -s "$unit" "$tmp/ferry.service" && fail "rewriting $installed_path changed nothing"

# Unknown keys and unparsable values are only warnings with exit status 0: any output
# at all counts as a failure. Debug noise from the caller's environment is cut off.
export SYSTEMD_LOG_LEVEL=warning SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0
out=$("$analyze" verify --man=no "$tmp/ferry.service" 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "systemd-analyze verify exited $rc: $out"
[ -z "$out" ] || fail "systemd-analyze verify complained: $out"

# verify looks only at the first command of each Exec*= list; check every one.
while IFS= read -r line; do
  cmd=${line#*=}
  cmd=${cmd##[-@:+!]}
  cmd=${cmd##[-@:+!]}
  exe=${cmd%% *}
  case "$exe" in
    /*) [ -x "$exe" ] || fail "not executable: $exe (in: $line)" ;;
    *) fail "not an absolute path: $exe (in: $line)" ;;
  esac
done < <(grep -E '^Exec[A-Za-z]*=' "$tmp/ferry.service")

# Hardening must not quietly erode: fail when the exposure score rises above the bar.
out=$("$analyze" security --offline=true --threshold="$max_exposure" "$tmp/ferry.service" 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "exposure above $max_exposure tenths (rc $rc): $(grep -E '✗|Overall' <<<"$out")"

echo "ok: ferry.service verifies and its exposure is at most $max_exposure tenths"
