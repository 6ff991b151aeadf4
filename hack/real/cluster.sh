#!/usr/bin/env bash
# The real-node cluster: a control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler) on the host plus N real nodes, each a kubelet + containerd + kube-proxy +
# kube-router in its own network and mount namespace, bridged on $BRIDGE. CoreDNS, a local-path
# StorageClass and locally built images (hack/images) make pods run as on any cluster.
# Called by hack/cluster (`up --real-nodes N`, `down`, ...); root only.
#
#   cluster.sh up N | down | status | kubeconfig | stop-node I | start-node I | load-image ARCHIVE
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REAL_HACK="$HACK_DIR/real"

need_root() { [ "$(id -u)" -eq 0 ] || die "real nodes need root (network namespaces, mounts, cgroups): run as root"; }

TSX="$HACK_DIR/../node_modules/.bin/tsx"
images() { "$TSX" "$HACK_DIR/images/build.ts" "$@"; }

running() { [ -f "$KUBECONFIG_REAL" ] && kreal get --raw /readyz >/dev/null 2>&1; }

# Starts "$@" in its own session (so `down` ends it with its children), logging to logs/NAME.log.
start() {
  local name=$1; shift
  pid_alive "$PIDS/$name.pid" && return
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

wait_for() { # DESCRIPTION SECONDS COMMAND...
  local what=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what not ready after ${limit}s (logs: $LOGS)"
    sleep 0.5
  done
}

# --- host state that `down` must put back -------------------------------------------------------

# Written once at `up`, before anything changes: what `down` restores.
SYSCTLS_SAVED="$REAL_DIR/sysctls.before"
# kubelet sets these host-wide sysctls at start (they are not namespaced).
HOST_SYSCTLS="kernel.panic kernel.panic_on_oops vm.overcommit_memory"

save_host_state() {
  [ -f "$SYSCTLS_SAVED" ] && return
  local k
  for k in $HOST_SYSCTLS; do echo "$k=$(sysctl -n "$k")"; done >"$SYSCTLS_SAVED"
  # `ip netns add` turns /run/netns into a mount point; note whether it was one already.
  if mountpoint -q /run/netns 2>/dev/null; then echo keep >"$REAL_DIR/run-netns.before"; else echo remove >"$REAL_DIR/run-netns.before"; fi
}

# --- network ------------------------------------------------------------------------------------

setup_network() {
  local n=$1 i j
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$HOST_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  # Pod and node traffic never leaves: nothing from the bridge is forwarded elsewhere, and nothing
  # from elsewhere reaches our addresses. The e2e suite checks that the drop counter stays 0.
  nft -f - <<NFT
table inet $NFT_TABLE
delete table inet $NFT_TABLE
table inet $NFT_TABLE {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "$BRIDGE" oifname != "$BRIDGE" counter drop comment "webstack-real: pod traffic stays on this machine"
  }
  chain prerouting {
    type filter hook prerouting priority -310; policy accept;
    iifname != { "$BRIDGE", "lo" } ip daddr { $NODE_NET, $POD_NET, $SERVICE_NET } counter drop comment "webstack-real: unreachable from outside"
  }
}
NFT
  for i in $(seq 1 "$n"); do
    local ns; ns=$(node_netns "$i")
    ip netns list | grep -qw "$ns" && continue
    ip netns add "$ns"
    ip link add "wsr-veth$i" type veth peer name eth0 netns "$ns"
    ip link set "wsr-veth$i" master "$BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    # No default route: a node reaches the other nodes, their pods and Services, nothing else.
    for j in $(seq 1 "$n"); do
      [ "$j" = "$i" ] || ip -n "$ns" route add "$(node_pod_cidr "$j")" via "$(node_ip "$j")"
    done
    ip -n "$ns" route add "$SERVICE_NET" via "$HOST_IP"
    # The host (the apiserver, the tests) reaches the node's pods; gone with the bridge at `down`.
    ip route add "$(node_pod_cidr "$i")" via "$(node_ip "$i")" dev "$BRIDGE"
  done
}

