/**
 * `npm start`: run the operator for a developer.
 *
 * Against the current kubeconfig when its cluster answers. Otherwise it brings up a local cluster
 * from hack/ and a demo in it, and tears that cluster down again on Ctrl-C:
 * - where real nodes can run (Linux, as root): the control plane with three real nodes, the real
 *   cert-manager controller for the demo namespace, and the smallest WebStack on the local images
 *   (database tier included), with the command that fetches its page over HTTPS from a pod;
 * - elsewhere: the KWOK control plane, whose nodes run no containers, with the examples applied
 *   and the database controller off, and a plain word on what therefore does not run.
 * Either way the CRD is installed first (server-side apply, so re-running is harmless) and the
 * operator runs in this process until interrupted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { ObjectApi } from '../operator/kube/apply.js';
import { KubeClient } from '../operator/kube/client.js';
import { loadKubeConfig } from '../operator/kube/config.js';
import { Discovery } from '../operator/kube/discovery.js';
import type { KubeObject } from '../operator/kube/types.js';
import { startOperator } from '../operator/main.js';
import { DEFAULT_AGENT_NAMESPACE } from '../operator/blueprint/agent.js';
import { names } from '../operator/blueprint/names.js';
import { parseConfig, type OperatorConfig } from '../operator/runtime/config.js';
import { createLogger } from '../operator/runtime/logger.js';
import { FAKE_CERTIFICATES_GUARD, REAL_CERT_MANAGER_LABEL } from './cert-manager-guard.js';
import { LOCAL_IMAGE_CATALOG, localImage } from './images/local.js';
import { hackSetting } from './settings.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO_NAMESPACE = 'webstack-demo';
const REAL_NODES = 3;
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

/** Real nodes need root on Linux (network namespaces, containerd, the kubelet). */
const canRunRealNodes = (): boolean => process.platform === 'linux' && process.getuid?.() === 0;

const hackCluster = (...args: string[]) => execFileSync(path.join(root, 'hack/cluster'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

interface LocalCluster {
  kubeConfig: KubeConfig;
  file: string;
  real: boolean;
  /** This run started it, and so stops it again. */
  owned: boolean;
}

/** The local cluster: with real nodes where they can run, else KWOK's. */
function localCluster(): LocalCluster {
  const real = canRunRealNodes();
  const flag = real ? ['--real'] : [];
  let owned = false;
  try {
    hackCluster('status', ...flag);
  } catch {
    say(
      real
        ? `No reachable cluster in the current kubeconfig: starting a control plane with ${String(REAL_NODES)} real nodes (hack/cluster up --real-nodes ${String(REAL_NODES)}; the first build takes tens of minutes).`
        : 'No reachable cluster in the current kubeconfig: starting the local control plane (hack/cluster up).',
    );
    owned = true;
  }
  // A running real-node cluster is used as it is (`up` with another node count would recreate it); KWOK's `up` repairs.
  if (!real || owned) execFileSync(path.join(root, 'hack/cluster'), real ? ['up', '--real-nodes', String(REAL_NODES)] : ['up'], { stdio: 'inherit' });
  const file = hackCluster('kubeconfig', ...flag).trim();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(file);
  return { kubeConfig, file, real, owned };
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

/**
 * The WebStack CRD; on the real nodes also cert-manager's and prometheus-operator's, as the KWOK
 * cluster has them (the demo's Issuer and the stack's monitors need them; a fresh real-node
 * cluster has neither).
 */
async function installCrds(objects: ObjectApi, client: KubeClient, real: boolean): Promise<void> {
  const optional = real ? ['cert-manager.yaml', 'prometheus-operator.yaml'].map((file) => path.join(hackSetting('CRDS_DIR'), file)) : [];
  const files = [path.join(root, 'crds/webstack.dev_webstacks.yaml'), ...optional];
  await applyAll(objects, files.flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject)));
  if (real) {
    await servedSoon(client, '/apis/cert-manager.io/v1', 'Issuer');
    await servedSoon(client, '/apis/monitoring.coreos.com/v1', 'ServiceMonitor');
  }
  say(real ? "Installed the WebStack CRD, cert-manager's and prometheus-operator's." : 'Installed the WebStack CRD.');
}

/** Waits (up to 30 s) until the API server serves `kind` at `apiPath`: what is applied next, and the operator as it starts, need it. */
async function servedSoon(client: KubeClient, apiPath: string, kind: string): Promise<void> {
  for (let tries = 0; tries < 30; tries++) {
    const list = (await client.request({ method: 'GET', path: apiPath }).catch(() => undefined)) as { resources?: { kind: string }[] } | undefined;
    if (list?.resources?.some((r) => r.kind === kind)) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`the API server did not serve ${kind} at ${apiPath} within 30 s of installing its CRD`);
}

async function applyAll(objects: ObjectApi, docs: KubeObject[]): Promise<void> {
  for (const doc of docs) await objects.applyObject(doc, { fieldManager: 'webstack-start', force: true });
}

const namespace = (name: string, labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

/** Namespaces, issuers and the Secrets manifests/examples/full.yaml refers to (KWOK: hack/fake-cloud.ts issues every Certificate). */
function kwokDemoPrerequisites(): KubeObject[] {
  const secret = (name: string, data: Record<string, string>) =>
    ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: DEMO_NAMESPACE }, stringData: data }) as KubeObject;
  const issuer = (name: string) => ({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name }, spec: { selfSigned: {} } }) as KubeObject;
  return [
    namespace(DEMO_NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' }),
    // The per-node log agents read host paths, which only the privileged profile allows.
    namespace(DEFAULT_AGENT_NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'privileged' }),
    issuer('letsencrypt'),
    issuer('letsencrypt-prod'),
    secret('stripe', { 'api-key': 'demo' }),
    secret('shop-settings', { CURRENCY: 'EUR' }),
    secret('ghcr-foobar', { token: 'demo' }),
    secret('loki-credentials', { authorization: 'Basic ZGVtbzpkZW1v' }),
  ];
}

