# Shared by hack/build.sh and hack/cluster: versions and the cache location.
# The cache lives outside the checkout so that a fresh clone (as CI uses) reuses it.
HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HACK_DIR/versions.env"
VERSIONS_KEY="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}"
CACHE_ROOT="${WEBSTACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/webstack-operator}"
TOOLS_DIR="$CACHE_ROOT/$VERSIONS_KEY"
BIN_DIR="$TOOLS_DIR/bin"
CRDS_DIR="$CACHE_ROOT/crds-cert-manager-${CERT_MANAGER_VERSION}_prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# What a build is made from, by content: a fresh clone's files all have new times, not new contents.
contents_hash() { cat "$@" | sha256sum | cut -c1-16; }
# built_from OUT HASH: OUT is there and was built from sources of this hash (recorded in OUT.sources).
built_from() { [ -x "$1" ] && [ "$(cat "$1.sources" 2>/dev/null)" = "$2" ]; }
die() { log "error: $*"; exit 1; }
# Node components have their own versions, so they get their own folder.
NODE_VERSIONS_KEY="containerd-${CONTAINERD_VERSION}_coredns-${COREDNS_VERSION}_kube-router-${KUBE_ROUTER_VERSION}"
NODE_BIN_DIR="$CACHE_ROOT/node-$NODE_VERSIONS_KEY/bin"
# The log agent's collector (hack/otelcol): its release is the one its builder manifest pins.
OTELCOL_VERSION=$(sed -n 's/^  version: *//p' "$HACK_DIR/otelcol/builder-config.yaml")
OTELCOL_DIR="$CACHE_ROOT/otelcol-$OTELCOL_VERSION"
OTELCOL_BIN_DIR="$OTELCOL_DIR/bin"
# Root filesystems of Debian's sid suite with the database servers bookworm lacks (hack/sid/build.sh).
SID_DIR="$CACHE_ROOT/sid"
