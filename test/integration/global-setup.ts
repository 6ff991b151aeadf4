/**
 * Jest global setup for integration tests: brings the local control plane up (hack/cluster up is
 * idempotent: seconds when it already runs) and removes namespaces left by earlier runs.
 * A missing prerequisite fails here with the message from hack/, never as a skipped test.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function globalSetup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const cluster = path.join(root, 'hack/cluster');
  try {
    execFileSync(cluster, ['up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    throw new Error('the local control plane did not start: see the output of `hack/cluster up` above');
  }
  const env = execFileSync(cluster, ['env'], { encoding: 'utf8' });
  const kubeconfig = /KUBECONFIG="([^"]+)"/.exec(env)?.[1] ?? '';
  const kubectl = path.join(/PATH="([^:"]+):/.exec(env)?.[1] ?? '', 'kubectl');
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', '-l', 'webstack.dev/test=true', '--wait=false'], {
    stdio: 'ignore',
  });
}
