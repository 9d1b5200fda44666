#!/usr/bin/env bash
# curl through ferry with -x against loopback origins: GET (body compared), several GETs
# on one kept-alive connection, HEAD then GET on one connection (a HEAD answered with a
# body would corrupt the GET), POST bodies compared by sha256 at the origin, CONNECT to a
# TLS origin (openssl s_server) and to a plain HTTP origin with -p, CONNECT to a port
# not in access.connect_ports refused with 403.
#
#   curl_test.sh <built ferry binary>
source "$(dirname "$0")/lib.sh"

binary=${1:?usage: curl_test.sh <ferry binary>}
need curl nginx openssl sha256sum

www=$rc_tmp/www
mkdir -p "$www" "$rc_tmp/tls" "$rc_tmp/nginx/client_body" || fail mkdir
head -c 262144 /dev/urandom >"$www/blob.bin" || fail "random file"
echo "hello through ferry" >"$www/small.txt"
head -c 1048576 /dev/urandom >"$rc_tmp/post-1MiB.bin" || fail "random file"
# Past 1 MiB curl sends Expect: 100-continue, so the interim response path is used too.
head -c 1052673 /dev/urandom >"$rc_tmp/post-expect.bin" || fail "random file"

# POST /upload: nginx keeps each received body as a file in client_body/ (it only reads
# a body for a handler that wants one, so the request is passed on to /sink).
start_nginx nginx "$www" "
    location = /upload {
      client_body_in_file_only on;
      proxy_pass http://127.0.0.1:\$server_port/sink;
    }
    client_max_body_size 16m;
    location = /sink { return 200 \"stored\\n\"; }"
origin=http://127.0.0.1:$nginx_port

head -c 200000 /dev/urandom >"$rc_tmp/tls/tls.bin" || fail "random file"
start_tls_origin "$rc_tmp/tls"

start_ferry ferry "$binary" "$tls_port, $nginx_port"
proxy=http://127.0.0.1:$ferry_port
note "ferry on $ferry_port, nginx on $nginx_port, openssl s_server on $tls_port"

# --- GET: the body arrives unchanged, and the origin saw ferry's Via.
code=$(curl_ -x "$proxy" -o "$rc_tmp/got.bin" -w '%{http_code}' "$origin/blob.bin") ||
  fail "GET: curl failed"
[ "$code" = 200 ] || fail "GET: status $code"
cmp -s "$www/blob.bin" "$rc_tmp/got.bin" || fail "GET: body differs from the origin's file"
line=$(origin_lines "GET /blob.bin") || fail "GET: no request in the origin's log"
grep -q '"[^"]*ferry[^"]*" [0-9]* [0-9]*$' <<<"$line" || fail "GET: origin saw no Via ferry: $line"
note "ok GET"

# --- Three GETs in one curl run share one client connection.
curl_ -v -x "$proxy" -o "$rc_tmp/k1" "$origin/small.txt?k=1" -o "$rc_tmp/k2" "$origin/blob.bin?k=2" \
  -o "$rc_tmp/k3" "$origin/small.txt?k=3" 2>"$rc_tmp/keepalive.err" || fail "keep-alive: curl failed"
cmp -s "$www/small.txt" "$rc_tmp/k1" && cmp -s "$www/blob.bin" "$rc_tmp/k2" &&
  cmp -s "$www/small.txt" "$rc_tmp/k3" || fail "keep-alive: a body differs"
reused=$(grep -c 'Re-using existing connection' "$rc_tmp/keepalive.err")
[ "$reused" -eq 2 ] || fail "keep-alive: curl reused the connection $reused times, not 2"
note "ok keep-alive"

# --- HEAD: headers with the GET's Content-Length and no body; then a GET on the same
# connection, which any stray body bytes after the HEAD would corrupt.
curl_ -v -x "$proxy" -I -o "$rc_tmp/head.hdrs" "$origin/blob.bin?h=1" --next \
  -sS --max-time 30 --noproxy '' -x "$proxy" -o "$rc_tmp/after-head.bin" "$origin/blob.bin?h=2" \
  2>"$rc_tmp/head.err" || fail "HEAD: curl failed: $(tail -n 5 "$rc_tmp/head.err")"
head -n 1 "$rc_tmp/head.hdrs" | grep -q '^HTTP/1\.1 200' || fail "HEAD: $(head -n 1 "$rc_tmp/head.hdrs")"
grep -qi '^content-length: 262144' "$rc_tmp/head.hdrs" || fail "HEAD: no Content-Length: 262144"
cmp -s "$www/blob.bin" "$rc_tmp/after-head.bin" || fail "HEAD: the GET after it got a different body"
grep -q 'Re-using existing connection' "$rc_tmp/head.err" || fail "HEAD: the connection was not kept"
origin_lines "HEAD /blob.bin?h=1" >/dev/null || fail "HEAD: not in the origin's log"
note "ok HEAD"

# --- POST: the origin receives exactly the bytes curl sent.
for body in post-1MiB.bin post-expect.bin; do
  rm -f "$rc_tmp"/nginx/client_body/*
  code=$(curl_ -x "$proxy" --data-binary "@$rc_tmp/$body" -H 'Content-Type: application/octet-stream' \
    -o "$rc_tmp/post.out" -w '%{http_code}' "$origin/upload") || fail "POST $body: curl failed"
  [ "$code" = 200 ] || fail "POST $body: status $code"
  [ "$(cat "$rc_tmp/post.out")" = stored ] || fail "POST $body: response body $(head -c 200 "$rc_tmp/post.out")"
  stored=("$rc_tmp"/nginx/client_body/*)
  [ "${#stored[@]}" -eq 1 ] && [ -f "${stored[0]}" ] || fail "POST $body: origin stored ${#stored[@]} bodies"
  [ "$(sha "${stored[0]}")" = "$(sha "$rc_tmp/$body")" ] ||
    fail "POST $body: origin received $(stat -c %s "${stored[0]}") bytes with another sha256"
done
note "ok POST"

# --- CONNECT to a TLS origin: curl -p tunnels and speaks TLS end to end.
out=$(curl_ -p -k -x "$proxy" -o "$rc_tmp/tls.got" -w '%{http_connect} %{http_code}' \
  "https://127.0.0.1:$tls_port/tls.bin") || fail "CONNECT TLS: curl failed ($out)"
[ "$out" = "200 200" ] || fail "CONNECT TLS: CONNECT and GET statuses: $out"
cmp -s "$rc_tmp/tls/tls.bin" "$rc_tmp/tls.got" || fail "CONNECT TLS: body differs"
note "ok CONNECT https"

# --- CONNECT to a plain HTTP origin: the request inside the tunnel reaches the origin
# untouched (no Via).
out=$(curl_ -p -x "$proxy" -o "$rc_tmp/tunnel.got" -w '%{http_connect} %{http_code}' \
  "$origin/blob.bin?tunnel=1") || fail "CONNECT http: curl failed ($out)"
[ "$out" = "200 200" ] || fail "CONNECT http: CONNECT and GET statuses: $out"
cmp -s "$www/blob.bin" "$rc_tmp/tunnel.got" || fail "CONNECT http: body differs"
line=$(origin_lines "GET /blob.bin?tunnel=1") || fail "CONNECT http: not in the origin's log"
grep -q '"-" [0-9]* [0-9]*$' <<<"$line" || fail "CONNECT http: tunnelled request was altered: $line"
note "ok CONNECT http"

# --- CONNECT to a port outside access.connect_ports: 403, nothing tunnelled.
out=$(curl_ -p -x "$proxy" -o /dev/null -w '%{http_connect}' "http://127.0.0.1:$ferry_port/" 2>/dev/null)
[ "$out" = 403 ] || fail "CONNECT to a port not allowed: CONNECT status $out, want 403"
note "ok CONNECT refused"

check_ferry_alive ferry
echo "PASS: curl through ferry"
