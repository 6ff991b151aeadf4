/**
 * Files of the database tier's ConfigMap: the server configuration, the init container's script
 * (data directory, per-pod settings, accounts) and the readiness probe. Pure functions, one table
 * of differences per engine. See MYSQL in blueprint/layout.ts for where each file goes.
 *
 * No script here decides a role: every server starts read-only with the semi-sync source half off,
 * and the database controller (operator/database) promotes one and points the others at it.
 */
import type { DefaultedWebStack } from '../../api/defaults.js';
import type { DatabaseEngine } from '../../api/types.js';
import { parseQuantity } from '../../support/quantity.js';
import { names } from '../../blueprint/names.js';
import { stackPlan, type StackPlan, type TlsPlan } from '../../blueprint/plan.js';
import { MYSQL, TLS_FILES, podHost, stackNamespace } from '../../blueprint/layout.js';

/** What differs between the engines in the pod: programs, settings and statements. */
export interface EngineFiles {
  server: string;
  client: string;
  admin: string;
  /** Shell command initializing an empty data directory in "$data". */
  initialize: string;
  /** my.cnf lines of GTID replication. */
  gtid: string[];
  /** my.cnf lines of semi-sync at start: source half off, replica half on (see docs/database.md). */
  semiSync: string[];
  /** my.cnf lines of what seeding an empty instance needs (MySQL: the clone plugin). */
  seeding: string[];
  /** my.cnf lines on the server's own file reads and writes (LOAD DATA INFILE, SELECT INTO OUTFILE). */
  serverFiles: string[];
  /** The my.cnf variable: seconds without data from the source before a replica reconnects. */
  replicaNetTimeout: string;
  /** my.cnf lines that start the server read-only. */
  readOnly: string[];
  /** Variables the init file switches off and on again around its own statements. */
  readOnlyVariables: string[];
  exporterGrants: string;
  /**
   * Init file statements that complete the controller's account (%USER%). MariaDB: seeding a
   * replica replays a dump's accounts, root's PROXY grant included, so the account needs PROXY
   * WITH GRANT OPTION; the init file's own user may not GRANT it, so the row goes straight into
   * the grant table.
   */
  operatorExtraStatements: string[];
  replicaStatus: { statement: string; io: string; sql: string; lag: string };
}

export const ENGINE_FILES: Readonly<Record<DatabaseEngine, EngineFiles>> = {
  mysql: {
    server: 'mysqld',
    client: 'mysql',
    admin: 'mysqladmin',
    initialize: 'mysqld --no-defaults --initialize-insecure --datadir="$data"',
    gtid: ['gtid_mode=ON', 'enforce_gtid_consistency=ON', 'log_replica_updates=ON'],
    semiSync: [
      'plugin-load-add=semisync_source.so',
      'plugin-load-add=semisync_replica.so',
      'loose-rpl_semi_sync_source_enabled=OFF',
      'loose-rpl_semi_sync_replica_enabled=ON',
    ],
    seeding: ['plugin-load-add=mysql_clone.so'],
    // The compiled-in default is a folder (/var/lib/mysql-files) that mysqld refuses to start
    // without and that not every image has; no stack needs the server to read or write files.
    serverFiles: ['secure_file_priv=NULL'],
    replicaNetTimeout: 'replica_net_timeout',
    readOnly: ['read_only=ON', 'super_read_only=ON'],
    readOnlyVariables: ['super_read_only', 'read_only'],
    exporterGrants: 'PROCESS, REPLICATION CLIENT, SELECT',
    operatorExtraStatements: [],
    replicaStatus: { statement: 'SHOW REPLICA STATUS', io: 'Replica_IO_Running', sql: 'Replica_SQL_Running', lag: 'Seconds_Behind_Source' },
  },
  mariadb: {
    server: 'mariadbd',
    client: 'mariadb',
    admin: 'mariadb-admin',
    // Socket authentication for root: no root password to keep, and no root@<host name> account,
    // which a dump of the users could not replay under skip_name_resolve.
    initialize: 'mariadb-install-db --no-defaults --datadir="$data" --skip-test-db --auth-root-authentication-method=socket --skip-name-resolve',
    // Strict mode and log_slave_updates make gtid_binlog_state complete, which the errant
    // transaction check reads (docs/database.md).
    gtid: ['gtid_strict_mode=ON', 'log_slave_updates=ON'],
    semiSync: ['rpl_semi_sync_master_enabled=OFF', 'rpl_semi_sync_slave_enabled=ON'],
    seeding: [],
    serverFiles: [],
    replicaNetTimeout: 'slave_net_timeout',
    readOnly: ['read_only=ON'],
    readOnlyVariables: ['read_only'],
    exporterGrants: 'PROCESS, BINLOG MONITOR, REPLICA MONITOR, SELECT',
    operatorExtraStatements: [
      "INSERT IGNORE INTO mysql.proxies_priv (Host, User, Proxied_host, Proxied_user, With_grant, Grantor) VALUES ('%', '%USER%', '%', '', 1, 'init-file');",
      'FLUSH PRIVILEGES;',
    ],
    replicaStatus: { statement: 'SHOW SLAVE STATUS', io: 'Slave_IO_Running', sql: 'Slave_SQL_Running', lag: 'Seconds_Behind_Master' },
  },
};

