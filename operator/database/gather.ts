/**
 * The database loop's reads: each instance over SQL (from the operator, TLS verified with the
 * stack's internal CA when the plan encrypts the database hop) and as the Kubernetes API reports
 * its pod and node. Never throws for an instance that does not answer: that is a fact to decide on.
 */
import type { DefaultedWebStack } from '../api/defaults.js';
import type { DatabaseStatus } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import { mariadb } from '../mysql/mariadb.js';
import { mysql84 } from '../mysql/mysql84.js';
import { semiSyncAckCount, type EngineAdapter } from '../mysql/engine.js';
import { observeInstance } from '../mysql/instance.js';
import type { GtidSet } from '../mysql/gtid.js';
import type { ConnectionTarget, ReplicationSource } from '../mysql/types.js';
import { MYSQL, TLS_FILES, podHost, stackNamespace } from '../blueprint/layout.js';
import { databaseOrdinal, names } from '../blueprint/names.js';
import { stackPlan } from '../blueprint/plan.js';
import type { ClusterFacts, InstanceFacts, PodFacts } from './facts.js';

export const adapterOf = (stack: DefaultedWebStack): EngineAdapter => (stack.spec.database.engine === 'mariadb' ? mariadb : mysql84);

interface PodLike extends KubeObject {
  spec?: { nodeName?: string };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

/** How the operator reaches each instance and how the instances reach each other. */
export interface Wiring {
  adapter: EngineAdapter;
  /** Connection to the instance `name`; undefined while its pod has no IP. */
  target(name: string): ConnectionTarget | undefined;
  /** The replication source `name` as the other instances reach it. */
  source(name: string): ReplicationSource;
}

export type WiringResult = { ok: true; wiring: Wiring } | { ok: false; reason: string };

const decode = (secret: KubeObject | undefined, key: string): string | undefined => {
  const value = (secret as (KubeObject & { data?: Record<string, string> }) | undefined)?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
};

/**
 * The instances observed: those the spec asks for, and a recorded primary beyond them (a scale
 * down), which must move first: the StatefulSet keeps its pod until then (render/database.ts).
 */
function members(stack: DefaultedWebStack, primary: string | undefined): { all: string[]; scaleDown?: { reason: string } } {
  const asked = instanceNames(stack);
  const ordinal = databaseOrdinal(stack.metadata.name, primary);
  if (primary === undefined || ordinal === undefined || ordinal < asked.length) return { all: asked };
  return { all: [...asked, primary], scaleDown: { reason: `spec.database.replicas is ${String(asked.length)}: ${primary} is beyond it (a scale down)` } };
}

export function instanceNames(stack: DefaultedWebStack): string[] {
  const base = names(stack.metadata.name).mysql;
  return Array.from({ length: stack.spec.database.replicas }, (_, i) => `${base}-${i}`);
}

/** Credentials and CA from the cached Secrets; a reason when one is not there yet. */
export function wiring(caches: Lookup, stack: DefaultedWebStack): WiringResult {
  const ns = stackNamespace(stack);
  const n = names(stack.metadata.name);
  const credentials = caches.get('Secret', ns, n.mysqlCredentials);
  const password = decode(credentials, MYSQL.secretKeys.operatorPassword);
  const replicationPassword = decode(credentials, MYSQL.secretKeys.replicationPassword);
  if (password === undefined || replicationPassword === undefined) return { ok: false, reason: `waiting for Secret ${n.mysqlCredentials}` };
  const { tls } = stackPlan(stack);
  const certSecret = tls.hops.toDatabase.verified ? tls.mounts.database.cert : undefined;
  const ca = certSecret === undefined ? undefined : decode(caches.get('Secret', ns, certSecret), TLS_FILES.ca);
  if (certSecret !== undefined && ca === undefined) return { ok: false, reason: `waiting for the database certificate Secret ${certSecret}` };
  const pods = new Map(caches.list('Pod', ns).map((p) => [p.metadata.name, p as PodLike]));
  const host = (name: string) => podHost(name, n.mysqlHeadless, ns);
  return {
    ok: true,
    wiring: {
      adapter: adapterOf(stack),
      target(name) {
        const ip = pods.get(name)?.status?.podIP;
        if (ip === undefined) return undefined;
        return {
          host: ip,
          port: MYSQL.port,
          user: MYSQL.users.operator,
          password,
          ...(ca === undefined ? {} : { tls: { ca, servername: host(name) } }),
          connectTimeoutMs: 2000,
        };
      },
      source: (name) => ({
        host: host(name),
        port: MYSQL.port,
        user: MYSQL.users.replication,
        password: replicationPassword,
        heartbeatSeconds: MYSQL.replicaLiveness.heartbeatSeconds,
        ...(ca === undefined ? {} : { caFile: `${MYSQL.certDir}/${TLS_FILES.ca}` }),
      }),
    },
  };
}

const condition = (obj: { status?: { conditions?: { type: string; status: string }[] } } | undefined, type: string): boolean | undefined => {
  const c = obj?.status?.conditions?.find((x) => x.type === type);
  return c === undefined ? undefined : c.status === 'True';
};

/** The StatefulSet controller's label naming the template revision a pod was made from. */
const REVISION_LABEL = 'controller-revision-hash';

/** The connect timeout for an instance that did not answer the last look (others: 2 s). */
const SILENT_CONNECT_TIMEOUT_MS = 1000;

/** Where the kubelets' heartbeats live (one Lease per node, named after it). */
const NODE_LEASE_NAMESPACE = 'kube-node-lease';

interface LeaseLike extends KubeObject {
  spec?: { renewTime?: string; leaseDurationSeconds?: number };
}

/**
 * The pod as the API server reports it. Its node's Ready condition and heartbeat are read only
 * for an instance that does not answer over SQL: they are evidence for that case alone, and two
 * GETs per instance and look would be most of the loop's requests at a thousand stacks.
 */
async function podFacts(pod: PodLike | undefined, answers: boolean, updateRevision: string | undefined, objects: Pick<ObjectApi, 'getObject'>, now: number): Promise<PodFacts> {
  if (!pod) return { exists: false, ready: false, terminating: false, nodeReady: undefined, outdated: false };
  const revision = pod.metadata.labels?.[REVISION_LABEL];
  const facts: PodFacts = {
    exists: true,
    ready: condition(pod, 'Ready') === true,
    terminating: pod.metadata.deletionTimestamp !== undefined,
    nodeReady: undefined,
    outdated: updateRevision !== undefined && revision !== undefined && revision !== updateRevision,
  };
  const nodeName = pod.spec?.nodeName;
  if (answers || !nodeName) return facts;
  const [node, lease] = await Promise.all([
    objects.getObject<PodLike>({ apiVersion: 'v1', kind: 'Node', name: nodeName }).catch(() => undefined),
    objects.getObject<LeaseLike>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: nodeName, namespace: NODE_LEASE_NAMESPACE }).catch(() => undefined),
  ]);
  const renewed = lease?.spec?.renewTime === undefined ? NaN : Date.parse(lease.spec.renewTime);
  const duration = lease?.spec?.leaseDurationSeconds;
  return {
    ...facts,
    nodeReady: condition(node, 'Ready'),
    ...(Number.isNaN(renewed) || duration === undefined ? {} : { nodeLease: { renewedAgoMs: now - renewed, durationMs: duration * 1000 } }),
  };
}

