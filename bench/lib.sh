# shellcheck shell=bash disable=SC2154,SC2034  # work_dir, the wrk settings and the result arrays belong to the sourcing script
# Helpers shared by the benchmark scripts (sourced, not run). Each script
# sets $work_dir and started_pids=() before using them.

# wrk settings for run_wrk, the same for every script.
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-3s}"
connections="${BENCH_CONNECTIONS:-64}"
threads="${BENCH_THREADS:-2}"

# install_bench_deps: nginx, HAProxy, wrk and valgrind when missing (the build
# dependencies too), through scripts/install-deps.sh --bench, which starts no
# service and leaves none enabled (the benchmarks start their own nginx and
# HAProxy on loopback ports and stop them).
install_bench_deps() {
  bash "$(dirname "${BASH_SOURCE[0]}")/../scripts/install-deps.sh" --bench >&2
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5).
stop_pid() {
  local pid=$1 seconds=${2:-5}
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  for _ in $(seq $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "bench: PID $pid did not stop within ${seconds}s; killing it" >&2
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

# begin_work_dir NAME: a fresh $work_dir (/tmp/upmesh-bench-NAME.XXXXXX) and an
# empty started_pids; on exit (also after Ctrl-C or SIGTERM) every process
# started with `start` is stopped, newest first (the load and the frontend
# before what they depend on), and the directory removed.
begin_work_dir() {
  work_dir=$(mktemp -d "/tmp/upmesh-bench-$1.XXXXXX")
  started_pids=()
  trap cleanup_work_dir EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup_work_dir() {
  local i
  for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do stop_pid "${started_pids[$i]}"; done
  started_pids=()
  rm -rf "$work_dir"
}

# require_upmesh_binaries DIR: exits 1 naming the first executable missing in DIR.
require_upmesh_binaries() {
  local binary
  for binary in upmesh-backend upmesh-router upmesh-frontend upmesh-worker; do
    if [[ ! -x "$1/$binary" ]]; then
      echo "bench: $1/$binary not found (run: bash scripts/build.sh, or set UPMESH_BIN_DIR)" >&2
      exit 1
    fi
  done
}

# show_logs: the last 30 lines of every process log in $work_dir, on stderr.
show_logs() {
  local log
  for log in "$work_dir"/*.log; do
    [[ -e "$log" ]] || continue
    echo "----- $(basename "$log") -----" >&2
    tail -n 30 "$log" >&2 || true
  done
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

# Converts a wrk byte figure ("812.00KB", "1.23MB", "2.01GB", 1024-based) to MiB.
to_mib() {
  awk -v value="$1" 'BEGIN {
    number = value + 0
    if (value ~ /KB$/) number /= 1024
    else if (value ~ /GB$/) number *= 1024
    else if (value !~ /MB$/) number /= 1048576
    printf "%.1f", number
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

# cpu_ticks PID...: user + system CPU time of these processes (all their
# threads) so far, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() {
  local pid total=0 fields
  for pid in "$@"; do
    # The command name (field 2) may hold spaces: split after its ')'.
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
  done
  echo "$total"
}

declare -A cpu_us_by_pid=()

# wrk_requests OUTPUT: the number of requests a wrk run completed.
wrk_requests() {
  awk '/requests in/ {print $1}' <<<"$1"
}

# run_wrk NAME URL [NOTE [PID...]]: a warm-up run, then the measured run (wrk
# --latency with $threads, $connections, $warmup and $duration; output kept in
# $work_dir/wrk-NAME.txt). Appends the figures to the arrays rps, mib_per_s
# (MiB/s read), p50 and p99 (ms), errors and notes (NOTE, then anything wrong with the run), and to
# cpu_us the CPU time per request, in microseconds, of the PIDs given (the
# proxy's own processes; "-" without PIDs); each PID's own share goes to
# cpu_us_by_pid[PID].
run_wrk() {
  local name=$1 url=$2 note=${3:-}
  shift $(($# < 3 ? $# : 3))
  local pids=("$@")
  echo "bench: $name: warm-up $warmup, then $duration (-t$threads -c$connections) at $url"
  wrk -t"$threads" -c"$connections" -d"$warmup" "$url" >/dev/null
  local output pid before=() total=0
  for pid in "${pids[@]}"; do before+=("$(cpu_ticks "$pid")"); done
  output=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url")
  echo "$output" >"$work_dir/wrk-$name.txt"
  local i used requests
  requests=$(wrk_requests "$output")
  for i in "${!pids[@]}"; do
    used=$(( ($(cpu_ticks "${pids[$i]}") - before[i]) * 1000000 / $(getconf CLK_TCK) ))
    cpu_us_by_pid[${pids[$i]}]=$(divide "$used" "$requests")
    total=$((total + used))
  done
  if [[ ${#pids[@]} -gt 0 ]]; then cpu_us+=("$(divide "$total" "$requests")"); else cpu_us+=("-"); fi
  local requests_per_sec p50_raw p99_raw socket_errors status_errors
  requests_per_sec=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
  p50_raw=$(awk '$1 == "50%" {print $2}' <<<"$output")
  p99_raw=$(awk '$1 == "99%" {print $2}' <<<"$output")
  # "Socket errors: connect 0, read 0, write 0, timeout 0" (absent when all zero)
  socket_errors=$(awk -F'[ ,]+' '/Socket errors:/ {print $5 + $7 + $9 + $11}' <<<"$output")
  # "Non-2xx or 3xx responses: N" (absent when zero)
  status_errors=$(awk -F': ' '/Non-2xx or 3xx responses/ {print $2}' <<<"$output")
  socket_errors=${socket_errors:-0}
  status_errors=${status_errors:-0}
  if [[ -z "$requests_per_sec" ]]; then
    note="${note:+$note; }wrk output not understood"
  elif (( socket_errors + status_errors > 0 )); then
    local socket_detail
    socket_detail=$(awk '/Socket errors:/ {sub(/^ *Socket errors: */, ""); print " (" $0 ")"}' <<<"$output")
    note="${note:+$note; }ERRORS: $socket_errors socket$socket_detail, $status_errors non-2xx/3xx"
  fi
  rps+=("${requests_per_sec:-0}")
  mib_per_s+=("$(to_mib "$(awk '/^Transfer\/sec:/ {print $2}' <<<"$output")")")
  p50+=("$(to_ms "${p50_raw:-0}")")
  p99+=("$(to_ms "${p99_raw:-0}")")
  errors+=("$((socket_errors + status_errors))")
  notes+=("$note")
  echo "bench: $name: ${requests_per_sec:-?} req/s, p50 ${p50_raw:-?}, p99 ${p99_raw:-?}," \
       "CPU ${cpu_us[-1]} us/request, errors $((socket_errors + status_errors))${note:+ ($note)}"
}

# syscalls_per_request URL PID: a short extra wrk run ($syscall_duration)
# while `perf stat` counts the system calls and context switches of PID (all
# its threads); prints "SYSCALLS SWITCHES" per request, or "- -" when perf
# cannot count here. A separate run, because tracing slows the process it
# counts.
syscall_duration="${BENCH_SYSCALL_DURATION:-3s}"
syscalls_per_request() {
  local url=$1 pid=$2 counts="$work_dir/perf-$2.csv" perf_pid output requests
  if ! command -v perf >/dev/null; then echo "- -"; return; fi
  perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$pid" -o "$counts" 2>/dev/null &
  perf_pid=$!
  sleep 0.3
  output=$(wrk -t"$threads" -c"$connections" -d"$syscall_duration" "$url")
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  requests=$(wrk_requests "$output")
  local calls switches
  calls=$(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$counts" 2>/dev/null)
  switches=$(awk -F, '$3 == "context-switches" {print $1}' "$counts" 2>/dev/null)
  echo "$(divide "${calls:-}" "$requests") $(divide "${switches:-}" "$requests")"
}

# stop_started PID...: stop_pid each, and forget it in started_pids.
stop_started() {
  local pid
  for pid in "$@"; do
    stop_pid "$pid"
    local kept=()
    local other
    for other in "${started_pids[@]}"; do [[ "$other" == "$pid" ]] || kept+=("$other"); done
    started_pids=("${kept[@]+"${kept[@]}"}")
  done
}

# Waits until URL answers 200 with body "hello\n" (the fixed backend's answer,
# so a proxy that is up but not yet connected to its backend does not count).
wait_for_hello() {
  local url=$1 name=$2 pid=$3
  for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: $name exited during start-up; its log:" >&2
      cat "$work_dir/$name.log" >&2 || true
      return 1
    fi
    if [[ "$(curl -s --max-time 1 "$url" 2>/dev/null)" == "hello" ]]; then return 0; fi
    sleep 0.1
  done
  echo "bench: $name did not answer 'hello' at $url within 10s; its log:" >&2
  cat "$work_dir/$name.log" >&2 || true
  return 1
}

# fill_template TEMPLATE OUT: bench/TEMPLATE with @DIR@ and the port placeholders
# filled in from the sourcing script's variables, written to $work_dir/OUT.
fill_template() {
  sed -e "s|@DIR@|$work_dir|g" \
      -e "s|@BACKEND_PORT@|$backend_port|g" \
      -e "s|@NGINX_PROXY_PORT@|$nginx_proxy_port|g" \
      -e "s|@HAPROXY_PORT@|$haproxy_port|g" \
      -e "s|@PROXY_WORKERS@|${proxy_workers:-1}|g" \
      -e "s|@UPMESH_PORT@|$upmesh_port|g" \
      -e "s|@UPMESH_CONFIG_PORT@|$upmesh_config_port|g" \
      -e "s|@UPMESH_ROUTER_FRONTEND_PORT@|$upmesh_router_frontend_port|g" \
      -e "s|@UPMESH_ROUTER_WORKER_PORT@|$upmesh_router_worker_port|g" \
      -e "s|@UPMESH_PUBLISH_PORT@|$upmesh_publish_port|g" \
      -e "s|@UPMESH_FRONTEND_WORKER_PORT@|$upmesh_frontend_worker_port|g" \
      -e "s|@UPMESH_STATE_FILE@|$work_dir/upmesh-state.json|g" \
      "$bench_dir/$1" >"$work_dir/$2"
}

# nginx=PID for an nginx master's worker processes (the master does no proxying).
nginx_workers() {
  local pid
  for pid in $(pgrep -P "$1"); do echo "worker=$pid"; done
}


# listen_overflows: connections the kernel dropped so far (all listening
# sockets) because their accept queue was full (TcpExt ListenOverflows); the
# client retries the SYN after 1 s, 3 s, ...
listen_overflows() {
  awk '/^TcpExt:/ {if (!names) {split($0, name); names = 1} else {split($0, value);
       for (i in name) if (name[i] == "ListenOverflows") print value[i]}}' /proc/net/netstat 2>/dev/null || echo 0
}

