/**
 * Jest global setup for e2e tests: a snapshot of the host before anything of the real-node
 * cluster exists (lifecycle.test.ts compares the host with it after `down`), then the cluster with
 * WEBSTACK_REAL_NODES (default 3) real nodes. A running real-node cluster is brought down first,
 * so the snapshot is honest. Fails with hack/'s message when something is missing.
 * While iterating on one test file, WEBSTACK_E2E_REUSE_CLUSTER=1 keeps a running cluster as it is
 * (there is no snapshot then, so the lifecycle test fails).
 * Jest loads this file outside the test module system, so it imports nothing of the project.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function globalSetup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const cluster = (...args: string[]) => execFileSync(path.join(root, 'hack/cluster'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (process.getuid?.() !== 0) {
    throw new Error('e2e tests run real nodes (network namespaces, mounts, cgroups): run them as root');
  }
  const nodes = process.env.WEBSTACK_REAL_NODES ?? '3';
  try {
    if (process.env.WEBSTACK_E2E_REUSE_CLUSTER !== '1') {
      cluster('down', '--real');
      // The same path as baselineFile in host.ts.
      writeFileSync(path.join(tmpdir(), 'webstack-e2e-host-before.txt'), execFileSync(path.join(root, 'hack/real/snapshot.sh'), { encoding: 'utf8' }));
    }
    cluster('up', '--real-nodes', nodes);
  } catch {
    throw new Error('the real-node cluster did not start: see the output of `hack/cluster up --real-nodes` above');
  }
}
