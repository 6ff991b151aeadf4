/**
 * Real database servers on 127.0.0.1 for the engine tier: each with its own data directory
 * (copied from one initialisation), port, socket, server id and TLS certificate signed by a
 * throwaway CA, so the operator's connections and the replicas' connections both verify it.
 * Accounts are created unlogged, so every server starts with an empty GTID state.
 *
 * Three kinds: MariaDB 10.11 from this machine's Debian packages, and MariaDB 11.8 and MySQL 9.7
 * from Debian's sid suite, whose programs run from the root filesystems hack/sid/build.sh makes,
 * through each root's own dynamic loader (they need sid's C library, not this machine's).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './ports.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { ConnectionTarget, EngineName, ReplicationSource } from '../../operator/mysql/types.js';
import { requireProgram, run, type RunResult } from './configs.js';

export const OPERATOR = { user: 'operator', password: "op'pass\\1" };
// Quotes and backslashes: CHANGE MASTER TO must carry them to the server intact.
export const REPLICATION = { user: 'repl', password: "re'pl\\pass" };
export const APP = { user: 'app', password: 'app-pass' };

const START_TIMEOUT_MS = 30_000;
const asRoot = process.getuid?.() === 0;
const HACK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../hack');

/** A command: the program and the arguments that come before the caller's. */
type Command = [string, ...string[]];

/** What differs between the kinds of server: how to run them, set them up and reset them. */
interface ServerKind {
  engine: EngineName;
  /** The server program's command, the arguments every run needs. */
  server: Command;
  /** Makes an initial data directory at `datadir`. */
  initialise(datadir: string): void;
  /** Replication, binary log and GTID settings of this kind, beside the common ones. */
  replicationArgs: string[];
  /** Back to standalone, writable, an empty `shop` and no GTID (run unlogged, as root). */
  reset: string[];
  /** The grant that lets the replication account replicate. */
  replicationGrant: string;
}

/** MariaDB from these programs: `programs` a folder of them, or the PATH (this machine's 10.11). */
function mariadbKind(server: string, installDb: (datadir: string) => RunResult): ServerKind {
  return {
    engine: 'mariadb',
    server: [server, '--no-defaults', ...(asRoot ? ['--user=root'] : [])],
    initialise(datadir) {
      const installed = installDb(datadir);
      if (installed.status !== 0) throw new Error(`mariadb-install-db failed:\n${installed.output}`);
    },
    replicationArgs: ['--log-slave-updates=ON', '--gtid-strict-mode=ON', '--skip-slave-start'],
    reset: [
      'STOP SLAVE',
      'RESET SLAVE ALL',
      'SET GLOBAL rpl_semi_sync_master_enabled = OFF',
      'SET GLOBAL rpl_semi_sync_slave_enabled = OFF',
      'SET GLOBAL read_only = OFF',
      'DROP DATABASE IF EXISTS shop',
      'CREATE DATABASE shop',
      'RESET MASTER',
      "SET GLOBAL gtid_slave_pos = ''",
    ],
    replicationGrant: 'REPLICATION SLAVE',
  };
}

const INSTALL_DB_ARGS = ['--no-defaults', ...(asRoot ? ['--user=root'] : []), '--auth-root-authentication-method=normal', '--skip-test-db'];

function mariadb1011(): ServerKind {
  for (const program of ['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-dump', 'openssl']) requireProgram(program);
  return mariadbKind('mariadbd', (datadir) => run('mariadb-install-db', [...INSTALL_DB_ARGS, `--datadir=${datadir}`]));
}

/**
 * MariaDB 11.8 from sid. Its mariadb-install-db is a shell script: it runs here as it is, told
 * which server to bootstrap with (the sid wrapper) and where the root's files are; --force skips
 * its host-name check, which needs one of the root's programs it cannot run.
 */
