#!/usr/bin/env bash
# Benchmarks upmesh against nginx and HAProxy, all on loopback, in one run.
#
# A fixed backend (nginx answering "hello\n") is measured with wrk:
#   1. directly,
#   2. through nginx as a keep-alive reverse proxy,
#   3. through HAProxy (mode http, keep-alive),
#   4. through upmesh (1 router, 1 frontend, 1 worker).
# Each measured run is preceded by a warm-up run with the same settings.
# Prints a table (target | req/s | p50 | p99 | CPU per request | system calls
# and context switches per request | errors), the same per process of each
# proxy, and the ratios upmesh/nginx and upmesh/haproxy (req/s, CPU per
# request, p99), and writes it to bench/results/latest.md. CPU per request
# is the proxy's own processes' user + system time (/proc/PID/stat) over the
# measured run; system calls come from `perf stat -e raw_syscalls:sys_enter`
# in a separate short run per process (BENCH_SYSCALL_DURATION, 3s), since
# tracing slows what it counts.
#
# Needs nginx, haproxy and wrk (bash scripts/install-deps.sh --bench) and the upmesh
# binaries (bash scripts/build.sh). Settings, all optional:
#   BENCH_DURATION=10s BENCH_WARMUP=3s BENCH_CONNECTIONS=64 BENCH_THREADS=2
#   BENCH_PROXY_WORKERS=1   nginx worker_processes / HAProxy nbthread
#   UPMESH_BIN_DIR=build/bin
#   BENCH_BASE_PORT=18080   ports BASE..BASE+3 (HTTP), BASE+100 (config
#                           service), BASE+470/471/472 (ZeroMQ) are used
# Every process it starts is stopped by PID on exit; its temp dir is removed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps

proxy_workers="${BENCH_PROXY_WORKERS:-1}"
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
base_port="${BENCH_BASE_PORT:-18080}"
# Taken before anything starts: other work on the machine skews the figures.
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

bench_ports "$base_port"

for tool in nginx haproxy wrk curl; do
  if ! command -v "$tool" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$tool" ]]; then
    echo "bench: '$tool' not found; run: bash scripts/install-deps.sh --bench" >&2
    exit 1
  fi
done
PATH="$PATH:/usr/sbin"

begin_work_dir run
# nginx workers drop to an unprivileged user when started as root; they must
# be able to reach their temp paths inside this directory.
chmod 755 "$work_dir"

# Results, one entry per target, filled by measure().
targets=() rps=() p50=() p99=() errors=() notes=() cpu_us=() syscalls=() switches=()
# Per process of a multi-process proxy: "target|process|CPU us|syscalls|switches".
process_rows=()

# measure NAME URL [NAME=PID...]: warm-up run, then the measured run
# (bench/lib.sh run_wrk) with the CPU time per request of the processes named,
# then one short run per process under perf stat for its system calls and
# context switches per request (summed over the processes for the target).
measure() {
  local name=$1 url=$2
  shift 2
  local pids=() process
  for process in "$@"; do pids+=("${process#*=}"); done
  targets+=("$name")
  run_wrk "$name" "$url" "" "${pids[@]}"
  local total_calls="" total_switches="" process_calls process_switches
  for process in "$@"; do
    read -r process_calls process_switches < <(syscalls_per_request "$url" "${process#*=}")
    process_rows+=("$name|${process%%=*}|${cpu_us_by_pid[${process#*=}]}|$process_calls|$process_switches")
    total_calls=$(add_figures "$total_calls" "$process_calls")
    total_switches=$(add_figures "$total_switches" "$process_switches")
  done
  syscalls+=("${total_calls:--}") switches+=("${total_switches:--}")
}

# add_figures A B: A + B with one decimal; "-" if either is "-" (A empty: B).
add_figures() {
  awk -v a="${1:-0}" -v b="$2" 'BEGIN {if (a == "-" || b == "-") print "-"; else printf "%.1f", a + b}'
}

record_skipped() {
  targets+=("$1") rps+=("-") p50+=("-") p99+=("-") errors+=("-") notes+=("SKIPPED: $2")
  cpu_us+=("-") syscalls+=("-") switches+=("-")
  echo "bench: $1: skipped: $2" >&2
}

require_free_ports "$backend_port" "$nginx_proxy_port" "$haproxy_port" "$upmesh_port" \
  "$upmesh_config_port" "$upmesh_router_frontend_port" "$upmesh_router_worker_port" "$upmesh_frontend_worker_port"

# 1. The fixed backend, measured directly.
start_backend
measure "backend (direct)" "http://127.0.0.1:$backend_port/"

# 2. nginx reverse proxy.
fill_template nginx-proxy.conf.in nginx-proxy.conf
start nginx-proxy nginx -p "$work_dir" -e "$work_dir/nginx-proxy.error.log" \
  -c "$work_dir/nginx-proxy.conf" -g 'daemon off;'
proxy_pid=$last_pid
wait_for_hello "http://127.0.0.1:$nginx_proxy_port/" nginx-proxy "$proxy_pid"
measure "nginx proxy" "http://127.0.0.1:$nginx_proxy_port/" $(nginx_workers "$proxy_pid")
stop_started "$proxy_pid"

