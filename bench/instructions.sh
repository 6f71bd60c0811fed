#!/usr/bin/env bash
# Instructions per request in the worker, per upgrade mode, counted by
# valgrind's callgrind. Unlike requests/s, instruction counts do not move with
# whatever else runs on a shared machine, so this is the figure to compare
# between changes.
#
# For each mode (INSTANT, SESSION, GRADUAL, CONCURRENT) the worker runs under
# callgrind twice, serving BENCH_FEW and then BENCH_MANY sequential requests
# (bench/client.py, each a new client); the difference divided by the
# difference in requests is the cost of one request without start-up.
# Two more rows price the monitoring (bench/rollback.sh uses them): an
# INSTANT v2 over v1 with its monitor (the default: outcomes recorded, the
# shield armed) and the same with "monitor": {"enabled": false}.
# BENCH_MODES="INSTANT-v2 INSTANT-v2-unmonitored" measures only those listed.
# Loopback only; every process it starts is stopped by PID.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
few="${BENCH_FEW:-500}"
many="${BENCH_MANY:-2500}"
base="${BENCH_BASE_PORT:-20080}"
v1_port=$base v2_port=$((base + 1)) frontend_port=$((base + 3)) config_port=$((base + 100))
router_frontend_port=$((base + 470)) router_worker_port=$((base + 471)) publish_port=$((base + 472))
frontend_worker_port=$((base + 473))

for tool in valgrind callgrind_annotate curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (bash scripts/install-deps.sh --bench)" >&2; exit 1; }
done
require_free_ports "$v1_port" "$v2_port" "$frontend_port" "$config_port" "$router_frontend_port" \
  "$router_worker_port" "$publish_port"

begin_work_dir instructions

api="http://127.0.0.1:$config_port/configuration/cluster"
start backend-v1 "$bin_dir/upmesh-backend" --port "$v1_port" --name v1
start backend-v2 "$bin_dir/upmesh-backend" --port "$v2_port" --name v2
start router "$bin_dir/upmesh-router" --frontend-bind "tcp://127.0.0.1:$router_frontend_port" \
  --worker-bind "tcp://127.0.0.1:$router_worker_port" --publish-bind "tcp://127.0.0.1:$publish_port" \
  --config-address 127.0.0.1 --config-port "$config_port" --state-file "$work_dir/state.json" \
  --server "127.0.0.1:$v1_port" --cluster-version 1 --log-level warn
start frontend "$bin_dir/upmesh-frontend" --address 127.0.0.1 --port "$frontend_port" \
  --router "tcp://127.0.0.1:$router_frontend_port" --config-endpoint "tcp://127.0.0.1:$publish_port" \
  --worker-bind "tcp://127.0.0.1:$frontend_worker_port" --log-level warn
for _ in $(seq 100); do curl -s -o /dev/null "$api" && break; sleep 0.1; done

# set_mode TRANSITION-JSON|none: v1 plus, unless none, a v2 with that transition.
v2_uuid=""
set_mode() {
  [[ -z "$v2_uuid" ]] || curl -s -o /dev/null -X DELETE "$api/$v2_uuid"
  v2_uuid=""
  [[ "$1" == none ]] && return
  v2_uuid=$(curl -s -X PUT "$api" -d "{\"cluster\": {\"version\": 2, \"servers\": [{\"ip\": \"127.0.0.1\", \"port\": $v2_port}], \"upgradeTransition\": $1}}")
}

# instructions NAME REQUESTS: the worker's total instruction count serving REQUESTS requests.
instructions() {
  local out="$work_dir/callgrind.$1.$2"
  start "worker-$1-$2" valgrind --tool=callgrind --callgrind-out-file="$out" "$bin_dir/upmesh-worker" \
    --router "tcp://127.0.0.1:$router_worker_port" --config-endpoint "tcp://127.0.0.1:$publish_port" \
    --name bench --log-level warn
  local pid=$last_pid
  for _ in $(seq 300); do curl -s -o /dev/null -m 2 "http://127.0.0.1:$frontend_port/" && break; sleep 0.1; done
  python3 "$bench_dir/client.py" "$frontend_port" "$2"
  stop_pid "$pid"
  awk '/^totals:/ {print $2}' "$out"
}

modes=(INSTANT SESSION GRADUAL CONCURRENT INSTANT-v2 INSTANT-v2-unmonitored)
transitions=(none '{"mode": "SESSION", "sessionTimeout": 600}' '{"mode": "GRADUAL", "durationSeconds": 100000}'
             '{"mode": "CONCURRENT"}' '{"mode": "INSTANT"}' '{"mode": "INSTANT", "monitor": {"enabled": false}}')
selected=" ${BENCH_MODES:-${modes[*]}} "
for mode in $selected; do
  [[ " ${modes[*]} " == *" $mode "* ]] || { echo "bench: unknown mode '$mode' in BENCH_MODES (${modes[*]})" >&2; exit 1; }
done
printf '%-22s %14s\n' mode "instr/request"
for i in "${!modes[@]}"; do
  [[ "$selected" == *" ${modes[$i]} "* ]] || continue
  set_mode "${transitions[$i]}"
  low=$(instructions "${modes[$i]}" "$few")
  high=$(instructions "${modes[$i]}" "$many")
  printf '%-22s %14d\n' "${modes[$i]}" $(((high - low) / (many - few)))
done
echo "(worker only; INSTANT is v1 alone; GRADUAL with durationSeconds 100000 sends nearly all to v1;"
echo " CONCURRENT asks both versions; INSTANT-v2[-unmonitored]: v2 INSTANT over v1, monitor on [off])"
