/**
 * Seeds an empty MariaDB instance from a healthy one with a consistent logical dump, streamed:
 * mariadb-dump on the donor (one transaction with a consistent snapshot, and the GTID position
 * of that snapshot) piped into the mariadb client on the target, through the operator; nothing
 * is stored. The load is not binlogged on the target (sql_log_bin=0); its GTID state is then set
 * to the donor's history up to the snapshot (every server's last GTID, not only the position's
 * one per domain), and replication resumes from the snapshot's position. Without that history a
 * seeded instance that becomes primary lacks the entries of servers that wrote before the
 * snapshot, and every instance that has them looks as if it held errant transactions.
 *
 * Suited to the small and medium databases this operator runs; a streamed physical backup
 * (mariadb-backup) would be the method for large ones. The operator's image needs the two
 * client programs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SYSTEM_SCHEMAS } from './engine.js';
import { Instance } from './instance.js';
import { mariadb, setReplicaPosition } from './mariadb.js';
import { MariadbGtidSet } from './mariadb-gtid.js';
import type { GtidSet } from './gtid.js';
import { sqlString } from './sql-literal.js';
import type { ConnectionTarget, ReplicationSource } from './types.js';

export interface SeedPrograms {
  dump: string;
  client: string;
}

export interface SeedRequest {
  donor: ConnectionTarget;
  target: ConnectionTarget;
  /** The primary the seeded instance replicates from afterwards (often the donor). */
  source: ReplicationSource;
  semiSync: boolean;
  /** The dump and load are stopped past this; the target stays read-only and unpointed. */
  deadlineMs: number;
  programs?: SeedPrograms;
  /** Told the bytes of dump streamed so far, every `progressEveryMs` and once at the end. */
  onProgress?: (copiedBytes: number) => void;
  progressEveryMs?: number;
}

export interface SeedResult {
  /** The donor's GTID position at the snapshot: where the target's replication started. */
  position: MariadbGtidSet;
}

const DEFAULT_PROGRAMS: SeedPrograms = { dump: 'mariadb-dump', client: 'mariadb' };
const DEFAULT_PROGRESS_EVERY_MS = 5_000;

/** mariadb-dump writes the snapshot's position near its end, as a comment under --master-data=2. */
const POSITION_LINE = /^-- SET GLOBAL gtid_slave_pos='([0-9,-]*)';$/m;

export async function seedFromLogicalDump(request: SeedRequest): Promise<SeedResult> {
  const target = await Instance.connect(mariadb, request.target);
  try {
    const before = await target.status();
    // Loading a dump over data would merge two histories: only an empty instance is seeded.
    if (!before.dataDirEmpty) {
      throw new Error(
        `refusing to seed ${request.target.host}:${request.target.port}: it holds ${before.applicationTables} application tables and GTIDs ${before.executed.toString() || '(none)'}`,
      );
    }
    // Ask the donor first: a donor that refuses leaves the target as it was. Its history is read
    // before the snapshot, so every GTID in it is at or below the snapshot's position.
    const { databases, history } = await donorBeforeTheDump(request.donor);
    await target.run([mariadb.stopReplica(), mariadb.resetReplicaAll(), 'SET GLOBAL read_only = ON']);
    const position = await streamDump(request, databases);
    // gtid_binlog_state can only be set on an empty binlog; the target's holds nothing of value (it was empty).
    await target.run(['RESET MASTER', `SET GLOBAL gtid_binlog_state = ${sqlString(history.union(position).toString())}`, setReplicaPosition(position)]);
    await target.repoint(request.source, { semiSync: request.semiSync });
    return { position };
  } finally {
    await target.close();
  }
}

/** The donor's application databases and its GTID history (every server's last GTID). */
async function donorBeforeTheDump(donor: ConnectionTarget): Promise<{ databases: string[]; history: GtidSet }> {
  const instance = await Instance.connect(mariadb, donor);
  try {
    const rows = await instance.query(
      `SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (${SYSTEM_SCHEMAS.map(sqlString).join(', ')}) ORDER BY SCHEMA_NAME`,
    );
    return { databases: rows.map((row) => String(row.name)), history: (await instance.status()).executed };
  } finally {
    await instance.close();
  }
}

