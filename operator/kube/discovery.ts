/**
 * API discovery: which group/versions and kinds the server serves, and the REST resource (plural,
 * scope) behind a kind. Used to map rendered objects to URLs and to detect optional dependencies
 * (cert-manager `cert-manager.io/v1`, prometheus-operator `monitoring.coreos.com/v1`).
 *
 * Answers are cached per group/version for `ttlMs`, absent ones included, so that a reconcile
 * asking "is cert-manager installed?" costs no request most of the time, yet a CRD installed
 * after the operator started is noticed within the TTL.
 */
import { type Clock, systemClock } from '../support/clock.js';
import type { KubeClient } from './client.js';
import { KubeApiError, isNotFound } from './errors.js';
import { groupVersionPath, parseApiVersion, type GroupVersion } from './types.js';

export interface ApiResource {
  /** Plural resource name used in URLs, e.g. `deployments`. */
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

interface CacheEntry {
  fetchedAt: number;
  /** undefined: the server does not serve this group/version. */
  resources: ApiResource[] | undefined;
}

interface APIResourceList {
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}

export interface DiscoveryOptions {
  ttlMs?: number;
  clock?: Clock;
}

type Requester = Pick<KubeClient, 'request'>;

export class Discovery {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<ApiResource[] | undefined>>();
  private readonly ttlMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: Requester,
    options: DiscoveryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.clock = options.clock ?? systemClock;
  }

  async hasApiGroupVersion(group: string, version: string): Promise<boolean> {
    return (await this.resources({ group, version })) !== undefined;
  }

  async hasResource(group: string, version: string, kind: string): Promise<boolean> {
    const resources = await this.resources({ group, version });
    return resources?.some((r) => r.kind === kind) ?? false;
  }

  /**
   * The resource serving `kind` in `apiVersion`. A miss is re-checked once against the server
   * (the kind may have been installed since the cache was filled) before it throws NotFound.
   */
  async resourceFor(apiVersion: string, kind: string): Promise<ApiResource> {
    const gv = parseApiVersion(apiVersion);
    let found = (await this.resources(gv))?.find((r) => r.kind === kind);
    if (!found) {
      this.invalidate(gv);
      found = (await this.resources(gv))?.find((r) => r.kind === kind);
    }
    if (!found) throw new KubeApiError(404, 'NotFound', `the server has no resource for kind ${kind} in ${apiVersion}`);
    return found;
  }

  /** Forgets cached answers: for one group/version, or all. */
  invalidate(gv?: GroupVersion): void {
    if (gv) this.cache.delete(groupVersionPath(gv));
    else this.cache.clear();
  }

  private async resources(gv: GroupVersion): Promise<ApiResource[] | undefined> {
    const path = groupVersionPath(gv);
    const cached = this.cache.get(path);
    if (cached && this.clock.now() - cached.fetchedAt < this.ttlMs) return cached.resources;
    // Concurrent reconciles asking the same question share one request.
    let pending = this.inflight.get(path);
    if (!pending) {
      pending = this.fetch(path).finally(() => this.inflight.delete(path));
      this.inflight.set(path, pending);
    }
    return pending;
  }

  private async fetch(path: string): Promise<ApiResource[] | undefined> {
    let resources: ApiResource[] | undefined;
    try {
      const list = (await this.client.request({ method: 'GET', path })) as APIResourceList | undefined;
      resources = (list?.resources ?? [])
        // Subresources (`deployments/scale`) are listed alongside; they are not kinds of their own.
        .filter((r) => !r.name.includes('/'))
        .map((r) => ({ name: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs ?? [] }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      resources = undefined;
    }
    this.cache.set(path, { fetchedAt: this.clock.now(), resources });
    return resources;
  }
}
