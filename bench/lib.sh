# shellcheck shell=bash disable=SC2154  # work_dir and started_pids are the sourcing script's
# Helpers shared by the benchmark scripts (sourced, not run). Each script
# sets $work_dir and started_pids=() before using them.

# stop_pid PID: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "bench: PID $pid did not stop within 5s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start NAME COMMAND...: runs COMMAND in the background with output in
# $work_dir/NAME.log, records its PID in started_pids and sets $last_pid.
start() {
  local name=$1
  shift
  "$@" >"$work_dir/$name.log" 2>&1 &
  last_pid=$!
  started_pids+=("$last_pid")
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# require_free_ports PORT...: exits 1 naming the first port already taken.
require_free_ports() {
  local port
  for port in "$@"; do
    if port_in_use "$port"; then
      echo "bench: port $port on 127.0.0.1 is already in use; stop whatever listens there or set BENCH_BASE_PORT" >&2
      exit 1
    fi
  done
}

# Converts a wrk duration ("812.00us", "1.23ms", "2.01s") to milliseconds.
to_ms() {
  awk -v value="$1" 'BEGIN {
    number = value + 0
    if (value ~ /us$/) number /= 1000
    else if (value ~ /ms$/) number *= 1
    else if (value ~ /m$/) number *= 60000
    else if (value ~ /s$/) number *= 1000
    printf "%.2f", number
  }'
}

# divide A B: A/B with two decimals, or "-" when either is not a positive number.
divide() {
  if [[ "$1" =~ ^[0-9.]+$ && "$2" =~ ^[0-9.]+$ ]] && awk -v b="$2" 'BEGIN {exit !(b > 0)}'; then
    awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
  else
    echo "-"
  fi
}