/**
 * When an instance last answered, and since when it is silent (absent while it answers). Silence
 * counts from the last answer, not from the first look that missed it: a look every 5 s would
 * otherwise add up to 5 s to every failover (a primary's power cut on the defaults took 22 s). One
 * that never answered this process counts from its first miss.
 */
export interface Contact {
  answeredAt?: number;
  silentSince?: number;
  /** Whether it held data at its last answer (a new cluster's primary holds none). */
  heldData?: boolean;
}

/**
 * The primary's executed GTID sets at recent looks, oldest first, kept by the loop per stack and
 * started afresh when the primary changes (a replaced primary's sets may hold what the new one
 * never had). Long enough to see a replica more than MYSQL.maxReplicaLagSeconds behind.
 */
export interface PrimaryHistory {
  primary?: string;
  samples: { at: number; executed: GtidSet }[];
}

const HISTORY_MS = (MYSQL.maxReplicaLagSeconds + 30) * 1000;

/** How long ago the primary had executed a transaction `executed` lacks (the oldest sample it does not include); 0 when none. */
export function lacksPrimaryWritesForMs(history: PrimaryHistory, executed: GtidSet, now: number): number {
  const missing = history.samples.find((s) => !executed.includes(s.executed));
  return missing === undefined ? 0 : now - missing.at;
}

/** Adds the primary's set of this look, dropping samples past the window and those of another primary. */
export function recordPrimary(history: PrimaryHistory, primary: string, executed: GtidSet, now: number): void {
  if (history.primary !== primary) history.samples = [];
  history.primary = primary;
  history.samples = [...history.samples.filter((s) => now - s.at <= HISTORY_MS), { at: now, executed }];
}

export interface GatherInput {
  stack: DefaultedWebStack;
  wiring: Wiring;
  caches: Lookup;
  objects: Pick<ObjectApi, 'getObject'>;
  /** Per instance, what the loop remembers of its answers between looks. */
  contact: Map<string, Contact>;
  /** This stack's primary's recent GTID sets (kept by the loop; updated here). */
  primaryHistory: PrimaryHistory;
  now: number;
  failoverDelayMs: number;
  switchoverRequested?: { reason: string };
}

