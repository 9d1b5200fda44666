#!/usr/bin/env bash
# curl through a ferry with auth.basic and access.rules (#14): 407 with Proxy-Authenticate
# without credentials (plain and CONNECT with -p), 200 with --proxy-user, 407 for a wrong
# password, a user added to the htpasswd file admitted after SIGHUP, the user in the access
# log, Proxy-Authorization never reaching the origin, and rules denying by domain, method,
# port and resolved destination and allowing by user. The destination rule comes before the
# rules that allow, so those requests are judged address by address, the 407s included.
#
#   auth_test.sh <built ferry binary>
source "$(dirname "$0")/lib.sh"

binary=${1:?usage: auth_test.sh <ferry binary>}
need curl nginx mkpasswd

www=$rc_tmp/www
mkdir -p "$www" || fail mkdir
echo "hello through ferry" >"$www/small.txt"
# /headers: what the origin received as Proxy-Authorization and Authorization.
mkdir -p "$www/cached" && echo "fresh for an hour" >"$www/cached/page.txt" || fail mkdir
start_nginx nginx "$www" 'location = /headers { return 200 "pa=[$http_proxy_authorization] a=[$http_authorization]\n"; }
    location /cached/ { expires 1h; }'
origin_port=$nginx_port
origin=http://127.0.0.1:$origin_port
# A second origin on a port only alice may use (outside access.http_ports).
mkdir -p "$rc_tmp/www2" && echo "alice only" >"$rc_tmp/www2/small.txt" || fail mkdir
start_nginx nginx2 "$rc_tmp/www2"
other_port=$nginx_port

htpasswd=$rc_tmp/htpasswd
{
  echo "alice:$(mkpasswd -m bcrypt -R 5 wonderland)"
  echo "bob:$(mkpasswd -m sha-512 builder)"
} >"$htpasswd" || fail "mkpasswd"

start_ferry ferry "$binary" "$origin_port" "  http_ports: [$origin_port]
  rules:
    - deny: {domains: [.blocked.test]}
    - deny: {methods: [DELETE]}
    - deny: {ports: [8009]}
    - deny: {destinations: [127.0.0.2/32]}
    - deny: {users: [bob], domains: [localhost], destinations: [127.0.0.1/32, "::1/128"]}
    - allow: {users: [alice], ports: [$other_port]}
auth:
  basic:
    file: $htpasswd
    realm: ferry test"
proxy=http://127.0.0.1:$ferry_port
note "ferry on $ferry_port, origins on $origin_port and $other_port"

# status <curl args...>: the HTTP status curl saw (the CONNECT's with -p when it failed).
status() { curl_ -o "$rc_tmp/body" -w '%{http_code}' "$@" 2>/dev/null; }

# --- No credentials: 407 with the Basic challenge, plain and CONNECT.
curl_ -D "$rc_tmp/407.hdrs" -o "$rc_tmp/407.body" -x "$proxy" "$origin/small.txt" ||
  fail "407: curl failed"
head -n 1 "$rc_tmp/407.hdrs" | grep -q '^HTTP/1\.1 407' || fail "no credentials: $(head -n 1 "$rc_tmp/407.hdrs")"
grep -qi '^Proxy-Authenticate: Basic realm="ferry test"' "$rc_tmp/407.hdrs" ||
  fail "407 without Proxy-Authenticate: $(cat "$rc_tmp/407.hdrs")"
out=$(curl_ -p -x "$proxy" -o /dev/null -w '%{http_connect}' "$origin/small.txt" 2>/dev/null)
[ "$out" = 407 ] || fail "CONNECT without credentials: $out, want 407"
note "ok 407 without credentials"

# --- Good credentials: 200, plain and through a CONNECT tunnel.
code=$(status -x "$proxy" --proxy-user alice:wonderland "$origin/small.txt")
[ "$code" = 200 ] && cmp -s "$www/small.txt" "$rc_tmp/body" || fail "alice: status $code"
out=$(curl_ -p -x "$proxy" --proxy-user bob:builder -o "$rc_tmp/tunnel.got" \
  -w '%{http_connect} %{http_code}' "$origin/small.txt?tunnel=1") || fail "bob CONNECT: curl failed"
[ "$out" = "200 200" ] && cmp -s "$www/small.txt" "$rc_tmp/tunnel.got" || fail "bob CONNECT: $out"
note "ok 200 with credentials (bcrypt and sha512-crypt)"

# --- Wrong password, unknown user: 407.
code=$(status -x "$proxy" --proxy-user alice:wrong "$origin/small.txt")
[ "$code" = 407 ] || fail "wrong password: status $code"
code=$(status -x "$proxy" --proxy-user mallory:wonderland "$origin/small.txt")
[ "$code" = 407 ] || fail "unknown user: status $code"
note "ok 407 for wrong credentials"

