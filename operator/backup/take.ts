/**
 * One MySQL base backup, as the backup pod takes it, and a verification of the newest one (ADR
 * 0015). Two containers share a folder: the engine's, which runs `scratchServerScript` (a server
 * with no data of its own, then a server on the clone), and the agent's, which drives it over the
 * folder's socket and uploads:
 *
 *   1. choose the donor: a replica that replicates, the least behind; never the primary
 *   2. the scratch server CLONEs it into `<work>/clone`
 *   3. the agent asks for the clone to be served (`<work>/serve-clone`); a server starts on it
 *      with no binary log and no grants (reachable only through the pod's own socket)
 *   4. its GTID set, and every application table checked and counted; then it shuts down
 *   5. the folder goes up sealed, the manifest last; retention deletes what has expired
 *
 * A verification pod is the same with the download of the newest backup in place of steps 1-2.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Instance } from '../mysql/instance.js';
import { mysql84 } from '../mysql/mysql84.js';
import type { ConnectionTarget } from '../mysql/types.js';
import { cloneToDirectory, downloadBaseBackup, inspectClone, uploadBaseBackup, type Sealing } from './base-backup.js';
import { backupId, completeBackups, expiredKeys, type BaseBackupManifest, type Retention } from './catalog.js';

export interface TakeOptions {
  /** Every instance of the stack, as the agent reaches them (the donor is chosen among them). */
  instances: { name: string; target: ConnectionTarget }[];
  /** The CA file, on the scratch server's filesystem, that the donors' certificates chain to. */
  donorCaFile?: string;
  /** The folder both containers share. */
  work: string;
  sealing: Sealing;
  retention: Retention;
  timeoutMs: number;
  now?: () => Date;
}

export interface TakenBackup {
  manifest: BaseBackupManifest;
  deleted: string[];
}

/** The socket of whichever server the engine container runs now. */
export const scratchSocket = (work: string): string => path.join(work, 'mysqld.sock');

/**
 * The engine container's program (POSIX sh, run with the engine image's `mysqld` on PATH). For a
 * backup, a scratch server receives the clone first; for a verification the agent downloads the
 * backup into the same folder. Then the folder is served, until the agent shuts it down.
 * `serverArgs` are added to every server's (e.g. `--user=root` where it runs as root).
 */
export function scratchServerScript(mode: 'backup' | 'verify', serverArgs: readonly string[] = []): string {
  const common = `--no-defaults --socket="$W/mysqld.sock" --pid-file="$W/mysqld.pid" --skip-networking --mysqlx=OFF --secure-file-priv= ${serverArgs.join(' ')}`;
  const scratch = `[ -d "$W/scratch" ] || mysqld ${common} --initialize-insecure --datadir="$W/scratch" --log-error="$W/scratch.err"
# The scratch server: empty, it only receives the clone (CLONE connects out; nothing connects in).
mysqld ${common} --datadir="$W/scratch" --log-error="$W/scratch.err" --plugin-load-add=mysql_clone.so &
scratch=$!
until [ -e "$W/serve-clone" ]; do kill -0 "$scratch" 2>/dev/null || exit 1; sleep 0.2; done
kill "$scratch"; wait "$scratch" || true`;
  return `set -eu
W=\${WEBSTACK_BACKUP_WORK:?}
${mode === 'backup' ? scratch : 'until [ -e "$W/serve-clone" ]; do sleep 0.2; done'}
# The copy, served for its inspection: no binary log of its own, no grants (the socket is this pod's).
mysqld ${common} --datadir="$W/clone" --log-error="$W/clone.err" --skip-log-bin --skip-replica-start --skip-grant-tables || exit 1
touch "$W/served"
# A sidecar that exits is restarted: wait for the pod to end.
exec sleep infinity
`;
}

export async function takeBaseBackup(o: TakeOptions): Promise<TakenBackup> {
  const now = o.now ?? (() => new Date());
  const donor = await chooseDonor(o.instances);
  const started = now();
  const socket = { host: '', port: 0, user: 'root', password: '', socketPath: scratchSocket(o.work), connectTimeoutMs: 2000 };
  const scratch = await eventuallyConnect(socket, o.timeoutMs);
  try {
    await cloneToDirectory(scratch, { ...donor.target, ...(o.donorCaFile === undefined ? {} : { caFile: o.donorCaFile }) }, path.join(o.work, 'clone'), o.timeoutMs);
  } finally {
    await scratch.close();
  }
  writeFileSync(path.join(o.work, 'serve-clone'), '');
  const held = await inspectServedClone(socket, path.join(o.work, 'clone'), o.timeoutMs);
  const manifest = await uploadBaseBackup(o.sealing, path.join(o.work, 'clone'), {
    version: 1,
    id: backupId(started),
    engine: 'mysql',
    method: 'clone',
    source: donor.name,
    startedAt: started.toISOString(),
    ...held,
  });
  const deleted = expiredKeys(o.sealing.prefix, await o.sealing.store.list(o.sealing.prefix), o.retention, now());
  for (const key of deleted) await o.sealing.store.delete(key);
  return { manifest, deleted };
}

