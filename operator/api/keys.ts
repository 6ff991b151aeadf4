/**
 * A stack's key in every work queue and log line: `namespace/name` (client-go's namespace key).
 * Written and read here only, so the loops agree on it.
 */

export interface StackRef {
  namespace: string;
  name: string;
}

export const stackKey = ({ namespace, name }: StackRef): string => `${namespace}/${name}`;

/** The key of a stack (or of any object) from its metadata. */
export const keyOf = (o: { metadata: { namespace?: string; name: string } }): string => stackKey({ namespace: o.metadata.namespace ?? '', name: o.metadata.name });

export function splitStackKey(key: string): StackRef {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
