#!/usr/bin/env bash
# What a cloud and cert-manager give a cluster that KWOK does not: volumes, load balancer addresses
# and issued certificates.
# - PVCs of the `standard` StorageClass get a PersistentVolume bound to them (nothing is stored:
#   KWOK pods never run), and Released volumes are deleted, as reclaimPolicy Delete promises.
# - Services of type LoadBalancer get an address from TEST-NET-3 (203.0.113.0/24) in their status.
#   The address is only written to status; nothing ever sends traffic to it.
# - cert-manager Certificates whose issuer exists get a throwaway self-signed certificate in their
#   Secret and a Ready condition, as cert-manager would report (only the CRDs are installed here).
# Started and stopped by hack/cluster (by pid); each watch restarts when the server closes it.
set -uo pipefail
KUBECONFIG_PATH=$1
PROVISIONER=webstack.dev/fake-provisioner
kctl() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }

watch_forever() { # jsonpath-template handler
  local template=$1 handler=$2 resource=$3
  while true; do
    # Fields are separated by '|' so that an empty field (a missing status) keeps its place.
    kctl get "$resource" -A --watch -o "jsonpath=$template" 2>/dev/null | while IFS='|' read -r -a fields; do "$handler" "${fields[@]}"; done
    sleep 1
  done
}

provision() { # namespace name uid class phase size accessMode [volumeName]
  local ns=$1 name=$2 uid=$3 class=$4 phase=$5 size=$6 mode=$7 volume=${8:-}
  [ "$class" = standard ] && [ "$phase" = Pending ] && [ -z "$volume" ] || return 0
  kctl create -f - >/dev/null 2>&1 <<PV || return 0
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

issue() { # namespace name secretName issuerKind issuerName ready dnsName
  local ns=$1 name=$2 secret=$3 kind=$4 issuer=$5 ready=$6 dns=${7:-$2}
  if [ "$ready" = True ] && kctl get secret "$secret" -n "$ns" >/dev/null 2>&1; then return 0; fi
  if [ "$kind" = ClusterIssuer ]; then
    kctl get clusterissuer "$issuer" >/dev/null 2>&1 || return 0
  else
    kctl get issuer "$issuer" -n "$ns" >/dev/null 2>&1 || return 0
  fi
  local dir
  dir=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 -subj "/CN=${dns#\*.}" \
    -addext "subjectAltName=DNS:$dns" -keyout "$dir/tls.key" -out "$dir/tls.crt" >/dev/null 2>&1
  kctl create secret generic "$secret" -n "$ns" --type kubernetes.io/tls \
    --from-file "$dir/tls.crt" --from-file "$dir/tls.key" --from-file "ca.crt=$dir/tls.crt" >/dev/null 2>&1
  rm -rf "$dir"
  local now
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  kctl patch certificate "$name" -n "$ns" --subresource=status --type=merge -p "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Ready\",\"message\":\"Certificate is up to date and has not expired\",\"lastTransitionTime\":\"$now\",\"observedGeneration\":1}]}}" >/dev/null 2>&1 &&
    echo "issued $ns/$secret for certificate $name"
}

watch_forever '{.metadata.namespace}|{.metadata.name}|{.metadata.uid}|{.spec.storageClassName}|{.status.phase}|{.spec.resources.requests.storage}|{.spec.accessModes[0]}|{.spec.volumeName}{"\n"}' provision pvc &
watch_forever '{.metadata.name}|{.status.phase}|{.metadata.annotations.pv\.kubernetes\.io/provisioned-by}{"\n"}' reclaim pv &
watch_forever '{.metadata.namespace}|{.metadata.name}|{.spec.type}|{.status.loadBalancer.ingress[0].ip}{"\n"}' assign_address service &
watch_forever '{.metadata.namespace}|{.metadata.name}|{.spec.secretName}|{.spec.issuerRef.kind}|{.spec.issuerRef.name}|{.status.conditions[?(@.type=="Ready")].status}|{.spec.dnsNames[0]}{"\n"}' issue certificates.cert-manager.io &
wait
