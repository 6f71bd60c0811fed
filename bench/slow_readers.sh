#!/usr/bin/env bash
# What slow readers do to everyone else: normal clients' req/s and p99 through
# nginx (keep-alive reverse proxy) and upmesh (1 router, 1 frontend, 1
# worker), without an attack and while slowhttptest holds BENCH_SLOW_CLIENTS
# connections that ask for a 1 MB response and read it a few bytes a second
# (`slowhttptest -X`, Slow Read), all on loopback, in one run. Also each
# proxy process's peak resident memory (VmHWM) and its memory after the
# attack (VmRSS, BENCH_SLOW_SETTLE seconds after slowhttptest ended).
#
# This is issue 10's measurement: a slow reader must hold back only its own
# response. Prints the table and writes it to bench/results/slow_readers.md.
#
# Needs nginx, wrk and slowhttptest (bash scripts/install-deps.sh --bench) and
# the upmesh binaries (bash scripts/build.sh). Settings, all optional:
#   BENCH_DURATION=5s BENCH_WARMUP=1s BENCH_CONNECTIONS=50 BENCH_THREADS=2
#   BENCH_SLOW_CLIENTS=1000  BENCH_SLOW_RAMP_S=4 (time to open them)
#   BENCH_SLOW_SETTLE=5  UPMESH_BIN_DIR=build/bin  BENCH_BASE_PORT=18080
# About a minute with the defaults. Every process it starts is stopped by PID
# on exit; its temp dir is removed.
set -euo pipefail

: "${BENCH_DURATION:=5s}" "${BENCH_WARMUP:=1s}" "${BENCH_CONNECTIONS:=50}"
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps

proxy_workers=1
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
slow_clients="${BENCH_SLOW_CLIENTS:-1000}"
ramp_s="${BENCH_SLOW_RAMP_S:-4}"
settle_s="${BENCH_SLOW_SETTLE:-5}"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
PATH="$PATH:/usr/sbin"
require_upmesh_binaries "$bin_dir"
raise_open_files $((4 * slow_clients + 1000))

bench_ports "${BENCH_BASE_PORT:-18080}"
require_free_ports "$backend_port" "$nginx_proxy_port" "$upmesh_port" "$upmesh_config_port" \
  "$upmesh_router_frontend_port" "$upmesh_router_worker_port" "$upmesh_frontend_worker_port"

begin_work_dir slow-readers
chmod 755 "$work_dir"  # nginx workers drop to an unprivileged user when started as root
mkdir -m 755 "$work_dir/body"
head -c 1000000 /dev/urandom >"$work_dir/body/1m"
chmod 644 "$work_dir/body/1m"

start_backend
fill_template nginx-proxy.conf.in nginx-proxy.conf
start nginx-proxy nginx -p "$work_dir" -e "$work_dir/nginx-proxy.error.log" \
  -c "$work_dir/nginx-proxy.conf" -g 'daemon off;'
nginx_pid=$last_pid
wait_for_hello "http://127.0.0.1:$nginx_proxy_port/" nginx-proxy "$nginx_pid"
start_mesh warn || { echo "bench: upmesh did not come up" >&2; exit 1; }
read -r -a nginx_worker_pids <<<"$(pgrep -P "$nginx_pid" | tr '\n' ' ')"

# memory_kib FIELD PID...: the sum of /proc/PID/status FIELD (VmHWM, VmRSS) in KiB.
memory_kib() {
  local field=$1 pid total=0
  shift
  for pid in "$@"; do
    total=$((total + $(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

rps=() mib_per_s=() p50=() p99=() cpu_us=() errors=() notes=()
rows=()

# measure_target NAME PORT PROCESS=PID...: normal clients without, then during, the attack.
measure_target() {
  local name=$1 port=$2
  shift 2
  local pids=() process
  for process in "$@"; do pids+=("${process#*=}"); done
  run_wrk "$name, no attack" "http://127.0.0.1:$port/" "" "${pids[@]}"
  local quiet=$((${#rps[@]} - 1))
  start slowhttptest-"$name" slowhttptest -X -c "$slow_clients" -r $((slow_clients / ramp_s + 1)) \
    -l $((ramp_s + 3 + ${duration%s} + ${warmup%s} + 2)) -w 512 -y 1024 -n 5 -z 32 -k 1 -p 10 \
    -u "http://127.0.0.1:$port/body/1m"
  local attack_pid=$last_pid
  sleep $((ramp_s + 3))
  local open
  open=$(ss -Htn state established "( dport = :$port )" 2>/dev/null | wc -l)
  run_wrk "$name, $slow_clients slow readers" "http://127.0.0.1:$port/" "" "${pids[@]}"
  local attacked=$((${#rps[@]} - 1))
  [[ "${rps[$attacked]}" == 0* ]] && notes[attacked]="${notes[$attacked]:+${notes[$attacked]}; }no answer within wrk's 2 s timeout"
  stop_started "$attack_pid"
  sleep "$settle_s"
  local peaks="" after=""
  for process in "$@"; do
    peaks="${peaks:+$peaks, }${process%%=*} $(($(memory_kib VmHWM "${process#*=}") / 1024))"
    after="${after:+$after, }${process%%=*} $(($(memory_kib VmRSS "${process#*=}") / 1024))"
  done
  rows+=("$name|${rps[$quiet]}|${p99[$quiet]}|${rps[$attacked]}|${p99[$attacked]}|$(divide "${rps[$quiet]}" "${rps[$attacked]}")|$(divide "${p99[$attacked]}" "${p99[$quiet]}")|$open|$peaks|$after|${errors[$attacked]}${notes[$attacked]:+ (${notes[$attacked]})}")
}

nginx_processes=()
for pid in "${nginx_worker_pids[@]}"; do nginx_processes+=("worker=$pid"); done
measure_target nginx "$nginx_proxy_port" "${nginx_processes[@]}"
measure_target upmesh "$upmesh_port" "frontend=$frontend_pid" "router=$router_pid" "worker=$worker_pid"

results=$(results_file slow_readers.md)
{
  echo "# Slow readers: $slow_clients connections reading a 1 MB response a few bytes at a time"
  echo
  machine_line
  echo "Normal clients: wrk -t$threads -c$connections -d$duration --latency (6-byte answers) after a $warmup warm-up."
  echo "Attack: slowhttptest -X -c $slow_clients (window 512-1024 bytes, 32 bytes read every 5 s), opened over ${ramp_s} s."
  echo "Memory in MiB: peak (VmHWM) over the whole run, and resident ${settle_s} s after the attack ended."
  echo
  echo "| proxy | req/s | p99 (ms) | req/s under attack | p99 (ms) under attack | req/s drop | p99 growth | slow connections open | peak RSS (MiB) | RSS after (MiB) | errors under attack |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"
  for row in "${rows[@]}"; do echo "| ${row//|/ | } |"; done
} >"$results"
echo
cat "$results"
