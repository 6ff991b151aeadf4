/**
 * An in-memory stand-in for the API server and the operator's caches, for the fast reconcile
 * tests: one store serves as both the cache (Lookup) and the object API, so a write is "watched"
 * at once. Server-side apply stores the applied object as sent (a real server would merge, but the
 * operator's own fields are what the reconciler compares), and every write is logged, so a test
 * can say "the second reconcile wrote nothing".
 */
import type { NewObject } from '../../operator/kube/apply.js';
import { KubeApiError } from '../../operator/kube/errors.js';
import type { Lookup } from '../../operator/kube/lookup.js';
import type { KubeObject, ObjectRef } from '../../operator/kube/types.js';

export interface Write {
  verb: 'apply' | 'applyStatus' | 'create' | 'delete' | 'patch';
  kind: string;
  namespace: string;
  name: string;
  /** Delete only: the propagation policy asked for. */
  propagationPolicy?: string;
}

type Stored = KubeObject & Record<string, unknown>;

/**
 * A deep copy made in this realm: structuredClone's copies come from Node's own realm, whose
 * Object.prototype differs from jest's, and isDeepStrictEqual tells them apart.
 */
export const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const keyOf = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  const entries = Object.entries(patch);
  const removed = new Set(entries.filter(([, v]) => v === null).map(([k]) => k));
  const kept = Object.entries(out).filter(([k]) => !removed.has(k));
  return Object.fromEntries([...kept, ...entries.filter(([k]) => !removed.has(k)).map(([k, v]) => [k, mergePatch(out[k], v)])]);
}

/** As the API server stores a Secret: stringData folded into data, base64-encoded. */
function folded<T extends Stored>(obj: T): T {
  const secret = obj as T & { stringData?: Record<string, string>; data?: Record<string, string> };
  if (secret.kind !== 'Secret' || !secret.stringData) return obj;
  const { stringData, ...rest } = secret;
  const encoded = Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return { ...rest, data: { ...rest.data, ...encoded } } as T;
}

export class FakeCluster implements Lookup {
  readonly writes: Write[] = [];
  private readonly objects = new Map<string, Stored>();
  private revision = 0;

  /** Puts an object in place as if something else had created it (no write is logged). */
  seed<T extends KubeObject>(obj: T): T {
    return this.store(clone(obj) as unknown as Stored) as unknown as T;
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(keyOf(kind, namespace, name));
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
  }

  /** Writes since the last call, and forgets them. */
  takeWrites(): Write[] {
    return this.writes.splice(0);
  }

  // ---- the ObjectApi subset the reconciler uses ----

  applyObject<T extends KubeObject>(obj: T): Promise<T> {
    this.log('apply', obj);
    const live = this.objects.get(keyOf(obj.kind, obj.metadata.namespace, obj.metadata.name));
    const next = { ...clone(obj), ...(live && 'status' in live ? { status: live.status } : {}) } as unknown as Stored;
    next.metadata = { ...next.metadata, ...(live?.metadata.uid ? { uid: live.metadata.uid } : {}) };
    return Promise.resolve(this.store(next) as unknown as T);
  }

  applyStatus<T extends KubeObject & { status?: unknown }>(obj: T): Promise<T> {
    this.log('applyStatus', obj);
    const live = this.mustGet(obj);
    return Promise.resolve(this.store({ ...live, status: clone(obj.status) }) as unknown as T);
  }

  createObject(obj: NewObject): Promise<KubeObject> {
    const name = obj.metadata.name ?? `${obj.metadata.generateName ?? ''}${this.revision + 1}`;
    const full = { ...clone(obj), metadata: { ...obj.metadata, name } } as Stored;
    if (this.get(full.kind, full.metadata.namespace, name)) return Promise.reject(new KubeApiError(409, 'AlreadyExists', `${full.kind} ${name} already exists`));
    this.log('create', full);
    return Promise.resolve(this.store(folded(full)));
  }

  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    const live = this.mustGet(ref);
    this.log('patch', live);
    const { resourceVersion, ...metadataPatch } = (patch.metadata ?? {}) as Record<string, unknown>;
    if (resourceVersion !== undefined && resourceVersion !== live.metadata.resourceVersion) {
      return Promise.reject(new KubeApiError(409, 'Conflict', `${ref.kind} ${ref.name} was modified`));
    }
    return Promise.resolve(this.store(folded(mergePatch(live, { ...patch, metadata: metadataPatch }) as Stored)));
  }

  getObject<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    return Promise.resolve(this.get(ref.kind, ref.namespace, ref.name) as T | undefined);
  }

  deleteObject(ref: ObjectRef, options: { propagationPolicy?: string } = {}): Promise<boolean> {
    const key = keyOf(ref.kind, ref.namespace, ref.name);
    if (!this.objects.has(key)) return Promise.resolve(false);
    this.writes.push({ verb: 'delete', kind: ref.kind, namespace: ref.namespace ?? '', name: ref.name, ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}) });
    this.objects.delete(key);
    return Promise.resolve(true);
  }

  private mustGet(ref: { kind: string; metadata?: { namespace?: string; name: string }; namespace?: string; name?: string }): Stored {
    const namespace = ref.metadata?.namespace ?? ref.namespace;
    const name = ref.metadata?.name ?? ref.name ?? '';
    const live = this.objects.get(keyOf(ref.kind, namespace, name));
    if (!live) throw new KubeApiError(404, 'NotFound', `${ref.kind} ${name} not found`);
    return live;
  }

  private store(obj: Stored): Stored {
    this.revision += 1;
    const uid = obj.metadata.uid ?? `uid-${this.revision}`;
    const stored = { ...obj, metadata: { ...obj.metadata, uid, resourceVersion: String(this.revision) } };
    this.objects.set(keyOf(stored.kind, stored.metadata.namespace, stored.metadata.name), stored);
    return stored;
  }

  private log(verb: Write['verb'], obj: { kind: string; metadata: { namespace?: string; name?: string } }): void {
    this.writes.push({ verb, kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' });
  }
}
