/**
 * One reconcile of one WebStack: observe (caches) -> render (pure) -> apply what differs (SSA)
 * -> prune what is no longer rendered -> status (written only when it changed).
 *
 * Level-triggered: every run starts from what the caches show now, so restarts, missed events and
 * deleted children all converge the same way. Reads come from the caches; the only requests are
 * writes that change something, plus a look-up of the user's issuer and sink Secret.
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { withDefaults, type DefaultedWebStack } from '../api/defaults.js';
import type { Condition, WebStack, WebStackStatus } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeClient } from '../kube/client.js';
import { isAlreadyExists, isNotFound, KubeApiError } from '../kube/errors.js';
import type { KubeObject } from '../kube/types.js';
import { resourcePath } from '../kube/types.js';
import { render, type RenderFacts } from '../render/index.js';
import { agentNames } from '../render/logging.js';
import { MYSQL } from '../render/config/layout.js';
import { commonLabels, names } from '../render/names.js';
import type { ProcessResult } from '../runtime/queue.js';
import { satisfies } from './diff.js';
import { mysqlPods, observe } from './observe.js';
import { computeStatus } from './status.js';
import {
  API_VERSION,
  CERTIFICATE_NAME_ANNOTATION,
  DB_ROLE_LABEL,
  FIELD_MANAGER,
  FINALIZER,
  INSTANCE_LABEL,
  KIND,
  OWNER_NAME_LABEL,
  OWNER_NAMESPACE_LABEL,
  type OptionalApis,
} from '../api/identity.js';
import { CHILD_KINDS } from '../api/kinds.js';
import type { Lookup } from '../kube/lookup.js';

/** Children of one kind applied at the same time, at most. */
const APPLY_PARALLELISM = 8;

/** Consecutive objects of the same kind, in order. */
function runsOfOneKind(objects: KubeObject[]): KubeObject[][] {
  const runs: KubeObject[][] = [];
  for (const obj of objects) {
    const last = runs[runs.length - 1];
    if (last?.[0]?.kind === obj.kind) last.push(obj);
    else runs.push([obj]);
  }
  return runs;
}

interface IssuedCertificate extends KubeObject {
  spec?: { secretName?: string };
  status?: { revision?: number };
}

/** How long a found issuer is believed to exist before it is read again. */
const ISSUER_FOUND_TTL_MS = 60_000;

/** How soon a stack that waits on something outside the operator's view (an issuer, a Secret) is checked again. */
const STALLED_RECHECK_MS = 30_000;

export interface ReconcilerDeps {
  stacks: { get(namespace: string, name: string): WebStack | undefined };
  caches: Lookup;
  client: Pick<KubeClient, 'request'>;
  objects: Pick<ObjectApi, 'applyObject' | 'applyStatus' | 'deleteObject' | 'getObject'>;
  /** Which optional APIs are served (and watched): discovery, cached by the caller. */
  optionalApis: () => Promise<OptionalApis>;
  agentNamespace: string;
  logger: Logger;
  now?: () => Date;
}

type Events = { type: 'Normal' | 'Warning'; reason: string; message: string }[];

