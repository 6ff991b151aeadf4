/**
 * Render, as the reconciler uses it: the stack's objects from the pure renderer, plus the copy of
 * the log sink's Secret (render cannot read Secrets), each tied to its owner (ownership.ts).
 */
import type { DefaultedWebStack } from '../api/defaults.js';
import type { ImageCatalog } from '../api/images.js';
import type { Peer } from '../api/types.js';
import type { WebStack } from '../api/types.js';
import type { KubeObject } from '../kube/types.js';
import { render, type RenderFacts } from '../render/index.js';
import { agentNames } from '../blueprint/agent.js';
import { commonLabels, names } from '../blueprint/names.js';
import type { Gathered, SecretWithData } from './gather.js';
import { own } from './ownership.js';

/** What the operator's own configuration adds to render's facts. */
export interface OperatorFacts {
  agentNamespace: string;
  /** The image catalog, for the images the stack does not set. */
  images: ImageCatalog;
  operatorPeer?: Peer;
  databaseController: boolean;
}

/** The desired children in render's order. `credentialsVersion`: learned in this reconcile, maybe before the cache. */
export function desiredObjects(raw: WebStack, stack: DefaultedWebStack, gathered: Gathered, credentialsVersion: string, operator: OperatorFacts): KubeObject[] {
  const { agentNamespace, images, operatorPeer, databaseController } = operator;
  const { sinkSecret } = gathered;
  const secretVersions = { ...gathered.secretVersions, [names(stack.metadata.name).mysqlCredentials]: credentialsVersion };
  // The copy changes when the user's Secret does; its source's version rolls the agent, which reads it at start.
  if (sinkSecret) secretVersions[sinkCopyName(stack)] = `source:${sinkSecret.metadata.resourceVersion ?? ''}`;
  const facts: RenderFacts = {
    ...gathered.apis,
    agentNamespace,
    images,
    secretVersions,
    ...(gathered.existing ? { existing: gathered.existing } : {}),
    ...(operatorPeer ? { operatorPeer } : {}),
    databaseController,
  };
  const desired: KubeObject[] = render(stack, facts);
  // First, so the agent's Secret exists before the DaemonSet whose pods read it.
  if (sinkSecret) desired.unshift(sinkSecretCopy(stack, sinkSecret, agentNamespace));
  return desired.map((o) => own(o, raw));
}

const sinkCopyName = (stack: DefaultedWebStack): string => agentNames(stack.metadata.namespace ?? '', stack.metadata.name).sinkSecret;

/**
 * The log agent runs in the agent namespace and can only read Secrets there, so the sink's
 * credentials are copied next to it.
 */
function sinkSecretCopy(stack: DefaultedWebStack, source: SecretWithData, agentNamespace: string): KubeObject {
  const copy: SecretWithData & { type: string } = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: sinkCopyName(stack),
      namespace: agentNamespace,
      labels: commonLabels(stack.metadata.name, 'log-agent'),
    },
    type: 'Opaque',
    data: source.data ?? {},
  };
  return copy;
}
