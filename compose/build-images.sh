#!/usr/bin/env bash
# Builds the images the compose stack runs, without any image registry:
#
#   1. upmesh-debian:bookworm, a minimal Debian 12 base: debootstrap from the
#      Debian mirror this machine's apt uses, then `docker import`. The root
#      file system is kept as a tarball in $UPMESH_COMPOSE_CACHE
#      (/var/cache/upmesh-compose), so a fresh Docker data root re-imports it
#      in seconds instead of bootstrapping again. Skipped when the image exists.
#   2. upmesh:local from compose/Dockerfile (multi-stage: build, then a slim
#      runtime), with --network host so apt inside the build reaches the mirror;
#      the compile stage is tagged upmesh-builder:local.
#
# Needs a running Docker engine and root (debootstrap). Settings:
#   UPMESH_IMAGE (upmesh:local), UPMESH_BASE_IMAGE (upmesh-debian:bookworm),
#   UPMESH_COMPOSE_CACHE (/var/cache/upmesh-compose),
#   UPMESH_DEBIAN_MIRROR (default: the first Debian mirror in /etc/apt).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image="${UPMESH_IMAGE:-upmesh:local}"
base_image="${UPMESH_BASE_IMAGE:-upmesh-debian:bookworm}"
cache_dir="${UPMESH_COMPOSE_CACHE:-/var/cache/upmesh-compose}"
rootfs_tar="$cache_dir/debian-bookworm-minbase.tar"

log() { echo "build-images: $*"; }

# The mirror apt already uses (deb822 "URIs:" or one-line "deb URI suite"),
# skipping security and third-party repositories.
debian_mirror() {
  if [[ -n "${UPMESH_DEBIAN_MIRROR:-}" ]]; then echo "$UPMESH_DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -oE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+/debian/?([[:space:]]|$)' \
        | grep -oE '[a-z]+://[^[:space:]]+' | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

make_rootfs_tarball() {
  local mirror dir
  mirror=$(debian_mirror)
  dir="$cache_dir/rootfs.partial"
  mkdir -p "$cache_dir"
  rm -rf "$dir" "$rootfs_tar.partial"
  log "debootstrap --variant=minbase bookworm from $mirror (about a minute, once)"
  if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$cache_dir/debootstrap.log" 2>&1; then
    log "debootstrap failed; last lines of $cache_dir/debootstrap.log:" >&2
    tail -n 20 "$cache_dir/debootstrap.log" >&2
    return 1
  fi
  # Package caches only make the image bigger; apt-get update in the
  # Dockerfile fetches fresh lists.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$dir"
}

if docker image inspect "$base_image" >/dev/null 2>&1; then
  log "base image $base_image present; reusing it"
else
  if [[ -s "$rootfs_tar" ]]; then
    log "reusing the cached root file system $rootfs_tar"
  else
    command -v debootstrap >/dev/null || { log "debootstrap is not installed" >&2; exit 1; }
    make_rootfs_tarball
  fi
  log "docker import $rootfs_tar as $base_image"
  docker import "$rootfs_tar" "$base_image" >/dev/null
fi

# The build context: the sources, without build trees, git history, docs and
# the compose files other than the two the image needs (so that editing them
# does not invalidate the compile step's cache). Sent as a tar stream, so no
# builder-specific ignore file is involved.
build_context() {
  cd "$repo_root"
  {
    find . \( -path ./.git -o -path ./build -o -path './build-*' -o -name __pycache__ \
              -o -path ./bench -o -path ./docs -o -path ./compose \) -prune -o ! -type d -print0
    printf '%s\0' ./compose/Dockerfile ./compose/healthcheck.sh
  } | tar --null -T - -cf -
}

# The classic builder: present in every engine version, and it honours
# --network host for RUN steps without extra entitlements. The full output
# goes to a log; the steps are shown as they run.
build_log="$cache_dir/image-build.log"
mkdir -p "$cache_dir"
: >"$build_log"
# docker_build TAG [ARGS...]
docker_build() {
  local tag=$1 statuses
  shift
  set +e
  build_context \
    | DOCKER_BUILDKIT=0 docker build --network host --force-rm --build-arg "BASE_IMAGE=$base_image" \
        -f compose/Dockerfile -t "$tag" "$@" - 2>&1 \
    | tee -a "$build_log" | grep --line-buffered -E '^Step [0-9]+/[0-9]+ : (FROM|RUN|COPY)' | cut -c1-110
  statuses=("${PIPESTATUS[@]}")
  set -e
  if [[ ${statuses[0]} -ne 0 || ${statuses[1]} -ne 0 ]]; then
    log "building $tag failed; last lines of $build_log:" >&2
    tail -n 30 "$build_log" >&2
    exit 1
  fi
}

# The builder stage gets a tag of its own so that its layers (the compiled
# tree) count as in use: pruning untagged images then removes only what
# older builds left, and an unchanged tree is not compiled again.
log "building ${image%%:*}-builder (the compile stage of compose/Dockerfile, base $base_image)"
docker_build "${image%%:*}-builder:${image##*:}" --target builder
log "building $image (the runtime stage)"
docker_build "$image"
log "$image built ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
