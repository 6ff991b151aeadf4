/**
 * Files of the MySQL tier's ConfigMap: the server configuration and the two scripts that give each
 * StatefulSet pod its identity and, on its first start, its role. Pure functions.
 * See MYSQL in ./layout.ts for where each file is mounted and which environment it expects.
 */
import type { DefaultedWebStack } from '../../api/defaults.js';
import { parseQuantity } from '../../support/quantity.js';
import { names } from '../names.js';
import { stackPlan, type StackPlan, type TlsPlan } from '../plan.js';
import { MYSQL, TLS_FILES, serviceHost, stackNamespace } from './layout.js';

/**
 * Half the memory limit for the InnoDB buffer pool, in whole 128M chunks: MySQL's default of 128M
 * ignores the pod's size. Without a limit, MySQL's default stays.
 */
function bufferPool(stack: DefaultedWebStack): string[] {
  const limit = parseQuantity(stack.spec.database.resources.limits?.memory ?? '');
  if (limit === undefined || limit <= 0) return [];
  const chunks = Math.max(1, Math.floor(limit / 2 / (128 * 2 ** 20)));
  return [`innodb_buffer_pool_size=${chunks * 128}M`];
}

function myCnf(stack: DefaultedWebStack, tls: TlsPlan): string {
  const reencrypt = tls.hops.toDatabase.verified;
  const lines = [
    `# MySQL for WebStack ${stackNamespace(stack)}/${stack.metadata.name} (TLS mode ${tls.mode})`,
    '# Rendered by webstack-operator; edits are overwritten.',
    '# server_id, report_host and the read-only flags of replicas are per pod: see server-id.cnf.',
    '[mysqld]',
    `port=${MYSQL.port}`,
    'skip_name_resolve=ON',
    ...bufferPool(stack),
    '',
    '# GTID replication: replicas find their position by themselves and any replica can be promoted.',
    'gtid_mode=ON',
    'enforce_gtid_consistency=ON',
    'log_bin=binlog',
    'binlog_format=ROW',
    // A promoted replica must hold every transaction in its own binlog for the other replicas.
    'log_replica_updates=ON',
    'relay_log=relay-bin',
    // Seven days of binlogs: enough to rebuild a replica, without filling a small volume.
    'binlog_expire_logs_seconds=604800',
    '',
    '# Semi-synchronous replication: a commit returns once a replica has it, or after the timeout',
    '# below, when the primary goes on asynchronously. Both halves on every pod for now.',
    '# loose- keeps mysqld starting (asynchronously) should an image lack the plugins.',
    'plugin-load-add=semisync_source.so',
    'plugin-load-add=semisync_replica.so',
    'loose-rpl_semi_sync_source_enabled=ON',
    'loose-rpl_semi_sync_replica_enabled=ON',
    '# Without any replica answering for 10s the primary falls back to asynchronous replication.',
    'loose-rpl_semi_sync_source_timeout=10000',
  ];
  if (reencrypt) {
    lines.push(
      '',
      '# Internal TLS: every TCP connection (app, replication) must be encrypted; the socket stays open',
      '# to the entrypoint, probes and the exporter.',
      'require_secure_transport=ON',
      `ssl_ca=${MYSQL.certDir}/${TLS_FILES.ca}`,
      `ssl_cert=${MYSQL.certDir}/${TLS_FILES.cert}`,
      `ssl_key=${MYSQL.certDir}/${TLS_FILES.key}`,
      'tls_version=TLSv1.2,TLSv1.3',
    );
  }
  return lines.join('\n') + '\n';
}

/** The init container's script: per-pod settings derived from the StatefulSet ordinal. */
function initConfigScript(stack: DefaultedWebStack): string {
  const n = names(stack.metadata.name);
  const headless = serviceHost(n.mysqlHeadless, stackNamespace(stack));
  return `#!/bin/sh
# Init container of every MySQL pod of WebStack ${stackNamespace(stack)}/${stack.metadata.name}.
# Stages the configuration for the mysql container: the shared my.cnf, a per-pod server-id.cnf,
# and bootstrap.sh for the entrypoint's first start. Rendered by webstack-operator.
set -eu

host=\${${MYSQL.env.podName}:-$(uname -n)}
ordinal=\${host##*-}
case $ordinal in
  '' | *[!0-9]*)
    echo "init-config.sh: no StatefulSet ordinal at the end of host name '$host'" >&2
    exit 1
    ;;
esac

cp "${MYSQL.configMapDir}/${MYSQL.files.config}" "${MYSQL.confDir}/webstack.cnf"

{
  echo '[mysqld]'
  echo "server_id=$((${MYSQL.serverIdBase} + ordinal))"
  echo "report_host=$host.${headless}"
  # Replicas restart read-only. On the very first start the entrypoint must still create users,
  # so bootstrap.sh sets the flags then; a promotion's SET PERSIST ... OFF wins over this file
  # because persisted settings are read last.
  if [ "$ordinal" -gt 0 ] && [ -d "${MYSQL.dataDir}/mysql" ]; then
    echo 'read_only=ON'
    echo 'super_read_only=ON'
  fi
} > "${MYSQL.confDir}/server-id.cnf"

cp "${MYSQL.configMapDir}/${MYSQL.files.bootstrap}" "${MYSQL.initDir}/${MYSQL.files.bootstrap}"
# Executable, so the entrypoint runs it in its own process instead of sourcing it into bash.
chmod 0555 "${MYSQL.initDir}/${MYSQL.files.bootstrap}"
`;
}

