#!/usr/bin/env bash
# The long fuzz run: every libFuzzer target of tests/fuzz/ for FUZZ_SECONDS
# (default 600) each, one after another, through scripts/fuzz.sh (which
# prints, per target, how long it ran and how many inputs it executed).
# scripts/test.sh runs the same targets on a fixed 200,000 inputs each.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_SECONDS="${FUZZ_SECONDS:-600}" exec bash "$repo_root/scripts/fuzz.sh"
