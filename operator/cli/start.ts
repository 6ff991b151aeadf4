/**
 * `npm start`: run the operator for a developer.
 *
 * Against the current kubeconfig when its cluster answers; otherwise it brings up the local
 * control plane from hack/, applies the examples with what they need, and tears that cluster
 * down again on Ctrl-C. Either way the CRD is installed first (server-side apply, so re-running
 * is harmless) and the operator runs in this process until interrupted.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { ObjectApi } from '../kube/apply.js';
import { KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { Discovery } from '../kube/discovery.js';
import type { KubeObject } from '../kube/types.js';
import { startOperator } from '../main.js';
import { DEFAULT_AGENT_NAMESPACE } from '../blueprint/agent.js';
import { parseConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO_NAMESPACE = 'webstack-demo';
const say = (line: string) => process.stdout.write(`${line}\n`);

async function reachable(kc: KubeConfig): Promise<boolean> {
  try {
    await new KubeClient(kc, { requestTimeoutMs: 3_000 }).request({ method: 'GET', path: '/version' });
    return true;
  } catch {
    return false;
  }
}

function currentKubeConfig(file: string | undefined): KubeConfig | undefined {
  try {
    return loadKubeConfig({ path: file }).kubeConfig;
  } catch {
    return undefined;
  }
}

const hackCluster = (...args: string[]) => execFileSync(path.join(root, 'hack/cluster'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/** The local control plane; `owned` when this run started it (and so stops it again). */
function localCluster(): { kubeConfig: KubeConfig; file: string; owned: boolean } {
  let owned = false;
  try {
    hackCluster('status');
  } catch {
    say('No reachable cluster in the current kubeconfig: starting the local control plane (hack/cluster up).');
    owned = true;
  }
  execFileSync(path.join(root, 'hack/cluster'), ['up'], { stdio: 'inherit' });
  const file = hackCluster('kubeconfig').trim();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(file);
  return { kubeConfig, file, owned };
}

/** Every node of the cluster is one of KWOK's: none runs a container. False when the nodes cannot be listed. */
async function onlyFakeNodes(client: KubeClient): Promise<boolean> {
  try {
    const nodes = (await client.request({ method: 'GET', path: '/api/v1/nodes' })) as { items?: { metadata: { annotations?: Record<string, string> } }[] };
    const items = nodes.items ?? [];
    return items.length > 0 && items.every((n) => n.metadata.annotations?.['kwok.x-k8s.io/node'] === 'fake');
  } catch {
    return false;
  }
}

async function applyAll(objects: ObjectApi, docs: KubeObject[]): Promise<void> {
  for (const doc of docs) await objects.applyObject(doc, { fieldManager: 'webstack-start', force: true });
}

/** Namespaces, an issuer and the Secrets manifests/examples/full.yaml refers to. */
function demoPrerequisites(): KubeObject[] {
  const ns = (name: string, enforce: string): KubeObject =>
    ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': enforce } } });
  const secret = (name: string, data: Record<string, string>) =>
    ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: DEMO_NAMESPACE }, stringData: data }) as KubeObject;
  const issuer = (name: string) => ({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name }, spec: { selfSigned: {} } }) as KubeObject;
  return [
    ns(DEMO_NAMESPACE, 'restricted'),
    // The per-node log agents read host paths, which only the privileged profile allows.
    ns(DEFAULT_AGENT_NAMESPACE, 'privileged'),
    issuer('letsencrypt'),
    issuer('letsencrypt-prod'),
    secret('stripe', { 'api-key': 'demo' }),
    secret('shop-settings', { CURRENCY: 'EUR' }),
    secret('ghcr-foobar', { token: 'demo' }),
    secret('loki-credentials', { authorization: 'Basic ZGVtbzpkZW1v' }),
  ];
}

function examples(): KubeObject[] {
  return ['minimal.yaml', 'full.yaml'].map((file) => {
    const obj = parse(readFileSync(path.join(root, 'manifests/examples', file), 'utf8')) as KubeObject;
    return { ...obj, metadata: { ...obj.metadata, namespace: DEMO_NAMESPACE } };
  });
}

async function main(): Promise<void> {
  const parsed = parseConfig(['--leader-elect=false', ...process.argv.slice(2)]);
  let kubeConfig = currentKubeConfig(parsed.kubeconfig);
  let local: string | undefined;
  let ownCluster = false;
  if (!kubeConfig || !(await reachable(kubeConfig))) {
    const cluster = localCluster();
    kubeConfig = cluster.kubeConfig;
    local = cluster.file;
    ownCluster = cluster.owned;
  }
  const client = new KubeClient(kubeConfig, { requestTimeoutMs: 30_000 });
  // KWOK's nodes run no containers: its pods have made-up addresses, which a database controller
  // would dial (routed off this machine) and never reach. On fake nodes only, it is off.
  const fake = local !== undefined || (await onlyFakeNodes(client));
  const config = fake ? { ...parsed, databaseController: false } : parsed;
  const objects = new ObjectApi(client, new Discovery(client));
  const crds = parseAllDocuments(readFileSync(path.join(root, 'crds/webstack.dev_webstacks.yaml'), 'utf8')).map((d) => d.toJS() as KubeObject);
  await applyAll(objects, crds);
  say('Installed the WebStack CRD.');

  const operator = await startOperator({ config, kubeConfig, logger: createLogger({ level: config.logLevel }) });

  const kubectl = local ? `kubectl --kubeconfig ${local}` : 'kubectl';
  if (local) {
    await applyAll(objects, demoPrerequisites());
    await applyAll(objects, examples());
    say(`\nApplied manifests/examples/ to namespace ${DEMO_NAMESPACE}. Watch them converge:`);
    say(`  ${kubectl} get webstacks -n ${DEMO_NAMESPACE} -w`);
    say(`  ${kubectl} describe webstack foobar -n ${DEMO_NAMESPACE}`);
    say(`  ${kubectl} wait --for=condition=Ready webstack --all -n ${DEMO_NAMESPACE} --timeout=5m`);
  } else {
    say(`\nThe operator is running against your current cluster. Apply a WebStack, e.g.:`);
    say(`  ${kubectl} apply -f manifests/examples/minimal.yaml && ${kubectl} get ws -w`);
  }
  if (fake) {
    say('The nodes are KWOK\'s: they run no containers, so no database runs here and the database controller is off');
    say('(no primary is chosen; DatabaseReady reports the pods only). The real-node cluster (hack/cluster up --real-nodes 3, as root) runs them.');
  }
  say(`Metrics: http://localhost:${operator.port}/metrics   Ctrl-C stops ${ownCluster ? 'the operator and the local cluster' : 'the operator'}.\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void operator.stop().finally(() => {
      if (ownCluster) execFileSync(path.join(root, 'hack/cluster'), ['down'], { stdio: 'inherit' });
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