/** MySQL 8.4 renamed RESET MASTER; 8.0 only knows the old name. */
function resetGtidsStatement(version: string): string {
  return version.startsWith('8.0') ? 'RESET MASTER;' : 'RESET BINARY LOGS AND GTIDS;';
}

/**
 * Runs once per data directory. Ordinal 0 becomes the first primary unless a primary already
 * answers on the `-primary` Service (ordinal 0 rebuilt after a failover); everyone else becomes
 * a replica of the `-primary` Service, which always follows the current primary.
 */
function bootstrapScript(stack: DefaultedWebStack, tls: TlsPlan): string {
  const n = names(stack.metadata.name);
  const primary = serviceHost(n.mysqlPrimary, stackNamespace(stack));
  const reencrypt = tls.hops.toDatabase.verified;
  const ca = `${MYSQL.certDir}/${TLS_FILES.ca}`;
  // Without the internal CA the server's auto-generated certificate still encrypts the link.
  const clientTls = reencrypt ? `--ssl-mode=VERIFY_IDENTITY --ssl-ca=${ca}` : '--ssl-mode=REQUIRED';
  const sourceTls = reencrypt ? `SOURCE_SSL=1, SOURCE_SSL_CA='${ca}', SOURCE_SSL_VERIFY_SERVER_CERT=1` : 'SOURCE_SSL=1';
  const { users, env, database } = MYSQL;
  return `#!/bin/sh
# First start of a MySQL pod of WebStack ${stackNamespace(stack)}/${stack.metadata.name}: run once by
# the image's entrypoint on an empty data directory, while a temporary server listens on the
# socket only. Passwords come from the environment (the credentials Secret), never from this file.
# Rendered by webstack-operator.
set -eu

: "\${${env.rootPassword}:?}" "\${${env.appPassword}:?}" "\${${env.replicationPassword}:?}" "\${${env.exporterPassword}:?}"

host=\${${MYSQL.env.podName}:-$(uname -n)}
ordinal=\${host##*-}
primary=${primary}

umask 077
work="\${TMPDIR:-/tmp}/webstack-bootstrap.$$"
mkdir "$work"
trap 'rm -rf "$work"' EXIT

# option_file FILE USER PASSWORD: client credentials in a file, so no password is on a command line.
option_file() {
  printf '[client]\\nuser=%s\\npassword="%s"\\n' "$2" "$(printf '%s' "$3" | sed 's/\\\\/\\\\\\\\/g')" > "$1"
}

# sql_string VALUE: VALUE as a quoted SQL string literal.
sql_string() {
  printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\\\/\\\\\\\\/g' -e "s/'/''/g")"
}

option_file "$work/root.cnf" root "$${env.rootPassword}"
option_file "$work/replication.cnf" ${users.replication} "$${env.replicationPassword}"

local_sql() {
  mysql --defaults-extra-file="$work/root.cnf" --protocol=socket --socket=${MYSQL.socket}
}

primary_answers() {
  mysql --defaults-extra-file="$work/replication.cnf" --host="$primary" --port=${MYSQL.port} \\
    --connect-timeout=5 ${clientTls} --execute='SELECT 1' > /dev/null 2>&1
}

if [ "$ordinal" = 0 ] && ! primary_answers; then
  echo "bootstrap.sh: $host is the first primary; creating database ${database} and its users"
  local_sql <<EOF
CREATE DATABASE IF NOT EXISTS \\\`${database}\\\`;
CREATE USER IF NOT EXISTS '${users.app}'@'%' IDENTIFIED BY $(sql_string "$${env.appPassword}");
GRANT ALL PRIVILEGES ON \\\`${database}\\\`.* TO '${users.app}'@'%';
CREATE USER IF NOT EXISTS '${users.replication}'@'%' IDENTIFIED BY $(sql_string "$${env.replicationPassword}");
GRANT REPLICATION SLAVE ON *.* TO '${users.replication}'@'%';
CREATE USER IF NOT EXISTS '${users.exporter}'@'localhost' IDENTIFIED BY $(sql_string "$${env.exporterPassword}") WITH MAX_USER_CONNECTIONS 3;
CREATE USER IF NOT EXISTS '${users.exporter}'@'127.0.0.1' IDENTIFIED BY $(sql_string "$${env.exporterPassword}") WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO '${users.exporter}'@'localhost', '${users.exporter}'@'127.0.0.1';
EOF
else
  echo "bootstrap.sh: $host becomes a replica of $primary"
  # The entrypoint's own setup may have written local transactions (time zone tables); a replica
  # must hold only the primary's GTIDs, or failover finds errant transactions.
  local_sql <<EOF
${resetGtidsStatement(stack.spec.database.version)}
CHANGE REPLICATION SOURCE TO SOURCE_HOST='$primary', SOURCE_PORT=${MYSQL.port}, SOURCE_USER='${users.replication}', SOURCE_PASSWORD=$(sql_string "$${env.replicationPassword}"), SOURCE_AUTO_POSITION=1, ${sourceTls}, SOURCE_CONNECT_RETRY=10, SOURCE_RETRY_COUNT=8640;
START REPLICA;
SET PERSIST read_only = ON;
SET PERSIST super_read_only = ON;
EOF
fi
`;
}

/** ConfigMap data of `<stack>-mysql-config`, keyed by the file names in MYSQL.files. */
export function renderMysqlConfig(stack: DefaultedWebStack, { tls }: StackPlan = stackPlan(stack)): Record<string, string> {
  return {
    [MYSQL.files.config]: myCnf(stack, tls),
    [MYSQL.files.init]: initConfigScript(stack),
    [MYSQL.files.bootstrap]: bootstrapScript(stack, tls),
  };
}
