/**
 * The operator's view of the cluster: one informer per child kind (per watched namespace), each
 * selecting only objects labelled as managed by this operator. Reconciles read children from
 * here, never from the API server, so a steady state costs no requests at all.
 */
import type { Logger } from 'pino';
import type { OptionalApi } from '../api/identity.js';
import { CHILD_KINDS, type ChildKind, MANAGED_SELECTOR } from '../api/kinds.js';
import type { KubeClient } from '../kube/client.js';
import { kubeListWatch } from '../kube/listwatch.js';
import type { KubeObject } from '../kube/types.js';
import { Informer, type ChangeHandler } from '../runtime/informer.js';

export interface CachesOptions {
  client: Pick<KubeClient, 'request' | 'watch'>;
  /** Watched namespaces; empty means all. The log agent namespace must be among them when set. */
  namespaces: string[];
  logger: Logger;
  watchTimeoutSeconds?: number;
}

export class ChildCaches {
  private readonly informers = new Map<string, Informer<KubeObject>[]>();
  private readonly handlers: ChangeHandler<KubeObject>[] = [];
  private started = false;

  constructor(private readonly options: CachesOptions) {
    for (const kind of CHILD_KINDS) if (!kind.requires) this.create(kind);
  }

  /** Starts watching the kinds of an optional API once discovery finds it; idempotent. */
  enable(api: OptionalApi): boolean {
    let added = false;
    for (const kind of CHILD_KINDS) {
      if (kind.requires === api && !this.informers.has(kind.kind)) {
        this.create(kind);
        added = true;
      }
    }
    return added;
  }

  enabled(api: OptionalApi): boolean {
    return CHILD_KINDS.some((k) => k.requires === api && this.informers.has(k.kind));
  }

  onChange(handler: ChangeHandler<KubeObject>): void {
    this.handlers.push(handler);
    for (const list of this.informers.values()) for (const informer of list) informer.onChange(handler);
  }

  start(): void {
    this.started = true;
    for (const list of this.informers.values()) for (const informer of list) informer.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].flat().map((i) => i.stop()));
  }

  all(): { name: string; hasSynced(): boolean }[] {
    return [...this.informers.entries()].flatMap(([kind, list]) => list.map((i) => ({ name: kind, hasSynced: () => i.hasSynced() })));
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].flat().map((i) => i.waitForSync()));
  }

  /** Whether the kind is watched at all (optional APIs only once discovered). */
  watches(kind: string): boolean {
    return this.informers.has(kind);
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    for (const informer of this.informers.get(kind) ?? []) {
      const found = informer.get(namespace, name);
      if (found) return found;
    }
    return undefined;
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return (this.informers.get(kind) ?? []).flatMap((i) => i.list(namespace));
  }

  private create(kind: ChildKind): void {
    const { namespaces, client, logger } = this.options;
    const selector = kind.unmanagedSelector ?? (kind.selector ? `${MANAGED_SELECTOR},${kind.selector}` : MANAGED_SELECTOR);
    const scopes = namespaces.length === 0 ? [undefined] : namespaces;
    const list = scopes.map(
      (namespace) =>
        new Informer<KubeObject>({
          source: kubeListWatch(client, { group: kind.group, version: kind.version, plural: kind.plural, kind: kind.kind, namespace }),
          labelSelector: selector,
          name: namespace ? `${kind.plural}/${namespace}` : kind.plural,
          logger,
          ...(this.options.watchTimeoutSeconds ? { watchTimeoutSeconds: this.options.watchTimeoutSeconds } : {}),
        }),
    );
    for (const informer of list) {
      for (const handler of this.handlers) informer.onChange(handler);
      if (this.started) informer.start();
    }
    this.informers.set(kind.kind, list);
  }
}
