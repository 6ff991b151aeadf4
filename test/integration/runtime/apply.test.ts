/**
 * Server-side apply, status apply, get/delete and discovery against a real API server.
 */
import { KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ObjectApi } from '../../../operator/kube/apply.js';
import type { KubeClient } from '../../../operator/kube/client.js';
import { createKubeClient } from '../../../operator/kube/config.js';
import { Discovery } from '../../../operator/kube/discovery.js';
import { isInvalid, type KubeApiError } from '../../../operator/kube/errors.js';
import type { KubeObject } from '../../../operator/kube/types.js';
import { deleteNamespace, eventually, getJson, kubeConfig, kubeconfigPath, kubectl, newNamespace, waitEstablished } from '../../support/cluster.js';

const MANAGER = 'webstack-operator-test';
const CRD_GROUP = 'runtime-test.webstack.dev';
const CRD_NAME = `widgets.${CRD_GROUP}`;

let client: KubeClient;
let discovery: Discovery;
let api: ObjectApi;
let ns: string;

beforeAll(async () => {
  client = createKubeClient({ path: kubeconfigPath(), requestTimeoutMs: 10_000 }).client;
  discovery = new Discovery(client);
  api = new ObjectApi(client, discovery);
  ns = await newNamespace('rt-apply');
});

afterAll(async () => {
  await deleteNamespace(ns);
  await kubectl(['delete', 'crd', CRD_NAME, '--ignore-not-found', '--wait=false']);
});

function deployment(extraPodSpec: Record<string, unknown> = {}) {
  const labels = { app: 'web' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns, labels },
    spec: {
      replicas: 0, // no pods: the controller settles the status at once, so resourceVersion stays put
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: labels } }],
          containers: [{ name: 'web', image: 'registry.example/web:1' }],
          ...extraPodSpec,
        },
      },
    },
  };
}

async function stableResourceVersion(path: string[]): Promise<string> {
  return eventually(
    async () => {
      const first = (await getJson<KubeObject>(path)).metadata.resourceVersion;
      await new Promise((r) => setTimeout(r, 1_000));
      const second = (await getJson<KubeObject>(path)).metadata.resourceVersion;
      if (first !== second) throw new Error(`still changing (${first ?? ''} -> ${second ?? ''})`);
      return second ?? '';
    },
    { description: `${path.join(' ')} to stop changing`, timeoutMs: 30_000 },
  );
}

describe('server-side apply', () => {
  it('applies a Deployment without losing fields and is idempotent', async () => {
    const first = await api.applyObject(deployment(), { fieldManager: MANAGER, force: true });
    expect(first.metadata.resourceVersion).toBeTruthy();
    const stored = await getJson<ReturnType<typeof deployment>>(['deployment', 'web', '-n', ns]);
    expect(stored.spec.template.spec.topologySpreadConstraints).toEqual(deployment().spec.template.spec.topologySpreadConstraints);

    const rv = await stableResourceVersion(['deployment', 'web', '-n', ns]);
    const second = (await api.applyObject(deployment(), { fieldManager: MANAGER, force: true })) as KubeObject;
    expect(second.metadata.resourceVersion).toBe(rv);
    expect(second.metadata.managedFields?.some((f) => f.manager === MANAGER && f.operation === 'Apply')).toBe(true);
  }, 60_000);

  it('sends the object as given: a field unknown to the server fails loudly instead of vanishing', async () => {
    const withUnknown = deployment({ notARealPodSpecField: true });
    const err = await api.applyObject(withUnknown, { fieldManager: MANAGER, force: true }).catch((e: unknown) => e);
    expect(isInvalid(err)).toBe(true);
    // SSA on a built-in kind refuses fields outside its schema (with a 500, as the server does).
    expect((err as KubeApiError).message).toMatch(/\.spec\.template\.spec\.notARealPodSpecField: field not declared in schema/);

    // For contrast, client-node's typed apply serializes through its models: the same field is
    // dropped before the request is sent, and the apply "succeeds" without it.
    const typed = KubernetesObjectApi.makeApiClient(kubeConfig());
    await typed.patch({ ...withUnknown, metadata: { ...withUnknown.metadata, name: 'typed' } }, undefined, undefined, MANAGER, true, PatchStrategy.ServerSideApply);
    const typedStored = await getJson<{ spec: { template: { spec: Record<string, unknown> } } }>(['deployment', 'typed', '-n', ns]);
    expect(typedStored.spec.template.spec).not.toHaveProperty('notARealPodSpecField');
  }, 60_000);

  it('reports a conflict with another field manager unless forced', async () => {
    await kubectl(['apply', '--server-side', '--field-manager', 'someone-else', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: ns }, data: { key: 'theirs' } }),
    });
    const ours = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: ns }, data: { key: 'ours' } };
    await expect(api.applyObject(ours, { fieldManager: MANAGER })).rejects.toMatchObject({ code: 409, reason: 'Conflict' });
    const forced = await api.applyObject(ours, { fieldManager: MANAGER, force: true });
    expect(forced.data).toEqual({ key: 'ours' });
  }, 30_000);

  it('gets and deletes objects', async () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'short-lived' };
    await api.applyObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'short-lived', namespace: ns }, data: { a: 'b' } }, { fieldManager: MANAGER });
    const got = await api.getObject<KubeObject & { data?: Record<string, string> }>(ref);
    expect(got?.data).toEqual({ a: 'b' });
    expect(typeof got?.metadata.creationTimestamp).toBe('string');
    expect(await api.deleteObject(ref, { propagationPolicy: 'Background' })).toBe(true);
    expect(await api.getObject(ref)).toBeUndefined();
    expect(await api.deleteObject(ref)).toBe(false);
  }, 30_000);
});