export const engineFiles = (stack: DefaultedWebStack): EngineFiles => ENGINE_FILES[stack.spec.database.engine];

/**
 * Half the memory limit for the InnoDB buffer pool, in whole 128M chunks: the default of 128M
 * ignores the pod's size. Without a limit, the default stays.
 */
function bufferPool(stack: DefaultedWebStack): string[] {
  const limit = parseQuantity(stack.spec.database.resources.limits?.memory ?? '');
  if (limit === undefined || limit <= 0) return [];
  const chunks = Math.max(1, Math.floor(limit / 2 / (128 * 2 ** 20)));
  return [`innodb_buffer_pool_size=${chunks * 128}M`];
}

function myCnf(stack: DefaultedWebStack, tls: TlsPlan): string {
  const engine = engineFiles(stack);
  const lines = [
    `# ${stack.spec.database.engine} ${stack.spec.database.version} for WebStack ${stackNamespace(stack)}/${stack.metadata.name} (TLS mode ${tls.mode})`,
    '# Rendered by webstack-operator; edits are overwritten. The init container appends server_id and',
    '# report_host of the pod.',
    '[mysqld]',
    `datadir=${MYSQL.dataDir}`,
    `socket=${MYSQL.socket}`,
    `tmpdir=${MYSQL.tmpDir}`,
    `port=${MYSQL.port}`,
    'skip_name_resolve=ON',
    ...engine.serverFiles,
    ...bufferPool(stack),
    '',
    '# Every server starts read-only; the database controller makes the primary writable.',
    ...engine.readOnly,
    '',
    '# GTID replication: replicas find their position by themselves and any replica can be promoted;',
    '# a promoted replica holds every transaction in its own binlog for the others.',
    'log_bin=binlog',
    'binlog_format=ROW',
    'relay_log=relay-bin',
    ...engine.gtid,
    // Seven days of binlogs; a replica that needs older ones is seeded again by the controller.
    'binlog_expire_logs_seconds=604800',
    '',
    '# Semi-synchronous replication. The source half is switched on by the controller on the primary',
    '# only (AFTER_SYNC, a timeout that never degrades silently); on a replica it would block its applier.',
    ...engine.semiSync,
    '# A replica that hears nothing (not even a heartbeat) for this long reconnects: a silent source',
    '# counts as lost in seconds, not in a minute.',
    `${engine.replicaNetTimeout}=${MYSQL.replicaLiveness.netTimeoutSeconds}`,
    ...(engine.seeding.length === 0 ? [] : ['', '# An empty instance (a new replica, a lost volume) is seeded from a healthy one by CLONE.', ...engine.seeding]),
  ];
  if (tls.hops.toDatabase.verified) {
    lines.push(
      '',
      '# Internal TLS: every TCP connection (app, replication, the controller) must be encrypted; the',
      '# socket stays open to the probes and the exporter.',
      'require_secure_transport=ON',
      `ssl_ca=${MYSQL.certDir}/${TLS_FILES.ca}`,
      `ssl_cert=${MYSQL.certDir}/${TLS_FILES.cert}`,
      `ssl_key=${MYSQL.certDir}/${TLS_FILES.key}`,
      'tls_version=TLSv1.2,TLSv1.3',
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The init container's script. Passwords come from the environment (the credentials Secret) and
 * are written only to init.sql in the pod's own runDir.
 */
function initConfigScript(stack: DefaultedWebStack): string {
  const n = names(stack.metadata.name);
  const ns = stackNamespace(stack);
  const engine = engineFiles(stack);
  const { users, env, database } = MYSQL;
  const readOnly = (value: 'ON' | 'OFF') => engine.readOnlyVariables.map((v) => `SET GLOBAL ${v} = ${value};`).join('\n');
  const operatorExtra = engine.operatorExtraStatements.map((st) => st.replaceAll('%USER%', users.operator)).join('\n');
  // MySQL's --initialize-insecure leaves root@localhost without a password; MariaDB's root uses the socket.
  const rootPassword = stack.spec.database.engine === 'mysql' ? `ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$${env.rootPassword}");` : '';
  return `#!/bin/sh
# Init container of every database pod of WebStack ${ns}/${stack.metadata.name}. Rendered by webstack-operator.
set -eu

: "\${${env.appPassword}:?}" "\${${env.replicationPassword}:?}" "\${${env.exporterPassword}:?}" "\${${env.operatorPassword}:?}"

host=\${${env.podName}:-$(uname -n)}
ordinal=\${host##*-}
case $ordinal in
  '' | *[!0-9]*)
    echo "init-config.sh: no StatefulSet ordinal at the end of host name '$host'" >&2
    exit 1
    ;;
esac

# sql_string VALUE: VALUE as a quoted SQL string literal.
sql_string() {
  printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\\\/\\\\\\\\/g' -e "s/'/''/g")"
}

data=${MYSQL.dataDir}
if [ ! -d "$data/mysql" ]; then
  echo "init-config.sh: initializing the empty data directory of $host"
  # Without the system schema no server ever ran here: what is there is a failed initialization.
  rm -rf "$data"/ib_logfile* "$data"/ibdata1 "$data"/aria_log* "$data"/ibtmp1 "$data"/undo0*
  ${engine.initialize} > "${MYSQL.tmpDir}/initialize.log" 2>&1 || { cat "${MYSQL.tmpDir}/initialize.log" >&2; exit 1; }
fi

{
  cat "${MYSQL.configMapDir}/${MYSQL.files.config}"
  echo
  echo "server_id=$((${MYSQL.serverIdBase} + ordinal))"
  echo "report_host=$host${podHost('', n.mysqlHeadless, ns)}"
} > "${MYSQL.configFile}"

umask 077
# Run by the server at every start, before it accepts connections. Without the binlog, so these
# statements are no transaction of this instance (a replica holding one could never be promoted).
cat > "${MYSQL.initSql}" <<EOF
SET SESSION sql_log_bin = 0;
${readOnly('OFF')}
CREATE DATABASE IF NOT EXISTS \\\`${database}\\\`;
CREATE USER IF NOT EXISTS '${users.operator}'@'%' IDENTIFIED BY $(sql_string "$${env.operatorPassword}");
ALTER USER '${users.operator}'@'%' IDENTIFIED BY $(sql_string "$${env.operatorPassword}");
GRANT ALL PRIVILEGES ON *.* TO '${users.operator}'@'%' WITH GRANT OPTION;
${operatorExtra}
CREATE USER IF NOT EXISTS '${users.app}'@'%' IDENTIFIED BY $(sql_string "$${env.appPassword}");
ALTER USER '${users.app}'@'%' IDENTIFIED BY $(sql_string "$${env.appPassword}");
GRANT ALL PRIVILEGES ON \\\`${database}\\\`.* TO '${users.app}'@'%';
CREATE USER IF NOT EXISTS '${users.replication}'@'%' IDENTIFIED BY $(sql_string "$${env.replicationPassword}");
ALTER USER '${users.replication}'@'%' IDENTIFIED BY $(sql_string "$${env.replicationPassword}");
GRANT REPLICATION SLAVE ON *.* TO '${users.replication}'@'%';
CREATE USER IF NOT EXISTS '${users.exporter}'@'localhost' IDENTIFIED BY $(sql_string "$${env.exporterPassword}") WITH MAX_USER_CONNECTIONS 3;
CREATE USER IF NOT EXISTS '${users.exporter}'@'127.0.0.1' IDENTIFIED BY $(sql_string "$${env.exporterPassword}") WITH MAX_USER_CONNECTIONS 3;
ALTER USER '${users.exporter}'@'localhost' IDENTIFIED BY $(sql_string "$${env.exporterPassword}");
ALTER USER '${users.exporter}'@'127.0.0.1' IDENTIFIED BY $(sql_string "$${env.exporterPassword}");
GRANT ${engine.exporterGrants} ON *.* TO '${users.exporter}'@'localhost', '${users.exporter}'@'127.0.0.1';
${rootPassword}
${readOnly('ON')}
EOF
`;
}

/**
 * The readiness probe: the server answers on its socket, and a replica replicates (both threads)
 * at most maxReplicaLagSeconds behind. A server that is nobody's replica (the primary, or one the
 * controller has not pointed yet) is Ready when it answers; which Service it serves is the role
 * label's business, which only the controller writes. One field per line comes from --vertical:
 * the mysql client of MySQL refuses `\G` inside --execute (the MariaDB client takes both).
 */
function readinessScript(stack: DefaultedWebStack): string {
  const engine = engineFiles(stack);
  const { statement, io, sql, lag } = engine.replicaStatus;
  return `#!/bin/sh
# Readiness of a database pod of WebStack ${stackNamespace(stack)}/${stack.metadata.name}. Rendered by webstack-operator.
set -eu
export MYSQL_PWD="$${MYSQL.env.exporterPassword}"
status=$(${engine.client} --protocol=socket --socket=${MYSQL.socket} --user=${MYSQL.users.exporter} --connect-timeout=2 --vertical --execute='${statement}')
[ -z "$status" ] && exit 0
field() { printf '%s\\n' "$status" | sed -n "s/^ *$1: //p"; }
[ "$(field ${io})" = Yes ] || { echo "replication IO thread: $(field ${io})"; exit 1; }
[ "$(field ${sql})" = Yes ] || { echo "replication SQL thread: $(field ${sql})"; exit 1; }
behind=$(field ${lag})
case $behind in '' | *[!0-9]*) echo "lag unknown: $behind"; exit 1 ;; esac
[ "$behind" -le ${MYSQL.maxReplicaLagSeconds} ] || { echo "$behind s behind the primary"; exit 1; }
`;
}

/**
 * The container's preStop hook: while this server still accepts writes it is the primary, and the
 * controller, which sees the pod terminating, switches over and fences it; only then does the
 * server stop. A replica (read-only) stops at once; the wait is bounded below the grace period.
 */
function preStopScript(stack: DefaultedWebStack): string {
  const engine = engineFiles(stack);
  return `#!/bin/sh
# preStop of a database pod of WebStack ${stackNamespace(stack)}/${stack.metadata.name}. Rendered by webstack-operator.
export MYSQL_PWD="$${MYSQL.env.exporterPassword}"
i=0
while [ "$i" -lt ${MYSQL.preStopWaitSeconds} ]; do
  ro=$(${engine.client} --protocol=socket --socket=${MYSQL.socket} --user=${MYSQL.users.exporter} --connect-timeout=2 --batch --skip-column-names --execute='SELECT @@read_only' 2>/dev/null) || exit 0
  [ "$ro" = 1 ] && exit 0
  i=$((i + 1))
  sleep 1
done
`;
}

/** ConfigMap data of `<stack>-mysql-config`, keyed by the file names in MYSQL.files. */
export function renderMysqlConfig(stack: DefaultedWebStack, { tls }: StackPlan = stackPlan(stack)): Record<string, string> {
  return {
    [MYSQL.files.config]: myCnf(stack, tls),
    [MYSQL.files.init]: initConfigScript(stack),
    [MYSQL.files.readiness]: readinessScript(stack),
    [MYSQL.files.preStop]: preStopScript(stack),
  };
}
