import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { RULES } from '../../../operator/api/schema.js';
import { SERVER_ONLY_RULES, validateWebStack } from '../../../operator/api/validate.js';
import { parseCidr } from '../../../operator/support/cidr.js';
import { parseQuantity } from '../../../operator/support/quantity.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixtureDir = path.join(root, 'test/fixtures/invalid');

function readDocs(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
}

const fixtures = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((name) => {
    const file = path.join(fixtureDir, name);
    const expectLine = /^# expect: (.+)$/m.exec(readFileSync(file, 'utf8').split('\n')[0] ?? '');
    return { name, expected: expectLine?.[1]?.trim() ?? '', docs: readDocs(file) };
  });
const render = (errors: { path: string; message: string }[]) => errors.map((e) => `${e.path}: ${e.message}`);

describe('validateWebStack', () => {
  it.each(['minimal.yaml', 'full.yaml'])('accepts manifests/examples/%s', (name) => {
    const [stack] = readDocs(path.join(root, 'manifests/examples', name));
    expect(render(validateWebStack(stack))).toEqual([]);
  });

  it('has at least 35 invalid fixtures, each with an expect line naming a field', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(35);
    for (const f of fixtures) expect(`${f.name}: ${f.expected}`).toMatch(/: (metadata\.name|spec\.\S+)$/);
  });

  const single = fixtures.filter((f) => f.docs.length === 1);
  it.each(single.map((f) => [f.name, f] as const))('rejects %s, naming the field', (_name, f) => {
    const errors = render(validateWebStack(f.docs[0]));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain(f.expected);
  });

  // Transition rules compare with the stored object; offline, both documents must be valid on their own.
  const transitions = fixtures.filter((f) => f.docs.length === 2);
  it.each(transitions.map((f) => [f.name, f] as const))('accepts both documents of the transition fixture %s', (_name, f) => {
    expect(f.docs.map((d) => render(validateWebStack(d)))).toEqual([[], []]);
  });

  it('has a transition fixture for every transition rule', () => {
    expect(transitions.length).toBeGreaterThanOrEqual(SERVER_ONLY_RULES.length);
    expect(SERVER_ONLY_RULES.every((name) => RULES[name as keyof typeof RULES].includes('oldSelf'))).toBe(true);
  });

  it('leaves metadata other than the name to the API server', () => {
    const [stack] = readDocs(path.join(root, 'manifests/examples/minimal.yaml'));
    const withMetadata = { ...(stack as object), metadata: { name: 'shop', namespace: 'web', labels: { team: 'a' }, annotations: { x: 'y' } } };
    expect(render(validateWebStack(withMetadata))).toEqual([]);
  });

  it('refuses what is not a WebStack', () => {
    expect(render(validateWebStack('hello'))).toEqual([': a WebStack must be an object, not string']);
    const wrong = render(validateWebStack({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }));
    expect(wrong).toEqual(expect.arrayContaining([expect.stringMatching(/^apiVersion: /), expect.stringMatching(/^kind: /), 'metadata.name: Required value: name is required']));
  });
});

describe('offline CEL helpers', () => {
  it.each([
    ['10.0.0.0/8', true],
    ['10.0.0.1/8', false],
    ['0.0.0.0/0', true],
    ['2001:db8::/32', true],
    ['2001:db8::1/32', false],
    ['::/0', true],
    ['::ffff:192.0.2.0/120', true],
  ])('parseCidr(%s) is canonical: %s', (text, canonical) => {
    expect(parseCidr(text)?.canonical).toBe(canonical);
  });

  it.each(['10.0.0.0/33', '10.0.0.0', 'fe80::1%eth0/64', '2001:db8::/129', '10.0.0.0/08', 'example.com/8'])('parseCidr(%s) is invalid', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it.each([
    ['250m', 0.25],
    ['1', 1],
    ['1.5', 1.5],
    ['512Mi', 512 * 1024 ** 2],
    ['2Gi', 2 * 1024 ** 3],
    ['1e3', 1000],
    ['1E', 1e18],
    ['10k', 10000],
  ])('parseQuantity(%s) = %d', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value);
  });

  it.each(['', 'lots', '1 Gi', '1GB', 'Gi'])('parseQuantity(%j) is invalid', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});
