#!/usr/bin/env bash
# Installs dependencies (if missing) and builds upmesh into build/ (RelWithDebInfo).
# The executables land in build/bin/.
#
#   bash scripts/build.sh              executables, unit tests and the CTest suite (test deps installed too)
#   bash scripts/build.sh --no-tests   executables only (what scripts/demo.sh builds): no Catch2, no test binary
#
# Further arguments go to the configure step, e.g. `bash scripts/build.sh -DCMAKE_BUILD_TYPE=Debug`.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${UPMESH_BUILD_DIR:-$repo_root/build}"

with_tests=ON
if [[ "${1:-}" == --no-tests ]]; then
  with_tests=OFF
  shift
fi

if [[ $with_tests == ON ]]; then
  bash "$repo_root/scripts/install-deps.sh" --test
else
  bash "$repo_root/scripts/install-deps.sh"
fi
cmake -S "$repo_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUPMESH_BUILD_TESTS=$with_tests "$@"
cmake --build "$build_dir" -j"$(nproc)"