function mariadb118(): ServerKind {
  requireProgram('openssl');
  const programs = sidPrograms('mariadb');
  const root = path.join(path.dirname(programs), 'rootfs');
  const server = path.join(programs, 'mariadbd');
  return mariadbKind(server, (datadir) =>
    run('sh', [path.join(root, 'usr/bin/mariadb-install-db'), ...INSTALL_DB_ARGS, '--force', `--basedir=${path.join(root, 'usr')}`, `--datadir=${datadir}`], {
      env: { ...process.env, MYSQLD_BOOTSTRAP: server },
    }),
  );
}

/**
 * The folder of wrappers that run a sid engine's programs here (host-bin/ of hack/sid/build.sh,
 * which makes it, as root, when it is not cached yet).
 */
export function sidPrograms(engine: EngineName): string {
  const built = spawnSync(path.join(HACK, 'sid/build.sh'), [engine], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`the ${engine} programs come from a sid root filesystem, and hack/sid/build.sh ${engine} failed:\n${built.stderr}`);
  return path.join(built.stdout.trim(), 'host-bin');
}

function mysql97(): ServerKind {
  requireProgram('openssl');
  const server: Command = [path.join(sidPrograms('mysql'), 'mysqld'), '--no-defaults', ...(asRoot ? ['--user=root'] : [])];
  return {
    engine: 'mysql',
    server,
    initialise(datadir) {
      const [program, ...args] = server;
      const initialised = run(program, [...args, '--initialize-insecure', `--datadir=${datadir}`]);
      if (initialised.status !== 0) throw new Error(`mysqld --initialize-insecure failed:\n${initialised.output}`);
      // Each copy must make its own server_uuid: the GTIDs it writes are named by it.
      rmSync(path.join(datadir, 'auto.cnf'));
    },
    replicationArgs: [
      '--gtid-mode=ON',
      '--enforce-gtid-consistency=ON',
      '--log-replica-updates=ON',
      '--skip-replica-start',
      '--mysqlx=OFF',
      // The plugins the operator's my.cnf loads (render/config/mysql.ts).
      '--plugin-load-add=semisync_source.so',
      '--plugin-load-add=semisync_replica.so',
      '--plugin-load-add=mysql_clone.so',
    ],
    reset: [
      'STOP REPLICA',
      'RESET REPLICA ALL',
      'SET GLOBAL rpl_semi_sync_source_enabled = OFF',
      'SET GLOBAL rpl_semi_sync_replica_enabled = OFF',
      'SET GLOBAL super_read_only = OFF',
      'SET GLOBAL read_only = OFF',
      'DROP DATABASE IF EXISTS shop',
      'CREATE DATABASE shop',
      'RESET BINARY LOGS AND GTIDS',
    ],
    replicationGrant: 'REPLICATION SLAVE',
  };
}

export const SERVER_KINDS = { 'mariadb-10.11': mariadb1011, 'mariadb-11.8': mariadb118, 'mysql-9.7': mysql97 } as const;
export type ServerKindName = keyof typeof SERVER_KINDS;

