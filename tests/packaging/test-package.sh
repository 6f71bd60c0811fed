#!/usr/bin/env bash
# The install rules and the Debian package, from an existing build directory
# (CTest test packaging.deb; nothing is compiled, nothing is installed on the
# machine):
#
#   1. `cpack -G DEB` makes upmesh_VERSION_ARCH.deb with the control fields
#      (name, version, maintainer, dependencies) and maintainer scripts;
#   2. `dpkg-deb -c` lists the executables, the systemd units, the docs and
#      the example config; the units run /usr/bin/... as user upmesh with
#      StateDirectory=upmesh;
#   3. the package unpacked into a temporary root (`dpkg-deb -x`): every
#      executable answers --version with the project's version, and a worker
#      accepts the packaged example config and runs;
#   4. `cmake --install --prefix DIR` puts the same files under DIR, with units
#      naming DIR/bin and otherwise identical to the packaged ones;
#   5. `systemd-analyze verify` has nothing to say about those units (when
#      systemd-analyze is installed: scripts/install-deps.sh --test installs it).
#
# Usage: test-package.sh BUILD_DIR. Exit 0 when every check passed, 1 otherwise.
set -euo pipefail

build_dir=$(cd "${1:?usage: test-package.sh BUILD_DIR}" && pwd)
work=$(mktemp -d /tmp/upmesh-package-test.XXXXXX)
worker_pid=""
cleanup() {
  if [[ -n "$worker_pid" ]]; then
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build_dir/CMakeCache.txt")
[[ -n "$version" ]] || { echo "FAIL: no project version in $build_dir/CMakeCache.txt" >&2; exit 1; }
binaries=(upmesh-router upmesh-frontend upmesh-worker upmesh-backend upmeshctl)
units=(upmesh-router.service upmesh-frontend.service upmesh-worker@.service)

# --- 1. the package ------------------------------------------------------------
if ! cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  echo "FAIL: cpack -G DEB" >&2
  exit 1
fi
deb=$(ls "$work"/out/upmesh_"$version"_*.deb 2>/dev/null | head -n 1)
[[ -n "$deb" ]] || { ls -l "$work/out" >&2; echo "FAIL: no upmesh_${version}_*.deb produced" >&2; exit 1; }
pass "cpack made $(basename "$deb") ($(du -k "$deb" | cut -f1) kB)"

field() { dpkg-deb --field "$deb" "$1"; }
check "Package: upmesh" test "$(field Package)" = upmesh
check "Version: $version" test "$(field Version)" = "$version"
check "Maintainer set" test -n "$(field Maintainer)"
for dependency in libzmq5 libhttp-parser2.9 libboost-program-options1.74.0 libssl3 libstdc++6 adduser; do
  check "Depends names $dependency" grep -q "$dependency" <<<"$(field Depends)"
done
mkdir -p "$work/control"
dpkg-deb --control "$deb" "$work/control"
check "postinst creates the upmesh user" grep -q "adduser --system" "$work/control/postinst"
check "postinst and postrm are executable" test -x "$work/control/postinst" -a -x "$work/control/postrm"

# --- 2. its contents -------------------------------------------------------------
dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$work/contents"
for binary in "${binaries[@]}"; do
  check "contains /usr/bin/$binary" grep -qx "/usr/bin/$binary" "$work/contents"
done
for unit in "${units[@]}"; do
  check "contains /usr/lib/systemd/system/$unit" grep -qx "/usr/lib/systemd/system/$unit" "$work/contents"
done
for doc in README.md production.md configuration.md; do
  check "contains /usr/share/doc/upmesh/$doc" grep -qx "/usr/share/doc/upmesh/$doc" "$work/contents"
done
check "contains /usr/share/upmesh/upmesh.json" grep -qx "/usr/share/upmesh/upmesh.json" "$work/contents"
check "contains the Grafana dashboard" grep -qx "/usr/share/upmesh/grafana/upmesh-rollout.json" "$work/contents"

# --- 3. unpacked into a temporary root ----------------------------------------------
root="$work/root"
dpkg-deb --extract "$deb" "$root"
for binary in "${binaries[@]}"; do
  answer=$("$root/usr/bin/$binary" --version 2>&1 || true)
  check "$binary --version says $version ($answer)" test "$answer" = "$binary $version"
done
router_unit="$root/usr/lib/systemd/system/upmesh-router.service"
check "router unit runs /usr/bin/upmesh-router --config /etc/upmesh/upmesh.json" \
  grep -qx "ExecStart=/usr/bin/upmesh-router --config /etc/upmesh/upmesh.json" "$router_unit"
for unit in "${units[@]}"; do
  for line in "User=upmesh" "NoNewPrivileges=yes" "ProtectSystem=strict" "PrivateTmp=yes"; do
    check "$unit: $line" grep -qx "$line" "$root/usr/lib/systemd/system/$unit"
  done
done
check "router unit: StateDirectory=upmesh" grep -qx "StateDirectory=upmesh" "$router_unit"
check "worker template names each worker after its instance" \
  grep -q -- "--name %H-%i" "$root/usr/lib/systemd/system/upmesh-worker@.service"

# The example config is valid: a worker accepts it (and connects to nothing
# that exists, on a port nobody listens on: a worker listens on nothing).
"$root/usr/bin/upmesh-worker" --config "$root/usr/share/upmesh/upmesh.json" --name package-test \
  --router tcp://127.0.0.1:9 --config-endpoint tcp://127.0.0.1:9 >"$work/worker.log" 2>&1 &
worker_pid=$!
sleep 1
if kill -0 "$worker_pid" 2>/dev/null; then
  pass "a worker runs with the packaged example config"
else
  wait "$worker_pid" || true
  worker_pid=""
  sed 's/^/    /' "$work/worker.log" >&2
  fail "a worker refused the packaged example config"
fi

# --- 4. cmake --install into a prefix ------------------------------------------------------
prefix="$work/prefix"
if cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1; then
  for binary in "${binaries[@]}"; do check "cmake --install: bin/$binary" test -x "$prefix/bin/$binary"; done
  check "cmake --install: share/doc/upmesh/production.md" test -f "$prefix/share/doc/upmesh/production.md"
  check "cmake --install: share/upmesh/upmesh.json" test -f "$prefix/share/upmesh/upmesh.json"
  check "cmake --install: units name the prefix ($prefix/bin, $prefix/etc/upmesh)" \
    grep -qx "ExecStart=$prefix/bin/upmesh-router --config $prefix/etc/upmesh/upmesh.json" \
    "$prefix/lib/systemd/system/upmesh-router.service"
  for unit in "${units[@]}"; do
    check "$unit: the packaged unit is the installed one but for the paths" \
      diff <(sed "s|$prefix/etc/upmesh|/etc/upmesh|g; s|$prefix|/usr|g" "$prefix/lib/systemd/system/$unit") \
      "$root/usr/lib/systemd/system/$unit"
  done
else
  cat "$work/install.log" >&2
  fail "cmake --install --prefix $prefix"
fi

# --- 5. systemd-analyze verify ---------------------------------------------------------
# On the installed units, whose ExecStart exists on this machine (the
# packaged ones name /usr/bin). verify exits 0 even for unknown keys or bad
# values; it prints nothing when a unit is clean, so any output is a failure.
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "note: systemd-analyze not installed; units not verified (scripts/install-deps.sh --test installs it)"
elif [[ -d "$prefix/lib/systemd/system" ]]; then
  (cd "$prefix/lib/systemd/system" && systemd-analyze verify "${units[@]}") >"$work/verify.log" 2>&1 || true
  if [[ ! -s "$work/verify.log" ]]; then
    pass "systemd-analyze verify: nothing to say about ${units[*]}"
  else
    sed 's/^/    /' "$work/verify.log" >&2
    fail "systemd-analyze verify"
  fi
fi

if [[ $failures -gt 0 ]]; then
  echo "test-package: $failures check(s) FAILED" >&2
  exit 1
fi
echo "test-package: all checks passed"
