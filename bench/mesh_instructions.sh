#!/usr/bin/env bash
# Instructions per request in each mesh process (frontend, router, worker;
# requests go frontend -> worker directly, so the router's figure is only its
# control traffic: heartbeats, ACKs),
# counted by valgrind's callgrind: the figure to compare between changes of
# the data path, since it does not move with whatever else runs on a shared
# machine (bench/run.sh gives the CPU time and system calls beside nginx).
#
# All three run under callgrind at once, with one demo backend, INSTANT v1.
# After BENCH_WARM sequential keep-alive requests (bench/client.py) every
# process's counters are zeroed (callgrind_control -z), BENCH_REQUESTS more
# are sent, and each process dumps its counts (callgrind_control -d): the
# dump divided by the requests is that process's cost per request, start-up
# excluded (idle heartbeats during the run are included; they are a few
# thousand instructions per second).
# BENCH_TRANSPORT=ipc links the processes over ipc:// (Unix sockets in the
# work directory) instead of tcp:// on loopback. BENCH_WORKER_ARGS: more
# flags for the worker, e.g. "--access-log /tmp/access.log" to price a feature.
# Loopback only; every process it starts is stopped by PID.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
require_upmesh_binaries "$bin_dir"
warm="${BENCH_WARM:-300}"
requests="${BENCH_REQUESTS:-3000}"
base="${BENCH_BASE_PORT:-20180}"
backend_port=$base frontend_port=$((base + 3)) config_port=$((base + 100))
router_frontend_port=$((base + 470)) router_worker_port=$((base + 471)) publish_port=$((base + 472))
frontend_worker_port=$((base + 473))

for tool in valgrind callgrind_control curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (bash scripts/install-deps.sh --bench)" >&2; exit 1; }
done
require_free_ports "$backend_port" "$frontend_port" "$config_port" "$router_frontend_port" \
  "$router_worker_port" "$publish_port" "$frontend_worker_port"

begin_work_dir mesh-instructions
# BENCH_KEEP_DUMPS=DIR: copy the callgrind dumps there (for callgrind_annotate).
keep_dumps="${BENCH_KEEP_DUMPS:-}"

transport="${BENCH_TRANSPORT:-tcp}"
# endpoint NAME PORT: where the mesh link NAME listens.
endpoint() {
  case "$transport" in
    tcp) echo "tcp://127.0.0.1:$2" ;;
    ipc) echo "ipc://$work_dir/$1.sock" ;;
    *) echo "bench: BENCH_TRANSPORT must be tcp or ipc, not '$transport'" >&2; exit 2 ;;
  esac
}
frontend_link=$(endpoint frontends "$router_frontend_port")
worker_link=$(endpoint workers "$router_worker_port")
publish_link=$(endpoint publish "$publish_port")
data_link=$(endpoint data "$frontend_worker_port")  # the frontend's worker socket: the data path

# under_callgrind NAME COMMAND...: starts COMMAND under callgrind, its dumps in
# $work_dir/callgrind.NAME.*; sets $last_pid to valgrind's PID.
under_callgrind() {
  local name=$1
  shift
  start "$name" valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$work_dir/callgrind.$name" "$@"
}

start backend "$bin_dir/upmesh-backend" --port "$backend_port" --name v1
under_callgrind router "$bin_dir/upmesh-router" --frontend-bind "$frontend_link" \
  --worker-bind "$worker_link" --publish-bind "$publish_link" \
  --config-address 127.0.0.1 --config-port "$config_port" --state-file "$work_dir/state.json" \
  --server "127.0.0.1:$backend_port" --cluster-version 1 --log-level warn
router_pid=$last_pid
under_callgrind worker "$bin_dir/upmesh-worker" --router "$worker_link" \
  --config-endpoint "$publish_link" --name bench --log-level warn ${BENCH_WORKER_ARGS:-}
worker_pid=$last_pid
under_callgrind frontend "$bin_dir/upmesh-frontend" --address 127.0.0.1 --port "$frontend_port" \
  --router "$frontend_link" --config-endpoint "$publish_link" --worker-bind "$data_link" --log-level warn
frontend_pid=$last_pid

ready=""
for _ in $(seq 600); do
  if curl -s -o /dev/null -m 2 -f "http://127.0.0.1:$frontend_port/"; then ready=yes; break; fi
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  echo "bench: the mesh did not answer within 60 s under valgrind" >&2
  show_logs
  exit 1
fi
python3 "$bench_dir/client.py" "$frontend_port" "$warm"
for pid in "$frontend_pid" "$router_pid" "$worker_pid"; do callgrind_control -z "$pid" >/dev/null 2>&1; done
python3 "$bench_dir/client.py" "$frontend_port" "$requests"
for pid in "$frontend_pid" "$router_pid" "$worker_pid"; do callgrind_control -d "$pid" >/dev/null 2>&1; done

# The dump of NAME taken after the measured requests: its newest numbered file.
dumped_instructions() {
  local dump
  dump=$(ls -t "$work_dir/callgrind.$1".* 2>/dev/null | head -1)
  [[ -n "$dump" ]] || { echo "bench: no callgrind dump for $1" >&2; exit 1; }
  awk '/^(totals|summary):/ {print $2; exit}' "$dump"
}

total=0
printf '%-10s %14s\n' process "instr/request"
for name in frontend router worker; do
  per_request=$(( $(dumped_instructions "$name") / requests ))
  total=$((total + per_request))
  printf '%-10s %14d\n' "$name" "$per_request"
done
printf '%-10s %14d\n' mesh "$total"
echo "($requests sequential keep-alive GETs after $warm warm-up ones; INSTANT v1, one demo backend; mesh links over $transport)"
if [[ -n "$keep_dumps" ]]; then
  mkdir -p "$keep_dumps"
  for name in frontend router worker; do cp "$(ls -t "$work_dir/callgrind.$name".* | head -1)" "$keep_dumps/callgrind.$name"; done
  echo "dumps in $keep_dumps (callgrind_annotate $keep_dumps/callgrind.frontend)"
fi