# --- control plane --------------------------------------------------------------------------------

start_control_plane() {
  start etcd etcd --name real --data-dir "$REAL_DIR/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster real=http://127.0.0.1:23800 --listen-metrics-urls=http://127.0.0.1:23810
  start kube-apiserver kube-apiserver --etcd-servers=http://127.0.0.1:23790 \
    --bind-address="$HOST_IP" --advertise-address="$HOST_IP" --secure-port="$APISERVER_PORT" \
    --service-cluster-ip-range="$SERVICE_NET" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true --profiling=false
  wait_for kube-apiserver 90 kreal get --raw /readyz
  start kube-controller-manager kube-controller-manager --kubeconfig="$PKI/kcm.kubeconfig" \
    --authentication-kubeconfig="$PKI/kcm.kubeconfig" --authorization-kubeconfig="$PKI/kcm.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=20257 --leader-elect=false --root-ca-file="$PKI/ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --allocate-node-cidrs=false --service-cluster-ip-range="$SERVICE_NET" --profiling=false
  start kube-scheduler kube-scheduler --kubeconfig="$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=20259 --leader-elect=false --profiling=false
}

# --- nodes --------------------------------------------------------------------------------------

write_node_config() {
  local i=$1 dir etc; dir=$(node_dir "$i"); etc="$dir/etc"
  mkdir -p "$etc/cni"
  echo "nameserver 127.0.0.1" >"$etc/resolv.conf" # dnsPolicy: Default pods resolve nothing
  cat >"$etc/containerd.toml" <<TOML
version = 4
root = "/var/lib/containerd"
state = "/run/containerd"
[plugins."io.containerd.server.v1.grpc"]
  address = "$dir/containerd.sock"
[plugins."io.containerd.server.v1.ttrpc"]
  address = "$dir/containerd.sock.ttrpc"
[plugins."io.containerd.nri.v1.nri"]
  disable = true
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "webstack.local/pause:1.0"
[plugins."io.containerd.cri.v1.runtime"]
  # CAP_SYS_RESOURCE is missing on these machines: a negative oom_score_adj cannot be set.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$etc/cni"
    max_conf_num = 1
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
TOML
  cat >"$etc/cni/10-webstack-real.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "webstack-real", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$(node_pod_cidr "$i")"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
  cat >"$etc/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false            # these machines run cgroup v1 (hybrid); kubelet refuses it otherwise
cgroupDriver: cgroupfs
cgroupRoot: /$(node_cgroup "$i")
containerRuntimeEndpoint: unix://$dir/containerd.sock
address: $(node_ip "$i")
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving-$i.crt
tlsPrivateKeyFile: $PKI/kubelet-serving-$i.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$DNS_SVC_IP]
clusterDomain: cluster.local
resolvConf: $etc/resolv.conf
failSwapOn: false
imageGCHighThresholdPercent: 100
evictionHard: {imagefs.available: "0%", nodefs.available: "0%", nodefs.inodesFree: "0%"}
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
YAML
  cat >"$etc/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $PKI/kube-proxy.kubeconfig}
hostnameOverride: $(node_name "$i")
mode: iptables
clusterCIDR: $POD_NET
bindAddress: $(node_ip "$i")
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$(node_ip "$i")/32"]
iptables: {minSyncPeriod: 1s, localhostNodePorts: false}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
}

start_node() {
  local i=$1
  write_node_config "$i"
  start "node-$i" nsenter --net="/run/netns/$(node_netns "$i")" unshare --mount --propagation private "$REAL_HACK/node.sh" "$i"
}

import_images() { # NODE
  local sock; sock="$(node_dir "$1")/containerd.sock"
  wait_for "containerd of $(node_name "$1")" 30 test -S "$sock"
  images import "$sock"
}

