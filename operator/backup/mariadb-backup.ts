/**
 * A MariaDB base backup (ADR 0015): `mariadb-backup --backup` reads the replica's data files while
 * it runs (so it runs where they are: in the pod, on the replica's node, its volume mounted
 * read-only) and `--prepare` makes the copy consistent; the folder is then a data directory a
 * server starts on. The GTID position comes from the backup's own record of where it stopped.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectionTarget } from '../mysql/types.js';
import { started } from './program.js';

export interface MariadbBackupOptions {
  /** The mariadb-backup program. */
  program: string;
  /** The server's data directory, as this process sees it. */
  datadir: string;
  /** The server whose files they are (mariadb-backup takes its locks through SQL). */
  server: ConnectionTarget;
  /** The CA file the server's certificate chains to; without it the connection is encrypted only. */
  caFile?: string;
  /** New folder the backup goes to. */
  directory: string;
}

/** Takes and prepares the backup; returns the GTID position it holds. */
export async function mariadbBackupToDirectory(o: MariadbBackupOptions): Promise<{ gtidPosition: string }> {
  // The password goes in a file of the backup's folder's parent, not on a command line /proc shows.
  const credentials = path.join(path.dirname(o.directory), 'mariadb-backup.cnf');
  writeFileSync(credentials, `[client]\npassword=${o.server.password}\n`, { mode: 0o600 });
  const connection = [`--user=${o.server.user}`, `--host=${o.server.host}`, `--port=${String(o.server.port)}`, '--ssl', ...(o.caFile === undefined ? [] : [`--ssl-ca=${o.caFile}`])];
  try {
    await started(o.program, [`--defaults-extra-file=${credentials}`, '--backup', `--target-dir=${o.directory}`, `--datadir=${o.datadir}`, ...connection], ['ignore', 'ignore']).done;
  } finally {
    rmSync(credentials, { force: true });
  }
  await started(o.program, ['--no-defaults', '--prepare', `--target-dir=${o.directory}`], ['ignore', 'ignore']).done;
  const info = readFileSync(path.join(o.directory, 'mariadb_backup_binlog_info'), 'utf8').trim().split(/\s+/);
  return { gtidPosition: info[2] ?? '' };
}
