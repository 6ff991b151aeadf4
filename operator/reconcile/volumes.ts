/**
 * Growing the database volumes. spec.database.storage.size may grow (the CRD refuses a shrink),
 * but a StatefulSet's claim template is immutable, so the operator grows each existing claim
 * itself; the storage driver's resizer then grows the volume, and the claim's status.capacity says
 * when it has. Whether the StorageClass allows expansion is the API server's call: its refusal is
 * reported as it is (StorageReady, Stalled), never retried into a crash loop. A claim made later
 * from the old template (a new replica, a re-created volume) is grown the same way once bound.
 */
import type { Logger } from 'pino';
import type { DefaultedWebStack } from '../api/defaults.js';
import { INSTANCE_LABEL } from '../api/identity.js';
import type { ObjectApi } from '../kube/apply.js';
import { isInvalid, KubeApiError } from '../kube/errors.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import { DATA_VOLUME } from '../blueprint/layout.js';
import { names } from '../blueprint/names.js';
import { parseQuantity } from '../support/quantity.js';

export interface Claim extends KubeObject {
  spec?: { resources?: { requests?: { storage?: string } } };
  status?: { phase?: string; capacity?: { storage?: string }; conditions?: { type: string; status: string }[] };
}

/** One database volume as the status reports it. */
export interface VolumeState {
  name: string;
  requested?: string;
  /** What the volume has (status.capacity); unset until it is bound. */
  capacity?: string;
  bound: boolean;
  /** The volume grew, and its file system grows when the node mounts it again (FileSystemResizePending). */
  fileSystemPending: boolean;
  /** The API server refused to grow the claim, in its words. */
  refused?: string;
}

/** The stack's MySQL data claims (data-<stack>-mysql-N), from the caches. */
export function databaseClaims(caches: Lookup, stack: DefaultedWebStack): Claim[] {
  const prefix = `${DATA_VOLUME}-${names(stack.metadata.name).mysql}-`;
  return (caches.list('PersistentVolumeClaim', stack.metadata.namespace) as Claim[])
    .filter((c) => c.metadata.labels?.[INSTANCE_LABEL] === stack.metadata.name && c.metadata.name.startsWith(prefix))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

const smaller = (quantity: string | undefined, than: string): boolean => (parseQuantity(quantity ?? '0') ?? 0) < (parseQuantity(than) ?? 0);

/**
 * Only a bound claim may change its request (the API server refuses it on a pending one); a
 * pending claim is provisioned at what it asks, and grown here once bound.
 */
export const claimsToGrow = (claims: Claim[], size: string): Claim[] =>
  claims.filter((c) => c.status?.phase === 'Bound' && smaller(c.spec?.resources?.requests?.storage, size));

/** Grows the claims that ask for less than the spec; what the API server answered for each. */
export async function growVolumes(
  objects: Pick<ObjectApi, 'mergePatch'>,
  stack: DefaultedWebStack,
  claims: Claim[],
  log: Logger,
): Promise<VolumeState[]> {
  const { size } = stack.spec.database.storage;
  const grow = new Set(claimsToGrow(claims, size));
  const states: VolumeState[] = [];
  for (const claim of claims) {
    let current = claim;
    let refused: string | undefined;
    if (grow.has(claim)) {
      const ref = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claim.metadata.name, namespace: claim.metadata.namespace ?? '' };
      try {
        current = await objects.mergePatch(ref, { spec: { resources: { requests: { storage: size } } } });
        log.info({ claim: claim.metadata.name, from: claim.spec?.resources?.requests?.storage, to: size }, 'growing volume');
      } catch (err) {
        // Refused (the StorageClass does not allow expansion: 403; invalid: 422) is the user's to
        // fix; anything else is retried with the reconcile's backoff.
        if (!(err instanceof KubeApiError && (err.code === 403 || isInvalid(err)))) throw err;
        refused = err.message;
        log.warn({ claim: claim.metadata.name, err: refused }, 'growing volume refused');
      }
    }
    states.push(volumeState(current, refused));
  }
  return states;
}

function volumeState(claim: Claim, refused: string | undefined): VolumeState {
  const state: VolumeState = {
    name: claim.metadata.name,
    bound: claim.status?.phase === 'Bound',
    fileSystemPending: claim.status?.conditions?.some((c) => c.type === 'FileSystemResizePending' && c.status === 'True') ?? false,
  };
  const requested = claim.spec?.resources?.requests?.storage;
  const capacity = claim.status?.capacity?.storage;
  if (requested !== undefined) state.requested = requested;
  if (capacity !== undefined) state.capacity = capacity;
  if (refused !== undefined) state.refused = refused;
  return state;
}

/** Whether the volume has what the spec asks (a pending claim: whether it asks for it). */
export const volumeIsSized = (v: VolumeState, size: string): boolean => !smaller(v.bound ? v.capacity : v.requested, size);