# bench_ports BASE: the ports every bench script's templates use: BASE (the
# fixed backend), BASE+1 (nginx proxy), BASE+2 (HAProxy), BASE+3 (upmesh),
# BASE+100 (config service), BASE+470..473 (ZeroMQ).
bench_ports() {
  backend_port=$1
  nginx_proxy_port=$(($1 + 1))
  haproxy_port=$(($1 + 2))
  upmesh_port=$(($1 + 3))
  upmesh_config_port=$(($1 + 100))
  upmesh_router_frontend_port=$(($1 + 470))
  upmesh_router_worker_port=$(($1 + 471))
  upmesh_publish_port=$(($1 + 472))
  upmesh_frontend_worker_port=$(($1 + 473))
}

# start_backend: the fixed nginx backend (bench/nginx-backend.conf.in) on
# $backend_port, answering; sets backend_pid.
start_backend() {
  fill_template nginx-backend.conf.in nginx-backend.conf
  start nginx-backend nginx -p "$work_dir" -e "$work_dir/nginx-backend.error.log" \
    -c "$work_dir/nginx-backend.conf" -g 'daemon off;'
  backend_pid=$last_pid
  wait_for_hello "http://127.0.0.1:$backend_port/" nginx-backend "$backend_pid"
}

# start_router: upmesh-router from $work_dir/upmesh-router.json (written by
# start_mesh); sets router_pid.
start_router() {
  start upmesh-router "$bin_dir/upmesh-router" --config "$work_dir/upmesh-router.json"
  router_pid=$last_pid
}

