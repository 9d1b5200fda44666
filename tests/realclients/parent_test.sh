#!/usr/bin/env bash
# Two ferry instances chained on loopback, client → child → parent → origin. The child has
# parents A and B, in that order, and never_direct: ["*"], so every request has to go
# through a parent; each ferry names itself in Via (child, parent-a, parent-b), so the
# origin's log shows the path each request took. Through the child: a curl GET (body
# compared, Via of both hops at the origin, FIRSTUP_PARENT in the child's log), the same
# GET again from the child's cache; CONNECT chained through both to a TLS origin
# (openssl s_server); apt-get update and install --download-only twice (files compared),
# the second time revalidated by the child through the parent. Then parent A is killed
# (SIGKILL) during a slow download: the download ends short instead of hanging, the child
# logs A as down, and the next requests (the same file again, whole, new GETs, a CONNECT)
# succeed through B. Last, B is killed too: the child answers 502 to a GET and to a
# CONNECT. Every curl here gives up after 10 s.
#
#   parent_test.sh <built ferry binary>
source "$(dirname "$0")/lib.sh"

binary=${1:?usage: parent_test.sh <ferry binary>}
need curl nginx openssl apt-get dpkg-deb dpkg-scanpackages gzip sha256sum cmp
big_size=$((4 * 1048576)) # under cache.max_object_size: the child would store it whole

www=$rc_tmp/www
mkdir -p "$www/fresh" "$www/slow" "$rc_tmp/tls" || fail mkdir
head -c 262144 /dev/urandom >"$www/fresh/blob.bin" || fail "random file"
head -c "$big_size" /dev/urandom >"$www/slow/big.bin" || fail "random file"
head -c 200000 /dev/urandom >"$rc_tmp/tls/tls.bin" || fail "random file"
build_apt_repo "$www"
# /fresh/ and /slow/ answers carry Cache-Control: max-age=3600, so a cache stores and
# reuses them; /slow/ is sent at 2 MB/s, so little of it waits in buffers along the way.
start_nginx nginx "$www" "location /fresh/ { expires 1h; }
    location /slow/ { expires 1h; limit_rate 2m; }"
origin=http://127.0.0.1:$nginx_port
start_tls_origin "$rc_tmp/tls"