/** Each answering replica's lack of the primary's earlier writes; then the primary's set of this look joins the history. */
function withWhatReplicasLack(instances: InstanceFacts[], primary: string | undefined, history: PrimaryHistory, now: number): InstanceFacts[] {
  const current = instances.find((i) => i.name === primary);
  if (!current?.sql.reachable || primary === undefined) return instances;
  const behind = (i: InstanceFacts): InstanceFacts =>
    i.sql.reachable ? { ...i, lacksPrimaryWritesForMs: lacksPrimaryWritesForMs(history, i.sql.executed, now), receivedBehindPrimaryMs: lacksPrimaryWritesForMs(history, i.sql.received, now) } : i;
  const out = instances.map((i) => (i === current || history.primary !== primary ? i : behind(i)));
  recordPrimary(history, primary, current.sql.executed, now);
  return out;
}

/** What status.database recorded that the decision needs: the release of acks, the last failover. */
function recordedFacts(recorded: DatabaseStatus | undefined, now: number): Pick<ClusterFacts, 'acksReleasedSince' | 'failedOverFrom'> {
  return {
    ...(recorded?.acksReleased ? { acksReleasedSince: recorded.acksReleased.since } : {}),
    ...(recorded?.lastFailover ? { failedOverFrom: { name: recorded.lastFailover.from, agoMs: now - Date.parse(recorded.lastFailover.time) } } : {}),
  };
}

/**
 * The replicas first, the primary last: a replica's view may then lag the primary's, never lead
 * it. Read the other way round, a transaction the primary committed between the two reads looks
 * like one the replica has and the primary lacks, and the replica would be excluded. A primary
 * that did not answer the last look is dialled beside the replicas: its connect timeout would
 * otherwise lengthen every look of a failover; should it answer again, an exclusion needs more
 * than this one look (ExclusionGate).
 */
async function observeInOrder(all: readonly string[], primary: string | undefined, silent: boolean, observe: (name: string) => Promise<InstanceFacts>): Promise<InstanceFacts[]> {
  const early = primary !== undefined && silent ? observe(primary) : undefined;
  const replicas = await Promise.all(all.filter((n) => n !== primary).map(observe));
  return primary === undefined ? replicas : [...replicas, await (early ?? observe(primary))];
}

export async function gatherCluster(input: GatherInput): Promise<ClusterFacts> {
  const { stack, wiring: w } = input;
  const ns = stackNamespace(stack);
  const recorded: DatabaseStatus | undefined = stack.status?.database;
  const statefulSet = input.caches.get('StatefulSet', ns, names(stack.metadata.name).mysql) as (KubeObject & { status?: { updateRevision?: string } }) | undefined;
  const updateRevision = statefulSet?.status?.updateRevision;
  const observe = async (name: string): Promise<InstanceFacts> => {
    const pod = input.caches.get('Pod', ns, name) as PodLike | undefined;
    const key = `${ns}/${name}`;
    const target = w.target(name);
    const contact = input.contact.get(key) ?? {};
    // One that did not answer the last look gets a shorter connect timeout: each look of a failover waits for it.
    const dial = target && contact.silentSince !== undefined ? { ...target, connectTimeoutMs: SILENT_CONNECT_TIMEOUT_MS } : target;
    const sql = dial ? await observeInstance(w.adapter, dial) : { reachable: false as const, error: 'the pod has no IP' };
    const since = sql.reachable ? undefined : (contact.silentSince ?? contact.answeredAt ?? input.now);
    input.contact.set(key, since === undefined ? { answeredAt: input.now, heldData: sql.reachable && !sql.dataDirEmpty } : { ...contact, silentSince: since });
    return {
      name,
      address: { host: w.source(name).host, port: MYSQL.port },
      pod: await podFacts(pod, sql.reachable, updateRevision, input.objects, input.now),
      sql,
      unreachableForMs: since === undefined ? 0 : input.now - since,
      ...(since === undefined || contact.heldData === undefined ? {} : { heldDataWhenLastSeen: contact.heldData }),
    };
  };
  const { all, scaleDown } = members(stack, recorded?.primary);
  const primary = recorded?.primary !== undefined && all.includes(recorded.primary) ? recorded.primary : undefined;
  const silent = primary !== undefined && input.contact.get(`${ns}/${primary}`)?.silentSince !== undefined;
  const byName = new Map((await observeInOrder(all, primary, silent, observe)).map((i) => [i.name, i]));
  const instances = withWhatReplicasLack(all.flatMap((name) => byName.get(name) ?? []), primary, input.primaryHistory, input.now);
  const switchoverRequested = input.switchoverRequested ?? scaleDown;
  return {
    instances,
    primary: recorded?.primary,
    excluded: (recorded?.excluded ?? []).map((e) => e.name),
    failoverDelayMs: input.failoverDelayMs,
    ackCount: semiSyncAckCount(w.adapter.engine, instances.length),
    durability: stack.spec.database.durability,
    ...recordedFacts(recorded, input.now),
    maxLagSeconds: MYSQL.maxReplicaLagSeconds,
    ...(switchoverRequested ? { switchoverRequested } : {}),
  };
}
