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
# $work_dir/wrk-NAME.txt). Appends the figures to the arrays rps, p50 and p99
# (ms), errors and notes (NOTE, then anything wrong with the run), and to
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
    note="${note:+$note; }ERRORS: $socket_errors socket, $status_errors non-2xx/3xx"
  fi
  rps+=("${requests_per_sec:-0}")
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
