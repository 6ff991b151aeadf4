/**
 * The operator as users install it: the image built from the repository's Dockerfile
 * (hack/operator-image/build.sh: buildah, on a local stand-in for node:20-bookworm-slim), loaded
 * into the real nodes, installed with the Helm chart (its RBAC, its NetworkPolicy enforced by
 * kube-router, the restricted pod security level), one replica watching one namespace.
 */
import path from 'node:path';
import { deleteNamespace, getJson, kubeconfigPath, kubectl, newNamespace, repoRoot, run } from '../support/cluster.js';
import { CHART_DIR, helm } from '../support/helm.js';
import { hackSetting } from '../../hack/settings.js';
import { LOCAL_IMAGE_CATALOG } from '../../hack/images/local.js';

const REPOSITORY = 'webstack.local/operator';
const TAG = 'dev';
export const OPERATOR_IMAGE = `${REPOSITORY}:${TAG}`;

interface OperatorPod {
  metadata: { name: string };
  spec: { nodeName: string; containers: { image: string }[] };
  status: { containerStatuses?: { ready: boolean; restartCount: number }[] };
}

export interface ChartOperator {
  namespace: string;
  pods(): Promise<OperatorPod[]>;
  /** The last `tail` lines the operator logged. */
  log(tail: number): Promise<string>;
  uninstall(): Promise<void>;
}

/** Builds (cached) and loads the image, then installs release `release` watching `watchNamespace`. */
export async function installChartOperator(release: string, watchNamespace: string): Promise<ChartOperator> {
  const archive = path.join(hackSetting('CACHE_ROOT'), 'operator-image.oci.tar');
  // A cold build (debootstrap, npm ci twice, apt) takes a few minutes; later ones reuse its layers.
  await run(path.join(repoRoot, 'hack/operator-image/build.sh'), [archive], { timeoutMs: 1_500_000 });
  await run(path.join(repoRoot, 'hack/cluster'), ['load-image', '--real', archive], { timeoutMs: 300_000 });
  const namespace = await newNamespace('operator', { restricted: true });
  const set = (key: string, value: string) => ['--set', `${key}=${value}`];
  await helm([
    'install', release, path.join(repoRoot, CHART_DIR), '--kubeconfig', kubeconfigPath(), '--namespace', namespace,
    ...set('image.repository', REPOSITORY), ...set('image.tag', TAG), ...set('image.pullPolicy', 'Never'),
    ...set('replicaCount', '1'), ...set('watchNamespaces', `{${watchNamespace}}`), ...set('logLevel', 'info'),
    ...set('logAgent.namespace', `${namespace}-agents`),
    ...Object.entries(LOCAL_IMAGE_CATALOG).flatMap(([key, value]) => set(`images.${key}`, value)),
    '--wait', '--timeout', '180s',
  ]);
  const selector = ['-n', namespace, '-l', 'app.kubernetes.io/name=webstack-operator'];
  return {
    namespace,
    pods: async () => (await getJson<{ items: OperatorPod[] }>(['pods', ...selector])).items,
    log: async (tail) => (await kubectl(['logs', ...selector, `--tail=${tail}`], { allowFail: true })).stdout,
    uninstall: async () => {
      await helm(['uninstall', release, '--kubeconfig', kubeconfigPath(), '--namespace', namespace, '--wait'], { allowFail: true });
      await deleteNamespace(namespace);
    },
  };
}
