#!/usr/bin/env bash
# Installs the Debian 12 packages upmesh needs, by purpose:
#
#   bash scripts/install-deps.sh               build the executables and run the demo
#   bash scripts/install-deps.sh --test        also: run the tests (scripts/test.sh)
#   bash scripts/install-deps.sh --bench       also: the benchmarks (bench/*.sh call this)
#   bash scripts/install-deps.sh --containers  also: the container test (compose/test-compose.sh)
#
# Options combine. Only missing packages are installed; when nothing is
# missing it does nothing (no apt-get at all), so the scripts call it on every
# run. Needs root; when not root it uses sudo if available.
#
# No service is started, and none is left enabled: Debian starts the service
# of a package on install (nginx on port 80, HAProxy, dockerd, containerd).
# A policy-rc.d answering "forbidden" holds those starts back during the
# install, and on a machine run by systemd every unit of a newly installed
# package is then disabled, so nothing starts at the next boot either; the
# script prints each one (`systemctl enable --now UNIT` brings it back).
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config
  libzmq3-dev cppzmq-dev libhttp-parser-dev nlohmann-json3-dev
  libboost-program-options-dev
  libssl-dev  # TLS for the config API and upmeshctl (OpenSSL 3)
  curl  # the demo waits for its mesh with curl
)
# Catch2 v2 unit tests, Python integration tests, systemd-analyze for the
# packaged units (tests/packaging/test-package.sh), clang and its
# libFuzzer/sanitizer runtimes (scripts/fuzz.sh), the openssl CLI that makes
# the certificates of tests/integration/test_api_tls.py, promtool and the
# Prometheus server of tests/integration/test_metrics.py, headless Chromium,
# its WebDriver and Selenium for tests/integration/test_dashboard.py
test_packages=(catch2 python3 systemd clang libclang-rt-14-dev openssl prometheus
  chromium chromium-driver python3-selenium)
# bench/run.sh, bench/versions.sh, bench/rollback.sh, bench/instructions.sh,
# bench/mesh_instructions.sh (perf: system calls per request in bench/run.sh)
bench_packages=(nginx-light haproxy wrk valgrind linux-perf python3)
# compose/test-compose.sh: a Docker engine, Compose, and debootstrap for the base image
container_packages=(docker.io docker-compose debootstrap python3)

packages=("${build_packages[@]}")
for option in "$@"; do
  case "$option" in
    --test) packages+=("${test_packages[@]}") ;;
    --bench) packages+=("${bench_packages[@]}") ;;
    --containers) packages+=("${container_packages[@]}") ;;
    *)
      echo "install-deps: unknown option '$option' (expected --test, --bench, --containers)" >&2
      exit 2
      ;;
  esac
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for package in "${packages[@]}"; do
  is_installed "$package" || missing+=("$package")
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

installed_before=$(dpkg-query -W -f='${Package}\n' 2>/dev/null | sort)

# Holds back every service start for the duration of the install; an existing
# policy-rc.d (containers have one) is put back afterwards.
policy=/usr/sbin/policy-rc.d
saved_policy=""
restore_policy() {
  if [[ -n "$saved_policy" ]]; then
    "${as_root[@]}" mv -f "$saved_policy" "$policy"
  else
    "${as_root[@]}" rm -f "$policy"
  fi
}
if [[ -e "$policy" ]]; then
  saved_policy="$policy.upmesh-saved"
  "${as_root[@]}" mv -f "$policy" "$saved_policy"
fi
trap restore_policy EXIT
printf '#!/bin/sh\n# Written by upmesh scripts/install-deps.sh for the duration of one install.\nexit 101\n' |
  "${as_root[@]}" tee "$policy" >/dev/null
"${as_root[@]}" chmod 755 "$policy"

echo "install-deps: installing ${missing[*]}"
# A fresh machine has empty package lists, so always update before installing.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
restore_policy
trap - EXIT

# Under systemd: stop and disable the units of every package this install
# added (named or pulled in), so nothing listens or starts at boot because of it.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  new_packages=$(comm -13 <(echo "$installed_before") <(dpkg-query -W -f='${Package}\n' 2>/dev/null | sort))
  for package in $new_packages; do
    while read -r unit_file; do
      unit=$(basename "$unit_file")
      if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
        echo "install-deps: stopping and disabling $unit (from $package; systemctl enable --now $unit starts it)"
        "${as_root[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
      fi
    done < <(dpkg -L "$package" 2>/dev/null | grep -E '^(/usr)?/lib/systemd/system/[^/@]+\.(service|socket|timer)$' || true)
  done
fi
