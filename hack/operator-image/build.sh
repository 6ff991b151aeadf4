#!/usr/bin/env bash
# The operator image, built from the repository's Dockerfile with buildah (this machine has no
# container engine and no registry but Debian's and npm's), written as an OCI archive that
# `hack/cluster load-image --real ARCHIVE` loads into the real nodes.
#
#   hack/operator-image/build.sh ARCHIVE   build webstack.local/operator:dev into ARCHIVE
#
# The Dockerfile's base image, node:20-bookworm-slim, is not reachable here. A stand-in is made
# under the same name: Debian bookworm (debootstrap --variant=minbase from Debian's mirror) with
# this machine's Node.js 20 and npm in /usr/local, as the real image has them. Unlike the real
# image it also carries this machine's CA bundle and apt settings, without which apt and npm
# inside the build cannot reach the package registries from here. It is made once and cached by
# its inputs; buildah's storage (layers of earlier builds) lives under the cache folder too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ARCHIVE=${1:?usage: build.sh ARCHIVE}
REPO=$(cd "$HACK_DIR/.." && pwd)
IMAGE=webstack.local/operator:dev
BASE=docker.io/library/node:20-bookworm-slim
STORE="$CACHE_ROOT/buildah"
B=(buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver overlay)
# buildah's network setup keeps a lock in its CNI config folder, /etc/cni/net.d by default, which
# it creates: the host would keep a folder no cluster of ours made (lifecycle.test.ts). Point it
# into the store. CONTAINERS_CONF replaces the system containers.conf, whose settings are all
# defaults on Debian.
export CONTAINERS_CONF="$STORE/containers.conf"
# The image library keeps a cache of blob facts in /var/lib/containers/cache for root, a path no
# setting moves: when this build creates it, the build removes it again.
if [ ! -e /var/lib/containers ]; then trap 'rm -rf /var/lib/containers' EXIT; fi

command -v buildah >/dev/null || die "buildah is missing: apt-get install buildah (hack/install-test-tools.sh installs it)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap (hack/install-test-tools.sh installs it)"
[ "$(id -u)" -eq 0 ] || die "building the operator image needs root (buildah's chroot, debootstrap)"
[ "$(node -p 'process.versions.node.split(".")[0]')" = 20 ] || die "the stand-in base image needs this machine's Node.js to be 20 (found $(node --version))"

NODE_BIN=$(command -v node)
NODE_MODULES=$(cd "$(dirname "$(readlink -f "$NODE_BIN")")/../lib/node_modules" && pwd)
BASE_KEY=$( {
  echo "minbase bookworm http://deb.debian.org/debian"
  node --version; npm --version
  # Contents only: sha256sum's own output would carry the path of this clone.
  cat /etc/ssl/certs/ca-certificates.crt "${BASH_SOURCE[0]}"
} | sha256sum | cut -c1-16)

base_is_current() { [ "$("${B[@]}" inspect --format '{{index .ImageAnnotations "webstack.local/base-key"}}' "$BASE" 2>/dev/null)" = "$BASE_KEY" ]; }

make_base() {
  local work rootfs ctr
  work=$(mktemp -d "$STORE/base.XXXXXX")
  rootfs="$work/rootfs"
  log "making the stand-in for $BASE (debootstrap bookworm, Node.js $(node --version))"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed: $(tail -3 "$work/debootstrap.log")"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # Node.js and npm where the real image has them (without its corepack and yarn: the build uses npm).
  install -D -m 0755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$NODE_MODULES/npm" "$rootfs/usr/local/lib/node_modules/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # The real image's user.
  echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$rootfs/etc/passwd"
  echo 'node:x:1000:' >>"$rootfs/etc/group"
  mkdir -p "$rootfs/home/node" && chown 1000:1000 "$rootfs/home/node"
  # This machine's trust and apt settings (see the header).
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/usr/local/etc/npmrc"
  cp /etc/apt/apt.conf.d/99artifact-registry "$rootfs/etc/apt/apt.conf.d/" 2>/dev/null || true
  tar -C "$rootfs" -cf "$work/rootfs.tar" .
  ctr=$("${B[@]}" from --quiet scratch)
  "${B[@]}" add --quiet "$ctr" "$work/rootfs.tar" / >/dev/null
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$(node -p process.versions.node)" \
    --cmd node --annotation "webstack.local/base-key=$BASE_KEY" "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$BASE" >/dev/null
  rm -rf "$work"
}

mkdir -p "$STORE"
printf '[network]\nnetwork_config_dir = "%s"\n' "$STORE/cni" >"$CONTAINERS_CONF"
base_is_current || make_base

log "building $IMAGE from $REPO/Dockerfile with buildah"
t0=$SECONDS
# chroot isolation and the host's network: no OCI runtime or network namespace is needed, and
# RUN steps reach the package registries as this machine does. --layers: an unchanged step is
# taken from an earlier build.
"${B[@]}" bud --isolation chroot --network host --pull-never --layers -t "$IMAGE" -f "$REPO/Dockerfile" "$REPO" >"$STORE/bud.log" 2>&1 ||
  die "buildah bud failed (log: $STORE/bud.log): $(tail -5 "$STORE/bud.log")"
rm -f "$ARCHIVE"
"${B[@]}" push --quiet "$IMAGE" "oci-archive:$ARCHIVE:$IMAGE"
log "built $IMAGE in $((SECONDS - t0))s: $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1))"
