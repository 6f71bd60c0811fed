#!/usr/bin/env bash
# README command 2: installs the build and test dependencies (scripts/build.sh:
# install-deps.sh --test), builds everything, and runs every test through
# CTest, after a short, reproducible run of each libFuzzer target
# (scripts/fuzz.sh with FUZZ_RUNS inputs from FUZZ_SEED, 200,000 from seed 1 by
# default here: the same inputs on every run; it fails the command on any crash
# or difference; bench/fuzz.sh explores further): Catch2 unit tests, Python integration tests (processes on loopback
# ports 20000-32000), the packaging test (a .deb made and unpacked into a
# temporary directory), and the container test, which as root installs
# docker.io, docker-compose and debootstrap and runs a dockerd of its own that
# it stops at the end (compose/test-compose.sh). No system service is started
# or left enabled. Exits non-zero if fuzzing fails, else with CTest's status;
# CTest's summary is the last thing printed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${UPMESH_BUILD_DIR:-$repo_root/build}"

bash "$repo_root/scripts/build.sh"
FUZZ_RUNS="${FUZZ_RUNS:-200000}" FUZZ_SEED="${FUZZ_SEED:-1}" bash "$repo_root/scripts/fuzz.sh"
# Integration tests share the mesh ports and hold a RESOURCE_LOCK, so they run
# one at a time anyway; -j2 lets unit tests run beside them.
cd "$build_dir"
exec ctest --output-on-failure -j"${UPMESH_TEST_JOBS:-2}"
