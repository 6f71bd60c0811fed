#!/usr/bin/env bash
# Installs dependencies (if missing) and builds upmesh into build/ (RelWithDebInfo).
# The executables land in build/bin/. Extra arguments are passed to the
# configure step, e.g. `bash scripts/build.sh -DCMAKE_BUILD_TYPE=Debug`.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${UPMESH_BUILD_DIR:-$repo_root/build}"

bash "$repo_root/scripts/install-deps.sh"
cmake -S "$repo_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build_dir" -j"$(nproc)"
