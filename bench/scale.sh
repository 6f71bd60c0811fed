#!/usr/bin/env bash
# How the cost of proxying grows with client connections and response size:
# upmesh (1 router, 1 frontend, 1 worker) against nginx (keep-alive reverse
# proxy) and HAProxy (mode http, keep-alive), all on loopback, in one run.
#
# The fixed nginx backend answers "/" with "hello\n" and /body/100k, /body/1m
# with files of 100,000 and 1,000,000 bytes. Cases, each measured with wrk
# (warm-up, then the measured run; bench/lib.sh run_wrk) through the three
# proxies back to back, so that the three see the same machine:
#   the 6-byte answer at each of BENCH_SCALE_CONNECTIONS client connections,
#   each body of BENCH_SCALE_BODIES at BENCH_SCALE_BODY_CONNECTIONS.
# Figures per case and proxy: req/s, MiB/s read, p50, p99, CPU per request of
# the proxy's own processes (user + system, /proc/PID/stat, over the measured
# run; upmesh's frontend, router and worker also apart), errors (socket errors
# + non-2xx/3xx), and the ratios upmesh/nginx. Prints the tables and writes
# them to bench/results/scale.md.
#
# Thousands of connections need as many open files in wrk and in every proxy:
# the script raises its soft limit to the hard one (at least 2 per connection
# plus 1,000 are needed); the nginx templates allow 20,000 connections, HAProxy 9,000.
#
# Needs nginx, haproxy and wrk (bash scripts/install-deps.sh --bench) and the
# upmesh binaries (bash scripts/build.sh). Settings, all optional:
#   BENCH_DURATION=5s BENCH_WARMUP=2s BENCH_THREADS=2 BENCH_PROXY_WORKERS=1
#   BENCH_SCALE_CONNECTIONS="50 1000 5000"
#   BENCH_SCALE_BODIES="100k 1m" (empty: none)  BENCH_SCALE_BODY_CONNECTIONS=50
#   UPMESH_BIN_DIR=build/bin
#   BENCH_BASE_PORT=18080   ports as bench/run.sh
# About 2 minutes with the defaults. Every process it starts is stopped by
# PID on exit; its temp dir is removed. Exit 1 when any run had errors.
set -euo pipefail

: "${BENCH_DURATION:=5s}" "${BENCH_WARMUP:=2s}"
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps

proxy_workers="${BENCH_PROXY_WORKERS:-1}"
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
read -r -a small_connections <<<"${BENCH_SCALE_CONNECTIONS:-50 1000 5000}"
read -r -a bodies <<<"${BENCH_SCALE_BODIES-100k 1m}"
body_connections="${BENCH_SCALE_BODY_CONNECTIONS:-50}"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
PATH="$PATH:/usr/sbin"
require_upmesh_binaries "$bin_dir"

most=$body_connections
for count in "${small_connections[@]}"; do (( count > most )) && most=$count; done
raise_open_files $((2 * most + 1000))

bench_ports "${BENCH_BASE_PORT:-18080}"
require_free_ports "$backend_port" "$nginx_proxy_port" "$haproxy_port" "$upmesh_port" \
  "$upmesh_config_port" "$upmesh_router_frontend_port" "$upmesh_router_worker_port" "$upmesh_frontend_worker_port"

begin_work_dir scale
# nginx workers drop to an unprivileged user when started as root.
chmod 755 "$work_dir"
mkdir -m 755 "$work_dir/body"
declare -A body_bytes=([100k]=100000 [1m]=1000000)
for body in "${bodies[@]}"; do
  [[ -n "${body_bytes[$body]:-}" ]] || { echo "bench: unknown body '$body' (100k, 1m)" >&2; exit 1; }
  head -c "${body_bytes[$body]}" /dev/urandom >"$work_dir/body/$body"
  chmod 644 "$work_dir/body/$body"
done

start_backend
fill_template nginx-proxy.conf.in nginx-proxy.conf
start nginx-proxy nginx -p "$work_dir" -e "$work_dir/nginx-proxy.error.log" \
  -c "$work_dir/nginx-proxy.conf" -g 'daemon off;'
nginx_pid=$last_pid
wait_for_hello "http://127.0.0.1:$nginx_proxy_port/" nginx-proxy "$nginx_pid"
fill_template haproxy.cfg.in haproxy.cfg
start haproxy haproxy -db -f "$work_dir/haproxy.cfg"
haproxy_pid=$last_pid
wait_for_hello "http://127.0.0.1:$haproxy_port/" haproxy "$haproxy_pid"
start_mesh warn || { echo "bench: upmesh did not come up" >&2; exit 1; }
read -r -a nginx_worker_pids <<<"$(pgrep -P "$nginx_pid" | tr '\n' ' ')"

# One row per case and proxy; run_wrk fills rps, mib_per_s, p50, p99,
# cpu_us, errors and notes in the same order.
row_case=() row_target=() upmesh_split=() overflows=()
rps=() mib_per_s=() p50=() p99=() cpu_us=() errors=() notes=()

