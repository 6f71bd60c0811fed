#!/usr/bin/env bash
# Benchmarks automatic rollback in upmesh (monitor defaults only), all on
# loopback, in one run.
#
# Setup: one router whose initial cluster is v1 (version 1), one frontend,
# FOUR workers, upmesh-backend v1 and v2 on their own ports. A steady load of
# BENCH_RATE GETs/s (bench/load.py: BENCH_LOAD_CONNECTIONS keep-alive
# connections, no cookies, every answer's status and X-Backend-Version
# recorded with timestamps) runs through each trial; v1 gets it alone for
# BENCH_BASELINE_SECONDS first (its baseline), then v2 is PUT through the
# config API (INSTANT unless said) and misbehaves:
#
#   1. fail500: v2 serves healthy ~1 s, then answers every request 500
#      (/__control?errorPercent=100, which the backend stamps as its first
#      injected error). Per trial: the router's decidedAtMs - firstFailureAtMs
#      (decision) and allWorkersAppliedAtMs - firstFailureAtMs; the backend's
#      lastRequestAtMs - firstInjectedErrorAtMs, read a second after the
#      rollback (no traffic); GETs that reached a client as 5xx. Goal: < 1 s
#      and no client 5xx. BENCH_TRIALS trials.
#   2. slow: v1 5 ms (/__control?delay=5 on v1), v2 100 ms: decision and no
#      traffic counted from the PUT.
#   3. errors: v2 answers 10 % 500 (errorPercent=10).
#   4. shrink: v1 bodies 2000 bytes, v2 200 bytes.
#   5. dies: GRADUAL, percentageTransitionPerRequest 0.05; once the API's
#      gradualShare passes 20 % the v2 backend is killed (SIGKILL: connection
#      refused); decision counted from the kill; a new v2 backend is started
#      for what follows.
#   6. healthy: v2 behaves as v1, every request asks for delay=random
#      0..BENCH_JITTER_MS ms (v1 too, for BENCH_WINDOW_SETTLE_SECONDS first);
#      watched for BENCH_HEALTHY_SECONDS: any rollback is a false positive.
#   7. the cost of monitoring: callgrind instructions per request in the
#      worker, INSTANT v2 with its monitor vs "monitor": {"enabled": false}
#      (bench/instructions.sh with BENCH_MODES, on ports BENCH_BASE_PORT+200..).
# Scenarios 2 and 4 change v1 first and let it serve the changed way for one
# monitor window (BENCH_WINDOW_SETTLE_SECONDS) so its baseline is the new one;
# scenarios 3 and 5 do the same after v1 changed back.
# Between trials the previous v2 is deleted and its backend reset.
#
# Prints one table and writes it to bench/results/rollback.md. Exits non-zero
# when a step cannot be done (a port taken, a process died, an API call
# failed) or a result is not clean (a rollback missing, a false positive,
# client 5xx or unanswered requests, v2 answers after the rollback applied).
#
# Needs curl, python3, valgrind (scenario 7) and the upmesh binaries
# (bash scripts/build.sh). Settings, all optional:
#   BENCH_TRIALS=10              trials of scenario 1
#   BENCH_FAULT_TRIALS=5         trials of scenarios 2-5
#   BENCH_HEALTHY_SECONDS=300    scenario 6: how long the healthy v2 is watched
#   BENCH_HEALTHY_TRIALS=1       scenario 6 trials
#   BENCH_RATE=1000              GETs/s of the load
#   BENCH_LOAD_CONNECTIONS=128   its keep-alive connections (at 100 ms a request, 100 are busy)
#   BENCH_BASELINE_SECONDS=2     v1 alone under load before each PUT
#   BENCH_WINDOW_SETTLE_SECONDS=11  v1 under its new behaviour before scenarios 2, 4, 6
#   BENCH_JITTER_MS=20           scenario 6: delay=random 0..this per request
#   BENCH_SCENARIOS="1 2 3 4 5 6 7"  which scenarios to run
#   BENCH_FEW=500 BENCH_MANY=2500    scenario 7 (bench/instructions.sh)
#   BENCH_NOTE=""                a sentence for the results file (e.g. what else ran)
#   UPMESH_BIN_DIR=build/bin
#   BENCH_BASE_PORT=19380        ports BASE, BASE+1 (backends), BASE+3 (frontend),
#                                BASE+100 (config API), BASE+470..472 (ZeroMQ);
#                                scenario 7 uses BASE+200 as its base
# Every process it starts is stopped by PID on exit; its temp dir is removed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps

