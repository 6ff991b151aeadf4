/**
 * Every kind the operator writes or reads from its caches. One table, so the informers, the
 * prune step and the RBAC in the chart all speak of the same set.
 */
import { COMPONENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, OPTIONAL_APIS, type OptionalApi } from './identity.js';

export interface ChildKind {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Served only when cert-manager / prometheus-operator is installed; watched once discovery finds it. */
  requires?: OptionalApi;
  /** Extra label selector terms for the informer (beyond managed-by). */
  selector?: string;
  /**
   * The informer's whole selector, for objects that other controllers create without the
   * managed-by label (instead of managed-by plus `selector`).
   */
  unmanagedSelector?: string;
  /**
   * Whether children of this kind that are no longer rendered are deleted. Secrets never are: they
   * hold generated passwords and certificates, which must outlive any edit of the WebStack.
   */
  prune: boolean;
}

export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

const CERT_MANAGER = { group: OPTIONAL_APIS.certManager.group, version: OPTIONAL_APIS.certManager.version };
const PROMETHEUS_OPERATOR = { group: OPTIONAL_APIS.prometheusOperator.group, version: OPTIONAL_APIS.prometheusOperator.version };

export const CHILD_KINDS: readonly ChildKind[] = [
  { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', prune: true },
  { ...CERT_MANAGER, plural: 'issuers', kind: 'Issuer', requires: 'certManager', prune: true },
  { ...CERT_MANAGER, plural: 'certificates', kind: 'Certificate', requires: 'certManager', prune: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', prune: true },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', prune: false },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', prune: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', prune: true },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', prune: true },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', prune: true },
  { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', prune: true },
  { ...PROMETHEUS_OPERATOR, plural: 'servicemonitors', kind: 'ServiceMonitor', requires: 'prometheusOperator', prune: true },
  { ...PROMETHEUS_OPERATOR, plural: 'podmonitors', kind: 'PodMonitor', requires: 'prometheusOperator', prune: true },
  { ...PROMETHEUS_OPERATOR, plural: 'prometheusrules', kind: 'PrometheusRule', requires: 'prometheusOperator', prune: true },
  // MySQL pods: the controller moves their role label, which the -primary/-replicas Services select on.
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', selector: `${COMPONENT_LABEL}=database`, prune: false },
  // MySQL volumes, grown when spec.database.storage.size grows. The StatefulSet controller makes them
  // from the claim template, whose labels (immutable in existing StatefulSets) lack managed-by.
  {
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    unmanagedSelector: `${NAME_LABEL}=webstack,${COMPONENT_LABEL}=database`,
    prune: false,
  },
];

export const apiVersionOf = (k: Pick<ChildKind, 'group' | 'version'>): string => (k.group ? `${k.group}/${k.version}` : k.version);

export function childKind(apiVersion: string, kind: string): ChildKind | undefined {
  return CHILD_KINDS.find((k) => k.kind === kind && apiVersionOf(k) === apiVersion);
}
