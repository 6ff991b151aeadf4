import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { main, type CliIO } from '../../../operator/cli/webstack.js';
import { render } from '../../../operator/render/index.js';
import { ALL_FACTS, example } from '../../support/render.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../manifests/examples');

/** Runs the CLI against in-memory files. */
function run(args: string[], files: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    readFile: (file) => {
      const text = files[file];
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${file}'`);
      return text;
    },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  };
  const code = main(args, io);
  return { code, stdout, stderr };
}

const full = readFileSync(path.join(examples, 'full.yaml'), 'utf8');
const minimal = readFileSync(path.join(examples, 'minimal.yaml'), 'utf8');

describe('webstack render', () => {
  it('prints the rendered objects as multi-document YAML', () => {
    const { code, stdout, stderr } = run(['render', '-f', 'full.yaml', '-n', 'shop'], { 'full.yaml': full });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const docs = parseAllDocuments(stdout);
    expect(Array.isArray(docs) && docs.map((d) => d.toJS() as unknown)).toEqual(render(example('full'), ALL_FACTS));
  });

  it('prints a v1 List with -o json and honours the discovery flags', () => {
    const { code, stdout } = run(['render', '-f', 'm.yaml', '-o', 'json', '--no-cert-manager', '--no-prometheus-operator'], { 'm.yaml': minimal });
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as { kind: string; items: { apiVersion: string; metadata: { namespace: string } }[] };
    expect(list.kind).toBe('List');
    expect(list.items.length).toBeGreaterThan(0);
    expect(list.items.filter((o) => /cert-manager|monitoring.coreos/.test(o.apiVersion))).toEqual([]);
    expect(list.items.filter((o) => o.metadata.namespace !== 'webstack-system').every((o) => o.metadata.namespace === 'default')).toBe(true);
  });

  it('renders every document of a multi-document file', () => {
    const second = minimal.replace('name: minimal', 'name: second');
    const { code, stdout } = run(['render', '-f', 'both.yaml', '-o', 'json'], { 'both.yaml': `${minimal}\n---\n${second}` });
    expect(code).toBe(0);
    const instances = new Set((JSON.parse(stdout) as { items: { metadata: { labels: Record<string, string> } }[] }).items.map((o) => o.metadata.labels['app.kubernetes.io/instance']));
    expect(instances).toEqual(new Set(['minimal', 'second']));
  });

  it('refuses an invalid WebStack with exit code 1, naming each field', () => {
    const bad = minimal.replace('spec:', 'spec:\n  database: { replicas: 1 }\n  web: { replicas: "three" }');
    const { code, stdout, stderr } = run(['render', '-f', 'bad.yaml'], { 'bad.yaml': bad });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('bad.yaml: document 1 (minimal): spec.database.replicas:');
    expect(stderr).toContain('spec.web.replicas:');
  });

  it.each([
    [['render'], '-f FILE is required'],
    [['render', '-f', 'x.yaml', '-o', 'xml'], '-o must be yaml or json'],
    [['draw', '-f', 'x.yaml'], 'unknown command "draw"'],
    [['render', '--bogus'], "Unknown option '--bogus'"],
    [['render', '-f', 'missing.yaml'], 'cannot read missing.yaml'],
    [['render', '-f', 'empty.yaml'], 'empty.yaml: no WebStack found'],
    [['render', '-f', 'broken.yaml'], 'broken.yaml: document 1:'],
    [['render', '-f', 'x.yaml', '-n', 'other'], 'differs from -n "other"'],
  ])('%j fails with a clear message', (args, message) => {
    const files = { 'x.yaml': minimal.replace('name: minimal', 'name: minimal\n  namespace: shop'), 'empty.yaml': '', 'broken.yaml': 'a: [' };
    const { code, stderr } = run(args, files);
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });

  it('prints usage with --help', () => {
    const { code, stdout } = run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: webstack render');
  });
});