export class DatabaseServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private everStarted = false;

  constructor(
    readonly name: string,
    readonly serverId: number,
    private portNumber: number,
    private readonly kind: ServerKind,
    private readonly dir: string,
    private readonly tls: { ca: string; caFile: string; certFile: string; keyFile: string },
  ) {}

  get port(): number {
    return this.portNumber;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  get socket(): string {
    return path.join(this.dir, 'mysqld.sock');
  }

  /** How the operator connects: TCP, TLS verified against the test CA. */
  target(credentials: { user: string; password: string } = OPERATOR): ConnectionTarget {
    return { host: '127.0.0.1', port: this.port, ...credentials, tls: { ca: this.tls.ca }, connectTimeoutMs: 2000 };
  }

  /** How another server replicates from this one: TLS verified by the replica with the CA file. */
  asSource(): ReplicationSource {
    return { host: '127.0.0.1', port: this.port, ...REPLICATION, caFile: this.tls.caFile, heartbeatSeconds: 1 };
  }

  /**
   * Starts the server. The first start may find its port taken since it was chosen (other
   * programs on this machine open ports too): then it takes another, as no replica knows it yet.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        this.everStarted = true;
        return;
      } catch (err) {
        if (this.everStarted || attempt === 3 || !this.errorLog().includes('Address already in use')) throw err;
        this.portNumber = await freePort();
      }
    }
  }

  private async startOnce(): Promise<void> {
    const [program, ...fixed] = this.kind.server;
    const files = path.join(this.dir, 'files');
    mkdirSync(files, { recursive: true });
    const args = [
      ...fixed,
      `--datadir=${this.dataDir}`,
      `--socket=${this.socket}`,
      `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
      `--log-error=${path.join(this.dir, 'error.log')}`,
      // MySQL refuses to start unless this names an existing folder.
      `--secure-file-priv=${files}`,
      '--bind-address=127.0.0.1',
      `--port=${String(this.port)}`,
      `--server-id=${String(this.serverId)}`,
      '--log-bin=mysql-bin',
      '--relay-log=relay-bin',
      '--binlog-format=ROW',
      ...this.kind.replicationArgs,
      '--skip-name-resolve',
      `--ssl-ca=${this.tls.caFile}`,
      `--ssl-cert=${this.tls.certFile}`,
      `--ssl-key=${this.tls.keyFile}`,
      // Speed over durability: these servers live for one test run.
      '--innodb-buffer-pool-size=32M',
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
    ];
    const child = spawn(program, args, { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = undefined;
        throw new Error(`${this.name} exited while starting:\n${this.errorLog()}`);
      }
      try {
        const probe = await mysql.createConnection({ socketPath: this.socket, user: 'root' });
        await probe.end();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`${this.name} did not accept connections within ${START_TIMEOUT_MS} ms:\n${this.errorLog()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Resolves once the process has ended on its own (MySQL after a clone), or after timeoutMs. */
  async exitedWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([this.exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (ended) this.child = undefined;
    return ended;
  }

  /** SIGKILL, as a crashed node or an OOM kill; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  /**
   * SIGSTOP / SIGCONT: a server that holds its connections open but answers nothing. A stop takes
   * effect thread by thread: it returns once every thread of the process says it is stopped, so a
   * statement sent next cannot be answered by a thread that had not stopped yet.
   */
  freeze(frozen: boolean): void {
    const child = this.child;
    child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    if (!frozen || child?.pid === undefined) return;
    const tasks = `/proc/${String(child.pid)}/task`;
    const stopped = (): boolean => readdirSync(tasks).every((t) => /\) [tT] /.test(readFileSync(`${tasks}/${t}/stat`, 'utf8')));
    const deadline = Date.now() + 2000;
    while (!stopped()) {
      if (Date.now() > deadline) throw new Error(`${this.name} did not stop within 2 s of SIGSTOP`);
    }
  }

  killSync(): void {
    this.child?.kill('SIGKILL');
  }

  /** SQL as root over the socket, for the tests' own setup and checks (not through the adapter). */
  async root<T>(use: (connection: mysql.Connection) => Promise<T>): Promise<T> {
    const connection = await mysql.createConnection({ socketPath: this.socket, user: 'root', supportBigNumbers: true, bigNumberStrings: true });
    try {
      return await use(connection);
    } finally {
      await connection.end();
    }
  }

  async rootQuery(sql: string): Promise<Record<string, unknown>[]> {
    return this.root(async (c) => {
      const [rows] = await c.query(sql);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    });
  }

  /** Back to a standalone, writable server with an empty `shop` database and no GTID (unlogged). */
  async reset(): Promise<void> {
    await this.root(async (c) => {
      await c.query('SET SESSION sql_log_bin = 0');
      for (const sql of this.kind.reset) await c.query(sql);
    });
  }

  errorLog(): string {
    try {
      return readFileSync(path.join(this.dir, 'error.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no error log)';
    }
  }
}

export interface DatabaseServers {
  servers: DatabaseServer[];
  /** The CA's PEM, and a CA that signed nothing these servers present. */
  ca: string;
  otherCa: string;
  stop(): Promise<void>;
  /** Starts one more server of the kind on an existing data directory (a restored backup), which it takes over. */
  serverOn(data: string): Promise<DatabaseServer>;
}

/** Starts `count` servers of a kind in parallel; on any failure, stops what started and removes the files. */
export async function startServers(kindName: ServerKindName, count: number): Promise<DatabaseServers> {
  const kind = SERVER_KINDS[kindName]();
  const root = mkdtempSync(path.join(tmpdir(), `webstack-${kindName}-`));
  const servers: DatabaseServer[] = [];
  const killAll = (): void => servers.forEach((s) => s.killSync());
  process.once('exit', killAll);
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.kill()));
    process.removeListener('exit', killAll);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const tls = makeCertificates(root);
    const template = path.join(root, 'template');
    kind.initialise(template);
    for (let i = 0; i < count; i++) {
      const dir = path.join(root, `db${String(i)}`);
      cpSync(template, path.join(dir, 'data'), { recursive: true });
      servers.push(new DatabaseServer(`db${String(i)}`, i + 1, await freePort(), kind, dir, tls));
    }
    await Promise.all(servers.map((s) => s.start()));
    await Promise.all(servers.map((s) => createAccounts(s, kind)));
    const serverOn = async (data: string): Promise<DatabaseServer> => {
      const i = servers.length;
      const dir = path.join(root, `db${String(i)}`);
      mkdirSync(dir, { recursive: true });
      renameSync(data, path.join(dir, 'data'));
      const server = new DatabaseServer(`db${String(i)}`, i + 1, await freePort(), kind, dir, tls);
      servers.push(server);
      await server.start();
      return server;
    };
    return { servers, ca: tls.ca, otherCa: tls.otherCa, stop, serverOn };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function createAccounts(server: DatabaseServer, kind: ServerKind): Promise<void> {
  await server.root(async (c) => {
    await c.query('SET SESSION sql_log_bin = 0');
    await c.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED BY ? REQUIRE SSL`, [OPERATOR.user, OPERATOR.password]);
    await c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION`, [OPERATOR.user]);
    await c.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED BY ? REQUIRE SSL`, [REPLICATION.user, REPLICATION.password]);
    await c.query(`GRANT ${kind.replicationGrant} ON *.* TO ?@'127.0.0.1'`, [REPLICATION.user]);
    // The application's account: no SUPER or READ_ONLY ADMIN, so read_only applies to it.
    await c.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED BY ?`, [APP.user, APP.password]);
    await c.query(`GRANT ALL PRIVILEGES ON shop.* TO ?@'127.0.0.1'`, [APP.user]);
    if (kind.engine !== 'mariadb') return;
    // Seeding replays every account's grants, root's PROXY grant included.
    await c.query(`GRANT PROXY ON ''@'%' TO ?@'127.0.0.1' WITH GRANT OPTION`, [OPERATOR.user]);
    // mariadb-install-db adds root@<hostname>, which --skip-name-resolve ignores and
    // mariadb-dump --system=users then cannot show: keep only address-based accounts.
    const [named] = await c.query("SELECT User AS user, Host AS host FROM mysql.user WHERE Host NOT IN ('localhost', '127.0.0.1', '::1', '%')");
    for (const { user, host } of named as { user: string; host: string }[]) await c.query('DROP USER ?@?', [user, host]);
  });
}

function makeCertificates(root: string): { ca: string; otherCa: string; caFile: string; certFile: string; keyFile: string } {
  const f = (name: string): string => path.join(root, name);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  const steps: string[][] = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=webstack test database CA'],
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('other-ca.key'), '-out', f('other-ca.crt'), '-days', '2', '-subj', '/CN=unrelated CA'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1'],
    ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('san.ext')],
  ];
  for (const args of steps) {
    const result = run('openssl', args);
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${result.output}`);
  }
  return {
    ca: readFileSync(f('ca.crt'), 'utf8'),
    otherCa: readFileSync(f('other-ca.crt'), 'utf8'),
    caFile: f('ca.crt'),
    certFile: f('server.crt'),
    keyFile: f('server.key'),
  };
}

