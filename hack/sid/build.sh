#!/usr/bin/env bash
# Database servers this machine's Debian (bookworm) does not have: MySQL 9.7 and MariaDB 11.8,
# from Debian's `sid` suite, served by the same package archive.
#
#   hack/sid/build.sh ENGINE     ENGINE: mysql | mariadb; prints the folder it made, which holds
#                                rootfs/, host-bin/ and versions.txt
#
# sid's binaries need sid's C library, so they live in a sid root filesystem of their own
# (rootfs/): the local images take their files from it (hack/images/build.ts). host-bin/ has
# wrappers that run the root's programs on this machine through the root's own dynamic loader,
# no chroot needed, and tell mysqld where its files are: the engine tier and the configuration
# tests of the unit tier run the servers with them (test/support/mysql-servers.ts).
#
# sid moves every day. The servers' versions are pinned (SID_MYSQL_VERSION, SID_MARIADB_VERSION
# in versions.env): when the archive no longer serves a pin, the build stops and says what it
# serves instead; it never installs another version. Their dependencies come as sid has them on
# the day of the build, and every package of the root is recorded in `versions.txt` beside it.
# Both roots start from one debootstrap (minbase) of sid, cached; each root is cached by the hash
# of its pins and this script.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ENGINE=${1:?usage: hack/sid/build.sh mysql|mariadb}
MIRROR=http://deb.debian.org/debian
case "$ENGINE" in
  mysql) PINS=("mysql-server-core=$SID_MYSQL_VERSION" "mysql-client-core=$SID_MYSQL_VERSION") ;;
  mariadb)
    PINS=("mariadb-server-core=$SID_MARIADB_VERSION" "mariadb-client-core=$SID_MARIADB_VERSION"
      "mariadb-client=$SID_MARIADB_VERSION" "mariadb-backup=$SID_MARIADB_VERSION")
    ;;
  *) die "unknown engine '$ENGINE' (mysql, mariadb)" ;;
esac

key() { { cat "${BASH_SOURCE[0]}"; echo "$MIRROR" "$@"; } | sha256sum | cut -c1-16; }
BASE="$SID_DIR/base-$(key base)"
ROOT_DIR="$SID_DIR/$ENGINE-$(key "${PINS[@]}")"

if [ -f "$ROOT_DIR/versions.txt" ]; then
  echo "$ROOT_DIR"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "the $ENGINE root filesystem ($ROOT_DIR) is not built yet, and building it needs root (debootstrap, chroot): run npm run setup as root"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap (hack/install-test-tools.sh installs it)"

