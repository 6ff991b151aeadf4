#!/usr/bin/env bash
# Builds the local cluster from upstream Go modules at the versions in hack/versions.env.
#
#   hack/build.sh [control-plane] [node] [otelcol]     (default: all three)
#
# control-plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok,
#   kwokctl and helm, plus the cert-manager and prometheus-operator CRDs, and kstatus (hack/kstatus:
#   the status library Flux uses, for the unit tests of the WebStack's conditions), and the
#   cert-manager controller and its ACME solver (hack/cert-manager, for the e2e tests' issuance), and
#   Pebble with its challenge DNS (Let's Encrypt's ACME test server, for the ACME e2e test), and
#   SeaweedFS (the S3 store of the backup tests).
# node: what a real node runs (hack/cluster up --real-nodes N): kubelet, kube-proxy, containerd
#   with ctr and its runc shim, CoreDNS and kube-router.
# otelcol: the log agent's OpenTelemetry Collector (hack/otelcol/build.sh: its builder manifest),
#   which the unit tests run to validate the agent config and the local agent image carries.
# Results are cached outside the checkout (see hack/lib.sh); a warm run only checks that every
# file is there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
command -v go >/dev/null || die "Go is needed to build the control plane (Debian: apt-get install golang, or https://go.dev/dl)"

