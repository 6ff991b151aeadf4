/**
 * One reconcile of one WebStack, as a spine of steps, each in its own module:
 *
 *   gather (all reads) -> render (pure) -> plan (pure diff) -> apply -> prune -> grow volumes
 *   -> status (pure) -> events
 *
 * Level-triggered: every run starts from what the caches show now, so restarts, missed events and
 * deleted children all converge the same way. Reads come from the caches; the only requests are
 * writes that change something, plus a look-up of the user's issuer and sink Secret.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { withDefaults } from '../api/defaults.js';
import { API_VERSION, FIELD_MANAGER, KIND, type OptionalApis } from '../api/identity.js';
import { splitStackKey } from '../api/keys.js';
import type { ImageCatalog } from '../api/images.js';
import type { Peer, WebStack, WebStackStatus } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import { EventRecorder } from '../kube/events.js';
import type { Lookup } from '../kube/lookup.js';
import type { ProcessResult } from '../runtime/queue.js';
import { applyPlan } from './apply.js';
import { ensureCredentials } from './credentials.js';
import { desiredObjects, type OperatorFacts } from './desired.js';
import { recordEvents, transitions } from './events.js';
import { finalize, hasFinalizer, setFinalizer } from './finalize.js';
import { gather } from './gather.js';
import { observe } from './observe.js';
import { ownedChildren } from './ownership.js';
import { plan } from './plan.js';
import { prune } from './prune.js';
import type { LogDelivery } from '../blueprint/agent.js';
import { computeStatus } from './status.js';
import { databaseClaims, growVolumes } from './volumes.js';

/** How soon a stack that waits on something outside the operator's view (an issuer, a Secret) is checked again. */
const STALLED_RECHECK_MS = 30_000;

export interface ReconcilerDeps {
  stacks: { get(namespace: string, name: string): WebStack | undefined };
  caches: Lookup;
  objects: Pick<ObjectApi, 'applyObject' | 'applyStatus' | 'createObject' | 'deleteObject' | 'getObject' | 'mergePatch'>;
  /** Which optional APIs are served (and watched): discovery, cached by the caller. */
  optionalApis: () => Promise<OptionalApis>;
  agentNamespace: string;
  /** The database loop runs (runtime/config.ts databaseController): only then does a primary get chosen. */
  databaseController?: boolean;
  /** The operator's image catalog (runtime/config.ts), for the images a stack does not set. */
  images: ImageCatalog;
  /** What the shared log agent reports of the stack's delivery (operator/agent/delivery.ts). */
  logDelivery?: (namespace: string, name: string) => LogDelivery | undefined;
  /** Where the database controller connects from (runtime/config.ts operatorPeer); the database firewall admits it. */
  operatorPeer?: Peer;
  logger: Logger;
  now?: () => Date;
}

export class Reconciler {
  private readonly now: () => Date;
  private readonly recorder: EventRecorder;
  /** Issuers found, by `Kind/namespace/name`, until when the finding is trusted (gather.ts). */
  private readonly issuersFound = new Map<string, number>();
  private readonly operatorFacts: OperatorFacts;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.operatorFacts = {
      agentNamespace: deps.agentNamespace,
      images: deps.images,
      databaseController: deps.databaseController ?? true,
      ...(deps.operatorPeer ? { operatorPeer: deps.operatorPeer } : {}),
    };
    this.recorder = new EventRecorder(deps.objects, FIELD_MANAGER, this.now);
  }

  async reconcile(key: string, log: Logger): Promise<ProcessResult | undefined> {
    const { caches, objects, agentNamespace } = this.deps;
    const { namespace, name } = splitStackKey(key);
    const raw = this.deps.stacks.get(namespace, name);
    if (!raw) return undefined; // Deleted: owner references let the garbage collector take the children.
    if (raw.metadata.deletionTimestamp) {
      await finalize(objects, caches, raw, log);
      return undefined;
    }
    if (!hasFinalizer(raw)) await setFinalizer(objects, raw, true);
    const stack = withDefaults(raw);

    const gathered = await gather({ ...this.deps, issuersFound: this.issuersFound, now: this.now }, stack);
    const credentialsVersion = await ensureCredentials(objects, caches, stack, log);
    const desired = desiredObjects(raw, stack, gathered, credentialsVersion, this.operatorFacts);
    const steps = plan({ desired, live: caches, owned: ownedChildren(caches, raw) });
    const applyErrors = await applyPlan(objects, steps, log);
    await prune(objects, steps.prune, log);
    const volumes = await growVolumes(objects, stack, databaseClaims(caches, stack), log);

    const { issuerFound, sinkSecret } = gathered;
    const logDelivery = this.deps.logDelivery?.(namespace, name);
    const observation = observe(caches, stack, { ...gathered.apis, agentNamespace, databaseController: this.operatorFacts.databaseController }, {
      applyErrors,
      volumes,
      ...(issuerFound !== undefined ? { issuerFound } : {}),
      ...(sinkSecret !== undefined ? { logCredentialsFound: sinkSecret !== null } : {}),
      ...(logDelivery !== undefined ? { logDelivery } : {}),
    });
    const status = computeStatus(stack, observation, raw.status, this.now().toISOString());
    // status.database is the database loop's (its own field manager): not this loop's to compare or write.
    const { database: _database, ...ours } = raw.status ?? {};
    if (!isDeepStrictEqual(status, ours)) {
      log.debug({ before: raw.status, after: status }, 'status changed');
      await this.writeStatus(raw, status);
      await recordEvents(this.recorder, raw, transitions(raw.status?.conditions, status.conditions ?? []), log);
    }
    return outcome(applyErrors, status);
  }

  private async writeStatus(raw: WebStack, status: WebStackStatus): Promise<void> {
    const metadata = { name: raw.metadata.name, namespace: raw.metadata.namespace ?? '' };
    await this.deps.objects.applyStatus({ apiVersion: API_VERSION, kind: KIND, metadata, status }, { fieldManager: FIELD_MANAGER, force: true });
  }
}

/** Refusals fail the reconcile after the status is written, so the queue backs off while the user reads why. */
function outcome(applyErrors: Record<string, string>, status: WebStackStatus): ProcessResult | undefined {
  const failures = Object.entries(applyErrors);
  if (failures.length > 0) {
    throw new Error(`${failures.length} children were refused: ${failures.map(([k, m]) => `${k}: ${m}`).join('; ')}`);
  }
  const stalled = status.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True');
  return stalled ? { requeueAfterMs: STALLED_RECHECK_MS } : undefined;
}
