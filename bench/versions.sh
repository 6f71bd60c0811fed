#!/usr/bin/env bash
# Benchmarks version changes in upmesh, all on loopback, in one run.
#
# Setup: two upmesh-backend processes (--name v1, --name v2), one router whose
# initial cluster is v1 (version 1), one frontend and FOUR workers.
#
#   1. Propagation: 20 changes, alternately PUT of an INSTANT cluster v2
#      (version 2) and DELETE of it. Right after each PUT/DELETE returns, 16
#      keep-alive connections (opened before the change) fire GETs until every
#      one of the four workers (X-Upmesh-Worker) has answered with the new
#      version (X-Backend-Version). Reported per change: ms from the API's
#      answer until the LAST worker's first new-version answer arrived; median
#      and max over the 20 changes; the ms until the first answer of all; a
#      baseline: the same procedure without any change (what the load generator
#      itself needs to reach all four workers); and "stale" answers:
#      old-version answers to requests sent after the API answered (the route
#      stamp makes these 0).
#   2. Throughput: wrk against the frontend with v2 added in each mode
#      (INSTANT, SESSION, GRADUAL by requests, GRADUAL by time, CONCURRENT),
#      warm-up then measured run;
#      req/s, p50, p99, errors and the req/s ratio to INSTANT. wrk sends no
#      cookies, so every request is a new client: SESSION and GRADUAL set a
#      cookie on every response, CONCURRENT sends every GET to both versions.
#
# Prints a table and writes it to bench/results/versions.md.
#
# Needs wrk, curl, python3 and the upmesh binaries (bash scripts/build.sh).
# Settings, all optional:
#   BENCH_DURATION=10s BENCH_WARMUP=3s BENCH_CONNECTIONS=64 BENCH_THREADS=2
#   BENCH_CHANGES=20         changes measured in part 1
#   UPMESH_BIN_DIR=build/bin
#   BENCH_BASE_PORT=19080    ports BASE, BASE+1 (backends), BASE+3 (frontend),
#                            BASE+100 (config API), BASE+470..472 (ZeroMQ)
# Every process it starts is stopped by PID on exit; its temp dir is removed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps

changes="${BENCH_CHANGES:-20}"
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
base_port="${BENCH_BASE_PORT:-19080}"
worker_count=4
# Taken before anything starts: other work on the machine skews the figures.
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

v1_port=$base_port
v2_port=$((base_port + 1))
frontend_port=$((base_port + 3))
config_port=$((base_port + 100))
router_frontend_port=$((base_port + 470))
router_worker_port=$((base_port + 471))
publish_port=$((base_port + 472))
frontend_worker_port=$((base_port + 473))
api="http://127.0.0.1:$config_port/configuration/cluster"
url="http://127.0.0.1:$frontend_port/"

for tool in wrk curl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench: '$tool' not found; run: bash scripts/install-deps.sh --bench" >&2
    exit 1
  fi
done
require_upmesh_binaries "$bin_dir"

begin_work_dir versions

require_free_ports "$v1_port" "$v2_port" "$frontend_port" "$config_port" "$router_frontend_port" \
  "$router_worker_port" "$publish_port"