# --- The origin never sees Proxy-Authorization (the client's own Authorization passes).
code=$(status -x "$proxy" --proxy-user alice:wonderland -u web:site "$origin/headers")
[ "$code" = 200 ] || fail "headers: status $code"
grep -q '^pa=\[\] a=\[Basic ' "$rc_tmp/body" || fail "the origin saw: $(cat "$rc_tmp/body")"
note "ok Proxy-Authorization not forwarded"

# --- The user name is in the access log (Squid's user column).
wait_until 10 grep -q "GET $origin/headers alice " "$rc_tmp/ferry-access.log" ||
  fail "no access log line with user alice: $(tail -n 5 "$rc_tmp/ferry-access.log")"
grep -q "TCP_DENIED/407 [0-9]* GET $origin/small.txt - " "$rc_tmp/ferry-access.log" ||
  fail "no 407 line with user -: $(cat "$rc_tmp/ferry-access.log")"
note "ok user in the access log"

# --- Rules: deny by domain, by method, by port (403 naming the rule); allow by user.
code=$(status -x "$proxy" --proxy-user alice:wonderland "http://www.blocked.test/")
[ "$code" = 403 ] && grep -q 'denied by access.rules\[0\]' "$rc_tmp/body" ||
  fail "deny by domain: $code $(cat "$rc_tmp/body")"
code=$(status -x "$proxy" --proxy-user alice:wonderland -X DELETE "$origin/small.txt")
[ "$code" = 403 ] && grep -q 'denied by access.rules\[1\]' "$rc_tmp/body" ||
  fail "deny by method: $code $(cat "$rc_tmp/body")"
code=$(status -x "$proxy" --proxy-user alice:wonderland "http://127.0.0.1:8009/")
[ "$code" = 403 ] && grep -q 'denied by access.rules\[2\]' "$rc_tmp/body" ||
  fail "deny by port: $code $(cat "$rc_tmp/body")"
code=$(status -x "$proxy" --proxy-user alice:wonderland "http://127.0.0.2:$origin_port/small.txt")
[ "$code" = 403 ] && grep -q 'denied by access.rules\[3\]' "$rc_tmp/body" ||
  fail "deny by destination: $code $(cat "$rc_tmp/body")"
# A denied domain is refused before credentials are asked for.
code=$(status -x "$proxy" "http://www.blocked.test/")
[ "$code" = 403 ] || fail "deny by domain without credentials: $code"
code=$(status -x "$proxy" --proxy-user alice:wonderland "http://127.0.0.1:$other_port/small.txt")
[ "$code" = 200 ] && cmp -s "$rc_tmp/www2/small.txt" "$rc_tmp/body" || fail "allow by user: status $code"
code=$(status -x "$proxy" --proxy-user bob:builder "http://127.0.0.1:$other_port/small.txt")
[ "$code" = 403 ] && grep -q "port $other_port is not allowed (access.http_ports)" "$rc_tmp/body" ||
  fail "another user on alice's port: $code $(cat "$rc_tmp/body")"
note "ok rules by domain, method, port, destination and user"

# --- A response stored for alice is not served to bob, whom a rule keeps from its origin.
code=$(status -x "$proxy" --proxy-user alice:wonderland "http://localhost:$origin_port/cached/page.txt")
[ "$code" = 200 ] || fail "alice localhost: status $code"
code=$(status -x "$proxy" --proxy-user alice:wonderland -D "$rc_tmp/hit.hdrs" "http://localhost:$origin_port/cached/page.txt")
[ "$code" = 200 ] && grep -qi '^Cache-Status: .*hit' "$rc_tmp/hit.hdrs" ||
  fail "alice's second request was no cache hit: $code $(cat "$rc_tmp/hit.hdrs")"
code=$(status -x "$proxy" --proxy-user bob:builder "http://localhost:$origin_port/cached/page.txt")
[ "$code" = 403 ] && grep -q 'denied by access.rules\[4\]' "$rc_tmp/body" ||
  fail "bob got alice's cached response: $code $(cat "$rc_tmp/body")"
note "ok a cached response is not served past a destination rule"

# --- SIGHUP re-reads the htpasswd file: a user added is admitted.
code=$(status -x "$proxy" --proxy-user carol:newcomer "$origin/small.txt")
[ "$code" = 407 ] || fail "carol before the reload: status $code"
echo "carol:$(mkpasswd -m sha-256 newcomer)" >>"$htpasswd" || fail "mkpasswd"
kill -HUP "$ferry_pid" || fail "kill -HUP"
wait_until 20 grep -q "configuration reloaded" "$rc_tmp/ferry.err" || fail "no reload: $(tail -n 5 "$rc_tmp/ferry.err")"
code=$(status -x "$proxy" --proxy-user carol:newcomer "$origin/small.txt")
[ "$code" = 200 ] || fail "carol after the reload: status $code"
note "ok SIGHUP re-reads the htpasswd file"

check_ferry_alive ferry
echo "PASS: proxy authentication and access rules with curl"
