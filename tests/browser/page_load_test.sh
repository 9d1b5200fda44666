#!/usr/bin/env bash
# A real page through ferry in headless Chromium, in the test's own network namespace
# (#14): nginx serves a page with 63 cacheable plain-HTTP parts (the page, a style sheet, a
# script and 60 images, each in a colour of its own) and one image over HTTPS, reached
# through CONNECT. The page is loaded twice, each time with a fresh profile. Both
# screenshots must show every part in its colour at its place; the first load fills
# ferry's cache over few origin connections, the second is served from it (the origin
# sees no new plain-HTTP request) while the HTTPS image is tunnelled again.
#   page_load_test.sh <ferry binary> proxy   --proxy-server, loopback not bypassed
#   page_load_test.sh <ferry binary> pac     --proxy-pac-url, ferry's /proxy.pac
#   page_load_test.sh <ferry binary> auth    as proxy, ferry asking for a password: each
#     load meets a 407 that reaches the browser as a proxy challenge, answered over the
#     DevTools protocol, and the access log names the user
source "$(dirname "$0")/lib.sh"
need nginx openssl
mode=${2:-} user=- driver_args=()

www=$rc_tmp/www
mkdir -p "$www" || fail mkdir
start_nginx origin "$www" "expires 1h;" tls
origin_port=$nginx_port

# Where things are drawn (1000x900): 60 tiles of 80x80 px, 10 a row, then one row with the
# tile the style sheet colours, the one the script colours and the HTTPS image; the style
# sheet also colours the page's background.
tiles=60
tile_colour() { printf '%02x%02x80' $(($1 * 4)) $((255 - $1 * 4)); }
tile_left() { echo $((10 + $1 % 10 * 95)); }
tile_top() { echo $((10 + $1 / 10 * 95)); }
background=202020 css_colour=ff00ff js_colour=00ffff tls_colour=ffff00
css_tile=$tiles js_tile=$((tiles + 1)) tls_tile=$((tiles + 2))

case $mode in
proxy)
  host=127.0.0.1 tls_host=127.0.0.1
  start_ferry ferry "$1" "$nginx_tls_port"
  browser_args=(--proxy-server="http://127.0.0.1:$ferry_port" --proxy-bypass-list='<-loopback>')
  ;;
pac)
  # Chromium never sends loopback literals to a proxy found by a PAC file: names then.
  host=www.origin.test tls_host=secure.origin.test
  loopback_names "$host" "$tls_host"
  start_ferry ferry "$1" "$nginx_tls_port" \
    $'admin:\n  listen: 127.0.0.1:0\npac:\n  direct_domains: []\n  direct_networks: []'
  browser_args=(--proxy-pac-url="http://127.0.0.1:$(admin_port)/proxy.pac")
  ;;
auth)
  # Chromium takes no proxy credentials on its command line: the driver answers the 407
  # challenges that reach it.
  host=127.0.0.1 tls_host=127.0.0.1 user=alice password='open sesame'
  printf '%s:%s\n' "$user" "$(openssl passwd -6 "$password")" >"$rc_tmp/htpasswd" ||
    fail "openssl passwd"
  start_ferry ferry "$1" "$nginx_tls_port" \
    $'auth:\n  basic:\n    file: '"$rc_tmp/htpasswd"$'\n    realm: ferry-test'
  browser_args=(--proxy-server="http://127.0.0.1:$ferry_port" --proxy-bypass-list='<-loopback>')
  driver_args=(--auth "$user:$password")
  ;;
*) fail "usage: page_load_test.sh <ferry binary> proxy|pac|auth" ;;
esac
origin=http://$host:$origin_port
page=$origin/page.html
secure=https://$tls_host:$nginx_tls_port/secure.svg