trials="${BENCH_TRIALS:-10}"
fault_trials="${BENCH_FAULT_TRIALS:-5}"
healthy_seconds="${BENCH_HEALTHY_SECONDS:-300}"
healthy_trials="${BENCH_HEALTHY_TRIALS:-1}"
rate="${BENCH_RATE:-1000}"
load_connections="${BENCH_LOAD_CONNECTIONS:-128}"
baseline_seconds="${BENCH_BASELINE_SECONDS:-2}"
settle_seconds="${BENCH_WINDOW_SETTLE_SECONDS:-11}"
jitter_ms="${BENCH_JITTER_MS:-20}"
scenarios=" ${BENCH_SCENARIOS:-1 2 3 4 5 6 7} "
few="${BENCH_FEW:-500}"
many="${BENCH_MANY:-2500}"
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
base_port="${BENCH_BASE_PORT:-19380}"
run_note="${BENCH_NOTE:-}"
worker_count=4
# Taken before anything starts: other work on the machine skews the figures.
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
started_s=$SECONDS

for setting in trials fault_trials healthy_seconds healthy_trials rate load_connections baseline_seconds \
  settle_seconds jitter_ms few many base_port; do
  if [[ ! "${!setting}" =~ ^[0-9]+$ ]]; then
    echo "bench: $setting must be a whole number, got '${!setting}'" >&2
    exit 2
  fi
done

v1_port=$base_port
v2_port=$((base_port + 1))
frontend_port=$((base_port + 3))
config_port=$((base_port + 100))
router_frontend_port=$((base_port + 470))
router_worker_port=$((base_port + 471))
publish_port=$((base_port + 472))
frontend_worker_port=$((base_port + 473))
url="http://127.0.0.1:$frontend_port/"

for tool in curl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench: '$tool' not found; run: bash scripts/install-deps.sh --bench" >&2
    exit 1
  fi
done
if [[ "$scenarios" == *" 7 "* ]] && ! command -v valgrind >/dev/null 2>&1; then
  echo "bench: valgrind is needed for scenario 7 (apt-get install valgrind), or leave 7 out of BENCH_SCENARIOS" >&2
  exit 1
fi
require_upmesh_binaries "$bin_dir"

begin_work_dir rollback

require_free_ports "$v1_port" "$v2_port" "$frontend_port" "$config_port" "$router_frontend_port" \
  "$router_worker_port" "$publish_port"

die() {
  echo "bench: $*" >&2
  show_logs
  exit 1
}

# forget_pid PID: drops PID from started_pids (it was stopped or died).
forget_pid() {
  local kept=() pid
  for pid in "${started_pids[@]}"; do [[ "$pid" == "$1" ]] || kept+=("$pid"); done
  started_pids=("${kept[@]+"${kept[@]}"}")
}

