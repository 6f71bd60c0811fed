#!/usr/bin/env bash
# Builds the Debian package: installs the build dependencies (if missing),
# configures build-pkg/ (Release, no tests, prefix /usr), builds the
# executables and runs CPack. Prints the path of the .deb, e.g.
# build-pkg/upmesh_0.1.0_amd64.deb. Install it with `apt install ./build-pkg/upmesh_*.deb`
# (docs/production.md). UPMESH_PKG_BUILD_DIR moves the build directory.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${UPMESH_PKG_BUILD_DIR:-$repo_root/build-pkg}"

bash "$repo_root/scripts/install-deps.sh"
cmake -S "$repo_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DUPMESH_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr
cmake --build "$build_dir" -j"$(nproc)"
(cd "$build_dir" && cpack -G DEB)
deb=$(ls -t "$build_dir"/upmesh_*.deb | head -n 1)
echo "package: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\):/  \1:/p'
