#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, in build-fuzz/) and runs
# each one for FUZZ_SECONDS (default 30) on a copy of its seed corpus, so the
# committed corpus never grows. Fails if any target crashes, leaks, finds a
# split-dependent outcome, or cannot run.
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh                     # longer run
#   FUZZ_RUNS=200000 FUZZ_SEED=1 scripts/fuzz.sh         # reproducible: the same
#                                                        # inputs on every machine
#   FUZZ_TARGETS="request_reader" scripts/fuzz.sh        # some targets only
#   FUZZ_BUILD_DIR=/tmp/bf scripts/fuzz.sh
# Crashing inputs are kept in $FUZZ_BUILD_DIR/fuzz-artifacts/<name>/.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${FUZZ_BUILD_DIR:-$repo_root/build-fuzz}"
seconds="${FUZZ_SECONDS:-30}"
max_len="${FUZZ_MAX_LEN:-4096}"
# A run count and seed fix the inputs tried, whatever the machine's speed; a
# time budget explores further on each run but differs from run to run.
if [[ -n "${FUZZ_RUNS:-}" ]]; then
  budget=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}")
else
  budget=(-max_total_time="$seconds")
fi

mkdir -p "$build_dir"
build_log="$build_dir/fuzz-build.log"
CC=clang CXX=clang++ cmake -S "$repo_root" -B "$build_dir" -DUPMESH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
targets=()
for source in "$repo_root"/tests/fuzz/*_fuzz.cc; do
  name=$(basename "$source" _fuzz.cc)
  if [[ -n "${FUZZ_TARGETS:-}" && " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  targets+=("$name")
done
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz: no targets selected" >&2
  exit 1
fi
build_targets=()
for name in "${targets[@]}"; do build_targets+=("upmesh_${name}_fuzz"); done
echo "fuzz: building ${build_targets[*]} in $build_dir (clang, ASan, UBSan)"
cmake --build "$build_dir" -j"${UPMESH_BUILD_JOBS:-2}" --target "${build_targets[@]}" >>"$build_log" 2>&1 ||
  { tail -50 "$build_log" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for name in "${targets[@]}"; do
  binary="$build_dir/bin/upmesh_${name}_fuzz"
  corpus="$work/$name"
  artifacts="$build_dir/fuzz-artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  if [[ -d "$repo_root/tests/fuzz/corpus/$name" ]]; then cp "$repo_root/tests/fuzz/corpus/$name"/* "$corpus"/; fi
  log="$work/$name.log"
  status=0
  "$binary" "${budget[@]}" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  if [[ $status -ne 0 ]]; then
    failed+=("$name")
    echo "fuzz: $name FAILED (exit $status) after ${execs:-?} execs; input in $artifacts/" >&2
    grep -E "ERROR|SUMMARY|split-dependent|==[0-9]+==" -A30 "$log" | head -60 >&2 || tail -40 "$log" >&2
  else
    echo "fuzz: $name ran ${took:-$seconds} s, ${execs:-?} execs, corpus $(ls "$corpus" | wc -l) inputs, no failure"
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: failing targets: ${failed[*]}" >&2
  exit 1
fi
