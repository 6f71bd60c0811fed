#!/usr/bin/env bash
# The router killed under load: requests go from the frontend straight to the
# worker, so traffic should not notice the control plane going away.
#
# Starts the fixed nginx backend and upmesh (1 router, 1 frontend, 1 worker,
# bench/upmesh.json.in), warms up (wrk, BENCH_WARMUP), puts wrk on the
# frontend (closed loop, keep-alive, bench/timeline.lua counting answers per
# wall-clock second), and
#   after BENCH_KILL_BEFORE seconds  kill -9's the router,
#   after BENCH_KILL_OUTAGE more     starts it again (same ports, state file),
#   and keeps the load on for BENCH_KILL_AFTER more seconds.
# Reports failed requests (non-2xx/3xx answers and wrk's socket errors; the
# goal is 0) and req/s before the kill, with the router down and after the
# restart (whole seconds only), the per-second timeline, and how long the
# restarted router took to see the frontend again. Prints the tables and
# writes them to bench/results/router_kill.md.
#
# Needs nginx and wrk (bash scripts/install-deps.sh --bench) and the upmesh
# binaries (bash scripts/build.sh). Settings, all optional:
#   BENCH_KILL_BEFORE=5 BENCH_KILL_OUTAGE=5 BENCH_KILL_AFTER=6   (seconds)
#   BENCH_WARMUP=3s BENCH_CONNECTIONS=64 BENCH_THREADS=2 UPMESH_BIN_DIR=build/bin
#   BENCH_BASE_PORT=18080   ports as bench/run.sh
# About 25 s with the defaults. Every process it starts is stopped by PID on
# exit; its temp dir is removed. Exit 1 when any request failed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$repo_root/bench"
# shellcheck source=bench/lib.sh
source "$bench_dir/lib.sh"
install_bench_deps

before_s="${BENCH_KILL_BEFORE:-5}"
outage_s="${BENCH_KILL_OUTAGE:-5}"
after_s="${BENCH_KILL_AFTER:-6}"
bin_dir="${UPMESH_BIN_DIR:-$repo_root/build/bin}"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
PATH="$PATH:/usr/sbin"
require_upmesh_binaries "$bin_dir"

bench_ports "${BENCH_BASE_PORT:-18080}"
require_free_ports "$backend_port" "$upmesh_port" "$upmesh_config_port" "$upmesh_router_frontend_port" \
  "$upmesh_router_worker_port" "$upmesh_publish_port" "$upmesh_frontend_worker_port"

begin_work_dir router-kill
chmod 755 "$work_dir"
start_backend
start_mesh info || { echo "bench: upmesh did not come up" >&2; exit 1; }

now() { date +%s.%N; }
# frontend_joins: how often the router's log says a frontend joined.
frontend_joins() { grep -c "frontend .* joined the live set" "$work_dir/upmesh-router.log" || true; }

echo "bench: warm-up $warmup"
wrk -t"$threads" -c"$connections" -d"$warmup" "http://127.0.0.1:$upmesh_port/" >/dev/null
start wrk wrk -t"$threads" -c"$connections" -d"$((before_s + outage_s + after_s + 1))s" \
  -s "$bench_dir/timeline.lua" "http://127.0.0.1:$upmesh_port/"
wrk_pid=$last_pid
sleep "$before_s"

killed_at=$(now)
kill -KILL "$router_pid"
wait "$router_pid" 2>/dev/null || true
stop_started "$router_pid"
echo "bench: router (PID $router_pid) killed -9 at $killed_at; ${outage_s}s without it"
sleep "$outage_s"

cp "$work_dir/upmesh-router.log" "$work_dir/upmesh-router-killed.log"
restarted_at=$(now)
start_router
# Bounded: the load ends after $after_s seconds anyway.
rejoined_ms="-"
for _ in $(seq $((after_s * 20))); do
  if (( $(frontend_joins) > 0 )); then
    rejoined_ms=$(awk -v a="$restarted_at" -v b="$(now)" 'BEGIN {printf "%.0f", (b - a) * 1000}')
    break
  fi
  sleep 0.05
done
echo "bench: router restarted at $restarted_at (PID $router_pid); frontend back in its live set after ${rejoined_ms} ms"
wait "$wrk_pid" || true
stop_started "$wrk_pid"
output=$(cat "$work_dir/wrk.log")

# Whole seconds only: the first and the last (the load starting and
# stopping) and the ones the kill or the restart falls into are left out.
read -r before_rate during_rate after_rate before_failed during_failed after_failed timeline < <(
  awk -v kill="$killed_at" -v restart="$restarted_at" '
    $1 == "second" {second[++n] = $2; answered[n] = $3; failed[n] = $4}
    END {
      for (i = 2; i < n; i++) {
        s = second[i]
        phase = (s + 1 <= kill) ? "before" : (s >= kill && s + 1 <= restart) ? "during" : (s >= restart) ? "after" : ""
        mark = (phase == "") ? "*" : ""
        line = line (line ? "," : "") answered[i] mark
        if (phase == "") continue
        count[phase]++; sum[phase] += answered[i]; bad[phase] += failed[i]
      }
      printf "%s %s %s %d %d %d %s\n",
        count["before"] ? sprintf("%.0f", sum["before"] / count["before"]) : "-",
        count["during"] ? sprintf("%.0f", sum["during"] / count["during"]) : "-",
        count["after"] ? sprintf("%.0f", sum["after"] / count["after"]) : "-",
        bad["before"], bad["during"], bad["after"], line
    }' <<<"$output")
socket_errors=$(awk -F'[ ,]+' '/Socket errors:/ {print $5 + $7 + $9 + $11}' <<<"$output")
socket_detail=$(awk '/Socket errors:/ {sub(/^ *Socket errors: */, ""); print}' <<<"$output")
status_errors=$(awk -F': ' '/Non-2xx or 3xx responses/ {print $2}' <<<"$output")
socket_errors=${socket_errors:-0} status_errors=${status_errors:-0}
total_requests=$(wrk_requests "$output")
failed_total=$((socket_errors + status_errors))

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
results_dir="$bench_dir/results"
mkdir -p "$results_dir"
{
  echo "# upmesh: the router killed -9 under load"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs (${cpu_model:-unknown CPU}), everything on 127.0.0.1;" \
    "load average before the run: $load_at_start."
  echo "wrk -t$threads -c$connections (closed loop, keep-alive) on the frontend of 1 router, 1 frontend, 1 worker;"
  echo "backend: nginx returning \"hello\\n\". Router killed after ${before_s} s, restarted ${outage_s} s later, load on"
  echo "for ${after_s} s more. req/s over whole seconds of each phase."
  echo
  echo "| phase | req/s | failed requests |"
  echo "|---|---:|---:|"
  echo "| before the kill | $before_rate | $before_failed |"
  echo "| router down (${outage_s} s) | $during_rate | $during_failed |"
  echo "| after the restart | $after_rate | $after_failed |"
  echo "| whole run | $total_requests requests | $failed_total (non-2xx/3xx $status_errors, socket errors ${socket_detail:-none}) |"
  echo
  echo "Restarted router saw the frontend again after: $rejoined_ms ms."
  echo "Answers per second (* = the kill or the restart fell in that second): $timeline"
} >"$results_dir/router_kill.md"

echo
cat "$results_dir/router_kill.md"
echo
echo "written to ${results_dir#"$repo_root"/}/router_kill.md"
(( failed_total == 0 ))
