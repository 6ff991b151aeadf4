/**
 * The informer against a real API server: label-selected list and watch, add/update/delete as
 * seen through kubectl changes, string timestamps on both paths, and recovery from watches that
 * end (server-side timeout) or go silent (watchdog).
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '../../../operator/kube/client.js';
import { createKubeClient } from '../../../operator/kube/config.js';
import { kubeListWatch } from '../../../operator/kube/listwatch.js';
import type { KubeObject } from '../../../operator/kube/types.js';
import { Informer, type ChangeEvent, type InformerOptions } from '../../../operator/runtime/informer.js';
import { deleteNamespace, eventually, kubeconfigPath, kubectl, newNamespace } from '../../support/cluster.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const LABEL = 'webstack.dev/runtime-test';

let client: KubeClient;
let ns: string;
const informers: Informer<ConfigMap>[] = [];

beforeAll(() => {
  client = createKubeClient({ path: kubeconfigPath(), requestTimeoutMs: 10_000 }).client;
});

beforeEach(async () => {
  ns = await newNamespace('rt-informer');
});

afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
  await deleteNamespace(ns);
});

function informer(options: Partial<InformerOptions<ConfigMap>> = {}) {
  const source = kubeListWatch<ConfigMap>(client, { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespace: ns });
  const inf = new Informer<ConfigMap>({ source, labelSelector: `${LABEL}=yes`, name: 'configmaps', ...options });
  const events: string[] = [];
  const objects: ConfigMap[] = [];
  inf.onChange((e: ChangeEvent<ConfigMap>) => {
    events.push(`${e.type}:${e.object.metadata.name}`);
    objects.push(e.object);
  });
  informers.push(inf);
  return { inf, events, objects };
}

const configMap = (name: string, labelled: boolean, data: Record<string, string> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: labelled ? { [LABEL]: 'yes' } : {} }, data });

const create = (name: string, labelled: boolean) => kubectl(['create', '-f', '-'], { input: configMap(name, labelled) });
const patchData = (name: string, value: string) => kubectl(['patch', 'configmap', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { k: value } })]);

function until(events: string[], expected: string[], description: string) {
  return eventually(
    () => (expected.every((e) => events.includes(e)) ? Promise.resolve() : Promise.reject(new Error(`events so far: ${events.join(', ')}`))),
    { description, timeoutMs: 20_000, intervalMs: 50 },
  );
}

describe('informer', () => {
  it('lists and watches only labelled objects and reports adds, updates and deletes', async () => {
    await create('listed', true);
    await create('unlabelled-before', false);
    const { inf, events, objects } = informer();
    inf.start();
    await inf.waitForSync();
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['listed']);
    expect(inf.get(ns, 'unlabelled-before')).toBeUndefined();
    expect(typeof inf.get(ns, 'listed')?.metadata.creationTimestamp).toBe('string');
    expect(inf.get(ns, 'listed')).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });

    await create('watched', true);
    await create('unlabelled-after', false);
    await patchData('watched', 'v2');
    await patchData('unlabelled-after', 'v2');
    await kubectl(['delete', 'configmap', 'listed', '-n', ns]);
    // Removing the label takes the object out of the selection: the watch reports a delete.
    await create('leaves-selection', true);
    await kubectl(['label', 'configmap', 'leaves-selection', '-n', ns, `${LABEL}-`]);

    await until(events, ['add:watched', 'update:watched', 'delete:listed', 'delete:leaves-selection'], 'all changes of labelled objects');
    expect(events.filter((e) => e.includes('unlabelled'))).toEqual([]);
    expect(inf.get(ns, 'watched')?.data).toEqual({ k: 'v2' });
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['watched']);
    // Timestamps are strings whether an object came from the list or from a watch event.
    for (const o of objects) expect(typeof o.metadata.creationTimestamp).toBe('string');
  }, 60_000);

  it('keeps up across watches the server ends every second', async () => {
    const { inf, events } = informer({ watchTimeoutSeconds: 1 });
    inf.start();
    await inf.waitForSync();
    await eventually(() => (inf.watchesStarted >= 3 ? Promise.resolve() : Promise.reject(new Error(`${inf.watchesStarted} watches`))), {
      description: 'the watch to be ended and resumed twice',
      timeoutMs: 15_000,
    });
    await create('after-restarts', true);
    await until(events, ['add:after-restarts'], 'an add after several watch restarts');
    await patchData('after-restarts', 'x');
    await until(events, ['update:after-restarts'], 'an update after several watch restarts');
    expect(events.filter((e) => e === 'add:after-restarts')).toHaveLength(1); // resumed, never re-listed into duplicates
  }, 60_000);

  it('restarts a watch that goes silent, and sees changes afterwards', async () => {
    // The server would keep this watch open for a minute; the watchdog gives up after 1.5s of silence.
    const { inf, events } = informer({ watchTimeoutSeconds: 60, watchdogMs: 1_500, backoff: { baseMs: 100, maxMs: 1_000 } });
    inf.start();
    await inf.waitForSync();
    await eventually(() => (inf.watchesStarted >= 2 ? Promise.resolve() : Promise.reject(new Error(`${inf.watchesStarted} watches`))), {
      description: 'the watchdog to restart the silent watch',
      timeoutMs: 10_000,
    });
    await create('after-watchdog', true);
    await until(events, ['add:after-watchdog'], 'an add after a watchdog restart');
  }, 60_000);
});
