#!/usr/bin/env bash
# Prints what of this machine's state a real-node cluster could change, in a stable order, so
# that a snapshot before `up` and one after `down` compare equal when nothing was left behind:
# processes of the cluster's programs, network links/addresses/routes/namespaces, mounts,
# nftables and iptables rules, ipsets, cgroups, the sysctls kubelet and the CNI plugins touch,
# and the host paths kubelet, containerd and CNI (buildah's too) write to by default, with what is in them.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
section() { printf '\n## %s\n' "$1"; }

# Processes of a real-node cluster, and only those (other clusters, such as the KWOK one, may
# come and go meanwhile): programs only nodes run, anything in another network namespace than
# this shell (nodes, pods) or in a node's cgroup (containers), and anything whose command line
# names the cluster's state folder (the control plane, fake-cloud, the node launchers).
section processes
self_net=$(readlink /proc/self/ns/net)
for p in /proc/[0-9]*; do
  comm=$(cat "$p/comm" 2>/dev/null) || continue
  net=$(readlink "$p/ns/net" 2>/dev/null) || continue
  if [[ "$comm" =~ ^(kubelet|kube-proxy|kube-router|containerd|containerd-shim|containerd-shim-runc-v2|runc|pause|coredns)$ ]] ||
    [ "$net" != "$self_net" ] || grep -q webstack-real "$p/cgroup" 2>/dev/null ||
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$REAL_DIR"; then
    echo "$comm"
  fi
done | sort | uniq -c
section links
ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
section addresses
ip -o addr show | awk '{print $2, $3, $4}' | sort
section routes
ip route show table all | sort
ip -6 route show table all | sort
section netns
ip netns list 2>/dev/null | sort
section mounts
awk '{print $5, $9}' /proc/self/mountinfo | sort
section nftables
nft list ruleset 2>/dev/null
section iptables
for t in filter nat mangle raw; do iptables-legacy -t "$t" -S 2>/dev/null; done
section ipsets
ipset list -n 2>/dev/null | sort
section cgroups
find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | sort
section sysctls
sysctl kernel.panic kernel.panic_on_oops vm.overcommit_memory net.ipv4.ip_forward net.ipv4.conf.all.forwarding \
  net.ipv4.conf.all.accept_redirects net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables \
  net.bridge.bridge-nf-call-ip6tables net.ipv6.conf.all.forwarding fs.inotify.max_user_instances \
  fs.inotify.max_user_watches kernel.keys.root_maxkeys kernel.keys.root_maxbytes 2>/dev/null
section paths
for p in "${HOST_PATHS[@]}"; do
  # What is inside too: a file left in a folder that existed before shows as well.
  [ -e "$p" ] && find "$p" -maxdepth 3 | sort
done
exit 0