mkdir -p "$SID_DIR"
WORK=$(mktemp -d "$SID_DIR/work.XXXXXX")
# debootstrap and apt mount /proc and /sys inside the root: never leave one mounted behind.
cleanup() {
  local m
  for m in $(awk -v w="$WORK" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ ! -f "$BASE/rootfs.tar" ]; then
  log "sid: debootstrap --variant=minbase sid (once for both engines)"
  t0=$SECONDS
  debootstrap --variant=minbase sid "$WORK/base" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap of sid failed: $(tail -3 "$WORK/debootstrap.log")"
  # This machine's apt settings (its proxy for the archive), as the operator image's base has them.
  cp /etc/apt/apt.conf.d/99artifact-registry "$WORK/base/etc/apt/apt.conf.d/" 2>/dev/null || true
  # Package scripts must not start services inside the root.
  printf '#!/bin/sh\nexit 101\n' >"$WORK/base/usr/sbin/policy-rc.d" && chmod 0755 "$WORK/base/usr/sbin/policy-rc.d"
  rm -rf "$WORK/base"/var/cache/apt/archives/*.deb
  mkdir -p "$BASE.partial" && tar -C "$WORK/base" -cf "$BASE.partial/rootfs.tar" . && rm -rf "$BASE" && mv "$BASE.partial" "$BASE"
  rm -rf "$WORK/base"
  for old in "$SID_DIR"/base-*; do [ "$old" = "$BASE" ] || rm -rf "$old"; done
  log "sid: base made in $((SECONDS - t0))s"
fi

t0=$SECONDS
root="$WORK/rootfs"
mkdir -p "$root" && tar -C "$root" -xf "$BASE/rootfs.tar"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -q >"$WORK/apt.log" 2>&1 || die "apt-get update in the sid root failed: $(tail -3 "$WORK/apt.log")"
for pin in "${PINS[@]}"; do
  pkg=${pin%%=*} want=${pin#*=}
  served=$(in_root apt-cache madison "$pkg" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | paste -sd' ')
  case " $served " in
    *" $want "*) ;;
    *) die "sid no longer serves $pkg $want (it serves: ${served:-nothing}). Pick a served version, set it in hack/versions.env (SID_${ENGINE^^}_VERSION) and say in the README which version the tests now run" ;;
  esac
done
log "sid: installing ${PINS[*]}"
in_root apt-get install -y -q --no-install-recommends "${PINS[@]}" >>"$WORK/apt.log" 2>&1 ||
  die "installing ${PINS[*]} in the sid root failed: $(tail -5 "$WORK/apt.log")"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
# What the servers were built and run with, package by package: sid's day of the build.
in_root dpkg-query -W -f '${Package}=${Version}\n' | sort >"$WORK/versions.txt"
mkdir -p "$ROOT_DIR.partial" && mv "$root" "$ROOT_DIR.partial/rootfs" && mv "$WORK/versions.txt" "$ROOT_DIR.partial/"
# host-bin/: each program of the root, run through the root's loader with the root's libraries.
# mysqld also needs to be told where its messages, character sets and plugins are; those options
# go after the caller's, as --defaults-file and --no-defaults must come first.
final="$ROOT_DIR/rootfs"
loader="$final/usr/lib64/ld-linux-x86-64.so.2"
[ -e "$ROOT_DIR.partial/rootfs/usr/lib64/ld-linux-x86-64.so.2" ] || loader="$final/lib64/ld-linux-x86-64.so.2"
mkdir -p "$ROOT_DIR.partial/host-bin"
for program in $(cd "$ROOT_DIR.partial/rootfs" && ls usr/sbin/mysqld usr/sbin/mariadbd usr/bin/mysql usr/bin/mysqladmin usr/bin/mysqlbinlog \
  usr/bin/mariadb usr/bin/mariadb-admin usr/bin/mariadb-dump usr/bin/mariadb-backup usr/bin/mariadb-binlog 2>/dev/null); do
  name=$(basename "$program")
  extra=""
  case "$name" in
    mysqld) extra="--basedir=$final/usr --lc-messages-dir=$final/usr/share/mysql --character-sets-dir=$final/usr/share/mysql/charsets --plugin-dir=$final/usr/lib/mysql/plugin" ;;
    mariadbd) extra="--basedir=$final/usr --lc-messages-dir=$final/usr/share/mariadb --character-sets-dir=$final/usr/share/mariadb/charsets --plugin-dir=$final/usr/lib/mysql/plugin" ;;
  esac
  printf '#!/bin/sh\nexec %s --library-path %s %s "$@" %s\n' "$loader" "$final/usr/lib/x86_64-linux-gnu" "$final/$program" "$extra" >"$ROOT_DIR.partial/host-bin/$name"
  chmod 0755 "$ROOT_DIR.partial/host-bin/$name"
done
rm -rf "$ROOT_DIR" && mv "$ROOT_DIR.partial" "$ROOT_DIR"
# Roots of earlier pins are stale.
for old in "$SID_DIR/$ENGINE"-*; do [ "$old" = "$ROOT_DIR" ] || rm -rf "$old"; done
log "sid: $ENGINE root made in $((SECONDS - t0))s ($(du -sh "$ROOT_DIR/rootfs" | cut -f1)): $(grep -E "^(${PINS[0]%%=*})=" "$ROOT_DIR/versions.txt")"
echo "$ROOT_DIR"
