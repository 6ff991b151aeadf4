#!/usr/bin/env bash
# The real-node cluster's PKI, made with openssl: a CA, the apiserver's serving certificate, one
# client certificate per component (each kubelet with its own node identity, so the Node
# authorizer and NodeRestriction apply), kubelet serving certificates, the service-account keys,
# and a kubeconfig per client.  Usage: pki.sh NODES
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NODES=$1
mkdir -p "$PKI"
cd "$PKI"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# cert NAME SUBJECT EXTENSIONS
cert() {
  key "$1"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
client() { cert "$1" "$2" "keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"; }
server() { cert "$1" "$2" "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$3"; }
kubeconfig() { # NAME USER
  cat >"$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: real
  cluster: {server: "https://$HOST_IP:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: $2
  user: {client-certificate: "$PKI/$1.crt", client-key: "$PKI/$1.key"}
contexts:
- name: real
  context: {cluster: real, user: $2}
current-context: real
KC
}

key ca
openssl req -x509 -new -key ca.key -subj "/CN=webstack-real-ca" -days 30 -sha256 -out ca.crt 2>/dev/null
server apiserver "/CN=kube-apiserver" \
  "IP:$HOST_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
client apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
client admin "/O=system:masters/CN=admin"
client kcm "/CN=system:kube-controller-manager"
client scheduler "/CN=system:kube-scheduler"
client kube-proxy "/CN=system:kube-proxy"
client kube-router "/CN=kube-router"
kubeconfig admin admin
kubeconfig kcm system:kube-controller-manager
kubeconfig scheduler system:kube-scheduler
kubeconfig kube-proxy system:kube-proxy
kubeconfig kube-router kube-router
for i in $(seq 1 "$NODES"); do
  client "kubelet-$i" "/O=system:nodes/CN=system:node:$(node_name "$i")"
  server "kubelet-serving-$i" "/CN=$(node_name "$i")" "IP:$(node_ip "$i"),DNS:$(node_name "$i")"
  kubeconfig "kubelet-$i" "system:node:$(node_name "$i")"
done
key sa
openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