# Pod CIDRs are fixed per node (the CNI config has them), so they are written to the Node here
# rather than allocated by the controller manager.
set_pod_cidr() {
  local i=$1 name; name=$(node_name "$i")
  wait_for "node $name registered" 60 kreal get node "$name"
  kreal patch node "$name" --type merge -p "{\"spec\":{\"podCIDR\":\"$(node_pod_cidr "$i")\",\"podCIDRs\":[\"$(node_pod_cidr "$i")\"]}}" >/dev/null 2>&1 || true
}

apply_addons() {
  local tries
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    # The default ServiceAccount of a new namespace comes a moment after it; retry.
    kreal apply --server-side --field-manager hack-cluster -f "$REAL_HACK/addons.yaml" >/dev/null 2>&1 && return
    sleep 1
  done
  kreal apply --server-side --field-manager hack-cluster -f "$REAL_HACK/addons.yaml"
}

start_fake_cloud() {
  start fake-cloud "$TSX" "$HACK_DIR/fake-cloud.ts" "$KUBECONFIG_REAL" --local-volumes "$REAL_DIR/volumes"
}

up() {
  local n=$1 t0=$SECONDS i
  need_root
  [ -x "$TSX" ] || die "the image builder and hack/fake-cloud.ts run on tsx from node_modules: run 'npm ci' first"
  [ "$n" -ge 1 ] && [ "$n" -le "$MAX_REAL_NODES" ] || die "--real-nodes takes 1 to $MAX_REAL_NODES"
  if running && [ "$(cat "$REAL_DIR/nodes.count" 2>/dev/null)" = "$n" ]; then
    log "real-node cluster is running ($n nodes)"
    return
  fi
  [ -d "$REAL_DIR" ] && { log "real-node cluster exists with other settings or is unhealthy; recreating it"; down; }
  "$HACK_DIR/build.sh" control-plane node
  images build
  mkdir -p "$REAL_DIR" "$LOGS" "$PIDS" "$REAL_DIR/volumes"
  echo "$n" >"$REAL_DIR/nodes.count"
  save_host_state
  log "starting the real-node cluster: control plane + $n real nodes ($KUBERNETES_VERSION, containerd $CONTAINERD_VERSION)"
  "$REAL_HACK/pki.sh" "$n"
  setup_network "$n"
  start_control_plane
  for i in $(seq 1 "$n"); do start_node "$i"; done
  local imports=()
  for i in $(seq 1 "$n"); do import_images "$i" & imports+=($!); done
  for i in "${imports[@]}"; do wait "$i" || die "importing images failed"; done
  for i in $(seq 1 "$n"); do set_pod_cidr "$i"; done
  apply_addons
  start_fake_cloud
  wait_for "nodes Ready" 120 kreal wait --for=condition=Ready node --all --timeout=5s
  wait_for "CoreDNS" 120 kreal -n kube-system wait --for=condition=Available deployment/coredns --timeout=5s
  log "real-node cluster ready in $((SECONDS - t0))s: kubectl --kubeconfig $KUBECONFIG_REAL get nodes"
}

