#!/bin/sh
# Installs the Debian packages the tests and the real nodes need, when any is missing:
# - programs the unit tier runs for real: haproxy (haproxy -c), nginx (nginx -t), promtool, and the
#   MariaDB servers and clients test/programs/mysql starts on loopback;
# - what a real node runs beside the binaries hack/build.sh makes: runc, the CNI plugins,
#   iptables/nftables/ipset/conntrack (kube-proxy, kube-router), busybox-static, and the files the
#   local images are made of (hack/images/build.ts): mariadb, curl, openssl, the exporters;
# - buildah and debootstrap: the operator image from the Dockerfile (hack/operator-image/build.sh).
# Idempotent: returns at once when every program is there. Not root: prints the command to run.
# The packages it installs (dependencies included) are recorded in $RECORD, so that
#   hack/install-test-tools.sh --purge
# (hack/test-fresh.sh) can take the machine back to what it was before: only those are removed.
set -eu

RECORD=/var/lib/webstack-operator/installed-packages
installed() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | sed -n 's/^ii  *//p' | sort; }

if [ "${1:-}" = --purge ]; then
  [ -s "$RECORD" ] || { echo "install-test-tools: nothing recorded in $RECORD, nothing to purge" >&2; exit 0; }
  echo "install-test-tools: purging the $(wc -l <"$RECORD") packages it installed" >&2
  # shellcheck disable=SC2046
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $(cat "$RECORD") >/dev/null
  apt-get clean
  rm -f "$RECORD"
  exit 0
fi

PACKAGES="haproxy nginx prometheus runc containernetworking-plugins iptables nftables ipset conntrack
  busybox-static mariadb-server mariadb-client curl openssl prometheus-mysqld-exporter prometheus-nginx-exporter
  buildah debootstrap"
PROGRAMS="haproxy nginx promtool runc /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/portmap
  /usr/lib/cni/loopback iptables nft ipset conntrack /bin/busybox mariadbd mariadb-install-db mariadb mariadb-dump curl openssl
  prometheus-mysqld-exporter prometheus-nginx-exporter buildah debootstrap"

missing() {
  for p in $PROGRAMS; do
    if [ "${p#/}" != "$p" ]; then [ -x "$p" ] || echo "$p"; else command -v "$p" >/dev/null 2>&1 || echo "$p"; fi
  done
}

[ -z "$(missing)" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: missing $(missing | tr '\n' ' ')" >&2
  echo "install-test-tools: run as root:  apt-get update && apt-get install -y --no-install-recommends $(echo $PACKAGES)" >&2
  exit 1
fi

echo "install-test-tools: installing Debian packages for $(missing | tr '\n' ' ')" >&2
# The packages' maintainer scripts would start haproxy, nginx, prometheus, mariadb and the
# exporters. Tests only need the binaries, so a temporary policy-rc.d refuses every service start
# (exit 101) while apt runs; an existing policy is left alone.
POLICY=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod 0755 "$POLICY"
  created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
before=$(mktemp)
installed >"$before"
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $PACKAGES
mkdir -p "$(dirname "$RECORD")"
installed | comm -13 "$before" - | cat - "$RECORD" 2>/dev/null | sort -u >"$RECORD.new"
mv "$RECORD.new" "$RECORD"
rm -f "$before"

# With systemd present, policy-rc.d does not stop `systemctl enable`; make sure no daemon
# from these packages starts at the next boot either.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now haproxy nginx prometheus prometheus-node-exporter mariadb \
    prometheus-mysqld-exporter prometheus-nginx-exporter >/dev/null 2>&1 || true
fi

if [ -n "$(missing)" ]; then
  echo "install-test-tools: still missing after apt-get install: $(missing | tr '\n' ' ')" >&2
  exit 1
fi
