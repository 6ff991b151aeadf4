/**
 * The minimal shape of a Kubernetes object as the kube/ and runtime/ layers see it: plain JSON as
 * the API server sends it (timestamps are RFC 3339 strings, never Dates). The WebStack type and
 * rendered objects are assignable to it.
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  subresource?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
  /** Server-side apply's record of who set which field; the informers drop it from their caches. */
  managedFields?: ManagedFieldsEntry[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/** Identifies one object. `namespace` is ignored for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** `group` is '' for the core group. */
export interface GroupVersion {
  group: string;
  version: string;
}

export function parseApiVersion(apiVersion: string): GroupVersion {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath({ group, version }: GroupVersion): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** Path of a collection or an object: `<gv>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]`. */
export function resourcePath(
  gv: GroupVersion,
  plural: string,
  opts: { namespace?: string | undefined; name?: string | undefined; subresource?: string | undefined } = {},
): string {
  let path = groupVersionPath(gv);
  if (opts.namespace !== undefined) path += `/namespaces/${encodeURIComponent(opts.namespace)}`;
  path += `/${plural}`;
  if (opts.name !== undefined) {
    path += `/${encodeURIComponent(opts.name)}`;
    if (opts.subresource !== undefined) path += `/${opts.subresource}`;
  }
  return path;
}

/** Cache/queue key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
