#!/bin/sh
# Installs the programs the unit tests run for real: haproxy (haproxy -c), nginx (nginx -t) and
# promtool (from the prometheus package) check the rendered configurations in test/unit/config;
# mariadbd, mariadb-install-db, mariadb and mariadb-dump (mariadb-server, mariadb-client) are the
# database servers test/unit/mysql starts on loopback.
# Idempotent: returns at once when all of them are already on PATH.
set -eu

have_all() {
  command -v haproxy >/dev/null 2>&1 &&
    command -v nginx >/dev/null 2>&1 &&
    command -v promtool >/dev/null 2>&1 &&
    command -v mariadbd >/dev/null 2>&1 &&
    command -v mariadb-install-db >/dev/null 2>&1 &&
    command -v mariadb >/dev/null 2>&1 &&
    command -v mariadb-dump >/dev/null 2>&1
}

if have_all; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

# The packages' maintainer scripts would start haproxy, nginx, prometheus (and the node
# exporter pulled in by prometheus) and mariadb. Tests only need the binaries, so a temporary
# policy-rc.d refuses every service start (exit 101) while apt runs; an existing policy is left
# alone.
POLICY=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 0755 "$POLICY"
  created_policy=1
fi
cleanup() {
  if [ -n "$created_policy" ]; then
    $SUDO rm -f "$POLICY"
  fi
}
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends haproxy nginx prometheus mariadb-server mariadb-client

# With systemd present, policy-rc.d does not stop `systemctl enable`; make sure no daemon
# from these packages starts at the next boot either.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now haproxy nginx prometheus prometheus-node-exporter mariadb >/dev/null 2>&1 || true
fi

if ! have_all; then
  echo "install-test-tools: haproxy, nginx, promtool or a mariadb program still missing after apt-get install" >&2
  exit 1
fi
