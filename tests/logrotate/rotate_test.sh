#!/usr/bin/env bash
# The shipped logrotate snippet: `logrotate -d` accepts it as installed, and a real
# rotation with it (the path and the postrotate signal pointed at a test ferry) moves the
# access log aside while ferry, told by SIGUSR1, goes on writing to a new file.
#   rotate_test.sh <source dir> <ferry binary>
source "$(dirname "$0")/../realclients/lib.sh"
src=$1
need logrotate curl nginx
snippet=$src/logrotate/ferry
[ -f "$snippet" ] || fail "missing $snippet"

# As installed: parsed in debug mode, which changes nothing.
out=$(logrotate -d -s "$rc_tmp/debug.state" "$snippet" 2>&1) || fail "logrotate -d failed: $out"
grep -qi 'error' <<<"$out" && fail "logrotate -d reports: $(grep -i error <<<"$out")"
grep -q 'rotating pattern: /var/log/ferry/access.log' <<<"$out" ||
  fail "logrotate -d did not read the access log pattern: $out"
note "logrotate -d accepts the snippet"

mkdir -p "$rc_tmp/www" && echo rotated >"$rc_tmp/www/r.txt"
start_nginx origin "$rc_tmp/www"
start_ferry ferry "$2" 443
log=$rc_tmp/ferry-access.log
get() { curl -sf -o /dev/null -x "http://127.0.0.1:$ferry_port" "http://127.0.0.1:$nginx_port/r.txt?$1"; }
get before || fail "request through ferry failed"
wait_until 5 grep -q 'r.txt?before' "$log" || fail "no access log line before the rotation"

# The same snippet, for this test's log and ferry.
sed -e "s|/var/log/ferry/access.log|$log|" \
    -e "s|systemctl kill .*|kill -USR1 $ferry_pid|" "$snippet" >"$rc_tmp/logrotate.conf"
grep -q "kill -USR1 $ferry_pid" "$rc_tmp/logrotate.conf" || fail "the snippet has no postrotate to adapt"
logrotate -f -s "$rc_tmp/rotate.state" "$rc_tmp/logrotate.conf" || fail "logrotate failed"
[ -s "$log.1" ] || fail "logrotate did not move the log to $log.1"
wait_until 5 grep -q 'SIGUSR1: reopening the access log' "$rc_tmp/ferry.err" ||
  fail "ferry did not get SIGUSR1 from the postrotate script"
wait_until 5 eval 'get after; grep -q "r.txt?after" "$log" 2>/dev/null' ||
  fail "ferry did not write to a new $log after the rotation"
grep -q 'r.txt?before' "$log.1" || fail "the rotated file lost its lines"
grep -q 'r.txt?before' "$log" && fail "the new file has lines from before the rotation"
check_ferry_alive ferry
echo "ok: logrotate rotates the access log and ferry reopens it on SIGUSR1"
