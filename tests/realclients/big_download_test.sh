#!/usr/bin/env bash
# A 1 GiB download streamed through ferry by curl --limit-rate from an nginx origin
# serving a sparse file: exactly 1 GiB of zero bytes must arrive, and ferry's resident
# memory (VmRSS, sampled every 100 ms) must stay under 64 MiB, because bodies stream with
# back-pressure instead of being buffered. Prints the peak RSS and the transfer rate;
# the rate is reported only, never asserted.
#
#   big_download_test.sh <built ferry binary> [curl --limit-rate value, default 100M]
source "$(dirname "$0")/lib.sh"

binary=${1:?usage: big_download_test.sh <ferry binary> [rate]}
rate=${2:-100M}
need curl nginx cmp truncate
size=1073741824 # bytes
rss_limit=65536 # KiB

www=$rc_tmp/www
mkdir -p "$www" || fail mkdir
truncate -s "$size" "$www/1G.bin" || fail "truncate"
start_nginx nginx "$www"
start_ferry ferry "$binary" "$nginx_port"
note "ferry on $ferry_port (pid $ferry_pid), nginx on $nginx_port, rate $rate"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$ferry_pid/status"; }
baseline=$(rss_kib)
[ -n "$baseline" ] || fail "cannot read VmRSS of ferry"

# curl's body goes to cmp against as many zero bytes: any corruption, missing or extra
# byte fails. curl's -w line goes to its stderr, its exit status to a file.
{
  curl -sS --noproxy '' --max-time 150 --limit-rate "$rate" -x "http://127.0.0.1:$ferry_port" \
    -o - -w '%{stderr}%{http_code} %{size_download} %{speed_download}\n' \
    "http://127.0.0.1:$nginx_port/1G.bin"
  echo $? >"$rc_tmp/curl.rc"
} 2>"$rc_tmp/curl.err" | cmp - <(head -c "$size" /dev/zero) >"$rc_tmp/cmp.out" 2>&1 &
pipeline=$!
rc_pids+=("$pipeline")

peak=$baseline samples=0
for ((i = 0; i < 1800; i++)); do # 1800 × 100 ms: past curl's --max-time
  alive "$pipeline" || break
  rss=$(rss_kib) || break
  [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  samples=$((samples + 1))
  sleep 0.1
done
wait "$pipeline"
cmp_status=$?

read -r code downloaded speed < <(tail -n 1 "$rc_tmp/curl.err")
note "ferry VmRSS: $((baseline / 1024)) MiB before, peak $((peak / 1024)) MiB ($peak KiB) in $samples samples"
note "downloaded ${downloaded:-?} bytes at $(awk -v s="${speed:-0}" 'BEGIN { printf "%.1f MB/s (%.1f MiB/s)", s / 1e6, s / 1048576 }')"

[ "$(cat "$rc_tmp/curl.rc" 2>/dev/null)" = 0 ] || fail "curl failed: $(cat "$rc_tmp/curl.err")"
[ "$code" = 200 ] || fail "status $code"
[ "$downloaded" = "$size" ] || fail "downloaded $downloaded bytes, want $size"
[ "$cmp_status" -eq 0 ] || fail "body is not $size zero bytes: $(cat "$rc_tmp/cmp.out")"
[ "$samples" -ge 10 ] || fail "only $samples RSS samples: the download was too short to watch"
[ "$peak" -lt "$rss_limit" ] || fail "ferry's peak VmRSS $peak KiB is not under $rss_limit KiB"
check_ferry_alive ferry
echo "PASS: 1 GiB through ferry, peak RSS $((peak / 1024)) MiB"
