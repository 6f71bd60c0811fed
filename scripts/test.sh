#!/usr/bin/env bash
# README command 2: installs dependencies, builds, and runs every test:
# a short run of each libFuzzer target (scripts/fuzz.sh, FUZZ_SECONDS each,
# 20 by default here), then the Catch2 unit tests and Python integration
# tests through CTest, so CTest's summary is the last thing printed.
# Exits non-zero if fuzzing fails, else with CTest's status.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${UPMESH_BUILD_DIR:-$repo_root/build}"

bash "$repo_root/scripts/build.sh"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash "$repo_root/scripts/fuzz.sh"
# Integration tests share the mesh ports and hold a RESOURCE_LOCK, so they run
# one at a time anyway; -j2 lets unit tests run beside them.
cd "$build_dir"
exec ctest --output-on-failure -j"${UPMESH_TEST_JOBS:-2}"