# start_mesh [ROUTER_LOG_LEVEL]: router, one worker (bench-worker) and one
# frontend from bench/upmesh.json.in, answering through the worker; the
# router logs at ROUTER_LOG_LEVEL (default: the template's, warn). Sets
# router_pid, worker_pid and frontend_pid. Returns 1 (logs on stderr) when
# the mesh does not answer.
start_mesh() {
  fill_template upmesh.json.in upmesh.json
  sed "s|\"logLevel\": \"warn\"|\"logLevel\": \"${1:-warn}\"|" "$work_dir/upmesh.json" >"$work_dir/upmesh-router.json"
  start_router
  start upmesh-worker "$bin_dir/upmesh-worker" --config "$work_dir/upmesh.json" --name bench-worker
  worker_pid=$last_pid
  start upmesh-frontend "$bin_dir/upmesh-frontend" --config "$work_dir/upmesh.json"
  frontend_pid=$last_pid
  if ! wait_for_hello "http://127.0.0.1:$upmesh_port/" upmesh-frontend "$frontend_pid"; then
    show_logs
    return 1
  fi
  if ! curl -s -D - -o /dev/null "http://127.0.0.1:$upmesh_port/" | grep -qi '^X-Upmesh-Worker: bench-worker'; then
    echo "bench: upmesh responses lack X-Upmesh-Worker: bench-worker; not going through the worker?" >&2
    return 1
  fi
}

# stop_mesh: frontend first, so that nothing new arrives while the others drain.
stop_mesh() {
  stop_started "$frontend_pid" "$worker_pid" "$router_pid"
}

# raise_open_files N: the soft open-files limit up to the hard one; exits 1
# when that is below N (wrk and the proxies inherit it).
raise_open_files() {
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [[ "$(ulimit -n)" != unlimited ]] && (( $(ulimit -n) < $1 )); then
    echo "bench: open files limit $(ulimit -n) is below $1; raise the hard limit (ulimit -Hn) first" >&2
    exit 1
  fi
}