describe('status apply on a custom resource', () => {
  beforeAll(async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: CRD_NAME },
      spec: {
        group: CRD_GROUP,
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer' } } },
                  status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
            },
          },
        ],
      },
    };
    await kubectl(['apply', '--server-side', '--field-manager', MANAGER, '-f', '-'], { input: JSON.stringify(crd) });
    await waitEstablished(`crd/${CRD_NAME}`);
  }, 90_000);

  it('writes only status, through the status subresource, idempotently', async () => {
    const apiVersion = `${CRD_GROUP}/v1`;
    // The kind was installed after the Discovery cache was created: resourceFor re-checks on a miss.
    await eventually(() => discovery.resourceFor(apiVersion, 'Widget'), { description: 'Widget to be discoverable', timeoutMs: 20_000 });

    const widget = { apiVersion, kind: 'Widget', metadata: { name: 'w', namespace: ns }, spec: { size: 3 } };
    await api.applyObject(widget, { fieldManager: MANAGER, force: true });
    // A status in the main resource is ignored by the server; status has to go through /status.
    const status = { observedGeneration: 1, phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] };
    const written = (await api.applyStatus({ ...widget, spec: { size: 99 }, status }, { fieldManager: MANAGER, force: true })) as KubeObject & {
      spec: unknown;
      status: unknown;
    };
    expect(written.status).toEqual(status);
    expect(written.spec).toEqual({ size: 3 }); // the spec in the object passed to applyStatus was not sent
    expect(written.metadata.managedFields?.some((f) => f.manager === MANAGER && f.subresource === 'status')).toBe(true);

    const again = await api.applyStatus({ ...widget, status }, { fieldManager: MANAGER, force: true });
    expect(again.metadata.resourceVersion).toBe(written.metadata.resourceVersion);
  }, 60_000);

  it('refuses fields outside a custom resource schema instead of letting the server prune them', async () => {
    const typo = { apiVersion: `${CRD_GROUP}/v1`, kind: 'Widget', metadata: { name: 'typo', namespace: ns }, spec: { size: 1, sise: 2 } };
    const err = await api.applyObject(typo, { fieldManager: MANAGER, force: true }).catch((e: unknown) => e);
    expect(isInvalid(err)).toBe(true);
    expect((err as KubeApiError).message).toMatch(/\.spec\.sise: field not declared in schema/);
  }, 30_000);
});

describe('discovery', () => {
  it('detects the optional dependencies the local cluster installs, and absent groups', async () => {
    expect(await discovery.hasApiGroupVersion('cert-manager.io', 'v1')).toBe(true);
    expect(await discovery.hasResource('cert-manager.io', 'v1', 'Certificate')).toBe(true);
    expect(await discovery.hasApiGroupVersion('monitoring.coreos.com', 'v1')).toBe(true);
    expect(await discovery.hasResource('monitoring.coreos.com', 'v1', 'ServiceMonitor')).toBe(true);
    expect(await discovery.hasApiGroupVersion('nothing-here.example.com', 'v1')).toBe(false);
    expect(await discovery.hasResource('apps', 'v1', 'NoSuchKind')).toBe(false);
  }, 30_000);
});
