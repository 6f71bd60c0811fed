#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs a small mesh on
# loopback until Ctrl-C:
#
#   curl -> upmesh-frontend :8080 -(:5553)-> 2 x upmesh-worker
#        -> cluster "v1": upmesh-backend :8001 and upmesh-backend :8002
#   upmesh-router :5550/:5551/:5552: the control plane (table, API, discovery)
#
# A third backend, "v2" on :8003, runs beside them so that an upgrade can be
# tried through the config API on :9090 (the script prints how).
#
# Every process reads one generated JSON config file (see docs/configuration.md).
# Ports can be changed with UPMESH_PORT, UPMESH_BACKEND1_PORT,
# UPMESH_BACKEND2_PORT, UPMESH_BACKEND3_PORT, UPMESH_ROUTER_FRONTEND_PORT,
# UPMESH_ROUTER_WORKER_PORT, UPMESH_PUBLISH_PORT, UPMESH_FRONTEND_WORKER_PORT and UPMESH_CONFIG_PORT. UPMESH_SKIP_BUILD=1 uses the existing build as is.
# On Ctrl-C (or TERM) it stops every process it started, by PID, and exits 0.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${UPMESH_BUILD_DIR:-$repo_root/build}"
bin_dir="$build_dir/bin"

proxy_port="${UPMESH_PORT:-8080}"
backend1_port="${UPMESH_BACKEND1_PORT:-8001}"
backend2_port="${UPMESH_BACKEND2_PORT:-8002}"
backend3_port="${UPMESH_BACKEND3_PORT:-8003}"
router_frontend_port="${UPMESH_ROUTER_FRONTEND_PORT:-5550}"
router_worker_port="${UPMESH_ROUTER_WORKER_PORT:-5551}"
publish_port="${UPMESH_PUBLISH_PORT:-5552}"
frontend_worker_port="${UPMESH_FRONTEND_WORKER_PORT:-5553}"
config_port="${UPMESH_CONFIG_PORT:-9090}"

if [[ "${UPMESH_SKIP_BUILD:-0}" != 1 ]]; then
  bash "$repo_root/scripts/build.sh" --no-tests  # the executables only; scripts/test.sh builds the tests
fi
for binary in upmesh-backend upmesh-router upmesh-worker upmesh-frontend; do
  if [[ ! -x "$bin_dir/$binary" ]]; then
    echo "demo: $bin_dir/$binary not found; the build did not produce it" >&2
    exit 1
  fi
