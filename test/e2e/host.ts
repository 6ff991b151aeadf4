/**
 * The machine's side of the e2e suite: the real-node cluster's lifecycle (hack/cluster ... --real)
 * and snapshots of the host state it may change (hack/real/snapshot.sh).
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/cluster.js';

const hackCluster = path.join(repoRoot, 'hack/cluster');

/** Where global setup keeps the snapshot taken before the cluster came up. */
export const baselineFile = path.join(tmpdir(), 'webstack-e2e-host-before.txt');

/** Real nodes to run: WEBSTACK_REAL_NODES, 3 by default. */
export const realNodeCount = (): number => Number(process.env.WEBSTACK_REAL_NODES ?? '3');

export function hostSnapshot(): string {
  return execFileSync(path.join(repoRoot, 'hack/real/snapshot.sh'), { encoding: 'utf8' });
}

export function realCluster(...args: string[]): void {
  execFileSync(hackCluster, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Packets that tried to leave the machine from the node bridge (the `hack/` drop rule's counter). */
export function escapedPackets(): number {
  const table = execFileSync('nft', ['list', 'table', 'inet', 'webstack_real'], { encoding: 'utf8' });
  const rule = table.split('\n').find((line) => line.includes('pod traffic stays on this machine'));
  const packets = rule && /counter packets (\d+)/.exec(rule)?.[1];
  if (packets === undefined) throw new Error(`no drop rule with a counter in the webstack_real table:\n${table}`);
  return Number(packets);
}