export interface Verification {
  id: string;
  /** Whether the restored copy started and held what its manifest says, and why not. */
  passed: boolean;
  reason: string;
  /** From the first byte downloaded to the checks passed: the restore time of this backup (RTO). */
  restoreMs: number;
}

/**
 * Restores the newest complete backup into the pod's folder, has the engine container serve it
 * (`scratchServerScript('verify')`), and checks it against its manifest: the same GTID set and
 * the same rows per table, every table passing CHECK TABLE. A failure is a result, not a throw.
 */
export async function verifyLatestBackup(o: { sealing: Sealing; work: string; timeoutMs: number }): Promise<Verification> {
  const latest = completeBackups(o.sealing.prefix, await o.sealing.store.list(o.sealing.prefix)).at(-1);
  if (!latest) return { id: '', passed: false, reason: 'no complete backup to verify', restoreMs: 0 };
  const started = Date.now();
  const result = (passed: boolean, reason: string): Verification => ({ id: latest.id, passed, reason, restoreMs: Date.now() - started });
  const into = path.join(o.work, 'clone');
  try {
    mkdirSync(into);
    const manifest = await downloadBaseBackup(o.sealing, latest.id, into);
    writeFileSync(path.join(o.work, 'serve-clone'), '');
    const socket = { host: '', port: 0, user: 'root', password: '', socketPath: scratchSocket(o.work), connectTimeoutMs: 2000 };
    const held = await inspectServedClone(socket, into, o.timeoutMs);
    if (held.gtidExecuted !== manifest.gtidExecuted) return result(false, `GTID set ${held.gtidExecuted} where the manifest recorded ${manifest.gtidExecuted}`);
    if (JSON.stringify(held.rowCounts) !== JSON.stringify(manifest.rowCounts)) return result(false, `rows ${JSON.stringify(held.rowCounts)} where the manifest recorded ${JSON.stringify(manifest.rowCounts)}`);
    return result(true, 'restored, started, every table checked and counted as recorded');
  } catch (err) {
    return result(false, err instanceof Error ? err.message : String(err));
  }
}

/** A replica that replicates, the least behind the primary; the primary is never read. */
async function chooseDonor(instances: TakeOptions['instances']): Promise<TakeOptions['instances'][number]> {
  const replicas: { instance: TakeOptions['instances'][number]; behindSeconds: number }[] = [];
  const seen: string[] = [];
  for (const instance of instances) {
    try {
      const connection = await Instance.connect(mysql84, instance.target);
      const status = await connection.status().finally(() => connection.close());
      const r = status.replication;
      if (r?.ioThread === 'running' && r.sqlThreadRunning) replicas.push({ instance, behindSeconds: r.lagSeconds ?? Number.MAX_SAFE_INTEGER });
      seen.push(`${instance.name}: ${r ? `replica (IO ${r.ioThread}, SQL ${r.sqlThreadRunning ? 'running' : 'stopped'})` : 'not a replica'}`);
    } catch (err) {
      seen.push(`${instance.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const best = replicas.sort((a, b) => a.behindSeconds - b.behindSeconds)[0];
  if (!best) throw new Error(`no replica to back up from (${seen.join('; ')}): backups never read the primary`);
  return best.instance;
}

async function eventuallyConnect(target: ConnectionTarget, timeoutMs: number, accept: (i: Instance) => Promise<boolean> = () => Promise.resolve(true)): Promise<Instance> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (existsSync(target.socketPath ?? '')) {
      try {
        const instance = await Instance.connect(mysql84, target);
        if (await accept(instance)) return instance;
        await instance.close();
        last = 'another server answers on the socket';
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
    }
    if (Date.now() > deadline) throw new Error(`no server on ${target.socketPath ?? ''} within ${timeoutMs} ms: ${last || 'no socket'}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Inspects the clone once the engine container serves it, then shuts that server down. */
async function inspectServedClone(socket: ConnectionTarget, cloneDir: string, timeoutMs: number): Promise<Awaited<ReturnType<typeof inspectClone>>> {
  const servesClone = async (i: Instance) => {
    const [row] = await i.query('SELECT @@GLOBAL.datadir AS d');
    return path.resolve(String(row?.d)) === path.resolve(cloneDir);
  };
  const server = await eventuallyConnect(socket, timeoutMs, servesClone);
  let held: Awaited<ReturnType<typeof inspectClone>>;
  try {
    held = await inspectClone(server);
    await server.run(['SHUTDOWN']);
  } finally {
    await server.close();
  }
  // Its files are whole once it has exited, which the engine container marks.
  const served = path.join(path.dirname(cloneDir), 'served');
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(served)) {
    if (Date.now() > deadline) throw new Error(`the server on the clone did not stop within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return held;
}
