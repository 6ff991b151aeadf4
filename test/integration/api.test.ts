/**
 * The WebStack CRD on a real kube-apiserver: it installs, accepts the examples, refuses every invalid
 * fixture with an error naming the field, defaults like the schema says, and documents itself in
 * `kubectl explain` and `kubectl get`.
 */
import { loadExample } from '../support/examples.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import { webStackSchema, type SchemaProps } from '../../operator/api/schema.js';
import type { WebStack } from '../../operator/api/types.js';
import { applySchemaDefaults } from '../../operator/api/validate.js';
import { deleteNamespace, eventually, installCrds, kubectl, newNamespace, repoRoot } from '../support/cluster.js';

const FIELD_MANAGER = 'webstack-api-test';
const readText = (...parts: string[]) => readFileSync(path.join(repoRoot, ...parts), 'utf8');

const fixtureDir = path.join(repoRoot, 'test/fixtures/invalid');
const fixtures = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((name) => {
    const text = readFileSync(path.join(fixtureDir, name), 'utf8');
    const expected = /^# expect: (.+)$/.exec(text.split('\n')[0] ?? '')?.[1]?.trim() ?? '';
    return { name, expected, docs: parseAllDocuments(text).map((d) => stringify(d.toJS())) };
  });

let ns: string;

const apply = (manifest: string, allowFail = false) =>
  kubectl(['apply', '--server-side', '--field-manager', FIELD_MANAGER, '-n', ns, '-f', '-'], { input: manifest, allowFail });

const getStack = async (name: string): Promise<WebStack> =>
  JSON.parse((await kubectl(['get', 'webstack', name, '-n', ns, '-o', 'json'])).stdout) as WebStack;

const oneLine = (text: string) => text.replace(/\s+/g, ' ');

function schemaAt(...names: string[]): SchemaProps {
  let node = webStackSchema;
  for (const name of names) {
    const child = node.properties?.[name];
    if (!child) throw new Error(`no ${names.join('.')} in the schema`);
    node = child;
  }
  return node;
}

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('api');
}, 120_000);

afterAll(async () => {
  await deleteNamespace(ns);
});

describe('the WebStack CRD', () => {
  it('is served under its short name', async () => {
    const { stdout } = await kubectl(['get', 'crd', 'webstacks.webstack.dev', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
    expect(stdout).toBe('True');
    expect((await kubectl(['get', 'ws', '-n', ns])).code).toBe(0);
  });

  it.each(['minimal.yaml', 'full.yaml'])('accepts manifests/examples/%s', async (name) => {
    const result = await apply(readText('manifests/examples', name), true);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('defaults the minimal example exactly as the schema walker does', async () => {
    const minimal = loadExample('minimal');
    const stored = await getStack(minimal.metadata.name);
    expect(stored.spec).toEqual((applySchemaDefaults(webStackSchema, minimal) as WebStack).spec);
    expect(stored.spec.database?.replicas).toBe(2);
  });

  it('keeps every field of the full example', async () => {
    const full = loadExample('full');
    expect((await getStack(full.metadata.name)).spec).toEqual(full.spec);
  });
});

describe('invalid WebStacks are refused with an error naming the field', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_name, f) => {
    const [original, update] = f.docs;
    if (!original) throw new Error(`${f.name} has no document`);
    if (update !== undefined) {
      const created = await apply(original, true);
      expect(`${f.name} original: ${created.stderr}`).toBe(`${f.name} original: `);
    }
    const refused = await apply(update ?? original, true);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(f.expected);
  }, 30_000);
});

describe('kubectl explain', () => {
  it('documents spec.database and its fields', async () => {
    // The aggregated OpenAPI document picks the CRD up a moment after it is established.
    const { stdout } = await eventually(() => kubectl(['explain', 'webstack.spec.database', '-n', ns]), {
      description: 'kubectl explain webstack.spec.database',
      timeoutMs: 60_000,
    });
    const text = oneLine(stdout);
    expect(text).toContain(oneLine(schemaAt('spec', 'database').description ?? '-'));
    for (const field of ['version', 'image', 'replicas', 'storage', 'resources', 'deletionPolicy']) expect(text).toContain(field);
    const replicas = oneLine((await kubectl(['explain', 'webstack.spec.database.replicas'])).stdout);
    expect(replicas).toContain(oneLine(schemaAt('spec', 'database', 'replicas').description ?? '-'));
  }, 90_000);
});

describe('kubectl get ws', () => {
  const status = {
    observedGeneration: 1,
    phase: 'Ready',
    url: 'https://www.example.com',
    loadBalancer: { address: '203.0.113.10' },
    tiers: { loadBalancer: '2/2', web: '3/3', app: '3/3', database: '2/2' },
    database: { primary: 'minimal-mysql-0', replicas: ['minimal-mysql-1'] },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'AllTiersReady', message: 'every tier is ready', lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 1 },
    ],
  };

  beforeAll(async () => {
    await kubectl(['patch', 'ws', 'minimal', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  }, 30_000);

  it('shows the domain, readiness, tier counts, the primary, the durability and the address', async () => {
    const [header = '', row = ''] = (await kubectl(['get', 'ws', 'minimal', '-n', ns])).stdout.trim().split('\n');
    expect(header.split(/\s+/)).toEqual(['NAME', 'DOMAIN', 'READY', 'LB', 'WEB', 'APP', 'DB', 'PRIMARY', 'DURABILITY', 'ADDRESS', 'AGE']);
    // Durability: the API server's default for a stack that does not set it.
    expect(row.split(/\s+/).slice(0, 10)).toEqual(['minimal', 'www.example.com', 'True', '2/2', '3/3', '3/3', '2/2', 'minimal-mysql-0', 'Preferred', '203.0.113.10']);
  });

  it('adds phase, TLS mode and reason with -o wide', async () => {
    const [header = '', row = ''] = (await kubectl(['get', 'ws', 'minimal', '-n', ns, '-o', 'wide'])).stdout.trim().split('\n');
    expect(header.split(/\s+/).slice(-3)).toEqual(['PHASE', 'TLS', 'REASON']);
    expect(row.split(/\s+/).slice(-3)).toEqual(['Ready', 'reencrypt', 'AllTiersReady']);
  });
});
