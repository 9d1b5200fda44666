# Shared set-up for the real-client tests, sourced by each *_test.sh: a private temp dir,
# background processes that are killed on any exit, an nginx origin and a ferry on
# loopback ports, and waits with deadlines. Everything listens on 127.0.0.1 only.
# It starts nothing by itself; it does not install packages (scripts/setup test does).
set -uo pipefail

rc_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-realclients.XXXXXX") || {
  echo "FAIL: mktemp" >&2
  exit 1
}
rc_pids=()

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
note() { echo "# $*"; }

# On failure the logs of everything started are printed, then every process is killed
# and waited for, and the temp dir removed (kept with KEEP_TMP=1).
rc_cleanup() {
  local status=$? pid f
  if [ "$status" -ne 0 ]; then
    for f in "$rc_tmp"/ferry.err "$rc_tmp"/ferry-access.log "$rc_tmp"/*/error.log; do
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

# start_nginx <name> <document root> [extra server directives]: a single-process nginx
# in the foreground on 127.0.0.1 with its config, logs and temp dirs in $rc_tmp/<name>.
# nginx cannot report a kernel-chosen port, so it tries random unprivileged ports below
# the ephemeral range until one binds. Sets nginx_port, nginx_pid, nginx_log (access
# log: client address, "request", status, body bytes, "Via", connection, requests on
# that connection).
start_nginx() {
  local name=$1 root=$2 extra=${3:-} dir=$rc_tmp/$1 attempt port
  mkdir -p "$dir" || fail "mkdir $dir"
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 12000))
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
  types { text/plain txt; text/html html; image/svg+xml svg; application/vnd.debian.binary-package deb; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $root;
    $extra
  }
}
EOF
    start_bg "$name" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
    # The pid file is written once the listening socket is bound.
    wait_until 10 eval '[ -s "$dir/nginx.pid" ] || ! alive "$bg_pid"'
    if alive "$bg_pid" && [ -s "$dir/nginx.pid" ]; then
      nginx_port=$port nginx_pid=$bg_pid nginx_log=$dir/access.log
      return 0
    fi
    grep -q 'Address already in use' "$dir/error.log" "$rc_tmp/$name.err" 2>/dev/null ||
      fail "nginx did not start: $(cat "$rc_tmp/$name.err" "$dir/error.log" 2>/dev/null)"
  done
  fail "nginx found no free port in 10 attempts"
}

# start_ferry <ferry binary> <CONNECT ports, comma-separated> [extra YAML]: ferry on
# 127.0.0.1:0 with two workers and its access log in $rc_tmp/ferry-access.log. Sets
# ferry_port, ferry_pid.
start_ferry() {
  local binary=$1 ports=$2 extra=${3:-}
  [ -x "$binary" ] || fail "no ferry binary at $binary"
  cat >"$rc_tmp/ferry.yaml" <<EOF
listen: ["127.0.0.1:0"]
workers: 2
log:
  access_log: "$rc_tmp/ferry-access.log"
access:
  connect_ports: [$ports]
$extra
EOF
  start_bg ferry "$binary" --config "$rc_tmp/ferry.yaml"
  ferry_pid=$bg_pid
  wait_until 10 eval 'grep -q "listening on 127.0.0.1:" "$rc_tmp/ferry.err" || ! alive "$ferry_pid"'
  ferry_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$rc_tmp/ferry.err" | head -n 1)
  [ -n "$ferry_port" ] || fail "ferry did not report its port: $(cat "$rc_tmp/ferry.err")"
  alive "$ferry_pid" || fail "ferry exited after start"
}

# Fails when ferry is no longer running (crashed during the test).
check_ferry_alive() {
  alive "$ferry_pid" || fail "ferry died: $(tail -n 20 "$rc_tmp/ferry.err")"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