function example(file: string): KubeObject {
  const obj = parse(readFileSync(path.join(root, 'manifests/examples', file), 'utf8')) as KubeObject;
  return { ...obj, metadata: { ...obj.metadata, namespace: DEMO_NAMESPACE } };
}

/** The demo on real nodes: the real cert-manager issues its certificates, so a namespaced self-signed Issuer. */
const REAL_DEMO_ISSUER = 'demo-selfsigned';

/**
 * manifests/examples/minimal.yaml with two changes the real nodes need: the test app's local
 * image (they reach no registry) and an Issuer the namespaced cert-manager controller serves.
 */
function realDemoStack(): KubeObject & { spec: Record<string, unknown> } {
  const minimal = example('minimal.yaml') as KubeObject & { spec: { tls: object; app: object } };
  return {
    ...minimal,
    spec: {
      ...minimal.spec,
      tls: { ...minimal.spec.tls, issuerRef: { name: REAL_DEMO_ISSUER, kind: 'Issuer' } },
      app: { ...minimal.spec.app, image: localImage('app:1.0') },
      // No load-balancer provider hands out addresses here: the Service's cluster address is the way in.
      loadBalancer: { serviceType: 'ClusterIP' },
    },
  };
}

function realDemoPrerequisites(): KubeObject[] {
  return [
    namespace(DEMO_NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted', [REAL_CERT_MANAGER_LABEL]: 'real' }),
    namespace(DEFAULT_AGENT_NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'privileged' }),
    ...FAKE_CERTIFICATES_GUARD,
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: REAL_DEMO_ISSUER, namespace: DEMO_NAMESPACE }, spec: { selfSigned: {} } } as KubeObject,
  ];
}

/** The real cert-manager controller (built by hack/build.sh control-plane) for the demo namespace, on this host. */
function startCertManager(kubeconfig: string): ChildProcess {
  const binary = path.join(hackSetting('BIN_DIR'), 'cert-manager-controller');
  const child = spawn(binary, [`--kubeconfig=${kubeconfig}`, `--namespace=${DEMO_NAMESPACE}`, '--v=1'], { stdio: ['ignore', 'ignore', 'ignore'] });
  child.on('error', (e) => say(`cert-manager did not start (${e.message}): build it with hack/build.sh control-plane`));
  return child;
}