# wait_for CONDITION-COMMAND... : polls for up to 10 s.
wait_for() {
  for _ in $(seq 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out waiting for: $*"
}

# The mesh. mesh_pids: name -> PID of every long-lived process, checked after each trial.
declare -A mesh_pids
start_v2() {
  start backend-v2 "$bin_dir/upmesh-backend" --address 127.0.0.1 --port "$v2_port" --name v2 --log-level warn
  mesh_pids[backend-v2]=$last_pid
  wait_for curl -sf "http://127.0.0.1:$v2_port/__stats"
}
start backend-v1 "$bin_dir/upmesh-backend" --address 127.0.0.1 --port "$v1_port" --name v1 --log-level warn
mesh_pids[backend-v1]=$last_pid
wait_for curl -sf "http://127.0.0.1:$v1_port/__stats"
start_v2
# info level: the router logs every rollback with its evidence.
start router "$bin_dir/upmesh-router" --log-level info \
  --frontend-bind "tcp://127.0.0.1:$router_frontend_port" --worker-bind "tcp://127.0.0.1:$router_worker_port" \
  --publish-bind "tcp://127.0.0.1:$publish_port" --config-address 127.0.0.1 --config-port "$config_port" \
  --state-file "$work_dir/state.json" --server "127.0.0.1:$v1_port" --cluster-version 1
mesh_pids[router]=$last_pid
for i in $(seq "$worker_count"); do
  start "worker-w$i" "$bin_dir/upmesh-worker" --log-level warn --name "w$i" \
    --router "tcp://127.0.0.1:$router_worker_port" --config-endpoint "tcp://127.0.0.1:$publish_port"
  mesh_pids[worker-w$i]=$last_pid
done
start frontend "$bin_dir/upmesh-frontend" --log-level warn --address 127.0.0.1 --port "$frontend_port" \
  --router "tcp://127.0.0.1:$router_frontend_port" --config-endpoint "tcp://127.0.0.1:$publish_port" \
  --worker-bind "tcp://127.0.0.1:$frontend_worker_port"
mesh_pids[frontend]=$last_pid
answers_v1() { [[ "$(curl -s --max-time 1 -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-backend-version" {print $2}')" == v1 ]]; }
wait_for answers_v1

check_mesh() {
  local name
  for name in "${!mesh_pids[@]}"; do
    kill -0 "${mesh_pids[$name]}" 2>/dev/null || die "$name (PID ${mesh_pids[$name]}) died; its log is below"
  done
}

v1_control() {
  curl -sf -X PUT "http://127.0.0.1:$v1_port/__control?$1" >/dev/null || die "PUT /__control?$1 on v1 failed"
}

results="$work_dir/results.jsonl"
: >"$results"

# run_trial SCENARIO N LOAD-SECONDS BASELINE-SECONDS [JITTER-MS]: the load in the
# background (bounded by LOAD-SECONDS, stopped once the trial is over), the
# trial's steps, then what the clients saw; one JSON line into $results.
run_trial() {
  local scenario=$1 n=$2 load_seconds=$3 baseline=$4 jitter=${5:-0}
  local name="load-$scenario-$n"
  local load_file="$work_dir/$name.txt" trial_file="$work_dir/trial-$scenario-$n.json"
  start "$name" python3 "$bench_dir/load.py" --port "$frontend_port" --rate "$rate" \
    --connections "$load_connections" --duration "$load_seconds" --jitter-ms "$jitter" --out "$load_file"
  local load_pid=$last_pid
  local extra=()
  [[ "$scenario" == dies ]] && extra=(--v2-pid "${mesh_pids[backend-v2]}")
  [[ "$scenario" == healthy ]] && extra=(--healthy-seconds "$healthy_seconds")
  if ! python3 "$bench_dir/rollback_steps.py" trial "$scenario" --api-port "$config_port" --v1-port "$v1_port" \
      --v2-port "$v2_port" --baseline "$baseline" ${extra[@]+"${extra[@]}"} >"$trial_file" 2>"$work_dir/steps.log"; then
    cat "$work_dir/steps.log" >&2
    die "$scenario trial $n failed"
  fi
  if ! kill -0 "$load_pid" 2>/dev/null; then
    echo "bench: warning: the load of $scenario trial $n ended before the trial did (BENCH_* too long?)" >&2
  fi
  # SIGTERM: the load generator waits up to 2 s for answers under way, then writes
  # its records (a few hundred thousand lines in scenario 6): 60 s before SIGKILL.
  stop_pid "$load_pid" 60
  forget_pid "$load_pid"
  if [[ "$scenario" == dies ]]; then
    # The trial killed v2 (SIGKILL): reap it, start a new one.
    local dead=${mesh_pids[backend-v2]}
    { wait "$dead"; } 2>/dev/null || true  # (bash would report "Killed")
    forget_pid "$dead"
    unset 'mesh_pids[backend-v2]'
    start_v2
  fi
  check_mesh
  python3 "$bench_dir/rollback_steps.py" analyze "$trial_file" "$load_file" "$work_dir/$name.log" >>"$results" ||
    die "analysis of $scenario trial $n failed"
  python3 - "$results" <<'PYTHON'
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1])
keys = ["rolledBack", "reason", "decisionMs", "appliedMs", "noTrafficMs", "backendErrorToDecisionMs", "client5xx",
        "clientNoAnswer", "staleV2Answers", "healthBeforeFault", "shareAtKill", "health"]
shown = ", ".join("%s %s" % (k, t[k]) for k in keys if t.get(k) is not None)
print("bench: %s: %s; load %s req/s (%s sent)" % (t["scenario"], shown, t["load"]["rate"], t["load"]["sent"]))
PYTHON
}

scenario_enabled() { [[ "$scenarios" == *" $1 "* ]]; }

# Load lengths: the trial ends the load early; these only bound it.
fault_load=$((baseline_seconds + 25))

if scenario_enabled 1; then
  echo "bench: 1. INSTANT v2 starts answering 500: $trials trials"
  for n in $(seq "$trials"); do run_trial fail500 "$n" "$fault_load" "$baseline_seconds"; done
fi

if scenario_enabled 2; then
  echo "bench: 2. v2 20x slower: v1 delay 5 ms (settling ${settle_seconds}s), v2 100 ms: $fault_trials trials"
  v1_control delay=5
  for n in $(seq "$fault_trials"); do
    first=$baseline_seconds; ((n == 1)) && first=$settle_seconds
    run_trial slow "$n" $((first + 25)) "$first"
  done
  v1_control reset=1
fi

if scenario_enabled 3; then
  echo "bench: 3. v2 answers 10 % 5xx: $fault_trials trials"
  # v1 may have just changed back (scenario 2): its window settles first.
  for n in $(seq "$fault_trials"); do
    first=$baseline_seconds; ((n == 1)) && first=$settle_seconds
    run_trial errors "$n" $((first + 25)) "$first"
  done
fi

if scenario_enabled 4; then
  echo "bench: 4. v2 bodies a tenth: v1 size 2000 (settling ${settle_seconds}s), v2 200: $fault_trials trials"
  v1_control size=2000
  for n in $(seq "$fault_trials"); do
    first=$baseline_seconds; ((n == 1)) && first=$settle_seconds
    run_trial shrink "$n" $((first + 25)) "$first"
  done
  v1_control reset=1
fi

if scenario_enabled 5; then
  echo "bench: 5. v2 dies mid-ramp (GRADUAL 0.05 %/request, killed past 20 %): $fault_trials trials"
  # v1 may have just changed back (scenario 4): its window settles first.
  for n in $(seq "$fault_trials"); do
    first=$baseline_seconds; ((n == 1)) && first=$settle_seconds
    run_trial dies "$n" $((first + 80)) "$first"
  done
fi

if scenario_enabled 6; then
  echo "bench: 6. healthy v2 with jitter 0..${jitter_ms} ms for ${healthy_seconds}s: $healthy_trials trials"
  for n in $(seq "$healthy_trials"); do
    run_trial healthy "$n" $((settle_seconds + healthy_seconds + 30)) "$settle_seconds" "$jitter_ms"
  done
fi

if scenario_enabled 7; then
  echo "bench: 7. instructions per request in the worker, monitoring on vs off (callgrind; BENCH_FEW=$few BENCH_MANY=$many)"
  instructions_log="$work_dir/instructions.txt"
  BENCH_MODES="INSTANT-v2 INSTANT-v2-unmonitored" BENCH_BASE_PORT=$((base_port + 200)) UPMESH_BIN_DIR="$bin_dir" \
    BENCH_FEW="$few" BENCH_MANY="$many" bash "$bench_dir/instructions.sh" >"$instructions_log" 2>&1 ||
    { cat "$instructions_log" >&2; die "bench/instructions.sh failed"; }
  cat "$instructions_log"
  on=$(awk '$1 == "INSTANT-v2" {print $2}' "$instructions_log")
  off=$(awk '$1 == "INSTANT-v2-unmonitored" {print $2}' "$instructions_log")
  [[ "$on" =~ ^[0-9]+$ && "$off" =~ ^[0-9]+$ ]] || die "bench/instructions.sh output not understood"
  echo "{\"scenario\": \"instructions\", \"on\": $on, \"off\": $off, \"few\": $few, \"many\": $many}" >>"$results"
  check_mesh
fi

table_output=$(python3 "$bench_dir/rollback_steps.py" table "$results") || die "making the table failed"
table_rows=$(grep -v '^PROBLEM ' <<<"$table_output" || true)
detail_rows=$(python3 "$bench_dir/rollback_steps.py" details "$results") || die "making the details failed"
commit=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)
problems=$(sed -n 's/^PROBLEM //p' <<<"$table_output")
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
elapsed=$((SECONDS - started_s))

results_dir="$bench_dir/results"
mkdir -p "$results_dir"
{
  echo "# upmesh automatic rollback benchmark"
  echo
  echo "$started_at, $(nproc) CPUs (${cpu_model:-unknown CPU}), everything on 127.0.0.1; run took ${elapsed}s."
  echo "Binaries from $bin_dir (tree at HEAD $commit when the run started)."
  echo "Load average (1/5/15 min) before the run: $load_at_start; after: $load_at_end. Times move with"
  echo "whatever else runs on the machine; instruction counts (scenario 7) do not."
  if [[ -n "$run_note" ]]; then echo "$run_note"; fi
  echo "One router, one frontend, $worker_count workers, upmesh-backend v1 and v2; monitor defaults"
  echo "(window 10 s, minRequests 50, consecutiveFailures 10, shield on)."
  echo
  echo "Load: bench/load.py, $rate GETs/s over $load_connections keep-alive connections, no cookies;"
  echo "v1 alone for ${baseline_seconds}s before each PUT (${settle_seconds}s before the first trial of scenarios 2, 4"
  echo "and 6, after v1's behaviour changed). Trials: scenario 1 $trials, scenarios 2-5 $fault_trials,"
  echo "scenario 6 $healthy_trials x ${healthy_seconds}s (jitter 0..${jitter_ms} ms)."
  echo "Times in ms; \"decision\" and \"no traffic\" are counted from the event each row's notes name."
  echo "Client 5xx: GETs answered 5xx to the load generator."
  echo
  echo "$table_rows"
  echo
  echo "## Per trial"
  echo
  echo "$detail_rows"
  if [[ -n "$problems" ]]; then
    echo
    echo "Not clean:"
    echo
    awk '{print "- " $0}' <<<"$problems"
  fi
} >"$results_dir/rollback.md"

echo
echo "$table_rows"
if [[ -n "$problems" ]]; then
  echo
  echo "NOT CLEAN:"
  awk '{print "  " $0}' <<<"$problems"
fi
echo "written to ${results_dir#"$repo_root"/}/rollback.md (load average before $load_at_start, after $load_at_end)"

[[ -z "$problems" ]]
