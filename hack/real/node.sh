#!/usr/bin/env bash
# One real node: runs inside the node's own network namespace and a new mount namespace (as kind
# runs each node in its own container), started by cluster.sh as
#   setsid nsenter --net=/run/netns/NETNS unshare --mount --propagation private node.sh I
# The mount namespace gives the node its own /var/lib, /var/log and /run, so the paths kubelet,
# containerd and the CNI plugins hard-code never touch the host's, and every mount made here
# (overlays, volumes, pod network namespaces) disappears with the node's processes.
# Runs containerd, kubelet, kube-proxy and kube-router, and waits for them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
I=$1
NAME=$(node_name "$I")
DIR=$(node_dir "$I")
ETC="$DIR/etc"

# sysfs for this network namespace (/sys/class/net), keeping the host's cgroup mounts under it.
mkdir -p "$DIR/cgroup-keep"
mount --rbind /sys/fs/cgroup "$DIR/cgroup-keep"
mount -t sysfs sysfs /sys
mount --rbind "$DIR/cgroup-keep" /sys/fs/cgroup
umount -l "$DIR/cgroup-keep"
mkdir -p "$DIR/var-lib" "$DIR/var-log"
mount --bind "$DIR/var-lib" /var/lib
mount --bind "$DIR/var-log" /var/log
mount -t tmpfs -o mode=755 tmpfs /run

log_to() { echo "$LOGS/$NAME-$1.log"; }
# When one component exits the node is down: its other components go too, rather than linger and
# hold what a restarted node needs (containerd's database lock, ports).
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

# kubelet's cgroupRoot must exist in every hierarchy; a new v1 cpuset needs its cpus and mems.
CGROUP=$(node_cgroup "$I")
for h in /sys/fs/cgroup/*/; do mkdir -p "$h$CGROUP"; done
cp /sys/fs/cgroup/cpuset/cpuset.cpus "/sys/fs/cgroup/cpuset/$CGROUP/cpuset.cpus"
cp /sys/fs/cgroup/cpuset/cpuset.mems "/sys/fs/cgroup/cpuset/$CGROUP/cpuset.mems"

# A node started again (hack/cluster start-node) finds the sockets of its last run on disk.
rm -f "$DIR/containerd.sock" "$DIR/containerd.sock.ttrpc"
containerd --config "$ETC/containerd.toml" >>"$(log_to containerd)" 2>&1 &
for _ in $(seq 1 100); do [ -S "$DIR/containerd.sock" ] && break; sleep 0.1; done
[ -S "$DIR/containerd.sock" ] || { echo "containerd did not start: see $(log_to containerd)" >&2; exit 1; }

# containerd answers "not initialized yet" while it recovers the containers of an earlier run, and
# kubelet exits on that: it is started again a few times before the node gives up.
(
  for _ in $(seq 1 30); do
    kubelet --config "$ETC/kubelet.yaml" --kubeconfig "$PKI/kubelet-$I.kubeconfig" \
      --hostname-override "$NAME" --node-ip "$(node_ip "$I")" \
      --node-labels "topology.kubernetes.io/zone=${ZONES[$((I - 1))]},webstack.dev/real-node=true" \
      --v=1 >>"$(log_to kubelet)" 2>&1 && exit 0
    sleep 1
  done
  exit 1
) &
kube-proxy --config "$ETC/kube-proxy.yaml" --v=1 >"$(log_to kube-proxy)" 2>&1 &

# kube-router v2.1.0 exits when it starts before its Node exists.
until kubectl --kubeconfig "$PKI/kube-router.kubeconfig" get node "$NAME" >/dev/null 2>&1; do sleep 0.5; done
kube-router --kubeconfig="$PKI/kube-router.kubeconfig" --run-firewall=true --run-router=false \
  --run-service-proxy=false --enable-cni=false --hostname-override="$NAME" \
  --service-cluster-ip-range="$SERVICE_NET" --health-port=0 --metrics-port=0 --v=1 >"$(log_to kube-router)" 2>&1 &

wait -n
echo "a component of $NAME exited: see $LOGS/$NAME-*.log" >&2
exit 1