start_ferry parent-a "$binary" "$tls_port" "via: parent-a"
a_port=$ferry_port a_pid=$ferry_pid
start_ferry parent-b "$binary" "$tls_port" "via: parent-b"
b_port=$ferry_port b_pid=$ferry_pid
# The child gives no heuristic freshness: what nginx sends with only Last-Modified (the
# repository) it revalidates on every request, through a parent.
start_ferry child "$binary" "$tls_port" "via: child
cache: {heuristic_max: 0s}
upstream:
  parents:
    - {address: \"127.0.0.1:$a_port\"}
    - {address: \"127.0.0.1:$b_port\"}
  never_direct: [\"*\"]
  parent_down: 30s"
child_port=$ferry_port
child=http://127.0.0.1:$child_port
child_log=$rc_tmp/child-access.log
note "child on $child_port, parent A on $a_port, parent B on $b_port, nginx on $nginx_port," \
  "openssl s_server on $tls_port"

# via_of "<method> <target>": the Via the origin received with the last such request.
via_of() { origin_lines "$1" | tail -n 1 | sed -n 's/.* "\([^"]*\)" [0-9]* [0-9]*$/\1/p'; }
# logged <access log> <extended regex>: the line appears within 5 s (a transaction is
# logged when it ends, which may be just after curl has its last byte).
logged() { wait_until 5 grep -qE "$2" "$1"; }
# get <url> <file>: a GET through the child into the file; prints the status.
get() { curl_ --max-time 10 -x "$child" -o "$2" -w '%{http_code}' "$1"; }
# tunnel <file>: tls.bin fetched over CONNECT through the child; prints both statuses.
tunnel() {
  curl_ --max-time 10 -p -k -x "$child" -o "$1" -w '%{http_connect} %{http_code}' \
    "https://127.0.0.1:$tls_port/tls.bin"
}
url_re() { sed 's/[.?]/\\&/g' <<<"$1"; }

# --- GET through both: the body unchanged, two hops in the origin's Via, FIRSTUP_PARENT.
code=$(get "$origin/fresh/blob.bin" "$rc_tmp/blob.1") || fail "GET: curl failed"
[ "$code" = 200 ] || fail "GET: status $code"
cmp -s "$www/fresh/blob.bin" "$rc_tmp/blob.1" || fail "GET: body differs from the origin's file"
via=$(via_of "GET /fresh/blob.bin")
[ "$via" = "1.1 child, 1.1 parent-a" ] || fail "GET: origin saw Via \"$via\", want child then parent-a"
blob_re=$(url_re "$origin/fresh/blob.bin")
logged "$child_log" " TCP_MISS/200 [0-9]+ GET $blob_re - FIRSTUP_PARENT/127\.0\.0\.1 " ||
  fail "GET: no TCP_MISS through FIRSTUP_PARENT in the child's access log"
logged "$rc_tmp/parent-a-access.log" " GET $blob_re - HIER_DIRECT/127\.0\.0\.1 " ||
  fail "GET: parent A did not log it as fetched direct"
note "ok GET through child and parent A"

# --- The same GET is a hit in the child's cache: nothing new reaches the parent or origin.
code=$(get "$origin/fresh/blob.bin" "$rc_tmp/blob.2") || fail "GET again: curl failed"
[ "$code" = 200 ] || fail "GET again: status $code"
cmp -s "$www/fresh/blob.bin" "$rc_tmp/blob.2" || fail "GET again: body differs"
logged "$child_log" " TCP_MEM_HIT/200 [0-9]+ GET $blob_re " || fail "GET again: not a TCP_MEM_HIT in the child"
n=$(origin_lines "GET /fresh/blob.bin" | wc -l)
[ "$n" -eq 1 ] || fail "GET again: origin served /fresh/blob.bin $n times, want 1"
note "ok GET again from the child's cache"

# --- CONNECT chained through both ferries to the TLS origin.
out=$(tunnel "$rc_tmp/tls.1") || fail "CONNECT: curl failed ($out)"
[ "$out" = "200 200" ] || fail "CONNECT: CONNECT and GET statuses: $out"
cmp -s "$rc_tmp/tls/tls.bin" "$rc_tmp/tls.1" || fail "CONNECT: body differs"
logged "$child_log" " CONNECT 127\.0\.0\.1:$tls_port - FIRSTUP_PARENT/127\.0\.0\.1 " ||
  fail "CONNECT: the child did not log a tunnel through a parent"
logged "$rc_tmp/parent-a-access.log" " CONNECT 127\.0\.0\.1:$tls_port - HIER_DIRECT/127\.0\.0\.1 " ||
  fail "CONNECT: parent A did not log the tunnel"
note "ok CONNECT through child and parent A"

# --- apt through the child, twice: every request reached the origin through both, and
# the second run had the child revalidate its stored .deb files through the parent.
apt_root "$nginx_port" "$child_port"
apt_fetch apt1
apt_fetch apt2
n=$(grep -c '"GET /debian/' "$nginx_log")
[ "$n" -ge 5 ] || fail "apt: origin served $n files of the repository, want Release, Packages and 3 .deb"
grep '"GET /debian/' "$nginx_log" | grep -vF '"1.1 child, 1.1 parent-a"' &&
  fail "apt: requests reached the origin without passing child and parent A"
n=$(grep -cE " TCP_REFRESH_UNMODIFIED/200 [0-9]+ GET [^ ]+\.deb - FIRSTUP_PARENT/127\.0\.0\.1 " "$child_log")
[ "$n" -eq 3 ] || fail "apt: the child revalidated $n .deb files through a parent, want 3"
note "ok apt-get update and download through child and parent A, twice"

# --- Parent A killed while it relays a slow download: curl must end short (the child
# cannot finish the body), not wait for --max-time.
{
  curl_ --max-time 10 -x "$child" -o "$rc_tmp/big.1" "$origin/slow/big.bin" 2>"$rc_tmp/big.1.err"
  echo $? >"$rc_tmp/big.1.rc"
} &
download=$!
rc_pids+=("$download")
wait_until 10 eval '[ "$(stat -c %s "$rc_tmp/big.1" 2>/dev/null || echo 0)" -ge 1048576 ]' ||
  fail "download: 1 MiB did not arrive in 10 s: $(cat "$rc_tmp/big.1.err")"
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null
wait "$download"
got=$(stat -c %s "$rc_tmp/big.1")
rc=$(cat "$rc_tmp/big.1.rc")
note "download: parent A killed, curl ended with status $rc after $got of $big_size bytes"
[ "$rc" = 18 ] || fail "download: curl exit status $rc, want 18 (partial file): $(cat "$rc_tmp/big.1.err")"
cmp -s -n "$got" "$www/slow/big.bin" "$rc_tmp/big.1" || fail "download: the bytes received differ"

# --- The same file again: whole (the short copy was not stored), through parent B.
code=$(get "$origin/slow/big.bin" "$rc_tmp/big.2") || fail "after A died: GET big.bin: curl failed"
[ "$code" = 200 ] || fail "after A died: GET big.bin: status $code"
cmp -s "$www/slow/big.bin" "$rc_tmp/big.2" || fail "after A died: big.bin differs from the origin's file"
via=$(via_of "GET /slow/big.bin")
[ "$via" = "1.1 child, 1.1 parent-b" ] || fail "after A died: origin saw Via \"$via\", want child then parent-b"

# --- New requests go through B, and the child says why.
for i in 1 2 3 4; do
  code=$(get "$origin/fresh/blob.bin?after=$i" "$rc_tmp/after.$i") || fail "after A died: GET $i: curl failed"
  [ "$code" = 200 ] || fail "after A died: GET $i: status $code"
  cmp -s "$www/fresh/blob.bin" "$rc_tmp/after.$i" || fail "after A died: GET $i: body differs"
  via=$(via_of "GET /fresh/blob.bin?after=$i")
  [ "$via" = "1.1 child, 1.1 parent-b" ] || fail "after A died: GET $i: origin saw Via \"$via\""
done
grep -qF "parent proxy 127.0.0.1:$a_port is down" "$rc_tmp/child.err" ||
  fail "after A died: the child did not log parent A as down"
out=$(tunnel "$rc_tmp/tls.2") || fail "after A died: CONNECT: curl failed ($out)"
[ "$out" = "200 200" ] || fail "after A died: CONNECT and GET statuses: $out"
cmp -s "$rc_tmp/tls/tls.bin" "$rc_tmp/tls.2" || fail "after A died: CONNECT: body differs"
logged "$rc_tmp/parent-b-access.log" " CONNECT 127\.0\.0\.1:$tls_port - HIER_DIRECT/127\.0\.0\.1 " ||
  fail "after A died: CONNECT: parent B did not log the tunnel"
note "ok parent A down: the download ended short, the next requests went through parent B"

# --- Every parent dead, and never_direct: 502, for a GET and for a CONNECT.
kill -KILL "$b_pid"
wait "$b_pid" 2>/dev/null
code=$(get "$origin/fresh/blob.bin?dead=1" "$rc_tmp/dead.1") || fail "all dead: GET: curl failed"
[ "$code" = 502 ] || fail "all dead: GET: status $code, want 502"
grep -q 'parent proxy' "$rc_tmp/dead.1" || fail "all dead: GET: 502 body names no parent: $(cat "$rc_tmp/dead.1")"
out=$(tunnel /dev/null 2>/dev/null)
[ "${out%% *}" = 502 ] || fail "all dead: CONNECT: status ${out%% *}, want 502"
note "ok all parents down: 502"

check_ferry_alive child
echo "PASS: curl and apt through two chained ferries, parent failover"