# 3. HAProxy (-db: stay in the foreground).
fill_template haproxy.cfg.in haproxy.cfg
start haproxy haproxy -db -f "$work_dir/haproxy.cfg"
proxy_pid=$last_pid
wait_for_hello "http://127.0.0.1:$haproxy_port/" haproxy "$proxy_pid"
measure "haproxy" "http://127.0.0.1:$haproxy_port/" "haproxy=$proxy_pid"
stop_started "$proxy_pid"

# 4. upmesh: router, frontend and one worker, all from one config file.
missing_binaries=()
for binary in upmesh-router upmesh-frontend upmesh-worker; do
  [[ -x "$bin_dir/$binary" ]] || missing_binaries+=("$binary")
done
if [[ ${#missing_binaries[@]} -gt 0 ]]; then
  record_skipped "upmesh" "${missing_binaries[*]} not found in $bin_dir (run: bash scripts/build.sh)"
else
  if start_mesh warn; then
    measure "upmesh" "http://127.0.0.1:$upmesh_port/" "frontend=$frontend_pid" "router=$router_pid" \
      "worker=$worker_pid"
  else
    record_skipped "upmesh" "mesh did not come up or answered without the worker (logs above)"
  fi
  stop_mesh
fi

# ratio ARRAY TARGET: upmesh's figure in ARRAY (rps, cpu_us, p99) over
# TARGET's, or "-" when either is missing.
ratio() {
  local -n figures=$1
  local upmesh="" other="" i
  for i in "${!targets[@]}"; do
    [[ "${targets[$i]}" == "upmesh" ]] && upmesh=${figures[$i]}
    [[ "${targets[$i]}" == "$2" ]] && other=${figures[$i]}
  done
  divide "$upmesh" "$other"
}

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
results_dir="$bench_dir/results"
mkdir -p "$results_dir"
{
  echo "# upmesh benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs (${cpu_model:-unknown CPU}), everything on 127.0.0.1."
  echo "wrk -t$threads -c$connections -d$duration --latency after a $warmup warm-up; backend: nginx returning \"hello\\n\";"
  echo "nginx worker_processes / HAProxy nbthread: $proxy_workers. Load average before the run: $load_at_start."
  echo "Latencies in ms. Errors: socket errors + non-2xx/3xx responses."
  echo
  echo "CPU: user + system time of the proxy's own processes (not the backend's, not wrk's) per request in the"
  echo "measured run; system calls and context switches per request: perf stat, one extra $syscall_duration run per process."
  echo
  echo "| target | req/s | p50 (ms) | p99 (ms) | CPU (us/req) | syscalls/req | switches/req | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for i in "${!targets[@]}"; do
    error_cell=${errors[$i]}
    [[ -n "${notes[$i]}" ]] && error_cell="$error_cell (${notes[$i]})"
    echo "| ${targets[$i]} | ${rps[$i]} | ${p50[$i]} | ${p99[$i]} | ${cpu_us[$i]} | ${syscalls[$i]} | ${switches[$i]} | $error_cell |"
  done
  echo
  echo "upmesh/nginx: req/s $(ratio rps "nginx proxy"), CPU per request $(ratio cpu_us "nginx proxy"), p99 $(ratio p99 "nginx proxy");" \
    "upmesh/haproxy: req/s $(ratio rps haproxy), CPU per request $(ratio cpu_us haproxy), p99 $(ratio p99 haproxy)"
  echo
  echo "| target | process | CPU (us/req) | syscalls/req | switches/req |"
  echo "|---|---|---:|---:|---:|"
  for row in "${process_rows[@]}"; do echo "| ${row//|/ | } |"; done
} >"$results_dir/latest.md"

echo
printf '%-18s %10s %8s %8s %8s %9s %9s  %s\n' target req/s "p50 ms" "p99 ms" "CPU us" syscalls switches errors
for i in "${!targets[@]}"; do
  printf '%-18s %10s %8s %8s %8s %9s %9s  %s%s\n' "${targets[$i]}" "${rps[$i]}" "${p50[$i]}" "${p99[$i]}" \
    "${cpu_us[$i]}" "${syscalls[$i]}" "${switches[$i]}" "${errors[$i]}" "${notes[$i]:+  <-- ${notes[$i]}}"
done
echo
echo "per process (CPU us/req, syscalls/req, switches/req):"
for row in "${process_rows[@]}"; do echo "  ${row//|/  }"; done
echo
echo "upmesh/nginx: req/s $(ratio rps "nginx proxy"), CPU/req $(ratio cpu_us "nginx proxy"), p99 $(ratio p99 "nginx proxy")"
echo "upmesh/haproxy: req/s $(ratio rps haproxy), CPU/req $(ratio cpu_us haproxy), p99 $(ratio p99 haproxy)"
echo "written to ${results_dir#"$repo_root"/}/latest.md"

# A run with errors or a skipped target is not a clean result.
for note in "${notes[@]}"; do
  if [[ -n "$note" ]]; then exit 1; fi
done