function printRealDemo(kubectl: string, stack: string, domain: string): void {
  const lb = names(stack).lb;
  say(`\nApplied WebStack ${stack} (manifests/examples/minimal.yaml on the local app image) to namespace ${DEMO_NAMESPACE}. Watch it converge:`);
  say(`  ${kubectl} get webstacks -n ${DEMO_NAMESPACE} -w`);
  say(`  ${kubectl} wait --for=condition=Ready webstack/${stack} -n ${DEMO_NAMESPACE} --timeout=10m`);
  say('Then fetch its page over HTTPS from a pod (-k: the demo issuer is self-signed):');
  const address = `$(${kubectl} get service ${lb} -n ${DEMO_NAMESPACE} -o jsonpath='{.spec.clusterIP}')`;
  say(
    `  ${kubectl} run fetch -n default --rm -i --restart=Never --image=${localImage('toolbox:1.0')} --image-pull-policy=Never -- ` +
      `curl -sS -k --resolve ${domain}:443:${address} https://${domain}/`,
  );
}

/**
 * The operator's settings where it runs: KWOK's nodes run no containers and their pods have made-up
 * addresses, which the database controller and the log delivery check would dial (routed off this
 * machine), so both are off there; the local real nodes reach no registry, so the operator deploys
 * the images hack/ built for them.
 */
function configFor(parsed: OperatorConfig, where: 'fake nodes' | 'local real nodes' | 'your cluster'): OperatorConfig {
  if (where === 'fake nodes') return { ...parsed, databaseController: false, logDeliveryCheck: false };
  if (where === 'local real nodes') return { ...parsed, images: { ...parsed.images, ...LOCAL_IMAGE_CATALOG } };
  return parsed;
}

async function main(): Promise<void> {
  let parsed = parseConfig(['--leader-elect=false', ...process.argv.slice(2)]);
  let kubeConfig = currentKubeConfig(parsed.kubeconfig);
  let local: LocalCluster | undefined;
  if (!kubeConfig || !(await reachable(kubeConfig))) {
    local = localCluster();
    kubeConfig = local.kubeConfig;
  }
  // The operator runs on the host that serves the real nodes' API: its SQL connections come from
  // that address, which the database tier's NetworkPolicy must let in (--operator-cidr).
  if (local?.real) parsed = parseConfig(['--leader-elect=false', `--operator-cidr=${new URL(kubeConfig.getCurrentCluster()?.server ?? '').hostname}/32`, ...process.argv.slice(2)]);
  const client = new KubeClient(kubeConfig, { requestTimeoutMs: 30_000 });
  const fake = local ? !local.real : await onlyFakeNodes(client);
  const config = configFor(parsed, fake ? 'fake nodes' : local?.real ? 'local real nodes' : 'your cluster');
  const objects = new ObjectApi(client, new Discovery(client));
  await installCrds(objects, client, local?.real === true);

  const operator = await startOperator({ config, kubeConfig, logger: createLogger({ level: config.logLevel }) });

  const kubectl = local ? `kubectl --kubeconfig ${local.file}` : 'kubectl';
  let certManager: ChildProcess | undefined;
  if (local?.real) {
    const stack = realDemoStack();
    await applyAll(objects, [...realDemoPrerequisites(), stack]);
    // Started last: nothing after it can fail and leave it running without us.
    certManager = startCertManager(local.file);
    printRealDemo(kubectl, stack.metadata.name, String(stack.spec.domain));
  } else if (local) {
    await applyAll(objects, [...kwokDemoPrerequisites(), example('minimal.yaml'), example('full.yaml')]);
    say(`\nApplied manifests/examples/ to namespace ${DEMO_NAMESPACE}. Watch them converge:`);
    say(`  ${kubectl} get webstacks -n ${DEMO_NAMESPACE} -w`);
    say(`  ${kubectl} describe webstack foobar -n ${DEMO_NAMESPACE}`);
    say(`  ${kubectl} wait --for=condition=Ready webstack --all -n ${DEMO_NAMESPACE} --timeout=5m`);
  } else {
    say(`\nThe operator is running against your current cluster. Apply a WebStack, e.g.:`);
    say(`  ${kubectl} apply -f manifests/examples/minimal.yaml && ${kubectl} get ws -w`);
  }
  if (fake) {
    say("The nodes are KWOK's: they run no containers, so no server runs here: the database controller is off (no primary is");
    say('chosen, DatabaseReady reports the pods only) and no request is served. Real nodes need Linux and root (npm start as root runs them).');
  }
  say(`Metrics: http://localhost:${operator.port}/metrics   Ctrl-C stops ${local?.owned ? 'the operator and the local cluster' : 'the operator'}.\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    certManager?.kill('SIGTERM');
    void operator.stop().finally(() => {
      if (local?.owned) execFileSync(path.join(root, 'hack/cluster'), local.real ? ['down', '--real'] : ['down'], { stdio: 'inherit' });
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
