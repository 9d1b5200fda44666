#!/usr/bin/env bash
# The status page in a real browser: headless Chromium, in the test's own network
# namespace, loads the admin listener's page after traffic went through ferry. The page's
# script must have fetched status.json and drawn it: the DOM holds the live numbers, and
# the screenshot shows the green "live" badge and the chart's bars in their colours.
#   status_page_test.sh <ferry binary>
here=$(dirname "$0")
source "$here/lib.sh"
need curl nginx

mkdir -p "$rc_tmp/www" && echo "hello from the origin" >"$rc_tmp/www/hello.txt"
start_nginx origin "$rc_tmp/www"
start_ferry ferry "$1" 443 $'admin:\n  listen: 127.0.0.1:0'
admin=$(admin_port)
status() { curl -sf "http://127.0.0.1:$admin/status.json"; }
samples() { status | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["history"]["samples"]))'; }

# Two bursts of requests with a history sample between them, so the chart has bars.
burst() {
  local i
  for i in $(seq 20); do
    curl -sf -o /dev/null -x "http://127.0.0.1:$ferry_port" \
      "http://127.0.0.1:$nginx_port/hello.txt?$1-$i" || fail "request $1-$i through ferry failed"
  done
}
next_sample() {
  local before
  before=$(samples)
  wait_until 5 eval '[ "$(samples)" -gt "$before" ]' || fail "no new status sample within 5 s"
}
burst a
next_sample
burst b
next_sample
check_ferry_alive ferry

dom=$(dump_dom status-dom "http://127.0.0.1:$admin/")
grep -q '<span id="live" class="ok">live</span>' <<<"$dom" ||
  fail "the page's script did not fetch status.json: $(grep -o '<span id="live"[^<]*' <<<"$dom")"
grep -q '<span id="requests-total">40</span>' <<<"$dom" ||
  fail "the page does not show 40 requests: $(grep -o 'id="requests-total">[^<]*' <<<"$dom")"
grep -q '<td>127.0.0.1</td><td>40</td>' <<<"$dom" || fail "the top hosts table lacks 127.0.0.1"
grep -q "<td>http://127.0.0.1:$nginx_port</td>" <<<"$dom" || fail "the origin pools lack the origin"
grep -q '<rect ' <<<"$dom" || fail "the chart has no bars"
note "DOM shows live numbers"

# Once the script has drawn status.json: the badge says live and the chart has a bar.
screenshot status-shot "http://127.0.0.1:$admin/" \
  --until "document.getElementById('live').className == 'ok' && !!document.querySelector('rect')"
read -r green blue < <(pixels "$rc_tmp/status-shot.png" 2ea043 1f6feb)
note "screenshot: $green pixels of the live badge's green, $blue of the chart's blue"
# The badge is 80x24 px; a bar is at least 1 px wide and 2 px high.
[ "$green" -ge 1000 ] || fail "the live badge is not green in the screenshot ($green pixels)"
[ "$blue" -ge 2 ] || fail "the chart's bars are not in the screenshot ($blue pixels)"
echo "ok: the status page renders with live numbers"
