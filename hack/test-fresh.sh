#!/usr/bin/env bash
# Rehearses what a newcomer (or CI on a new machine) sees: `npm ci && npm test` in a fresh clone of
# the committed HEAD, with nothing of the project's on the host first.
#
#   hack/test-fresh.sh [--keep-packages] [--keep-go-cache]      (npm run test:fresh)
#
# Before the run: every cluster of this checkout is brought down, the Debian packages that
# hack/install-test-tools.sh installed are purged (it records them; --keep-packages skips this),
# and the run gets empty folders of its own for the project's cache (WEBSTACK_CACHE_DIR), Go's
# module and build caches (--keep-go-cache keeps this machine's), npm's cache and TMPDIR (jest's
# transform cache, the e2e snapshots). Uncommitted changes are not part of the run: commit first.
#
# Afterwards it prints the wall time and where it went: each setup step, each tier (typecheck,
# lint, unit, integration, e2e) and each test file, from the time-stamped log it keeps in
# $WEBSTACK_FRESH_LOG_DIR (default /var/tmp/webstack-fresh). Needs root, as the e2e tier does.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPO=$(cd "$HACK_DIR/.." && pwd)

keep_packages="" keep_go=""
for arg in "$@"; do
  case "$arg" in
    --keep-packages) keep_packages=1 ;;
    --keep-go-cache) keep_go=1 ;;
    *) die "unknown argument '$arg' (--keep-packages, --keep-go-cache)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "the rehearsal runs the e2e tier and purges packages: run it as root"
[ -z "$(git -C "$REPO" status --porcelain)" ] || log "warning: uncommitted changes are not part of the rehearsal"

LOG_DIR=${WEBSTACK_FRESH_LOG_DIR:-/var/tmp/webstack-fresh}
mkdir -p "$LOG_DIR"
RUN_LOG="$LOG_DIR/run-$(date +%Y%m%d-%H%M%S).log"
WORK=$(mktemp -d /var/tmp/webstack-fresh.XXXXXX)
aside=()
cleanup() {
  [ -d "$WORK/repo" ] && (cd "$WORK/repo" && WEBSTACK_CACHE_DIR="$WORK/cache" hack/cluster down >/dev/null 2>&1 || true)
  local p
  for p in "${aside[@]}"; do rm -rf "$p" && mv "$WORK/aside$p" "$p"; done
  # Go's module cache is read-only by design.
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "bringing down this checkout's clusters"
"$HACK_DIR/cluster" down >/dev/null 2>&1 || true
if [ -z "$keep_packages" ]; then
  "$HACK_DIR/install-test-tools.sh" --purge
fi
# What earlier runs may have left in the host paths a node writes to would hide the same leftover
# in this run (a fresh machine has none of them): set them aside, and put them back afterwards.
source "$HACK_DIR/real/lib.sh"
for p in "${HOST_PATHS[@]}"; do
  [ -e "$p" ] && [ ! -L "$p" ] || continue
  ! awk '{print $5}' /proc/self/mountinfo | grep -q "^$p" || die "$p has mounts under it: something still runs there"
  mkdir -p "$WORK/aside$(dirname "$p")" && mv "$p" "$WORK/aside$p" && aside+=("$p")
done
[ ${#aside[@]} -eq 0 ] || log "set aside until the end: ${aside[*]}"

git clone --quiet --no-local "$REPO" "$WORK/repo"
log "rehearsing at $(git -C "$WORK/repo" log -1 --format='%h %s' | cut -c1-100)"
mkdir -p "$WORK/cache" "$WORK/npm" "$WORK/tmp"
env_fresh=(WEBSTACK_CACHE_DIR="$WORK/cache" npm_config_cache="$WORK/npm" TMPDIR="$WORK/tmp")
[ -n "$keep_go" ] || env_fresh+=(GOCACHE="$WORK/go-build" GOMODCACHE="$WORK/go-mod")

# Each line of output gets the seconds since the start, so the breakdown can be read off the log.
start=$SECONDS
set +e
(cd "$WORK/repo" && env "${env_fresh[@]}" bash -c 'npm ci --no-audit --no-fund && npm test' 2>&1 </dev/null) |
  while IFS= read -r line; do printf '%5d %s\n' $((SECONDS - start)) "$line"; done >"$RUN_LOG"
rc=${PIPESTATUS[0]}
set -e
wall=$((SECONDS - start))

"$REPO/node_modules/.bin/tsx" "$HACK_DIR/test-timings.ts" "$RUN_LOG"
log "fresh-machine rehearsal $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((wall / 60))m$(printf '%02d' $((wall % 60)))s (log: $RUN_LOG)"
exit "$rc"
