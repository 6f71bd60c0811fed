#!/usr/bin/env bash
# README command 2: installs dependencies, builds, and runs every test
# (Catch2 unit tests and Python integration tests) through CTest.
# Exits with CTest's status.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${UPMESH_BUILD_DIR:-$repo_root/build}"

bash "$repo_root/scripts/build.sh"
# Integration tests share the mesh ports and hold a RESOURCE_LOCK, so they run
# one at a time anyway; -j2 lets unit tests run beside them.
cd "$build_dir"
exec ctest --output-on-failure -j"${UPMESH_TEST_JOBS:-2}"