# Ends the process group in PIDFILE and waits for it.
stop_group() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# Every process left in a cgroup tree (containers of a node) or a network namespace (shims).
kill_cgroup_tree() {
  local name=$1 f
  for f in /sys/fs/cgroup/*/"$name"; do
    [ -d "$f" ] || continue
    find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  done
}
remove_cgroup_tree() {
  local name=$1 f
  for f in /sys/fs/cgroup/*/"$name"; do
    [ -d "$f" ] || continue
    find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

down() {
  need_root
  local i n=$MAX_REAL_NODES
  stop_group "$PIDS/fake-cloud.pid"
  for i in $(seq 1 "$n"); do stop_group "$PIDS/node-$i.pid"; done
  for i in $(seq 1 "$n"); do
    kill_cgroup_tree "$(node_cgroup "$i")"
    ip netns pids "$(node_netns "$i")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  done
  for f in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_group "$PIDS/$f.pid"; done
  sleep 0.5
  for i in $(seq 1 "$n"); do
    remove_cgroup_tree "$(node_cgroup "$i")"
    ip netns del "$(node_netns "$i")" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  nft delete table inet "$NFT_TABLE" 2>/dev/null || true
  if [ -f "$SYSCTLS_SAVED" ]; then
    local kv
    while read -r kv; do sysctl -q -w "$kv" >/dev/null; done <"$SYSCTLS_SAVED"
  fi
  if [ "$(cat "$REAL_DIR/run-netns.before" 2>/dev/null)" = remove ] && mountpoint -q /run/netns; then
    [ -z "$(ls -A /run/netns)" ] && umount /run/netns && rmdir /run/netns
  fi
  rm -rf "$REAL_DIR"
  log "real-node cluster is down"
}

# A node's power cut, for drills: its link goes down first (a machine without power sends no FIN
# or RST, so its peers learn of it only by timeouts), then every process of node I (kubelet,
# containerd, kube-proxy, kube-router, the shims and every container) is SIGKILLed. Its disk
# (var-lib, var-log and the local volumes) stays, as a powered-off machine's would; start-node boots
# it again.
stop_node() {
  local i=$1
  need_root
  [ -f "$PIDS/node-$i.pid" ] || die "node $i is not running"
  ip link set "wsr-veth$i" down
  kill -KILL -- "-$(cat "$PIDS/node-$i.pid")" 2>/dev/null || true
  kill_cgroup_tree "$(node_cgroup "$i")"
  ip netns pids "$(node_netns "$i")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  rm -f "$PIDS/node-$i.pid"
  sleep 0.5
  remove_cgroup_tree "$(node_cgroup "$i")"
  log "node $(node_name "$i") stopped"
}

# Boots a stopped node again: its kubelet finds its pods and containerd its images on disk.
start_node_again() {
  local i=$1
  need_root
  running || die "the real-node cluster is not running"
  ip link set "wsr-veth$i" up
  start_node "$i"
  # The Node object may still say Ready from before the cut: ask the new kubelet itself first.
  wait_for "kubelet of $(node_name "$i")" 120 ip netns exec "$(node_netns "$i")" curl -sf http://127.0.0.1:10248/healthz
  wait_for "node $(node_name "$i") Ready" 120 kreal wait --for=condition=Ready node "$(node_name "$i")" --timeout=5s
  log "node $(node_name "$i") started"
}

status() {
  if ! [ -d "$REAL_DIR" ]; then echo "real-node cluster: not created"; return 1; fi
  if running; then
    echo "apiserver: ready (https://$HOST_IP:$APISERVER_PORT)"
    kreal get nodes -o wide -L topology.kubernetes.io/zone
  else echo "apiserver: not ready"; return 1; fi
}

# Imports an OCI image archive (e.g. hack/operator-image/build.sh's) into every running node.
load_image() {
  local archive=$1 pidfile i
  [ -f "$archive" ] || die "no image archive $archive"
  running || die "the real-node cluster is not running"
  for pidfile in "$PIDS"/node-*.pid; do
    [ -f "$pidfile" ] || continue
    i=${pidfile##*/node-}; i=${i%.pid}
    "$NODE_BIN_DIR/ctr" --address "$(node_dir "$i")/containerd.sock" -n k8s.io images import "$archive" >/dev/null ||
      die "importing $archive into $(node_name "$i") failed"
  done
  log "loaded $archive into every node"
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0 # sourced (to try one step by hand)
case "${1:-}" in
  up) up "${2:?usage: cluster.sh up N}" ;;
  down) down ;;
  status) status ;;
  kubeconfig) echo "$KUBECONFIG_REAL" ;;
  stop-node) stop_node "${2:?usage: cluster.sh stop-node I}" ;;
  start-node) start_node_again "${2:?usage: cluster.sh start-node I}" ;;
  load-image) load_image "${2:?usage: cluster.sh load-image ARCHIVE}" ;;
  *) echo "usage: hack/real/cluster.sh up N|down|status|kubeconfig|stop-node I|start-node I|load-image ARCHIVE" >&2; exit 2 ;;
esac