START=$SECONDS
elapsed() { local s=$((SECONDS - START)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# Runs "$@" while printing a heartbeat, so a cold build never looks like a hung terminal.
with_progress() {
  local what=$1; shift
  log "building $what (total elapsed $(elapsed))"
  ( while sleep 30; do log "  still building $what (total elapsed $(elapsed))"; done ) &
  local ticker=$!
  local rc=0
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  [ "$rc" -eq 0 ] || die "building $what failed (exit $rc)"
}

have() { local f; for f in "$@"; do [ -x "$BIN_DIR/$f" ] || return 1; done; }
have_node() { local f; for f in "$@"; do [ -x "$NODE_BIN_DIR/$f" ] || return 1; done; }

build_kubernetes() { # commands...
  have "$@" && return
  local src="$TOOLS_DIR/src/kubernetes" gomod minor
  mkdir -p "$src"
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$KUBERNETES_VERSION"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths,
  # which only apply inside its own repo. Point each of them at its published v0.X release instead.
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  (
    cd "$src"
    rm -f go.mod go.sum
    go mod init webstack-operator/hack/kubernetes >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | while read -r m; do
      go mod edit -replace="$m=$m@$staging_version"
    done
  )
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  local ldflags="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  # One go build for every missing command: their packages compile once, and the links run side by side.
  local cmd pkgs=()
  for cmd in "$@"; do have "$cmd" || pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  with_progress "${pkgs[*]##*/} $KUBERNETES_VERSION" \
    bash -c "cd '$src' && go get ${pkgs[*]/%/@$KUBERNETES_VERSION} >/dev/null 2>&1; go build -trimpath -ldflags '-s -w $ldflags' -o '$BIN_DIR/' ${pkgs[*]}"
}

build_etcd() {
  have etcd && return
  # etcd's server module also has replace lines; a separate wrapper keeps its libraries at etcd's own versions.
  local src="$TOOLS_DIR/src/etcd"
  mkdir -p "$src"
  with_progress "etcd $ETCD_VERSION" bash -c "
    cd '$src' && rm -f go.mod go.sum && go mod init webstack-operator/hack/etcd >/dev/null 2>&1 &&
    go get 'go.etcd.io/etcd/server/v3@$ETCD_VERSION' >/dev/null 2>&1 &&
    go build -trimpath -ldflags '-s -w' -o '$BIN_DIR/etcd' go.etcd.io/etcd/server/v3"
}

go_install() { # name module/cmd version
  have "$1" && return
  with_progress "$1 $3" env GOBIN="$BIN_DIR" go install -trimpath -ldflags '-s -w' "$2@$3"
}

# containerd without cgo: the btrfs snapshotter needs cgo (dropped with no_btrfs), and the shim is
# built with no_grpc as upstream's Makefile does. Debian's runc runs the containers.
build_containerd() {
  have_node containerd ctr containerd-shim-runc-v2 && return
  local m=github.com/containerd/containerd/v2 ld="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
  with_progress "containerd $CONTAINERD_VERSION" env GOBIN="$NODE_BIN_DIR" go install -trimpath \
    -tags "urfave_cli_no_docs no_btrfs" -ldflags "$ld" "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION"
  with_progress "containerd-shim-runc-v2 $CONTAINERD_VERSION" env GOBIN="$NODE_BIN_DIR" go install -trimpath \
    -tags "urfave_cli_no_docs no_grpc" -ldflags "$ld" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
}

build_node() {
  mkdir -p "$NODE_BIN_DIR"
  build_containerd
  have_node coredns || with_progress "coredns $COREDNS_VERSION" \
    env GOBIN="$NODE_BIN_DIR" go install -trimpath -ldflags '-s -w' "github.com/coredns/coredns@$COREDNS_VERSION"
  have_node kube-router || with_progress "kube-router $KUBE_ROUTER_VERSION" \
    env GOBIN="$NODE_BIN_DIR" go install -trimpath -ldflags '-s -w' "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  build_kubernetes kubelet kube-proxy
  log "node binaries ready in $NODE_BIN_DIR and $BIN_DIR ($(elapsed))"
}

# CRDs of cert-manager and prometheus-operator, as their Go modules ship them; never committed.
fetch_crds() {
  [ -f "$CRDS_DIR/.complete" ] && return
  log "fetching cert-manager $CERT_MANAGER_VERSION and prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs"
  mkdir -p "$CRDS_DIR"
  local dir
  dir=$(go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "could not download cert-manager $CERT_MANAGER_VERSION"
  cat "$dir"/deploy/crds/*cert-manager.io_*.yaml >"$CRDS_DIR/cert-manager.yaml"
  dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "could not download prometheus-operator $PROMETHEUS_OPERATOR_VERSION"
  local kind
  : >"$CRDS_DIR/prometheus-operator.yaml"
  for kind in servicemonitors podmonitors prometheusrules; do
    cat "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" >>"$CRDS_DIR/prometheus-operator.yaml"
  done
  touch "$CRDS_DIR/.complete"
}

# hack/kstatus has its own go.mod (its version of sigs.k8s.io/cli-utils); rebuilt when its sources change.
build_kstatus() {
  local src="$HACK_DIR/kstatus" out="$BIN_DIR/kstatus" hash
  hash=$(contents_hash "$src"/go.mod "$src"/go.sum "$src"/*.go)
  built_from "$out" "$hash" && return 0
  with_progress "kstatus ($(sed -n 's#^\s*sigs.k8s.io/cli-utils \(v[^ ]*\)$#cli-utils \1#p' "$src/go.mod"))" \
    bash -c "cd '$src' && go build -trimpath -ldflags '-s -w' -o '$out' ."
  echo "$hash" >"$out.sources"
}

# hack/cert-manager is our own entry point on cert-manager's released module (its cmd/controller
# module is not served by the Go module proxy); rebuilt when its sources change.
# Its acmesolver (the program of the HTTP-01 solver pods, image webstack.local/acmesolver) likewise.
build_cert_manager() {
  local src="$HACK_DIR/cert-manager" out="$BIN_DIR/cert-manager-controller" solver="$BIN_DIR/acmesolver" hash
  hash=$(contents_hash "$src"/go.mod "$src"/go.sum "$src"/*.go "$src"/acmesolver/*.go)
  built_from "$out" "$hash" && built_from "$solver" "$hash" && return 0
  with_progress "cert-manager controller and acmesolver ($(sed -n 's#^\s*github.com/cert-manager/cert-manager \(v[^ ]*\)$#\1#p' "$src/go.mod"))" \
    bash -c "cd '$src' && go build -trimpath -ldflags '-s -w' -o '$out' . && go build -trimpath -ldflags '-s -w' -o '$solver' ./acmesolver"
  echo "$hash" >"$out.sources" && echo "$hash" >"$solver.sources"
}

# SeaweedFS's weed, the backup tests' S3 store. Built inside a copy of its own module, so that its
# go.mod's replace directives apply (they are ignored when it is built as a dependency).
build_seaweedfs() {
  local out="$BIN_DIR/weed" src="$TOOLS_DIR/src/seaweedfs" dir
  built_from "$out" "$SEAWEEDFS_VERSION" && return 0
  dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "could not download seaweedfs $SEAWEEDFS_VERSION"
  rm -rf "$src" && mkdir -p "$src" && cp -r "$dir"/. "$src" && chmod -R u+w "$src"
  with_progress "SeaweedFS $SEAWEEDFS_VERSION (the backup tests' S3 store)" \
    bash -c "cd '$src' && go build -trimpath -ldflags '-s -w' -o '$out' ./weed"
  echo "$SEAWEEDFS_VERSION" >"$out.sources"
  rm -rf "$src"
}

build_control_plane() {
  build_etcd
  go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
  go_install kwokctl sigs.k8s.io/kwok/cmd/kwokctl "$KWOK_VERSION"
  go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
  build_kubernetes kube-apiserver kube-controller-manager kube-scheduler kubectl
  fetch_crds
  build_kstatus
  build_cert_manager
  go_install pebble github.com/letsencrypt/pebble/v2/cmd/pebble "$PEBBLE_VERSION"
  go_install pebble-challtestsrv github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv "$PEBBLE_VERSION"
  build_seaweedfs
  log "control plane binaries ready in $BIN_DIR ($(elapsed))"
}

mkdir -p "$BIN_DIR"
[ $# -gt 0 ] || set -- control-plane node otelcol
# Both Kubernetes targets asked for: build their six commands in one go.
if [[ " $* " == *" control-plane "* && " $* " == *" node "* ]]; then
  build_kubernetes kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy
fi
for target in "$@"; do
  case "$target" in
    control-plane) build_control_plane ;;
    node) build_node ;;
    otelcol) "$HACK_DIR/otelcol/build.sh" ;;
    *) die "unknown target '$target' (control-plane, node, otelcol)" ;;
  esac
done
