/**
 * A coordination.k8s.io/v1 Lease as leader election needs it: read, create, and replace under
 * optimistic concurrency (the replace carries the resourceVersion that was read, so of two
 * candidates racing for the same Lease exactly one write succeeds; the other gets 409 Conflict).
 *
 * Raw JSON, not CoordinationV1Api: the typed client turns renewTime into a Date on reads but sends
 * a plain Date back in millisecond precision, which the server rejects (MicroTime wants exactly
 * six fractional digits). Here times are strings both ways, written by microTime().
 */
import { V1MicroTime } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { isNotFound } from './errors.js';
import { resourcePath, type ObjectMeta } from './types.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime strings: RFC 3339 with exactly six fractional digits. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: ObjectMeta;
  spec?: LeaseSpec;
}

export interface LeaseStore {
  /** The Lease, or undefined when it does not exist. */
  get(): Promise<Lease | undefined>;
  /** Creates the Lease; fails with 409 AlreadyExists if another candidate created it first. */
  create(spec: LeaseSpec): Promise<Lease>;
  /** Replaces the Lease; fails with 409 Conflict unless `lease.metadata.resourceVersion` is current. */
  update(lease: Lease): Promise<Lease>;
}

/** A time in the API's MicroTime format (V1MicroTime's serialization). */
export function microTime(ms: number): string {
  return new V1MicroTime(ms).toISOString();
}

const GV = { group: 'coordination.k8s.io', version: 'v1' };

export function kubeLeaseStore(client: Pick<KubeClient, 'request'>, namespace: string, name: string): LeaseStore {
  const collection = resourcePath(GV, 'leases', { namespace });
  const item = resourcePath(GV, 'leases', { namespace, name });
  return {
    async get() {
      try {
        return (await client.request({ method: 'GET', path: item })) as Lease;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(spec) {
      const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec };
      return (await client.request({ method: 'POST', path: collection, body })) as Lease;
    },
    async update(lease) {
      return (await client.request({ method: 'PUT', path: item, body: lease })) as Lease;
    },
  };
}
