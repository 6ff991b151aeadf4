/**
 * Seeds an empty MySQL instance with the CLONE plugin (statements in mysql84.ts): the recipient
 * copies the donor's data and gtid_executed, then ends; started again (in a pod, by the kubelet)
 * it holds the data and is pointed nowhere, and the next decision repoints it with
 * auto-positioning. Run against real mysqld 9.7 in test/programs/mysql/mysql-engine.test.ts, where
 * mysqld, not under a supervisor, answers ER_CLONE_RESTART_NOT_SUPERVISED and exits.
 */
import type { Instance } from './instance.js';
import { CLONE_PROGRESS_QUERY, cloneInstanceStatements, type CloneDonor } from './mysql84.js';

/** MySQL ends the recipient's session when it restarts after a clone: the sign of success. */
const RESTART_ERRORS = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET']);
/** "Restart server failed (mysqld is not managed by supervisor process)": cloned, restart left to the container. */
const ER_CLONE_RESTART_NOT_SUPERVISED = 3707;

/**
 * Clones `donor` into the empty `target`, or, with `replacing`, into one whose data is to be
 * replaced (an old primary's unacknowledged transactions, decide.ts). The CLONE statement runs for
 * as long as the copy takes: its deadline is `deadlineMs` (the seed's), not a statement's; past it
 * the session is dropped, which ends the clone, and the next decision starts over.
 */
export async function seedByClone(target: Instance, donor: CloneDonor, deadlineMs: number, options: { replacing?: boolean } = {}): Promise<void> {
  if (target.adapter.engine !== 'mysql') throw new Error(`CLONE seeds MySQL instances, not ${target.adapter.engine}`);
  const before = await target.status();
  // CLONE replaces the recipient's data wholesale: only an empty instance is seeded, unless asked to replace it.
  if (!before.dataDirEmpty && options.replacing !== true) {
    throw new Error(`refusing to clone into an instance with ${before.applicationTables} application tables and GTIDs ${before.executed.toString() || '(none)'}`);
  }
  try {
    await target.run(cloneInstanceStatements(donor), { timeoutMs: deadlineMs });
  } catch (err) {
    if (!isRestart(err)) throw err;
  }
}

function isRestart(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = 'code' in err ? err.code : undefined;
  const errno = 'errno' in err ? err.errno : undefined;
  return (typeof code === 'string' && RESTART_ERRORS.has(code)) || errno === ER_CLONE_RESTART_NOT_SUPERVISED;
}

/** What the recipient's clone has copied, and expects to copy in all (bytes). */
export async function cloneProgress(recipient: Instance): Promise<{ copiedBytes: number; estimatedBytes: number }> {
  const [row] = await recipient.query(CLONE_PROGRESS_QUERY);
  return { copiedBytes: Number(row?.copied ?? 0), estimatedBytes: Number(row?.estimated ?? 0) };
}