svg() {
  echo "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"80\" height=\"80\"><rect width=\"80\" height=\"80\" fill=\"#$1\"/></svg>"
}
{
  echo '<!DOCTYPE html><html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/style.css">'
  echo '<script src="/script.js" defer></script></head><body>'
  for i in $(seq 0 $((tiles - 1))); do
    svg "$(tile_colour "$i")" >"$www/tile-$i.svg"
    echo "<img src=\"/tile-$i.svg\" style=\"left: $(tile_left "$i")px; top: $(tile_top "$i")px\">"
  done
  echo "<div id=\"css\" style=\"left: $(tile_left $css_tile)px; top: $(tile_top $css_tile)px\"></div>"
  echo "<div id=\"js\" style=\"left: $(tile_left $js_tile)px; top: $(tile_top $js_tile)px\"></div>"
  echo "<img src=\"$secure\" style=\"left: $(tile_left $tls_tile)px; top: $(tile_top $tls_tile)px\">"
  echo '</body></html>'
} >"$www/page.html"
cat >"$www/style.css" <<CSS
body { margin: 0; background: #$background; }
img, div { position: absolute; width: 80px; height: 80px; }
#css { background: #$css_colour; }
CSS
echo "document.getElementById('js').style.background = '#$js_colour';" >"$www/script.js"
svg $tls_colour >"$www/secure.svg"
plain_parts=$((tiles + 3))

# Every tile's centre, then the background's corner, and the colours expected there.
points=() expected=()
for i in $(seq 0 $((tiles + 2))); do points+=("$(($(tile_left "$i") + 40)),$(($(tile_top "$i") + 40))"); done
for i in $(seq 0 $((tiles - 1))); do expected+=("$(tile_colour "$i")"); done
points+=(995,895)
expected+=($css_colour $js_colour $tls_colour $background)

lines() { wc -l <"$1" 2>/dev/null || echo 0; }
# new_lines <file> <count before>: the lines added since.
new_lines() { tail -n +$(($2 + 1)) "$1"; }

# load <name>: one page load with a fresh profile; checks the screenshot and the HTTPS
# part; sets log (ferry's access log lines of this load) and origin_new (the origin's).
load() {
  local name=$1 ferry_before origin_before tls_before got i
  ferry_before=$(lines "$rc_tmp/ferry-access.log")
  origin_before=$(lines "$nginx_log")
  tls_before=$(lines "$nginx_tls_log")
  screenshot "$name" "$page" "${driver_args[@]}" -- "${browser_args[@]}" --ignore-certificate-errors
  read -r -a got < <(pixels "$rc_tmp/$name.png" --at "${points[@]}")
  for i in "${!points[@]}"; do
    [ "${got[i]}" = "${expected[i]}" ] ||
      fail "$name: at ${points[i]} the screenshot has #${got[i]}, not #${expected[i]}"
  done
  # A tunnel is logged when it closes: the browser has exited by now.
  wait_until 10 eval 'new_lines "$rc_tmp/ferry-access.log" $ferry_before |
    grep -q " TCP_TUNNEL/200 [0-9]* CONNECT $tls_host:$nginx_tls_port $user "' ||
    fail "$name: no CONNECT to $tls_host:$nginx_tls_port in ferry's access log"
  [ "$(new_lines "$nginx_tls_log" "$tls_before" | grep -c '"GET /secure.svg HTTP/1.1" 200 ')" -eq 1 ] ||
    fail "$name: the HTTPS origin did not serve the image once"
  log=$(new_lines "$rc_tmp/ferry-access.log" "$ferry_before")
  origin_new=$(new_lines "$nginx_log" "$origin_before")
  if [ "$mode" = auth ]; then
    grep -q " TCP_DENIED/407 [0-9]* GET $page - " <<<"$log" ||
      fail "$name: ferry did not answer the page without credentials with 407"
    grep -qx "challenge Proxy basic ferry-test http://127.0.0.1:$ferry_port" "$rc_tmp/$name.out" ||
      fail "$name: the browser met no proxy challenge: $(cat "$rc_tmp/$name.out")"
  fi
  note "$name: all $((${#points[@]} - 1)) parts on screen, the HTTPS image through CONNECT"
}
# logged <result code>: how many GETs of the origin's plain-HTTP parts this load logged
# with that result (and the user, "-" but with authentication); results: how many it
# logged with each result.
logged() { grep -cE " $1/200 [0-9]+ GET $origin/[^ ]* $user " <<<"$log"; }
results() { grep -E " GET $origin/" <<<"$log" | awk '{ print $4 }' | sort | uniq -c | xargs; }

load first
[ "$(logged TCP_MISS)" -eq "$plain_parts" ] ||
  fail "first: not $plain_parts misses logged but $(results)"
requests=$(grep -c '"GET /' <<<"$origin_new")
connections=$(awk '{ print $(NF - 1) }' <<<"$origin_new" | sort -u | wc -l)
note "first: the origin served $requests requests over $connections connections"
[ "$requests" -eq "$plain_parts" ] || fail "first: the origin saw $requests requests, not $plain_parts"
[ "$((connections * 4))" -le "$requests" ] ||
  fail "first: ferry opened $connections origin connections for $requests requests"

load second
[ "$(logged TCP_MEM_HIT)" -eq "$plain_parts" ] ||
  fail "second: not $plain_parts hits logged but $(results)"
[ -z "$origin_new" ] || fail "second: the origin was asked again: $(head -n 3 <<<"$origin_new")"
check_ferry_alive ferry
echo "ok: Chromium loads the page through ferry ($mode), the second time from its cache"
