#!/usr/bin/env bash
# ferry's PAC file evaluated by a real PAC engine: headless Chromium with --proxy-pac-url,
# in the test's own network namespace. The page comes from page.proxied.test, its image
# from img.direct.test (both 127.0.0.1 here: Chromium never sends loopback literals to a
# proxy). With .direct.test DIRECT, the page must come through ferry and the image must
# not; the screenshot shows both. The PAC URL is the admin listener's /proxy.pac once and
# the proxy port's /wpad.dat once, each with a fresh profile.
#   pac_test.sh <ferry binary>
source "$(dirname "$0")/lib.sh"
need curl nginx

loopback_names page.proxied.test img.direct.test
mkdir -p "$rc_tmp/www"
cat >"$rc_tmp/www/dot.svg" <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="#ff6d00"/></svg>
SVG
start_nginx origin "$rc_tmp/www"
page="http://page.proxied.test:$nginx_port/page.html"
image="http://img.direct.test:$nginx_port/dot.svg"
cat >"$rc_tmp/www/page.html" <<HTML
<!DOCTYPE html><html><head><style>body { margin: 0; background: #00c853; }</style></head>
<body><img src="$image" width="200" height="200"></body></html>
HTML

start_ferry ferry "$1" 443 $'admin:\n  listen: 127.0.0.1:0\npac:\n  direct_domains: [.direct.test]\n  direct_networks: []'
admin=$(admin_port)

# load <name> <PAC URL>: renders the page; fails unless the page and its image show, the
# page came through ferry and the image straight from the origin.
load() {
  : >"$rc_tmp/ferry-access.log"
  screenshot "$1" "$page" -- --proxy-pac-url="$2"
  local green orange
  read -r green orange < <(pixels "$rc_tmp/$1.png" 00c853 ff6d00)
  [ "$green" -ge 100000 ] || fail "$1: the page did not render ($green pixels of its colour)"
  [ "$orange" -ge 30000 ] || fail "$1: the image did not render ($orange pixels of its colour)"
  wait_until 5 grep -q "GET $page " "$rc_tmp/ferry-access.log" ||
    fail "$1: the page did not go through ferry: $(cat "$rc_tmp/ferry-access.log")"
  grep -q "img.direct.test" "$rc_tmp/ferry-access.log" && fail "$1: the DIRECT image went through ferry"
  grep -q '"GET /dot.svg ' "$nginx_log" || fail "$1: the origin never saw the image"
  note "$1: page through ferry, image DIRECT, both on screen"
}
load admin-pac "http://127.0.0.1:$admin/proxy.pac"
: >"$nginx_log"
load proxy-port-wpad "http://127.0.0.1:$ferry_port/wpad.dat"
check_ferry_alive ferry
echo "ok: Chromium follows ferry's PAC file"
