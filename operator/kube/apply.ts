/**
 * Reading and writing objects by server-side apply.
 *
 * Apply bodies are sent as raw JSON with `application/apply-patch+yaml` (JSON is YAML), never
 * through client-node's model serializer, which drops every field its generated models do not
 * know: a PodSpec field newer than the client, or anything in a CRD. Dropped fields are worse
 * than an error: SSA would then silently remove them from our field set.
 *
 * Sent verbatim, a field the server does not know fails the apply loudly instead of vanishing:
 * SSA refuses fields outside the kind's schema, built-in or custom, whatever `fieldValidation`
 * says (HTTP 500 "field not declared in schema"; see isInvalid()). A renderer typo, or a field
 * newer than the cluster, thus surfaces as an error naming the field.
 *
 * Besides apply: create (for objects written exactly once, like generated passwords) and JSON
 * merge patch (for a few fields of objects others own: finalizers, a pod's label).
 */
import type { KubeClient } from './client.js';
import type { ApiResource, Discovery } from './discovery.js';
import { KubeApiError, isNotFound } from './errors.js';
import { parseApiVersion, resourcePath, type KubeObject, type ObjectMeta, type ObjectRef } from './types.js';

export const APPLY_PATCH_CONTENT_TYPE = 'application/apply-patch+yaml';
export const MERGE_PATCH_CONTENT_TYPE = 'application/merge-patch+json';

export interface ApplyOptions {
  fieldManager: string;
  /** Take over fields owned by other managers instead of failing with a conflict. */
  force?: boolean;
  dryRun?: boolean;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  /** Delete only if the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

/** An object as the server returns it: what was sent, plus server-set metadata (resourceVersion, uid, ...). */
export type Stored<T extends KubeObject> = T & { metadata: ObjectMeta };

/** An object to create: named, or with a generateName prefix the server completes. */
export interface NewObject {
  apiVersion: string;
  kind: string;
  metadata: Omit<ObjectMeta, 'name'> & { name?: string; generateName?: string };
  [field: string]: unknown;
}

type Requester = Pick<KubeClient, 'request'>;
type ResourceResolver = Pick<Discovery, 'resourceFor'>;

export class ObjectApi {
  constructor(
    private readonly client: Requester,
    private readonly discovery: ResourceResolver,
  ) {}

  /** Server-side applies `obj` and returns the object as stored. */
  async applyObject<T extends KubeObject>(obj: T, options: ApplyOptions): Promise<Stored<T>> {
    const path = await this.pathOf(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace);
    return (await this.client.request({
      method: 'PATCH',
      path,
      query: applyQuery(options),
      body: obj,
      contentType: APPLY_PATCH_CONTENT_TYPE,
    })) as Stored<T>;
  }

  /**
   * Server-side applies the `status` of `obj` through the status subresource. Only apiVersion,
   * kind, name, namespace and status are sent, so this manager never claims any other field.
   */
  async applyStatus<T extends KubeObject & { status?: unknown }>(obj: T, options: ApplyOptions): Promise<Stored<T>> {
    const { name, namespace } = obj.metadata;
    const path = await this.pathOf(obj.apiVersion, obj.kind, name, namespace, 'status');
    const body = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: namespace === undefined ? { name } : { name, namespace },
      status: obj.status ?? {},
    };
    return (await this.client.request({
      method: 'PATCH',
      path,
      query: applyQuery(options),
      body,
      contentType: APPLY_PATCH_CONTENT_TYPE,
    })) as Stored<T>;
  }

  /** Creates `obj`; fails with AlreadyExists (409) when an object of that name exists. */
  async createObject(obj: NewObject): Promise<KubeObject> {
    const { name = obj.metadata.generateName ?? '', namespace } = obj.metadata;
    const resource = await this.resourceOf(obj.apiVersion, obj.kind, name, namespace);
    const path = resourcePath(parseApiVersion(obj.apiVersion), resource.name, { namespace: resource.namespaced ? namespace : undefined });
    return (await this.client.request({ method: 'POST', path, body: obj })) as KubeObject;
  }

  /**
   * JSON merge patch (RFC 7386): sets only the fields in `patch`, `null` removes one. With
   * `metadata.resourceVersion` in the patch it is a compare-and-swap (409 Conflict if stale).
   */
  async mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    const path = await this.pathOf(ref.apiVersion, ref.kind, ref.name, ref.namespace);
    return (await this.client.request({ method: 'PATCH', path, body: patch, contentType: MERGE_PATCH_CONTENT_TYPE })) as KubeObject;
  }

  /** The object, or undefined when it does not exist. */
  async getObject<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const path = await this.pathOf(ref.apiVersion, ref.kind, ref.name, ref.namespace);
    try {
      return (await this.client.request({ method: 'GET', path })) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Deletes the object. Returns false when it was already gone. */
  async deleteObject(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    const path = await this.pathOf(ref.apiVersion, ref.kind, ref.name, ref.namespace);
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', ...options };
    try {
      await this.client.request({ method: 'DELETE', path, body });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async resourceOf(apiVersion: string, kind: string, name: string, namespace: string | undefined): Promise<ApiResource> {
    const resource = await this.discovery.resourceFor(apiVersion, kind);
    if (resource.namespaced && !namespace) {
      throw new KubeApiError(400, 'BadRequest', `${kind} ${name} is namespaced but has no metadata.namespace`);
    }
    return resource;
  }

  private async pathOf(apiVersion: string, kind: string, name: string, namespace: string | undefined, subresource?: string): Promise<string> {
    const resource = await this.resourceOf(apiVersion, kind, name, namespace);
    return resourcePath(parseApiVersion(apiVersion), resource.name, {
      namespace: resource.namespaced ? namespace : undefined,
      name,
      subresource,
    });
  }
}

function applyQuery(options: ApplyOptions) {
  return {
    fieldManager: options.fieldManager,
    force: options.force === true ? true : undefined,
    dryRun: options.dryRun === true ? 'All' : undefined,
  };
}
