/**
 * Runs last (test/e2e/sequencer.cjs). Nothing the suite did sent a packet off the machine, and
 * `hack/cluster down` leaves the machine as global setup found it before `up`: processes, links,
 * addresses, routes, namespaces, mounts, firewall rules, ipsets, cgroups, sysctls and host paths.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { baselineFile, escapedPackets, hostSnapshot, realCluster } from './host.js';

/** The lines only one of two snapshots has, each marked - (before) or + (after). */
function difference(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  return [...a.filter((l) => !b.includes(l)).map((l) => `- ${l}`), ...b.filter((l) => !a.includes(l)).map((l) => `+ ${l}`)];
}

describe('the real-node cluster and this machine', () => {
  it('dropped no packet on its way out of the machine during the whole suite', () => {
    expect(escapedPackets()).toBe(0);
  });

  it('leaves nothing behind after `hack/cluster down`', () => {
    const before = readFileSync(baselineFile, 'utf8');
    expect(hostSnapshot()).not.toBe(before); // the cluster is up: the snapshot sees it
    realCluster('down', '--real');
    const after = hostSnapshot();
    rmSync(baselineFile, { force: true });
    expect(difference(before, after)).toEqual([]);
  }, 120_000);
});