# wait_for CONDITION-COMMAND... : polls for up to 10 s.
wait_for() {
  for _ in $(seq 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "bench: timed out waiting for: $*" >&2
  show_logs
  return 1
}

# The mesh.
start backend-v1 "$bin_dir/upmesh-backend" --address 127.0.0.1 --port "$v1_port" --name v1 --log-level warn
start backend-v2 "$bin_dir/upmesh-backend" --address 127.0.0.1 --port "$v2_port" --name v2 --log-level warn
wait_for curl -sf "http://127.0.0.1:$v1_port/"
wait_for curl -sf "http://127.0.0.1:$v2_port/"
start router "$bin_dir/upmesh-router" --log-level warn \
  --frontend-bind "tcp://127.0.0.1:$router_frontend_port" --worker-bind "tcp://127.0.0.1:$router_worker_port" \
  --publish-bind "tcp://127.0.0.1:$publish_port" --config-address 127.0.0.1 --config-port "$config_port" \
  --state-file "$work_dir/state.json" --server "127.0.0.1:$v1_port" --cluster-version 1
for i in $(seq "$worker_count"); do
  start "worker-w$i" "$bin_dir/upmesh-worker" --log-level warn --name "w$i" \
    --router "tcp://127.0.0.1:$router_worker_port" --config-endpoint "tcp://127.0.0.1:$publish_port"
done
start frontend "$bin_dir/upmesh-frontend" --log-level warn --address 127.0.0.1 --port "$frontend_port" \
  --router "tcp://127.0.0.1:$router_frontend_port" --config-endpoint "tcp://127.0.0.1:$publish_port" \
  --worker-bind "tcp://127.0.0.1:$frontend_worker_port"
answers_v1() { [[ "$(curl -s --max-time 1 -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-backend-version" {print $2}')" == v1 ]]; }
wait_for answers_v1

# ---------------------------------------------------------------------------
# 1. Propagation of a change to every worker (Python: threads and timestamps).
echo "bench: propagation: $changes changes (PUT / DELETE of an INSTANT v2), $worker_count workers"
propagation_output=$(python3 - "$frontend_port" "$config_port" "$v2_port" "$changes" "$worker_count" <<'PYTHON'
import http.client, json, statistics, sys, threading, time

frontend_port, config_port, v2_port, changes, worker_count = (int(a) for a in sys.argv[1:6])
workers = {"w%d" % (i + 1) for i in range(worker_count)}
CONNECTIONS = 16
GIVE_UP_S = 5.0


def api(method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", config_port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"} if body is not None else {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def change_and_fire(change, new_version):
    """Connects CONNECTIONS keep-alive clients, makes the change (a function returning the
    API's (status, body)), then fires GETs from every connection until every worker has
    answered with new_version. Returns (status, body, {worker: ms from the API's answer to
    that worker's first new-version answer}, ms to the first answer of all, stale answers)."""
    first_new = {}
    first_any = []
    stale = [0]
    lock = threading.Lock()
    go = threading.Event()
    done = threading.Event()
    start = [0.0]
    connections = []
    for _ in range(CONNECTIONS):
        conn = http.client.HTTPConnection("127.0.0.1", frontend_port, timeout=5)
        conn.connect()
        connections.append(conn)

    def run(conn):
        go.wait()
        deadline = start[0] + GIVE_UP_S
        try:
            while not done.is_set() and time.monotonic() < deadline:
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                received = time.monotonic()
                worker = response.getheader("X-Upmesh-Worker")
                version = response.getheader("X-Backend-Version")
                with lock:
                    if not first_any:
                        first_any.append((received - start[0]) * 1000.0)
                    if version == new_version:
                        first_new.setdefault(worker, (received - start[0]) * 1000.0)
                        if workers <= set(first_new):
                            done.set()
                    else:
                        stale[0] += 1
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(conn,), daemon=True) for conn in connections]
    for t in threads:
        t.start()
    status, body = change()
    start[0] = time.monotonic()
    if status != 202:
        done.set()
    go.set()
    for t in threads:
        t.join()
    return status, body, first_new, (first_any or [float("nan")])[0], stale[0]


cluster_v2 = {"cluster": {"version": 2, "servers": [{"ip": "127.0.0.1", "port": v2_port}],
                          "upgradeTransition": {"mode": "INSTANT"}}}
all_workers_ms, per_worker_ms, first_answer_ms, stale_total, failures = [], [], [], 0, 0
uuid = None
for change in range(changes):
    time.sleep(0.1)  # a quiet mesh before each change
    if uuid is None:
        what, new_version = "PUT v2", "v2"
        status, body, first_new, first_any, stale = change_and_fire(
            lambda: api("PUT", "/configuration/cluster", cluster_v2), new_version)
    else:
        what, new_version = "DELETE v2", "v1"
        status, body, first_new, first_any, stale = change_and_fire(
            lambda: api("DELETE", "/configuration/cluster/" + uuid), new_version)
    if status != 202:
        print("ERROR %s gave %d: %s" % (what, status, body), file=sys.stderr)
        sys.exit(1)
    uuid = body.strip() if uuid is None else None
    stale_total += stale
    if not workers <= set(first_new):
        failures += 1
        print("change %2d %-9s: workers %s never answered %s within %.0f s"
              % (change + 1, what, sorted(workers - set(first_new)), new_version, GIVE_UP_S), file=sys.stderr)
        continue
    slowest = max(first_new[w] for w in workers)
    all_workers_ms.append(slowest)
    per_worker_ms.extend(first_new[w] for w in workers)
    first_answer_ms.append(first_any)
    print("change %2d %-9s: all %d workers on %s after %6.2f ms (per worker: %s; first answer %.2f ms), "
          "stale answers %d" % (change + 1, what, len(workers), new_version, slowest,
                                ", ".join("%s %.2f" % (w, first_new[w]) for w in sorted(workers)),
                                first_any, stale), file=sys.stderr)

# Baseline: the same procedure with no change at all (the current version is v1 again after an
# even number of changes, else v2): what the load generator itself needs to reach all workers.
baseline_ms = []
current = "v1" if uuid is None else "v2"
for _ in range(changes):
    time.sleep(0.05)
    _, _, first_new, _, _ = change_and_fire(lambda: (202, ""), current)
    if workers <= set(first_new):
        baseline_ms.append(max(first_new[w] for w in workers))
print("baseline (no change): all %d workers answered after a median %.2f ms"
      % (len(workers), statistics.median(baseline_ms) if baseline_ms else float("nan")), file=sys.stderr)

if not all_workers_ms or not baseline_ms:
    print("RESULT - - - - - 0 %d %d" % (stale_total, failures))
else:
    print("RESULT %.2f %.2f %.2f %.2f %.2f %d %d %d" % (
        statistics.median(all_workers_ms), max(all_workers_ms), statistics.median(per_worker_ms),
        statistics.median(first_answer_ms), statistics.median(baseline_ms), len(all_workers_ms),
        stale_total, failures))
PYTHON
) || { show_logs; exit 1; }
read -r _ prop_median prop_max prop_worker_median prop_first_answer prop_baseline prop_measured prop_stale \
  prop_failures \
  <<<"$propagation_output"
echo "bench: propagation: median $prop_median ms, max $prop_max ms until all $worker_count workers answer with the new version ($prop_measured changes measured, $prop_failures failed, $prop_stale stale answers)"

# ---------------------------------------------------------------------------
# 2. Throughput per mode.

modes=() rps=() p50=() p99=() errors=() notes=()
current_uuid=""

# set_mode MODE TRANSITION-JSON: replaces the v2 cluster by one with this transition.
set_mode() {
  local mode=$1 transition=$2
  if [[ -n "$current_uuid" ]]; then
    curl -sf -X DELETE "$api/$current_uuid" >/dev/null
  fi
  current_uuid=$(curl -sf -X PUT -H 'Content-Type: application/json' \
    --data "{\"cluster\": {\"version\": 2, \"servers\": [{\"ip\": \"127.0.0.1\", \"port\": $v2_port}], \"upgradeTransition\": $transition}}" \
    "$api") || { echo "bench: PUT of the $mode cluster failed" >&2; show_logs; exit 1; }
}

# measure MODE CHECK: warm-up, then the measured run; CHECK is a header that a response
# in this mode must carry (proof that the mode is in force), e.g. "x-upmesh-concurrent: match".
measure() {
  local mode=$1 check=$2
  local head note=""
  head=$(curl -s --max-time 2 -D - -o /dev/null "$url" | tr -d '\r' | tr '[:upper:]' '[:lower:]')
  if ! grep -q "^$check" <<<"$head"; then
    note="first response lacks '$check'"
  fi
  modes+=("$mode")
  run_wrk "$mode" "$url" "$note"
}

set_mode INSTANT '{"mode": "INSTANT"}'
measure INSTANT "x-backend-version: v2"
set_mode SESSION '{"mode": "SESSION", "sessionTimeout": 3600}'
measure SESSION "set-cookie: dynsoftup="
# Ramps slow enough to be still in progress at the end of the run: by requests (0.00002 % per
# request; the router counts every request and reserves counts in the state file), and by
# time (over a day; no counter).
set_mode GRADUAL-requests '{"mode": "GRADUAL", "percentageTransitionPerRequest": 0.00002}'
measure GRADUAL-requests "set-cookie: transition="
set_mode GRADUAL-time '{"mode": "GRADUAL", "durationSeconds": 86400}'
measure GRADUAL-time "set-cookie: transition="
set_mode CONCURRENT '{"mode": "CONCURRENT"}'
measure CONCURRENT "x-upmesh-concurrent: match"
# CONCURRENT mismatches during the run (expected 0: both versions answer alike).
mismatch_note=$(curl -s "$api/$current_uuid" | python3 -c '
import json, sys
state = json.load(sys.stdin).get("state", {})
print("CONCURRENT mismatches reported during the run: %s" % state.get("mismatches", "not shown"))
' 2>/dev/null || true)

ratio_to_instant() { divide "$1" "${rps[0]}"; }

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
results_dir="$bench_dir/results"
mkdir -p "$results_dir"
{
  echo "# upmesh version changes benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs (${cpu_model:-unknown CPU}), everything on 127.0.0.1."
  echo "One router, one frontend, $worker_count workers, backends upmesh-backend v1 and v2. Load average before the run: $load_at_start."
  echo
  echo "## Propagation: PUT/DELETE returned -> every worker answers with the new version"
  echo
  echo "$changes changes, alternately PUT of an INSTANT v2 and DELETE of it; as soon as the API has answered,"
  echo "16 keep-alive connections (opened before) fire GETs until all $worker_count workers have answered with"
  echo "the new version. Times from the API's answer to the arrival of the answer."
  echo
  echo "| measure | ms |"
  echo "|---|---:|"
  echo "| median over changes, until the last of the $worker_count workers | $prop_median |"
  echo "| max over changes, until the last of the $worker_count workers | $prop_max |"
  echo "| median per worker | $prop_worker_median |"
  echo "| median until the first answer of all | $prop_first_answer |"
  echo "| baseline: median until all $worker_count workers answered, same procedure without a change | $prop_baseline |"
  echo
  echo "Changes measured: $prop_measured of $changes (failed: $prop_failures). Stale answers (old version"
  echo "for a request sent after the API answered): $prop_stale."
  echo
  echo "## Requests/s per mode of the newest version"
  echo
  echo "wrk -t$threads -c$connections -d$duration --latency after a $warmup warm-up, GET /, no cookies (every request a new client)."
  echo
  echo "| mode | req/s | ratio to INSTANT | p50 (ms) | p99 (ms) | errors |"
  echo "|---|---:|---:|---:|---:|---:|"
  for i in "${!modes[@]}"; do
    error_cell=${errors[$i]}
    [[ -n "${notes[$i]}" ]] && error_cell="$error_cell (${notes[$i]})"
    echo "| ${modes[$i]} | ${rps[$i]} | $(ratio_to_instant "${rps[$i]}") | ${p50[$i]} | ${p99[$i]} | $error_cell |"
  done
  if [[ -n "$mismatch_note" ]]; then echo; echo "$mismatch_note."; fi
} >"$results_dir/versions.md"

echo
echo "propagation until all $worker_count workers route to the new version: median $prop_median ms, max $prop_max ms" \
  "(median per worker $prop_worker_median ms; first answer of all $prop_first_answer ms;" \
  "baseline without a change $prop_baseline ms;" \
  "$prop_measured/$changes changes; stale answers $prop_stale)"
echo
printf '%-18s %12s %8s %10s %10s  %s\n' mode req/s ratio "p50 ms" "p99 ms" errors
for i in "${!modes[@]}"; do
  printf '%-18s %12s %8s %10s %10s  %s%s\n' "${modes[$i]}" "${rps[$i]}" "$(ratio_to_instant "${rps[$i]}")" \
    "${p50[$i]}" "${p99[$i]}" "${errors[$i]}" "${notes[$i]:+  <-- ${notes[$i]}}"
done
if [[ -n "$mismatch_note" ]]; then echo "$mismatch_note"; fi
echo "written to ${results_dir#"$repo_root"/}/versions.md"

# A run with errors, a mode not in force, a failed or stale change is not a clean result.
for note in "${notes[@]}"; do
  if [[ -n "$note" ]]; then exit 1; fi
done
if [[ "$prop_failures" != 0 || "$prop_stale" != 0 ]]; then exit 1; fi