done

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
taken=0
for entry in "UPMESH_PORT=$proxy_port" "UPMESH_BACKEND1_PORT=$backend1_port" \
             "UPMESH_BACKEND2_PORT=$backend2_port" "UPMESH_BACKEND3_PORT=$backend3_port" \
             "UPMESH_ROUTER_FRONTEND_PORT=$router_frontend_port" "UPMESH_ROUTER_WORKER_PORT=$router_worker_port" \
             "UPMESH_PUBLISH_PORT=$publish_port" "UPMESH_FRONTEND_WORKER_PORT=$frontend_worker_port" \
             "UPMESH_CONFIG_PORT=$config_port"; do
  port=${entry#*=}
  if [[ ! "$port" =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
    echo "demo: ${entry%=*} must be a port number 1..65535, got '$port'" >&2
    exit 2
  fi
  if port_in_use "$port"; then
    echo "demo: port $port on 127.0.0.1 is already in use (something else listens there);" \
         "stop it or choose another port, e.g. ${entry%=*}=$((port + 10000)) bash scripts/demo.sh" >&2
    taken=1
  fi
done
[[ $taken == 0 ]] || exit 1

run_dir=$(mktemp -d /tmp/upmesh-demo.XXXXXX)
pids=()
names=()

cleanup() {
  trap - INT TERM EXIT
  local i pid
  if [[ ${#pids[@]} -gt 0 ]]; then echo; echo "demo: stopping ${#pids[@]} processes"; fi
  # Reverse start order: the frontend stops taking requests first, the
  # backends go last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: ${names[$i]} (PID $pid) still running after 10s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$run_dir"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# Starts NAME in its own session (so Ctrl-C reaches only this script, which
# then stops the processes in order) with output in $run_dir/NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$run_dir/$name.log" 2>&1 &
  pids+=("$!")
  names+=("$name")
}

# Prints the log of every started process that has exited; returns 1 if any has.
check_alive() {
  local i dead=0
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "demo: ${names[$i]} exited unexpectedly; its log ($run_dir/${names[$i]}.log):" >&2
      sed 's/^/    /' "$run_dir/${names[$i]}.log" >&2 || true
      dead=1
    fi
  done
  return $dead
}

config="$run_dir/mesh.json"
cat >"$config" <<EOF
{
  "proxy": {"address": "127.0.0.1", "port": $proxy_port},
  "configService": {"address": "127.0.0.1", "port": $config_port, "stateFile": "$run_dir/state.json"},
  "cluster": {
    "version": "v1",
    "servers": [
      {"ip": "127.0.0.1", "port": $backend1_port},
      {"ip": "127.0.0.1", "port": $backend2_port}
    ]
  },
  "frontend": {"routerEndpoint": "tcp://127.0.0.1:$router_frontend_port", "configEndpoint": "tcp://127.0.0.1:$publish_port",
               "workerBind": "tcp://127.0.0.1:$frontend_worker_port"},
  "router": {
    "frontendBind": "tcp://127.0.0.1:$router_frontend_port",
    "workerBind": "tcp://127.0.0.1:$router_worker_port",
    "publishBind": "tcp://127.0.0.1:$publish_port"
  },
  "worker": {
    "routerEndpoint": "tcp://127.0.0.1:$router_worker_port",
    "configEndpoint": "tcp://127.0.0.1:$publish_port"
  },
  "logLevel": "info"
}
EOF

start "backend-$backend1_port" "$bin_dir/upmesh-backend" --port "$backend1_port" --name v1
start "backend-$backend2_port" "$bin_dir/upmesh-backend" --port "$backend2_port" --name v1
start "backend-$backend3_port" "$bin_dir/upmesh-backend" --port "$backend3_port" --name v2
start router "$bin_dir/upmesh-router" --config "$config"
start worker-1 "$bin_dir/upmesh-worker" --config "$config" --name worker-1
start worker-2 "$bin_dir/upmesh-worker" --config "$config" --name worker-2
start frontend "$bin_dir/upmesh-frontend" --config "$config"

url="http://127.0.0.1:$proxy_port"
up=0
for _ in $(seq 150); do
  check_alive || exit 1
  if curl -sf --max-time 1 -o /dev/null "$url/"; then up=1; break; fi
  sleep 0.2
done
if [[ $up != 1 ]]; then
  echo "demo: $url/ did not answer within 30s; logs are in $run_dir:" >&2
  for name in "${names[@]}"; do
    echo "--- $name" >&2
    tail -n 20 "$run_dir/$name.log" >&2 || true
  done
  exit 1
fi

cat <<EOF

upmesh demo is up (config: $config, logs: $run_dir/*.log)

  client -> frontend 127.0.0.1:$proxy_port (workers connect to it on tcp://127.0.0.1:$frontend_worker_port)
         -> worker-1, worker-2 -> cluster v1: upmesh-backend 127.0.0.1:$backend1_port and 127.0.0.1:$backend2_port

Try:
  curl -i $url/                                   # X-Upmesh-Worker, X-Backend-Port show who answered
  curl -s '$url/?echo=1'                          # the request as the backend saw it (JSON)
  curl -s -X POST --data-binary 'hello' '$url/?echo=1'
  curl -s '$url/?size=100000' | wc -c             # a 100000-byte body
  curl -si '$url/?chunked=1&size=3000' | head -8  # chunked by the backend, whole (Content-Length) from upmesh
  curl -s -o /dev/null -w '%{http_code}\n' '$url/?status=404'
  for i in 1 2 3 4 5 6; do curl -s -D - -o /dev/null $url/ | grep -i '^x-\(upmesh-worker\|backend-port\)'; done

Upgrade to v2 (upmesh-backend 127.0.0.1:$backend3_port) through the config API, e.g. SESSION mode:
  $bin_dir/upmeshctl --api 127.0.0.1:$config_port add --version v2 --server 127.0.0.1:$backend3_port --mode SESSION --session-timeout 600
  $bin_dir/upmeshctl --api 127.0.0.1:$config_port list
  curl -si $url/ | grep -i 'x-backend-version\|set-cookie'     # new clients get v2
  $bin_dir/upmeshctl --api 127.0.0.1:$config_port delete <uuid>  # roll back: everyone on v1 again
(or with curl: curl -X PUT -d '{"cluster": {"version": "v2", "servers": [{"ip": "127.0.0.1", "port": $backend3_port}]}}' http://127.0.0.1:$config_port/configuration/cluster)

Press Ctrl-C to stop.
EOF

# Stay up until Ctrl-C; leave early (status 1) if a process dies.
while check_alive; do
  sleep 1
done
exit 1