export class Reconciler {
  private readonly now: () => Date;
  /** Issuers found, by path, until when the finding is trusted (see issuerExists). */
  private readonly issuersFound = new Map<string, number>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string, log: Logger): Promise<ProcessResult | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const raw = this.deps.stacks.get(namespace, name);
    if (!raw) return undefined; // Deleted: owner references let the garbage collector take the children.
    if (raw.metadata.deletionTimestamp) {
      await this.finalize(raw, log);
      return undefined;
    }
    const stack = withDefaults(raw);
    if (!raw.metadata.finalizers?.includes(FINALIZER)) await this.setFinalizer(raw, true);

    const apis = await this.deps.optionalApis();
    const credentialsVersion = await this.ensureCredentials(stack, log);
    const facts = this.renderFacts(stack, apis, { [names(name).mysqlCredentials]: credentialsVersion });
    const desired = render(stack, facts).map((o) => this.own(o, raw));
    const sink = await this.logSinkSecretCopy(stack);
    if (sink.copy) desired.unshift(this.own(sink.copy, raw));
    const logCredentialsFound = sink.found;

    const applyErrors = await this.applyAll(desired, log);
    await this.prune(raw, desired, log);
    await this.labelDatabasePods(stack, log);

    const issuerFound = apis.certManager ? await this.issuerExists(stack) : undefined;
    const observation = observe(this.deps.caches, stack, { ...apis, agentNamespace: this.deps.agentNamespace }, {
      applyErrors,
      ...(issuerFound !== undefined ? { issuerFound } : {}),
      ...(logCredentialsFound !== undefined ? { logCredentialsFound } : {}),
    });
    const status = computeStatus(stack, observation, raw.status, this.now().toISOString());
    if (!isDeepStrictEqual(status, raw.status)) {
      log.debug({ before: raw.status, after: status }, 'status changed');
      await this.writeStatus(raw, status);
      await this.recordTransitions(raw, transitions(raw.status?.conditions, status.conditions ?? []), log);
    }
    const failures = Object.entries(applyErrors);
    if (failures.length > 0) {
      // Thrown after the status is written, so the queue backs this key off while the user reads why.
      throw new Error(`${failures.length} children were refused: ${failures.map(([k, m]) => `${k}: ${m}`).join('; ')}`);
    }
    const stalled = status.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True');
    return stalled ? { requeueAfterMs: STALLED_RECHECK_MS } : undefined;
  }

  /** `known`: Secret versions learned in this reconcile, before the cache has caught up. */
  private renderFacts(stack: DefaultedWebStack, apis: OptionalApis, known: Record<string, string>): RenderFacts {
    const ns = stack.metadata.namespace;
    const secretVersions: Record<string, string> = { ...known };
    const ours = (o: KubeObject) => o.metadata.labels?.[INSTANCE_LABEL] === stack.metadata.name;
    // A certificate's Secret counts by renewals (cert-manager's status.revision less the first
    // issuance), not by resourceVersion: a pod created before its first certificate waits for the
    // volume and then starts, so that arrival must not roll it (it would double every new stack's
    // pod churn), while every renewal must, for the servers to load the new certificate.
    for (const secret of this.deps.caches.list('Secret', ns)) {
      if (!ours(secret) || !secret.metadata.resourceVersion || secret.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION]) continue;
      secretVersions[secret.metadata.name] = secret.metadata.resourceVersion;
    }
    for (const cert of this.deps.caches.list('Certificate', ns) as IssuedCertificate[]) {
      const renewals = (cert.status?.revision ?? 1) - 1;
      if (ours(cert) && cert.spec?.secretName && renewals > 0) secretVersions[cert.spec.secretName] = `renewals:${renewals}`;
    }
    const facts: RenderFacts = { ...apis, agentNamespace: this.deps.agentNamespace, secretVersions };
    // volumeClaimTemplates are immutable: keep what the StatefulSet was created with.
    const sts = this.deps.caches.get('StatefulSet', ns, names(stack.metadata.name).mysql) as
      | { spec?: { volumeClaimTemplates?: { spec?: { resources?: { requests?: { storage?: string } }; storageClassName?: string } }[] } }
      | undefined;
    const claim = sts?.spec?.volumeClaimTemplates?.[0]?.spec;
    const size = claim?.resources?.requests?.storage;
    if (size) {
      facts.existing = { mysqlStorage: { size, ...(claim.storageClassName ? { storageClassName: claim.storageClassName } : {}) } };
    }
    return facts;
  }

  /** Owner labels on every child; an owner reference where the garbage collector can follow it. */
  private own(obj: KubeObject, owner: WebStack): KubeObject {
    const labels = { ...obj.metadata.labels, [OWNER_NAMESPACE_LABEL]: owner.metadata.namespace ?? '', [OWNER_NAME_LABEL]: owner.metadata.name };
    const metadata: KubeObject['metadata'] = { ...obj.metadata, labels };
    if (obj.metadata.namespace === owner.metadata.namespace && owner.metadata.uid) {
      metadata.ownerReferences = [
        { apiVersion: API_VERSION, kind: KIND, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true },
      ];
    }
    return { ...obj, metadata };
  }

  private async applyAll(desired: KubeObject[], log: Logger): Promise<Record<string, string>> {
    const errors: Record<string, string> = {};
    const applyOne = async (obj: KubeObject): Promise<void> => {
      const live = this.deps.caches.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
      if (live && satisfies(obj, live)) return;
      try {
        await this.deps.objects.applyObject(obj, { fieldManager: FIELD_MANAGER, force: true });
        log.debug({ kind: obj.kind, name: obj.metadata.name, created: !live }, 'applied');
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        errors[`${obj.kind}/${obj.metadata.name}`] = message;
        log.warn({ kind: obj.kind, name: obj.metadata.name, err: message }, 'apply refused');
      }
    };
    // Render's order holds between kinds (policies first, the CA chain before what it signs,
    // configs and Services before workloads). Objects of one kind in a row do not depend on each
    // other, so they are applied together, a few at a time: one round trip instead of several.
    for (const run of runsOfOneKind(desired)) {
      for (let i = 0; i < run.length; i += APPLY_PARALLELISM) await Promise.all(run.slice(i, i + APPLY_PARALLELISM).map(applyOne));
    }
    return errors;
  }

  /** Children of this stack that render no longer produces (e.g. monitoring turned off). */
  private async prune(owner: WebStack, desired: KubeObject[], log: Logger): Promise<void> {
    const wanted = new Set(desired.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`));
    for (const kind of CHILD_KINDS.filter((k) => k.prune)) {
      for (const obj of this.ownedChildren(owner, kind.kind)) {
        if (wanted.has(`${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`)) continue;
        await this.deleteChild(obj, log, 'pruned');
      }
    }
  }

  private ownedChildren(owner: WebStack, kind: string): KubeObject[] {
    return this.deps.caches
      .list(kind)
      .filter(
        (o) => o.metadata.labels?.[OWNER_NAMESPACE_LABEL] === owner.metadata.namespace && o.metadata.labels?.[OWNER_NAME_LABEL] === owner.metadata.name,
      );
  }

  private async deleteChild(obj: KubeObject, log: Logger, why: string): Promise<void> {
    const { namespace } = obj.metadata;
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, ...(namespace ? { namespace } : {}) };
    const preconditions = obj.metadata.uid ? { preconditions: { uid: obj.metadata.uid } } : {};
    await this.deps.objects.deleteObject(ref, { propagationPolicy: 'Background', ...preconditions });
    log.info({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, why);
  }

  /**
   * The MySQL passwords: generated once with a cryptographic RNG and created, never updated, so
   * no edit or restart can replace them. Creation races (two reconciles, a restart) end in
   * AlreadyExists, which leaves the first values in place.
   */
  private async ensureCredentials(stack: DefaultedWebStack, log: Logger): Promise<string> {
    const ns = stack.metadata.namespace ?? '';
    const name = names(stack.metadata.name).mysqlCredentials;
    const cached = this.deps.caches.get('Secret', ns, name);
    if (cached?.metadata.resourceVersion) return cached.metadata.resourceVersion;
    const password = () => randomBytes(24).toString('base64url');
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: ns,
        labels: { ...commonLabels(stack.metadata.name, 'database'), [OWNER_NAMESPACE_LABEL]: ns, [OWNER_NAME_LABEL]: stack.metadata.name },
      },
      type: 'Opaque',
      stringData: Object.fromEntries(Object.values(MYSQL.secretKeys).map((key) => [key, password()])),
    };
    try {
      const created = (await this.deps.client.request({
        method: 'POST',
        path: resourcePath({ group: '', version: 'v1' }, 'secrets', { namespace: ns }),
        body: secret,
      })) as KubeObject;
      log.info({ secret: name }, 'generated database credentials');
      return created.metadata.resourceVersion ?? '';
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.deps.objects.getObject({ apiVersion: 'v1', kind: 'Secret', name, namespace: ns });
      return existing?.metadata.resourceVersion ?? '';
    }
  }

  /**
   * The log agent runs in the agent namespace and can only read Secrets there, so the sink's
   * credentials are copied next to it. Says whether the user's Secret exists (nothing when none is
   * configured) and returns the copy to apply with the other children.
   */
  private async logSinkSecretCopy(stack: DefaultedWebStack): Promise<{ found?: boolean; copy?: KubeObject }> {
    const { logging } = stack.spec;
    const ref = logging.sink.credentialsSecretRef;
    if (!logging.enabled || !ref) return {};
    const source = await this.deps.objects.getObject<KubeObject & { data?: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'Secret',
      name: ref.name,
      namespace: stack.metadata.namespace ?? '',
    });
    if (!source) return { found: false };
    const copy = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: agentNames(stack.metadata.namespace ?? '', stack.metadata.name).sinkSecret,
        namespace: this.deps.agentNamespace,
        labels: commonLabels(stack.metadata.name, 'log-agent'),
      },
      type: 'Opaque',
      data: source.data ?? {},
    };
    return { found: true, copy };
  }

  /**
   * The `-primary` and `-replicas` Services select MySQL pods by role label. The primary stays
   * where status says it is while that pod exists; a new stack starts with ordinal 0.
   */
  private async labelDatabasePods(stack: DefaultedWebStack, log: Logger): Promise<void> {
    const pods = mysqlPods(this.deps.caches, stack);
    if (pods.length === 0) return;
    const recorded = stack.status?.database?.primary;
    const primary = pods.some((p) => p.metadata.name === recorded) ? recorded : `${names(stack.metadata.name).mysql}-0`;
    for (const pod of pods) {
      const role = pod.metadata.name === primary ? 'primary' : 'replica';
      if (pod.metadata.labels?.[DB_ROLE_LABEL] === role) continue;
      await this.deps.client.request({
        method: 'PATCH',
        path: resourcePath({ group: '', version: 'v1' }, 'pods', { namespace: pod.metadata.namespace, name: pod.metadata.name }),
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { [DB_ROLE_LABEL]: role } } },
      });
      log.info({ pod: pod.metadata.name, role }, 'labelled database pod');
    }
  }

  /**
   * One issuer usually serves every stack (a ClusterIssuer), and a reconcile runs on every change
   * of every child, so a found issuer is trusted for ISSUER_FOUND_TTL_MS instead of being read
   * each time: a deleted issuer is reported that much later. A missing one is read again on every
   * reconcile, so a stalled stack sees it appear at its next recheck.
   */
  private async issuerExists(stack: DefaultedWebStack): Promise<boolean | undefined> {
    const { issuerRef } = stack.spec.tls;
    // External issuers (other groups) are not ours to check; cert-manager reports on them.
    if (issuerRef.group !== 'cert-manager.io') return undefined;
    const ref = {
      apiVersion: 'cert-manager.io/v1',
      kind: issuerRef.kind,
      name: issuerRef.name,
      ...(issuerRef.kind === 'Issuer' ? { namespace: stack.metadata.namespace } : {}),
    };
    const key = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
    const now = this.now().getTime();
    if ((this.issuersFound.get(key) ?? 0) > now) return true;
    const found = (await this.deps.objects.getObject(ref)) !== undefined;
    if (found) this.issuersFound.set(key, now + ISSUER_FOUND_TTL_MS);
    else this.issuersFound.delete(key);
    return found;
  }

  private async writeStatus(raw: WebStack, status: WebStackStatus): Promise<void> {
    await this.deps.objects.applyStatus(
      { apiVersion: API_VERSION, kind: KIND, metadata: { name: raw.metadata.name, namespace: raw.metadata.namespace ?? '' }, status },
      { fieldManager: FIELD_MANAGER, force: true },
    );
  }

  /**
   * Deletion: namespaced children go with the garbage collector (owner references). What it cannot
   * reach is removed here: children in the agent namespace, and the credentials Secret when the
   * data goes too (deletionPolicy Delete); with Retain they stay, so retained volumes keep their
   * passwords.
   */
  private async finalize(raw: WebStack, log: Logger): Promise<void> {
    if (!raw.metadata.finalizers?.includes(FINALIZER)) return;
    const stack = withDefaults(raw);
    for (const kind of CHILD_KINDS) {
      for (const obj of this.ownedChildren(raw, kind.kind)) {
        const elsewhere = obj.metadata.namespace !== raw.metadata.namespace;
        const credentials = obj.kind === 'Secret' && obj.metadata.name === names(raw.metadata.name).mysqlCredentials;
        if (elsewhere || (credentials && stack.spec.database.deletionPolicy === 'Delete')) await this.deleteChild(obj, log, 'cleaned up');
      }
    }
    await this.setFinalizer(raw, false);
  }

  private async setFinalizer(raw: WebStack, present: boolean): Promise<void> {
    const current = raw.metadata.finalizers ?? [];
    const finalizers = present ? [...current, FINALIZER] : current.filter((f) => f !== FINALIZER);
    try {
      await this.deps.client.request({
        method: 'PATCH',
        path: resourcePath({ group: 'webstack.dev', version: 'v1alpha1' }, 'webstacks', { namespace: raw.metadata.namespace, name: raw.metadata.name }),
        contentType: 'application/merge-patch+json',
        // resourceVersion makes this a compare-and-swap: another writer's finalizers are never lost.
        body: { metadata: { finalizers, resourceVersion: raw.metadata.resourceVersion } },
      });
    } catch (err) {
      if (present || !isNotFound(err)) throw err;
    }
  }

  private async recordTransitions(raw: WebStack, events: Events, log: Logger): Promise<void> {
    const now = this.now().toISOString();
    for (const e of events) {
      const event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${raw.metadata.name}.`, namespace: raw.metadata.namespace },
        involvedObject: { apiVersion: API_VERSION, kind: KIND, name: raw.metadata.name, namespace: raw.metadata.namespace, uid: raw.metadata.uid },
        type: e.type,
        reason: e.reason,
        message: e.message,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
      };
      try {
        await this.deps.client.request({ method: 'POST', path: resourcePath({ group: '', version: 'v1' }, 'events', { namespace: raw.metadata.namespace }), body: event });
      } catch (err) {
        // Events are best effort: losing one must not fail the reconcile.
        log.warn({ err: err instanceof KubeApiError ? err.message : String(err) }, 'could not record event');
      }
    }
  }
}

/**
 * Events for conditions whose status changed: Ready either way (Normal: waiting is normal; what
 * needs a person is Stalled), Stalled turning True, and a concern that was True turning False.
 */
export function transitions(before: Condition[] | undefined, after: Condition[]): Events {
  const events: Events = [];
  for (const c of after) {
    const old = before?.find((b) => b.type === c.type);
    if (old?.status === c.status) continue;
    if (c.type === 'Ready') {
      events.push({ type: 'Normal', reason: c.status === 'True' ? 'Ready' : c.reason, message: c.message });
    } else if (c.type === 'Stalled' && c.status === 'True') {
      events.push({ type: 'Warning', reason: c.reason, message: c.message });
    } else if (c.type.endsWith('Ready') && c.status === 'False' && old !== undefined) {
      events.push({ type: 'Warning', reason: c.reason, message: `${c.type}: ${c.message}` });
    }
  }
  return events;
}

