#!/usr/bin/env bash
# Everything `npm test` and `npm start` need on a fresh machine, each step skipped when done:
# the Debian packages (hack/install-test-tools.sh), the control plane and node binaries built from
# Go modules (hack/build.sh, cached outside the checkout, progress every 30 s; the log agent's
# collector among them), the local container images (hack/images/build.ts, cached by the hash of
# their inputs) and, as root, the operator image from the Dockerfile (hack/operator-image/build.sh)
# and the sid root filesystems with MySQL 9.7 and MariaDB 11.8 (hack/sid/build.sh).
#
# Independent steps run side by side: apt (network) beside the Go builds (CPU), the collector
# beside the Kubernetes binaries, the operator image beside both. Each step's time
# is logged, so a cold run says where its minutes went.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start=$SECONDS

# Runs "$@" in the background as step NAME; `finish NAME` waits for it and fails when it failed.
declare -A pids=()
begin() { local name=$1; shift; ( s=$SECONDS; "$@"; log "setup step $name done ($((SECONDS - s))s)" ) & pids[$name]=$!; }
finish() { wait "${pids[$1]}" || die "setup step $1 failed"; }

# Not root, install-test-tools only says which packages are missing: it goes first, and alone,
# so that a stop there leaves no build running behind it.
if [ "$(id -u)" -eq 0 ]; then begin apt sh "$HACK_DIR/install-test-tools.sh"; else sh "$HACK_DIR/install-test-tools.sh"; fi
begin otelcol "$HACK_DIR/build.sh" otelcol
begin kubernetes "$HACK_DIR/build.sh" control-plane node
# buildah and debootstrap come with apt; the image's own npm ci and tsc need nothing built here.
if [ "$(id -u)" -eq 0 ]; then
  finish apt
  begin operator-image "$HACK_DIR/operator-image/build.sh" "$CACHE_ROOT/operator-image.oci.tar"
  # MySQL 9.7 and MariaDB 11.8 from sid (debootstrap comes with apt): the engine tier's servers.
  # One after the other: the second reuses the first one's debootstrap of sid.
  begin sid sh -c '"$1" mysql && "$1" mariadb' sid "$HACK_DIR/sid/build.sh"
fi
finish kubernetes
finish otelcol
begin images "$HACK_DIR/../node_modules/.bin/tsx" "$HACK_DIR/images/build.ts" build
finish images
[ -z "${pids[sid]:-}" ] || finish sid
[ -z "${pids[operator-image]:-}" ] || finish operator-image
log "setup complete ($((SECONDS - start))s)"
