#!/usr/bin/env bash
# apt-get through ferry (Acquire::http::Proxy) against a flat repository of three tiny
# packages served by nginx on loopback: `update`, then `install --download-only` of all
# three, whose .deb files are fetched on one pipelined connection; the downloaded files
# must equal the built ones and the origin's log must show each request passed through
# ferry (Via). Then the whole sequence again with the .deb files cleared: ferry serves
# them from its cache this time (access log TCP_MEM_HIT, no new origin request). apt runs in an isolated root under the temp dir (its own config, sources,
# state, cache and empty dpkg status): the machine's apt state is neither read nor
# written, and nothing is installed.
#
#   apt_test.sh <built ferry binary>
source "$(dirname "$0")/lib.sh"

binary=${1:?usage: apt_test.sh <ferry binary>}
need apt-get dpkg-deb dpkg-scanpackages gzip nginx sha256sum
build_apt_repo "$rc_tmp/www"
start_nginx nginx "$rc_tmp/www"
# Package files never change once published: the refresh rule config/ferry.yaml suggests
# for a Debian mirror keeps them fresh, so the second run is served from the cache.
start_ferry ferry "$binary" "443" "cache:
  refresh_rules:
    - {pattern: '\\.deb\$', min: 30d, percent: 100, max: 365d}"
note "ferry on $ferry_port, nginx on $nginx_port"

apt_root "$nginx_port" "$ferry_port"
# nginx access log lines for GETs of the .deb files.
deb_gets() { grep -c "\"GET /debian/\(\./\)\?ferry-test-[a-z]*_1\.0_all\.deb HTTP/1\.1\" 200 " "$nginx_log"; }

for run in 1 2; do
  apt_fetch "run$run"
  # apt sent several requests before reading a response: pipelining really happened.
  max_inflight=$(awk '/^GET .*\.deb HTTP/ { n++; if (n > m) m = n } /^Answer for: .*\.deb/ { n-- } END { print m + 0 }' \
    "$rc_tmp/install.run$run.out")
  note "run $run: up to $max_inflight .deb requests in flight"
  [ "$max_inflight" -ge 2 ] || fail "run $run: apt did not pipeline the .deb requests"
  # Both runs together fetched each .deb from the origin once: run 2 was served by ferry.
  [ "$(deb_gets)" -eq 3 ] || fail "run $run: origin served $(deb_gets) .deb files, want 3"
  if [ "$run" = 2 ]; then
    hits=$(grep -c ' TCP_MEM_HIT/200 .*\.deb ' "$rc_tmp/ferry-access.log")
    [ "$hits" -eq 3 ] || fail "run 2: $hits .deb cache hits in ferry's access log, want 3"
  fi
  if [ "$run" = 1 ]; then
    grep -q '"[^"]*ferry[^"]*" [0-9]* [0-9]*$' "$nginx_log" || fail "origin saw no Via ferry"
    grep -v '"[^"]*ferry[^"]*" [0-9]* [0-9]*$' "$nginx_log" && fail "requests reached the origin without ferry"
  fi
  note "ok run $run"
done

check_ferry_alive ferry
echo "PASS: apt-get update and download through ferry, twice"
