# Shared by the real-node cluster scripts (hack/real/*.sh): addresses, names and paths.
# Every address lives on interfaces these scripts create; nothing listens on the machine's own
# interfaces, and nothing is routed towards them.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
REAL_DIR="$CACHE_ROOT/real"            # all state of the running cluster; deleted by `down`
PKI="$REAL_DIR/pki"
LOGS="$REAL_DIR/logs"
PIDS="$REAL_DIR/pids"
KUBECONFIG_REAL="$REAL_DIR/pki/admin.kubeconfig"
BRIDGE=wsr0                            # host side of the node network
HOST_IP=10.250.0.1                     # the apiserver's address, on $BRIDGE
NODE_NET=10.250.0.0/24
POD_NET=10.244.0.0/16
SERVICE_NET=10.97.0.0/16
KUBERNETES_SVC_IP=10.97.0.1
DNS_SVC_IP=10.97.0.10
APISERVER_PORT=6443
NFT_TABLE=webstack_real                # our own nftables table on the host, removed whole by `down`
MAX_REAL_NODES=3
ZONES=(zone-a zone-b zone-c)
export PATH="$BIN_DIR:$NODE_BIN_DIR:$PATH"
# Host paths that a node's programs (kubelet, containerd, CNI, iptables, `ip netns`) and buildah
# write to by default. Most of ours are pointed under $REAL_DIR and the cache folder; `down` must
# leave every one as `up` found it (snapshot.sh lists them with their contents), and
# hack/test-fresh.sh sets them aside while it rehearses a fresh machine.
HOST_PATHS=(/var/lib/kubelet /var/lib/containerd /var/lib/cni /var/log/pods /var/log/containers /run/containerd
  /run/netns /var/run/netns /etc/cni /opt/cni /run/flannel /var/lib/kube-router /run/xtables.lock /var/lib/fake-volumes
  /var/lib/containers)

node_name() { echo "real-$1"; }
node_ip() { echo "10.250.0.$((10 + $1))"; }
node_netns() { echo "wsr-node$1"; }
node_pod_cidr() { echo "10.244.$1.0/24"; }
node_dir() { echo "$REAL_DIR/nodes/$1"; }
# kubelet's cgroupRoot: each node's pods live under their own cgroup in every hierarchy.
node_cgroup() { echo "webstack-real-$1"; }

kreal() { kubectl --kubeconfig "$KUBECONFIG_REAL" "$@"; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
