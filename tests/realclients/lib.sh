# Shared set-up for the real-client tests, sourced by each *_test.sh: a private temp dir,
# background processes that are killed on any exit, an nginx origin and ferry instances on
# loopback ports, a flat apt repository with an isolated apt root, and waits with
# deadlines. Everything listens on 127.0.0.1 only. It starts nothing by itself; it does
# not install packages (scripts/setup test does).
set -uo pipefail

rc_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-realclients.XXXXXX") || {
  echo "FAIL: mktemp" >&2
  exit 1
}
rc_pids=()
declare -A rc_ferry_pid=() # start_ferry's name → pid; their logs are printed on failure

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
note() { echo "# $*"; }

# On failure the logs of everything started are printed, then every process is killed
# and waited for, and the temp dir removed (kept with KEEP_TMP=1).
rc_cleanup() {
  local status=$? pid f name logs=()
  if [ "$status" -ne 0 ]; then
    for name in "${!rc_ferry_pid[@]}"; do logs+=("$rc_tmp/$name.err" "$rc_tmp/$name-access.log"); done
    for f in "${logs[@]}" "$rc_tmp"/*/error.log; do
      [ -s "$f" ] && { echo "--- ${f#"$rc_tmp"/} (last 30 lines)" >&2; tail -n 30 "$f" >&2; }
    done
  fi
  for pid in "${rc_pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${rc_pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $rc_tmp" >&2; else rm -rf "$rc_tmp"; fi
  exit "$status"
}
trap rc_cleanup EXIT
trap 'exit 130' INT TERM HUP

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "$tool not found (scripts/setup test installs it)"
  done
}

# wait_until <seconds> <command...>: polls the command every 50 ms until it succeeds;
# false when the deadline passes first.
wait_until() {
  local tries=$(($1 * 20))
  shift
  while [ "$tries" -gt 0 ]; do
    "$@" && return 0
    sleep 0.05
    tries=$((tries - 1))
  done
  return 1
}

alive() { kill -0 "$1" 2>/dev/null; }

# start_bg <name> <command...>: runs the command in the background with stdout and
# stderr in $rc_tmp/<name>.out and .err; its pid is in bg_pid and killed on exit.
start_bg() {
  local name=$1
  shift
  : >"$rc_tmp/$name.out" && : >"$rc_tmp/$name.err" || fail "cannot write to $rc_tmp"
  "$@" >"$rc_tmp/$name.out" 2>"$rc_tmp/$name.err" &
  bg_pid=$!
  rc_pids+=("$bg_pid")
}

# self_signed_cert <dir>: a fresh self-signed certificate for 127.0.0.1 in <dir>/cert.pem,
# its key in <dir>/key.pem.
self_signed_cert() {
  mkdir -p "$1" || fail "mkdir $1"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$1/key.pem" -out "$1/cert.pem" 2>"$rc_tmp/openssl-req.err" ||
    fail "openssl req: $(cat "$rc_tmp/openssl-req.err")"
}

# start_nginx <name> <document root> [extra server directives] [tls]: a single-process
# nginx in the foreground on 127.0.0.1 with its config, logs and temp dirs in
# $rc_tmp/<name>. nginx cannot report a kernel-chosen port, so it tries random
# unprivileged ports below the ephemeral range until one binds. Sets nginx_port,
# nginx_pid, nginx_log (access log: client address, "request", status, body bytes, "Via",
# connection, requests on that connection). With a fourth argument "tls", a second server
# with the same root and directives answers HTTPS with a fresh self-signed certificate on
# nginx_tls_port, logging to nginx_tls_log.
start_nginx() {
  local name=$1 root=$2 extra=${3:-} tls=${4:-} dir=$rc_tmp/$1 attempt port tls_server=""
  mkdir -p "$dir" || fail "mkdir $dir"
  [ "$tls" = tls ] && self_signed_cert "$dir/tls"
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 12000))
    if [ "$tls" = tls ]; then
      nginx_tls_port=$((20000 + RANDOM % 12000))
      tls_server="server {
    listen 127.0.0.1:$nginx_tls_port ssl;
    ssl_certificate $dir/tls/cert.pem;
    ssl_certificate_key $dir/tls/key.pem;
    access_log $dir/tls-access.log ferrytest;
    root $root;
    $extra
  }"
    fi
    rm -f "$dir/nginx.pid"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 512; }
http {
  log_format ferrytest '\$remote_addr "\$request" \$status \$body_bytes_sent "\$http_via" \$connection \$connection_requests';
  access_log $dir/access.log ferrytest;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy_temp;
  fastcgi_temp_path $dir/fastcgi_temp;
  uwsgi_temp_path $dir/uwsgi_temp;
  scgi_temp_path $dir/scgi_temp;
  types { text/plain txt; text/html html; text/css css; text/javascript js; image/svg+xml svg;
          application/vnd.debian.binary-package deb; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $root;
    $extra
  }
  $tls_server
}
EOF
    start_bg "$name" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
    # The pid file is written once the listening socket is bound.
    wait_until 10 eval '[ -s "$dir/nginx.pid" ] || ! alive "$bg_pid"'
    if alive "$bg_pid" && [ -s "$dir/nginx.pid" ]; then
      nginx_port=$port nginx_pid=$bg_pid nginx_log=$dir/access.log nginx_tls_log=$dir/tls-access.log
      return 0
    fi
    grep -q 'Address already in use' "$dir/error.log" "$rc_tmp/$name.err" 2>/dev/null ||
      fail "nginx did not start: $(cat "$rc_tmp/$name.err" "$dir/error.log" 2>/dev/null)"
  done
  fail "nginx found no free port in 10 attempts"
}

# start_ferry <name> <ferry binary> <CONNECT ports, comma-separated> [extra YAML]: a ferry
# on 127.0.0.1:0 with two workers, loopback origins allowed, its config in
# $rc_tmp/<name>.yaml, its log in $rc_tmp/<name>.err and its access log in
# $rc_tmp/<name>-access.log. Several may run under different names. Sets ferry_port and
# ferry_pid for the one just started.
start_ferry() {
  local name=$1 binary=$2 ports=$3 extra=${4:-}
  [ -x "$binary" ] || fail "no ferry binary at $binary"
  cat >"$rc_tmp/$name.yaml" <<EOF
listen: ["127.0.0.1:0"]
workers: 2
log:
  access_log: "$rc_tmp/$name-access.log"
access:
  connect_ports: [$ports]
  allow_destinations: [127.0.0.0/8, "::1/128"]
$extra
EOF
  start_bg "$name" "$binary" --config "$rc_tmp/$name.yaml"
  ferry_pid=$bg_pid
  rc_ferry_pid[$name]=$bg_pid
  wait_until 10 eval 'grep -q "listening on 127.0.0.1:" "$rc_tmp/$name.err" || ! alive "$ferry_pid"'
  ferry_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$rc_tmp/$name.err" | head -n 1)
  [ -n "$ferry_port" ] || fail "ferry $name did not report its port: $(cat "$rc_tmp/$name.err")"
  alive "$ferry_pid" || fail "ferry $name exited after start"
}

# check_ferry_alive <name>: fails when that ferry is no longer running (crashed during
# the test).
check_ferry_alive() {
  alive "${rc_ferry_pid[$1]}" || fail "ferry $1 died: $(tail -n 20 "$rc_tmp/$1.err")"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# curl that never takes a proxy from the environment and gives up after 30 s (a later
# --max-time overrides it).
curl_() { curl -sS --max-time 30 --noproxy '' "$@"; }
# origin_lines "<method> <target>": nginx access log lines for that request.
origin_lines() { grep -F "\"$1 HTTP/1.1\"" "$nginx_log"; }

# start_tls_origin <dir>: openssl s_server on 127.0.0.1 with a fresh self-signed
# certificate, serving the files of <dir> (-WWW). Sets tls_port.
start_tls_origin() {
  local dir=$1
  self_signed_cert "$dir"
  # -WWW serves files from the current directory; -accept port 0 is printed as ACCEPT.
  start_bg s_server env -C "$dir" openssl s_server -accept 127.0.0.1:0 -cert cert.pem \
    -key key.pem -WWW
  wait_until 10 eval 'grep -q "^ACCEPT" "$rc_tmp/s_server.out" || ! alive "$bg_pid"'
  tls_port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$rc_tmp/s_server.out" | head -n 1)
  [ -n "$tls_port" ] || fail "openssl s_server did not start: $(cat "$rc_tmp/s_server.err")"
}

# --- apt: a flat repository and an isolated apt root.
apt_pkgs=(ferry-test-alpha ferry-test-beta ferry-test-gamma)

# build_apt_repo <document root>: a flat repository ("deb URI ./") in <root>/debian of the
# three apt_pkgs with random, incompressible payloads of 64, 128 and 256 KiB (beta depends
# on alpha so apt resolves something): Packages, Packages.gz and an unsigned Release.
# Sets apt_repo.
build_apt_repo() {
  local p d depends f kib=64
  apt_repo=$1/debian
  mkdir -p "$apt_repo" || fail mkdir
  for p in "${apt_pkgs[@]}"; do
    d=$rc_tmp/build/$p
    mkdir -p "$d/DEBIAN" "$d/usr/share/$p" || fail mkdir
    head -c $((kib * 1024)) /dev/urandom >"$d/usr/share/$p/payload" || fail "random file"
    depends=""
    [ "$p" = ferry-test-beta ] && depends="Depends: ferry-test-alpha (>= 1.0)"
    cat >"$d/DEBIAN/control" <<CONTROL
Package: $p
Version: 1.0
Architecture: all
Maintainer: ferry tests <tests@ferry.invalid>
Priority: optional
Section: misc
${depends:+$depends
}Description: ferry proxy test package
 Built by the ferry test suite to be fetched through the proxy.
CONTROL
    dpkg-deb --root-owner-group -Zgzip --build "$d" "$apt_repo/${p}_1.0_all.deb" >/dev/null \
      2>"$rc_tmp/dpkg-deb.err" || fail "dpkg-deb $p: $(cat "$rc_tmp/dpkg-deb.err")"
    kib=$((kib * 2))
  done
  (cd "$apt_repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>"$rc_tmp/scan.err") ||
    fail "dpkg-scanpackages: $(cat "$rc_tmp/scan.err")"
  [ "$(grep -c '^Package: ' "$apt_repo/Packages")" -eq 3 ] || fail "Packages does not list 3 packages"
  gzip -9nk "$apt_repo/Packages" || fail gzip
  {
    echo "Origin: ferry-test"
    echo "Label: ferry-test"
    echo "Date: $(LC_ALL=C date -Ru)"
    echo "SHA256:"
    for f in Packages Packages.gz; do
      echo " $(sha "$apt_repo/$f") $(stat -c %s "$apt_repo/$f") $f"
    done
  } >"$apt_repo/Release"
}

# apt_root <origin port> <proxy port>: apt's isolated root in $rc_tmp/apt, its sources
# the repository at http://127.0.0.1:<origin port>/debian, fetched through the proxy.
# APT_CONFIG is read before /etc/apt/apt.conf.d, so pointing Dir::Etc::parts and
# Dir::Etc::main away keeps the machine's settings (a proxy, hooks) out;
# Dir::State::status is an empty dpkg status. The machine's apt state is neither read
# nor written, and nothing is installed. Sets aptroot.
apt_root() {
  aptroot=$rc_tmp/apt
  mkdir -p "$aptroot/etc/apt.conf.d" "$aptroot/state/lists/partial" \
    "$aptroot/cache/archives/partial" "$aptroot/log" || fail mkdir
  : >"$aptroot/state/status"
  echo "deb [trusted=yes] http://127.0.0.1:$1/debian ./" >"$aptroot/etc/sources.list"
  cat >"$aptroot/apt.conf" <<CONF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$aptroot/etc/apt.conf.d";
Dir::Etc::sourcelist "$aptroot/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::preferences "/dev/null";
Dir::Etc::preferencesparts "-";
Dir::State "$aptroot/state";
Dir::State::status "$aptroot/state/status";
Dir::Cache "$aptroot/cache";
Dir::Log "$aptroot/log";
Debug::NoLocking "1";
APT::Sandbox::User "root";
Acquire::Retries "0";
Acquire::http::Timeout "20";
Acquire::http::Proxy "http://127.0.0.1:$2/";
CONF
}

apt_() { APT_CONFIG=$aptroot/apt.conf timeout 60 apt-get -q -o Debug::Acquire::http=1 "$@"; }

# apt_fetch <label>: with the .deb files cleared (the package lists kept, as a real
# machine would: conditional GETs), apt-get update, then install --download-only of the
# apt_pkgs; fails on a warning, a missing list or a file that differs from the built one.
# apt's output is in $rc_tmp/update.<label>.out and $rc_tmp/install.<label>.out.
apt_fetch() {
  local label=$1 p got
  rm -f "$aptroot"/cache/archives/*.deb
  apt_ update >"$rc_tmp/update.$label.out" 2>&1 ||
    fail "$label: apt-get update: $(tail -n 20 "$rc_tmp/update.$label.out")"
  grep -qE '^(W|E): ' "$rc_tmp/update.$label.out" &&
    fail "$label: apt-get update warned: $(grep -E '^(W|E): ' "$rc_tmp/update.$label.out")"
  ls "$aptroot"/state/lists/127.0.0.1*Packages >/dev/null 2>&1 || fail "$label: no package list stored"
  apt_ -y --download-only install "${apt_pkgs[@]}" >"$rc_tmp/install.$label.out" 2>&1 ||
    fail "$label: apt-get install -d: $(tail -n 20 "$rc_tmp/install.$label.out")"
  for p in "${apt_pkgs[@]}"; do
    got=$aptroot/cache/archives/${p}_1.0_all.deb
    [ -f "$got" ] || fail "$label: apt did not download $p"
    [ "$(sha "$got")" = "$(sha "$apt_repo/${p}_1.0_all.deb")" ] || fail "$label: $p differs from the built package"
  done
}