async function streamDump(request: SeedRequest, databases: readonly string[]): Promise<MariadbGtidSet> {
  const programs = request.programs ?? DEFAULT_PROGRAMS;
  const scratch = mkdtempSync(path.join(tmpdir(), 'webstack-seed-'));
  try {
    const dumpArgs = [
      ...clientArgs(request.donor, scratch, 'donor'),
      '--single-transaction',
      '--gtid',
      '--master-data=2',
      '--routines',
      '--events',
      '--triggers',
      // Accounts as CREATE USER IF NOT EXISTS / GRANT: the target's bootstrap made some already.
      '--system=users',
      '--insert-ignore',
      ...(databases.length > 0 ? ['--databases', ...databases] : []),
    ];
    const loadArgs = [...clientArgs(request.target, scratch, 'target'), '--batch', '--init-command=SET SESSION sql_log_bin = 0'];
    const dump = spawn(programs.dump, dumpArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: passwordEnv(request.donor.password) });
    const load = spawn(programs.client, loadArgs, { stdio: ['pipe', 'ignore', 'pipe'], env: passwordEnv(request.target.password) });
    const dumpErrors = collect(dump.stderr);
    const loadErrors = collect(load.stderr);
    let tail = '';
    let position: string | undefined;
    let copied = 0;
    const progress = setInterval(() => request.onProgress?.(copied), request.progressEveryMs ?? DEFAULT_PROGRESS_EVERY_MS);
    dump.stdout.on('data', (chunk: Buffer) => {
      copied += chunk.length;
      // The position line may straddle two chunks: scan each chunk with the end of the previous.
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      position ??= POSITION_LINE.exec(tail)?.[1];
    });
    // A client that dies early shows in its exit code; the broken pipe itself says nothing more.
    load.stdin.on('error', () => undefined);
    dump.stdout.pipe(load.stdin);
    const { deadlineMs } = request;
    const deadline = { passed: false };
    const timer = setTimeout(() => {
      deadline.passed = true;
      dump.kill('SIGKILL');
      load.kill('SIGKILL');
    }, deadlineMs);
    const [dumpCode, loadCode] = await Promise.all([exitCode(dump), exitCode(load)])
      .catch((err: unknown) => {
        dump.kill('SIGKILL');
        load.kill('SIGKILL');
        throw err;
      })
      .finally(() => {
        clearTimeout(timer);
        clearInterval(progress);
      });
    request.onProgress?.(copied);
    if (deadline.passed) throw new Error(`the seed did not finish within ${String(deadlineMs / 1000)} s: dump and load stopped`);
    if (dumpCode !== 0) throw new Error(`${programs.dump} exited ${String(dumpCode)}: ${dumpErrors().trim()}`);
    if (loadCode !== 0) throw new Error(`${programs.client} exited ${String(loadCode)}: ${loadErrors().trim()}`);
    if (position === undefined) throw new Error(`${programs.dump} wrote no GTID position (is binary logging on at the donor?)`);
    return MariadbGtidSet.parse(position);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Connection flags for the client programs; the password travels in the environment, not argv. */
function clientArgs(target: ConnectionTarget, scratch: string, label: string): string[] {
  const args = ['--no-defaults', `--host=${target.host}`, `--port=${String(target.port)}`, `--user=${target.user}`, '--protocol=TCP'];
  if (target.tls) {
    const caFile = path.join(scratch, `${label}-ca.crt`);
    writeFileSync(caFile, target.tls.ca, { mode: 0o600 });
    args.push('--ssl', `--ssl-ca=${caFile}`);
    // The client programs check the certificate against the host they dial and cannot be given
    // another name. Dialled by pod IP (an operator outside the cluster cannot resolve pod names),
    // the identity is the one the SQL session to the same address verified (servername, gather.ts);
    // the dump is then encrypted with that CA but not verified again.
    if (target.tls.servername === undefined || target.tls.servername === target.host) args.push('--ssl-verify-server-cert');
  }
  return args;
}

function passwordEnv(password: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', MYSQL_PWD: password };
}

function collect(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-8192);
  });
  return () => text;
}

function exitCode(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
}
