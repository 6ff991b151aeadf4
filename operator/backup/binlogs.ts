/**
 * Binary logs for point-in-time restores (ADR 0015): copied from the primary raw, as the server
 * wrote them (`mysqlbinlog`; MariaDB `mariadb-binlog`), sealed into
 * `<prefix>binlog/<server id>/<file>`; a restore replays them on top of a base backup up to a moment.
 *
 * This is the first slice: one copy of every binary log the primary still has, each run (a file
 * that grew since is replaced whole), and one primary. The continuous archiver (following the
 * primary across failovers, a bounded spool) builds on it.
 */
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ConnectionTarget } from '../mysql/types.js';
import type { Sealing } from './base-backup.js';
import { started } from './program.js';
import { openStream, sealBuffer } from './seal.js';

export interface BinlogSource {
  target: ConnectionTarget;
  /** The CA file the source's certificate chains to. */
  caFile?: string;
  /** The source's @@server_uuid: archived files are kept per server. */
  serverUuid: string;
  /** Its binary logs, oldest first (SHOW BINARY LOGS). */
  files: string[];
}

export const binlogPrefix = (prefix: string): string => `${prefix}binlog/`;

/** The engine's binary log reader and client: mysqlbinlog and mysql, or mariadb-binlog and mariadb. */
export interface BinlogTools {
  engine: 'mysql' | 'mariadb';
  reader: string;
  client: string;
}

/** The reader's flags to copy from a server, and to verify its certificate (or only encrypt). */
function remoteFlags(tools: BinlogTools, caFile: string | undefined): string[] {
  if (tools.engine === 'mariadb') return ['--read-from-remote-server', '--ssl', ...(caFile === undefined ? [] : [`--ssl-ca=${caFile}`, '--ssl-verify-server-cert'])];
  return ['--read-from-remote-source=BINLOG-DUMP-NON-GTIDS', ...(caFile === undefined ? ['--ssl-mode=REQUIRED'] : ['--ssl-mode=VERIFY_CA', `--ssl-ca=${caFile}`])];
}

/** Copies the source's binary logs into `spool` and uploads each sealed; returns the keys written. */
export async function archiveBinlogs(s: Sealing, source: BinlogSource, spool: string, tools: BinlogTools): Promise<string[]> {
  const first = source.files[0];
  if (first === undefined) return [];
  mkdirSync(spool, { recursive: true });
  const copy = started(
    tools.reader,
    [
      ...remoteFlags(tools, source.caFile),
      '--raw',
      '--to-last-log',
      `--result-file=${spool}/`,
      `--host=${source.target.host}`,
      `--port=${String(source.target.port)}`,
      `--user=${source.target.user}`,
      first,
    ],
    ['ignore', 'ignore'],
    { ...process.env, MYSQL_PWD: source.target.password },
  );
  await copy.done.catch((err: unknown) => {
    throw new Error(`copying the binary logs of ${source.target.host}: ${err instanceof Error ? err.message : String(err)}`);
  });
  const written: string[] = [];
  for (const file of readdirSync(spool).filter((f) => source.files.includes(f)).sort()) {
    const key = `${binlogPrefix(s.prefix)}${source.serverUuid}/${file}`;
    await s.store.put(key, await sealBuffer(s.key, readFileSync(path.join(spool, file))));
    written.push(key);
  }
  return written;
}

/**
 * Replays the archived binary logs on the server at `socket` (a restored base backup), up to but
 * not including `stopAt`: every transaction committed before that moment and not already held.
 * MySQL skips what the base holds by its GTIDs; MariaDB (whose strict mode refuses a GTID out of
 * order) starts after `basePosition`, the base backup's GTID position.
 */
export async function replayBinlogs(s: Sealing, o: { socket: string; stopAt: Date; work: string; tools: BinlogTools; basePosition?: string }): Promise<number> {
  const keys = (await s.store.list(binlogPrefix(s.prefix))).map((x) => x.key).sort();
  mkdirSync(o.work, { recursive: true });
  const files: string[] = [];
  for (const key of keys) {
    const file = path.join(o.work, key.slice(binlogPrefix(s.prefix).length).replace(/\//g, '_'));
    await pipeline(await s.store.get(key), openStream(s.key), createWriteStream(file));
    files.push(file);
  }
  if (files.length === 0) return 0;
  // The reader takes --stop-datetime in its own time zone.
  const env = { ...process.env, TZ: 'UTC' };
  const stop = o.stopAt.toISOString().slice(0, 19).replace('T', ' ');
  const after = o.tools.engine === 'mariadb' && o.basePosition ? [`--start-position=${o.basePosition}`] : [];
  const decode = started(o.tools.reader, [...after, `--stop-datetime=${stop}`, ...files], ['ignore', 'pipe'], env);
  const apply = started(o.tools.client, ['--no-defaults', `--socket=${o.socket}`, '--user=root', '--binary-mode'], ['pipe', 'ignore'], env);
  if (!decode.child.stdout || !apply.child.stdin) throw new Error('no pipe between the binary log reader and the client');
  // The programs' own errors say more than the broken pipe between them.
  const failed = (await Promise.allSettled([decode.done, apply.done, pipeline(decode.child.stdout, apply.child.stdin)])).find((r) => r.status === 'rejected');
  if (failed) throw new Error(`replaying the archived binary logs: ${String(failed.reason)}`);
  return files.length;
}