# measure_proxy CASE PROXY URL PID...: run_wrk, and the listen overflows during it.
measure_proxy() {
  local before
  before=$(listen_overflows)
  row_case+=("$1") row_target+=("$2")
  run_wrk "$1 $2" "$3" "" "${@:4}"
  overflows+=($(($(listen_overflows) - before)))
}

# measure_case CASE PATH CONNECTIONS: the three proxies, one after the other.
measure_case() {
  local name=$1 path=$2
  connections=$3
  measure_proxy "$name" nginx "http://127.0.0.1:$nginx_proxy_port$path" "${nginx_worker_pids[@]}"
  measure_proxy "$name" haproxy "http://127.0.0.1:$haproxy_port$path" "$haproxy_pid"
  measure_proxy "$name" upmesh "http://127.0.0.1:$upmesh_port$path" "$frontend_pid" "$router_pid" "$worker_pid"
  upmesh_split+=("${cpu_us_by_pid[$frontend_pid]} / ${cpu_us_by_pid[$router_pid]} / ${cpu_us_by_pid[$worker_pid]}")
  if ! kill -0 "$frontend_pid" 2>/dev/null || ! kill -0 "$worker_pid" 2>/dev/null; then
    echo "bench: an upmesh process exited during '$name'" >&2
    show_logs
    exit 1
  fi
}

for count in "${small_connections[@]}"; do measure_case "6 B, $count conn" / "$count"; done
for body in "${bodies[@]}"; do measure_case "$body, $body_connections conn" "/body/$body" "$body_connections"; done

# figure_of ARRAY CASE TARGET
figure_of() {
  local -n figures=$1
  local i
  for i in "${!row_case[@]}"; do
    if [[ "${row_case[$i]}" == "$2" && "${row_target[$i]}" == "$3" ]]; then echo "${figures[$i]}"; return; fi
  done
}

# nginx's default proxy_buffering spills a response larger than its buffers
# to a temp file (on disk); that is part of its figures for large bodies.
spilled=$(grep -c "buffered to a temporary file" "$work_dir/nginx-proxy.error.log" || true)

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
results_dir="$bench_dir/results"
mkdir -p "$results_dir"
{
  echo "# upmesh at scale: connections and response sizes"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs (${cpu_model:-unknown CPU}), everything on 127.0.0.1;" \
    "load average before the run: $load_at_start."
  echo "wrk -t$threads -d$duration --latency after a $warmup warm-up, per case and proxy; nginx worker_processes /"
  echo "HAProxy nbthread: $proxy_workers; upmesh: 1 router, 1 frontend, 1 worker. Latencies in ms; MiB/s read by wrk;"
  echo "CPU: user + system time of the proxy's own processes per request; errors: socket errors + non-2xx/3xx."
  echo
  echo "Listen overflows: connections the kernel dropped with the proxy's accept queue full (warm-up and run;"
  echo "wrk's SYN is retried after 1 s, 3 s, ...)."
  echo
  echo "| case | proxy | req/s | MiB/s | p50 (ms) | p99 (ms) | CPU (us/req) | listen overflows | errors |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for i in "${!row_case[@]}"; do
    error_cell=${errors[$i]}
    [[ -n "${notes[$i]}" ]] && error_cell="$error_cell (${notes[$i]})"
    echo "| ${row_case[$i]} | ${row_target[$i]} | ${rps[$i]} | ${mib_per_s[$i]} | ${p50[$i]} | ${p99[$i]} | ${cpu_us[$i]} | ${overflows[$i]} | $error_cell |"
  done
  echo
  echo "| case | upmesh/nginx req/s | upmesh/nginx CPU per req | upmesh/nginx p99 | upmesh/haproxy req/s | upmesh CPU us/req: frontend / router / worker |"
  echo "|---|---:|---:|---:|---:|---|"
  cases=()
  for i in "${!row_case[@]}"; do [[ "${row_target[$i]}" == upmesh ]] && cases+=("${row_case[$i]}"); done
  for i in "${!cases[@]}"; do
    c=${cases[$i]}
    echo "| $c | $(divide "$(figure_of rps "$c" upmesh)" "$(figure_of rps "$c" nginx)")" \
      "| $(divide "$(figure_of cpu_us "$c" upmesh)" "$(figure_of cpu_us "$c" nginx)")" \
      "| $(divide "$(figure_of p99 "$c" upmesh)" "$(figure_of p99 "$c" nginx)")" \
      "| $(divide "$(figure_of rps "$c" upmesh)" "$(figure_of rps "$c" haproxy)") | ${upmesh_split[$i]} |"
  done
  echo
  echo "nginx proxy: $spilled responses buffered to a temporary file (its default proxy_buffering, warned in its error log)."
} >"$results_dir/scale.md"

echo
cat "$results_dir/scale.md"
echo
echo "written to ${results_dir#"$repo_root"/}/scale.md"

for note in "${notes[@]}"; do
  if [[ -n "$note" ]]; then exit 1; fi
done
