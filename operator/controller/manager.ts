/**
 * What every loop shares (controller-runtime's manager): the WebStack informers, the child caches,
 * the discovery poll for optional APIs and the resync timer. Loops register themselves
 * (runtime/controller.ts); every event goes to every loop's predicates, which say which stacks
 * it wakes. main.ts owns the rest (client, leader election, health and metrics).
 */
import type { Logger } from 'pino';
import { GROUP, KIND, OPTIONAL_API_NAMES, OPTIONAL_APIS, PLURAL, VERSION, type OptionalApis } from '../api/identity.js';
import { keyOf } from '../api/keys.js';
import type { WebStack } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import type { Discovery } from '../kube/discovery.js';
import { kubeListWatch } from '../kube/listwatch.js';
import type { Controller, Wake } from '../runtime/controller.js';
import { Informer } from '../runtime/informer.js';
import { ChildCaches } from './caches.js';

/** How often discovery is asked whether cert-manager / prometheus-operator appeared. */
const OPTIONAL_API_CHECK_MS = 30_000;

export interface ManagerOptions {
  client: KubeClient;
  discovery: Pick<Discovery, 'hasResource'>;
  /** Watched namespaces; empty means all. */
  namespaces: string[];
  agentNamespace: string;
  resyncPeriodMs: number;
  logger: Logger;
}

/** The WebStacks of every watched namespace, read as one. */
export interface StackIndex {
  get(namespace: string, name: string): WebStack | undefined;
  list(): WebStack[];
  keys(): string[];
}

export class Manager {
  readonly stacks: StackIndex;
  readonly caches: ChildCaches;
  private readonly stackInformers: Informer<WebStack>[];
  private readonly controllers = new Map<string, Controller>();
  private readonly apis: OptionalApis = { certManager: false, prometheusOperator: false };
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly o: ManagerOptions) {
    const { client, logger } = o;
    // One informer per watched namespace (one for all when none is configured).
    this.stackInformers = (o.namespaces.length === 0 ? [undefined] : o.namespaces).map(
      (namespace) =>
        new Informer<WebStack>({
          source: kubeListWatch<WebStack>(client, { group: GROUP, version: VERSION, plural: PLURAL, kind: KIND, namespace }),
          name: namespace ? `webstacks/${namespace}` : 'webstacks',
          logger,
        }),
    );
    const list = () => this.stackInformers.flatMap((i) => i.list());
    this.stacks = {
      get: (namespace, name) => this.stackInformers.map((i) => i.get(namespace, name)).find((s) => s !== undefined),
      list,
      keys: () => list().map(keyOf),
    };
    // The agent namespace holds children too (the stacks' Secret copies, the shared agent).
    const childNamespaces = o.namespaces.length === 0 ? [] : [...new Set([...o.namespaces, o.agentNamespace])];
    this.caches = new ChildCaches({ client, namespaces: childNamespaces, logger });
    for (const informer of this.stackInformers) informer.onChange((e) => this.fanOut((c) => c.onStack(e)));
    this.caches.onChange((e) => this.fanOut((c) => c.onObject(e)));
  }

  /** The optional APIs discovery has found so far. */
  optionalApis(): OptionalApis {
    return { ...this.apis };
  }

  /**
   * Adds a loop. Each has a name and a field manager of its own: two loops applying under one
   * field manager would each remove the fields the other set.
   */
  register(controller: Controller): void {
    for (const c of this.controllers.values()) {
      if (c.name === controller.name || c.fieldManager === controller.fieldManager) {
        throw new Error(`${controller.name} (${controller.fieldManager}) clashes with ${c.name} (${c.fieldManager}): every loop needs its own name and field manager`);
      }
    }
    this.controllers.set(controller.name, controller);
  }

  /** Wakes the named loop for these stacks: a wake-up one loop asks of another outside any event. */
  wake(name: string, wake: Wake): void {
    const controller = this.controllers.get(name);
    if (controller) this.deliver(controller, wake);
  }

  /** Starts the informers and resolves once they have synced. */
  async start(): Promise<void> {
    for (const informer of this.stackInformers) informer.start();
    this.caches.start();
    await this.refreshOptionalApis();
    await Promise.all([...this.stackInformers.map((i) => i.waitForSync()), this.caches.waitForSync()]);
    const logFailure = (err: unknown) => this.o.logger.warn({ err: String(err) }, 'discovery failed');
    this.timers.push(setInterval(() => void this.refreshOptionalApis().catch(logFailure), OPTIONAL_API_CHECK_MS));
    if (this.o.resyncPeriodMs > 0) this.timers.push(setInterval(() => this.enqueueAll(), this.o.resyncPeriodMs));
    for (const t of this.timers) t.unref();
  }

  /** Starts every loop's workers (the leader only). */
  startWorkers(): void {
    for (const c of this.controllers.values()) c.start();
  }

  /** Queues every known stack in every loop. */
  enqueueAll(): void {
    this.fanOut(() => 'all');
  }

  /** Stops every loop; resolves when the runs in flight are done. */
  async stopWorkers(): Promise<void> {
    await Promise.all([...this.controllers.values()].map((c) => c.stop()));
  }

  /** For readiness: every informer, by name. */
  informers(): { name: string; hasSynced(): boolean }[] {
    return [...this.stackInformers.map((i) => ({ name: 'webstacks', hasSynced: () => i.hasSynced() })), ...this.caches.all()];
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.stopWorkers();
    await Promise.all([...this.stackInformers.map((i) => i.stop()), this.caches.stop()]);
  }

  private fanOut(wakeOf: (c: Controller) => Wake): void {
    for (const c of this.controllers.values()) this.deliver(c, wakeOf(c));
  }

  private deliver(controller: Controller, wake: Wake): void {
    for (const key of wake === 'all' ? this.stacks.keys() : wake) controller.enqueue(key);
  }

  /** Starts watching an optional API's kinds once discovery finds it, then runs every loop for every stack. */
  private async refreshOptionalApis(): Promise<void> {
    for (const api of OPTIONAL_API_NAMES) {
      const { group, version, probeKind } = OPTIONAL_APIS[api];
      if ((await this.o.discovery.hasResource(group, version, probeKind)) && this.caches.enable(api)) {
        this.o.logger.info({ api }, 'optional API found; watching its kinds');
        await this.caches.waitForSync();
        this.apis[api] = true;
        this.enqueueAll();
      }
    }
  }
}
