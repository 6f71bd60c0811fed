#!/usr/bin/env bash
# Installs the Debian 12 packages upmesh needs to build, test and benchmark.
#
# Idempotent: when every package is already installed it does nothing (no
# apt-get at all), so scripts/build.sh can call it on every run. Needs root;
# when not root it uses sudo if available.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libzmq3-dev cppzmq-dev libhttp-parser-dev nlohmann-json3-dev
  libboost-program-options-dev
  # tests (Catch2 v2 unit tests, Python integration tests, curl in the demo;
  # clang and its libFuzzer/sanitizer runtimes for scripts/fuzz.sh)
  catch2 python3 curl clang libclang-rt-14-dev
  # benchmarks (bench/run.sh, bench/versions.sh, bench/instructions.sh)
  nginx-light haproxy wrk valgrind
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: apt-get not found; this script targets Debian 12. Missing: ${missing[*]}" >&2
  exit 1
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: must run as root (or with sudo installed) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists, so always update before installing.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
