#!/usr/bin/env bash
# Everything `npm test` and `npm start` need on a fresh machine, each step skipped when done:
# the Debian packages (hack/install-test-tools.sh), the control plane and node binaries built from
# Go modules (hack/build.sh, cached outside the checkout, progress every 30 s; the log agent's
# collector among them), and the local
# container images (hack/images/build.ts, cached by the hash of their inputs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start=$SECONDS
sh "$HACK_DIR/install-test-tools.sh"
"$HACK_DIR/build.sh" control-plane node otelcol
"$HACK_DIR/../node_modules/.bin/tsx" "$HACK_DIR/images/build.ts" build
log "setup complete ($((SECONDS - start))s)"
