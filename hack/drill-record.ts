// The record of one database drill: test/e2e/drills.ts writes them, one JSON file per test run and
// configuration; hack/gen-failure-modes.ts makes docs/failure-modes.md's table from the files kept
// in docs/drills/.

/** One drill's record: a drill that did not recover keeps its row. */
export interface DrillRecord {
  configuration: string;
  /** The commit the drill ran (the operator image is built from it), with `+` when the checkout had changes. */
  commit: string;
  engine: string;
  instances: number;
  durability: string;
  scenario: string;
  run: number;
  recovered: boolean;
  /** The longest gap between the per-row writer's acks; null when the cluster did not recover within the bound. */
  outageSeconds: number | null;
  /** The same for the pooled app. */
  pooledOutageSeconds: number | null;
  /** Errors the pooled app's clients saw during the drill. */
  clientErrors: number;
  acknowledged: number;
  /** null when no primary was left to count them on. */
  lost: number | null;
  primaryBefore: string;
  primaryAfter: string;
  /** What the drill waited for, or why it did not recover. */
  reason: string;
}
