/**
 * The cache read port: how the reconciler reads children without a request. The informers behind
 * controller/caches.ts implement it in the operator; the fast reconcile tests use an in-memory map.
 */
import type { KubeObject } from './types.js';

export interface Lookup {
  /** The object of that kind, or undefined when it is not in the cache (or its kind is not watched). */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Objects of that kind, in one namespace or all. */
  list(kind: string, namespace?: string): KubeObject[];
}
