/**
 * Real mariadbd processes on 127.0.0.1 for the engine tier: each with its own data directory
 * (copied from one mariadb-install-db run), port, socket, server_id and TLS certificate signed by
 * a throwaway CA, so the operator's connections and the replicas' connections both verify it.
 * Accounts are created unlogged, so every server starts with an empty GTID state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { ConnectionTarget, ReplicationSource } from '../../../operator/mysql/types.js';
import { requireProgram, run } from '../config/helpers.js';

export const OPERATOR = { user: 'operator', password: "op'pass\\1" };
// Quotes and backslashes: CHANGE MASTER TO must carry them to the server intact.
export const REPLICATION = { user: 'repl', password: "re'pl\\pass" };
export const APP = { user: 'app', password: 'app-pass' };

const PROGRAMS = ['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-dump', 'openssl'];
const START_TIMEOUT_MS = 30_000;

export class MariadbServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly serverId: number,
    readonly port: number,
    private readonly dir: string,
    private readonly tls: { ca: string; caFile: string; certFile: string; keyFile: string },
  ) {}

  get running(): boolean {
    return this.child !== undefined;
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

  async start(): Promise<void> {
    const args = [
      '--no-defaults',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      `--datadir=${path.join(this.dir, 'data')}`,
      `--socket=${this.socket}`,
      `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
      `--log-error=${path.join(this.dir, 'error.log')}`,
      '--bind-address=127.0.0.1',
      `--port=${String(this.port)}`,
      `--server-id=${String(this.serverId)}`,
      '--log-bin=mysql-bin',
      '--relay-log=relay-bin',
      '--log-slave-updates=ON',
      '--gtid-strict-mode=ON',
      '--binlog-format=ROW',
      '--skip-slave-start',
      '--skip-name-resolve',
      `--ssl-ca=${this.tls.caFile}`,
      `--ssl-cert=${this.tls.certFile}`,
      `--ssl-key=${this.tls.keyFile}`,
      // Speed over durability: these servers live for one test run.
      '--innodb-buffer-pool-size=32M',
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
    ];
    const child = spawn('mariadbd', args, { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} exited while starting:\n${this.errorLog()}`);
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

  /** SIGKILL, as a crashed node or an OOM kill; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  /** SIGSTOP / SIGCONT: a server that holds its connections open but answers nothing. */
  freeze(frozen: boolean): void {
    this.child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
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
      for (const sql of [
        'SET SESSION sql_log_bin = 0',
        'STOP SLAVE',
        'RESET SLAVE ALL',
        'SET GLOBAL rpl_semi_sync_master_enabled = OFF',
        'SET GLOBAL rpl_semi_sync_slave_enabled = OFF',
        'SET GLOBAL read_only = OFF',
        'DROP DATABASE IF EXISTS shop',
        'CREATE DATABASE shop',
        'RESET MASTER',
        "SET GLOBAL gtid_slave_pos = ''",
      ]) {
        await c.query(sql);
      }
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

export interface MariadbServers {
  servers: MariadbServer[];
  /** The CA's PEM, and a CA that signed nothing these servers present. */
  ca: string;
  otherCa: string;
  stop(): Promise<void>;
}

/** Starts `count` servers in parallel; on any failure, stops what started and removes the files. */
export async function startMariadbServers(count: number): Promise<MariadbServers> {
  for (const program of PROGRAMS) requireProgram(program);
  const root = mkdtempSync(path.join(tmpdir(), 'webstack-mariadb-'));
  const servers: MariadbServer[] = [];
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
    const installed = run('mariadb-install-db', [
      '--no-defaults',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      `--datadir=${template}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
    if (installed.status !== 0) throw new Error(`mariadb-install-db failed:\n${installed.output}`);
    for (let i = 0; i < count; i++) {
      const dir = path.join(root, `db${String(i)}`);
      cpSync(template, path.join(dir, 'data'), { recursive: true });
      servers.push(new MariadbServer(`db${String(i)}`, i + 1, await freePort(), dir, tls));
    }
    await Promise.all(servers.map((s) => s.start()));
    await Promise.all(servers.map((s) => createAccounts(s)));
    return { servers, ca: tls.ca, otherCa: tls.otherCa, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function createAccounts(server: MariadbServer): Promise<void> {
  await server.root(async (c) => {
    await c.query('SET SESSION sql_log_bin = 0');
    await c.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED BY ? REQUIRE SSL`, [OPERATOR.user, OPERATOR.password]);
    await c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION`, [OPERATOR.user]);
    // Seeding replays every account's grants, root's PROXY grant included.
    await c.query(`GRANT PROXY ON ''@'%' TO ?@'127.0.0.1' WITH GRANT OPTION`, [OPERATOR.user]);
    await c.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED BY ? REQUIRE SSL`, [REPLICATION.user, REPLICATION.password]);
    await c.query(`GRANT REPLICATION SLAVE ON *.* TO ?@'127.0.0.1'`, [REPLICATION.user]);
    // The application's account: no SUPER or READ_ONLY ADMIN, so read_only applies to it.
    await c.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED BY ?`, [APP.user, APP.password]);
    await c.query(`GRANT ALL PRIVILEGES ON shop.* TO ?@'127.0.0.1'`, [APP.user]);
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

/** Like test/support/process.ts's, which cannot be imported here without the reconciler behind it. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
