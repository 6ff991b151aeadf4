/**
 * Jest global setup for integration tests: brings the local control plane up (hack/cluster up is
 * idempotent: seconds when it already runs) and removes test namespaces that earlier runs left
 * behind. Only namespaces older than an hour go, so runs side by side keep theirs.
 * A missing prerequisite fails here with the message from hack/, never as a skipped test.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const STALE_AFTER_MS = 60 * 60 * 1000;

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
  const listed = execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-l', 'webstack.dev/test=true', '-o', 'json'], {
    encoding: 'utf8',
  });
  const { items } = JSON.parse(listed) as { items: { metadata: { name: string; creationTimestamp: string } }[] };
  const stale = items.filter((ns) => Date.now() - Date.parse(ns.metadata.creationTimestamp) > STALE_AFTER_MS).map((ns) => ns.metadata.name);
  if (stale.length > 0) {
    execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', '--wait=false', ...stale], { stdio: 'ignore' });
  }
}
