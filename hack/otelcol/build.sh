#!/usr/bin/env bash
# Builds the log agent's OpenTelemetry Collector from Go modules: the builder
# (go.opentelemetry.io/collector/cmd/builder, at the manifest's release) turns
# hack/otelcol/builder-config.yaml into a Go program, which is compiled into
# $OTELCOL_BIN_DIR/otelcol-webstack (hack/lib.sh). Rebuilt only when the manifest's or this
# script's contents change. Called by hack/build.sh (target otelcol); runs on its own too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
command -v go >/dev/null || die "Go is needed to build the collector (Debian: apt-get install golang, or https://go.dev/dl)"

manifest="$HACK_DIR/otelcol/builder-config.yaml"
out="$OTELCOL_BIN_DIR/otelcol-webstack"
hash=$(contents_hash "$manifest" "${BASH_SOURCE[0]}")
built_from "$out" "$hash" && exit 0

start=$SECONDS
src="$OTELCOL_DIR/src"
mkdir -p "$OTELCOL_BIN_DIR" "$src"
log "building the OpenTelemetry Collector $OTELCOL_VERSION (builder, then go build; a cold build takes minutes)"
( while sleep 30; do log "  still building otelcol-webstack $OTELCOL_VERSION ($((SECONDS - start))s)"; done ) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
GOBIN="$OTELCOL_DIR/tools" go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" ||
  die "could not install the collector builder v$OTELCOL_VERSION"
# The builder only writes the sources: its own module step (go mod tidy) also wants the modules'
# test dependencies, some of which the proxy does not serve (go.opentelemetry.io/collector/scraper/
# scrapertest); go build -mod=mod resolves what the binary needs and nothing else. -trimpath and
# stripped symbols, as hack/build.sh builds everything else.
rm -rf "$src" && mkdir -p "$src"
sed "s#^dist:#dist:\n  output_path: $src#" "$manifest" >"$OTELCOL_DIR/builder-config.yaml"
"$OTELCOL_DIR/tools/builder" --config="$OTELCOL_DIR/builder-config.yaml" --skip-get-modules --skip-compilation >"$OTELCOL_DIR/builder.log" 2>&1 ||
  die "the collector builder failed (see $OTELCOL_DIR/builder.log)"
# Without its module step the builder writes no go.mod: require exactly the manifest's modules
# (and otelcol itself, at the release the manifest's core modules share).
(
  cd "$src"
  go mod init "$(sed -n 's/^  module: *//p' "$manifest")" >/dev/null 2>&1
  sed -n 's/^ *\(- \)\{0,1\}gomod: *"\{0,1\}\([^ "]*\) \(v[^ "]*\)"\{0,1\}$/\2@\3/p' "$manifest" | while read -r m; do go mod edit -require="$m"; done
  go mod edit -require="go.opentelemetry.io/collector/otelcol@v$OTELCOL_VERSION"
  sed -n 's/^  - \([^ ]*\) => \([^ ]*\) \(v[^ ]*\)$/\1=\2@\3/p' "$manifest" | while read -r r; do go mod edit -replace="$r"; done
)
( cd "$src" && go build -trimpath -ldflags '-s -w' -o "$out.partial" . ) >>"$OTELCOL_DIR/builder.log" 2>&1 ||
  die "compiling the collector failed (see $OTELCOL_DIR/builder.log)"
mv "$out.partial" "$out"
echo "$hash" >"$out.sources"
log "otelcol-webstack $OTELCOL_VERSION ready in $OTELCOL_BIN_DIR ($((SECONDS - start))s)"
