#!/usr/bin/env bash
# The two things a cloud gives a cluster that KWOK does not: volumes and load balancer addresses.
# - PVCs of the `standard` StorageClass get a PersistentVolume bound to them (nothing is stored:
#   KWOK pods never run), and Released volumes are deleted, as reclaimPolicy Delete promises.
# - Services of type LoadBalancer get an address from TEST-NET-3 (203.0.113.0/24) in their status.
#   The address is only written to status; nothing ever sends traffic to it.
# Started and stopped by hack/cluster (by pid); each watch restarts when the server closes it.
set -uo pipefail
KUBECONFIG_PATH=$1
PROVISIONER=webstack.dev/fake-provisioner
kctl() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }

watch_forever() { # jsonpath-template handler
  local template=$1 handler=$2 resource=$3
  while true; do
    kctl get "$resource" -A --watch -o "jsonpath=$template" 2>/dev/null | while read -r line; do "$handler" $line; done
    sleep 1
  done
}

provision() { # namespace name uid class phase size accessMode [volumeName]
  local ns=$1 name=$2 uid=$3 class=$4 phase=$5 size=$6 mode=$7 volume=${8:-}
  [ "$class" = standard ] && [ "$phase" = Pending ] && [ -z "$volume" ] || return 0
  kctl create -f - >/dev/null 2>&1 <<PV
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pvc-$uid
  annotations: { pv.kubernetes.io/provisioned-by: $PROVISIONER }
spec:
  storageClassName: standard
  persistentVolumeReclaimPolicy: Delete
  capacity: { storage: $size }
  accessModes: [$mode]
  hostPath: { path: /var/lib/fake-volumes/pvc-$uid }
  claimRef: { apiVersion: v1, kind: PersistentVolumeClaim, namespace: $ns, name: $name, uid: $uid }
PV
  echo "provisioned pvc-$uid for $ns/$name"
}

reclaim() { # name phase provisioner
  [ "${2:-}" = Released ] && [ "${3:-}" = "$PROVISIONER" ] || return 0
  kctl delete pv "$1" --wait=false >/dev/null 2>&1 && echo "deleted released volume $1"
}

assign_address() { # namespace name type [ip]
  [ "$3" = LoadBalancer ] && [ -z "${4:-}" ] || return 0
  local n
  n=$(( $(printf '%s/%s' "$1" "$2" | cksum | cut -d' ' -f1) % 250 + 2 ))
  kctl patch service "$2" -n "$1" --subresource=status --type=merge \
    -p "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.$n\"}]}}}" >/dev/null 2>&1 &&
    echo "assigned 203.0.113.$n to $1/$2"
}

watch_forever '{.metadata.namespace} {.metadata.name} {.metadata.uid} {.spec.storageClassName} {.status.phase} {.spec.resources.requests.storage} {.spec.accessModes[0]} {.spec.volumeName}{"\n"}' provision pvc &
watch_forever '{.metadata.name} {.status.phase} {.metadata.annotations.pv\.kubernetes\.io/provisioned-by}{"\n"}' reclaim pv &
watch_forever '{.metadata.namespace} {.metadata.name} {.spec.type} {.status.loadBalancer.ingress[0].ip}{"\n"}' assign_address service &
wait
