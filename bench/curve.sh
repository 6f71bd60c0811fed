#!/usr/bin/env bash
# The cost of CURVE (encryption and authentication of every mesh socket,
# docs/protocol.md "Security") per request: the same mesh (one router, one
# frontend, one worker, the demo backend) without and with CURVE keys.
#
# Two figures per setting:
#   * wrk -t2 -c64 (BENCH_DURATION) through the frontend: requests/s, and the
#     CPU time (user + system, from /proc/PID/stat) the router, the frontend
#     and the worker used over that same run, per request;
#   * the worker's instructions per request under callgrind (BENCH_FEW, then
#     BENCH_MANY sequential requests; the difference over the difference),
#     which does not move with the load of a shared machine.
# Loopback only; every process it starts is stopped by PID.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
few="${BENCH_FEW:-500}"
many="${BENCH_MANY:-2500}"
base="${BENCH_BASE_PORT:-20180}"
backend_port=$base frontend_port=$((base + 1)) config_port=$((base + 2))
router_frontend_port=$((base + 3)) router_worker_port=$((base + 4)) publish_port=$((base + 5))
frontend_worker_port=$((base + 6))

require_upmesh_binaries "$bin_dir"
for tool in wrk valgrind curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (apt-get install wrk valgrind curl python3)" >&2; exit 1; }
done
require_free_ports "$backend_port" "$frontend_port" "$config_port" "$router_frontend_port" "$router_worker_port" \
  "$publish_port"

begin_work_dir curve

keys="$work_dir/keys"
mkdir -p "$keys/allowed"
for name in router frontend worker; do "$bin_dir/upmeshctl" keygen "$keys" "$name" >/dev/null 2>&1; done
cp "$keys/frontend.pub" "$keys/worker.pub" "$keys/allowed/"

ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start backend "$bin_dir/upmesh-backend" --address 127.0.0.1 --port "$backend_port" --name v1

# run_setting off|on: starts router, frontend and worker, measures, stops them.
results=()
run_setting() {
  local setting=$1 router_keys=() frontend_keys=() worker_keys=()
  if [[ "$setting" == on ]]; then
    router_keys=(--curve-secret-key "$keys/router.key" --curve-allowed-keys "$keys/allowed")
    frontend_keys=(--curve-secret-key "$keys/frontend.key" --curve-server-key "$keys/router.pub"
                   --curve-worker-secret-key "$keys/router.key" --curve-allowed-keys "$keys/allowed")
    worker_keys=(--curve-secret-key "$keys/worker.key" --curve-server-key "$keys/router.pub")
  fi
  rm -f "$work_dir/state.json"
  start "router-$setting" "$bin_dir/upmesh-router" --frontend-bind "tcp://127.0.0.1:$router_frontend_port" \
    --worker-bind "tcp://127.0.0.1:$router_worker_port" --publish-bind "tcp://127.0.0.1:$publish_port" \
    --config-port "$config_port" --state-file "$work_dir/state.json" \
    --server "127.0.0.1:$backend_port" --log-level warn "${router_keys[@]}"
  local router_pid=$last_pid
  start "frontend-$setting" "$bin_dir/upmesh-frontend" --address 127.0.0.1 --port "$frontend_port" \
    --router "tcp://127.0.0.1:$router_frontend_port" --config-endpoint "tcp://127.0.0.1:$publish_port" \
    --worker-bind "tcp://127.0.0.1:$frontend_worker_port" --log-level warn "${frontend_keys[@]}"
  local frontend_pid=$last_pid
  local worker_args=(--router "tcp://127.0.0.1:$router_worker_port" --config-endpoint "tcp://127.0.0.1:$publish_port"
                     --name bench --log-level warn "${worker_keys[@]}")
  start "worker-$setting" "$bin_dir/upmesh-worker" "${worker_args[@]}"
  local worker_pid=$last_pid
  local url="http://127.0.0.1:$frontend_port/"
  for _ in $(seq 100); do [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" == 200 ]] && break; sleep 0.1; done

  wrk -t"$threads" -c"$connections" -d"$warmup" "$url" >/dev/null
  local before=() after=() pid
  for pid in "$router_pid" "$frontend_pid" "$worker_pid"; do before+=("$(cpu_ticks "$pid")"); done
  local output
  output=$(wrk -t"$threads" -c"$connections" -d"$duration" "$url")
  for pid in "$router_pid" "$frontend_pid" "$worker_pid"; do after+=("$(cpu_ticks "$pid")"); done
  echo "$output" >"$work_dir/wrk-$setting.txt"
  local requests requests_per_sec
  requests=$(awk '/requests in/ {print $1}' <<<"$output")
  requests_per_sec=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
  if grep -q "Non-2xx\|Socket errors" <<<"$output"; then echo "bench: $setting: wrk saw errors:" >&2; echo "$output" >&2; exit 1; fi
  local per_request=() i
  for i in 0 1 2; do
    per_request+=("$(awk -v t=$((after[i] - before[i])) -v hz="$ticks_per_second" -v n="$requests" \
                    'BEGIN {printf "%.1f", t / hz * 1e6 / n}')")
  done
  local total
  total=$(awk -v a="${per_request[0]}" -v b="${per_request[1]}" -v c="${per_request[2]}" 'BEGIN {printf "%.1f", a + b + c}')
  stop_pid "$worker_pid"

  # The worker alone under callgrind: instructions per request.
  local counts=() n
  for n in "$few" "$many"; do
    local out="$work_dir/callgrind.$setting.$n"
    start "callgrind-$setting-$n" valgrind --tool=callgrind --callgrind-out-file="$out" "$bin_dir/upmesh-worker" \
      "${worker_args[@]}"
    local pid=$last_pid
    for _ in $(seq 300); do [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url")" == 200 ]] && break; sleep 0.1; done
    python3 "$bench_dir/client.py" "$frontend_port" "$n"
    stop_pid "$pid" 30
    counts+=("$(awk '/^totals:/ {print $2}' "$out")")
  done
  local instructions
  instructions=$(( (counts[1] - counts[0]) / (many - few) ))
  stop_pid "$frontend_pid"
  stop_pid "$router_pid"
  results+=("| $setting | $requests_per_sec | ${per_request[0]} | ${per_request[1]} | ${per_request[2]} | $total | $instructions |")
  echo "bench: CURVE $setting: $requests_per_sec req/s; CPU us/request router ${per_request[0]}," \
       "frontend ${per_request[1]}, worker ${per_request[2]}, total $total; worker instructions/request $instructions"
}

run_setting off
run_setting on
echo
echo "| CURVE | req/s | router CPU us/req | frontend CPU us/req | worker CPU us/req | total CPU us/req | worker instructions/req (callgrind) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${results[@]}"
