import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createKubeClient, loadKubeConfig } from '../../../operator/kube/config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-test-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(file: string, cluster: string, server: string, currentContext = cluster): string {
  const full = path.join(dir, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(
    full,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: ${cluster}, cluster: { server: "${server}" } }]`,
      'users: [{ name: u, user: { token: t } }]',
      `contexts: [{ name: ${cluster}, context: { cluster: ${cluster}, user: u } }]`,
      `current-context: ${currentContext}`,
    ].join('\n'),
  );
  return full;
}

const flagFile = kubeconfig('flag.yaml', 'flag', 'https://flag:6443');
const envFile = kubeconfig('env.yaml', 'env', 'https://env:6443');
const envFile2 = kubeconfig('env2.yaml', 'env2', 'https://env2:6443');
const homeDir = path.join(dir, 'home');
kubeconfig('home/.kube/config', 'home', 'https://home:6443');
const saPrefix = path.join(dir, 'sa');
mkdirSync(`${saPrefix}/var/run/secrets/kubernetes.io/serviceaccount`, { recursive: true });
writeFileSync(`${saPrefix}/var/run/secrets/kubernetes.io/serviceaccount/token`, 'sa-token');
writeFileSync(`${saPrefix}/var/run/secrets/kubernetes.io/serviceaccount/namespace`, 'webstack-system');

const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

function server(result: ReturnType<typeof loadKubeConfig>): string | undefined {
  return result.kubeConfig.getCurrentCluster()?.server;
}

describe('loadKubeConfig', () => {
  it('prefers the flag over everything else', () => {
    const r = loadKubeConfig({ path: flagFile, env: { KUBECONFIG: envFile, ...inCluster }, homeDir, serviceAccountPrefix: saPrefix });
    expect([r.source, server(r)]).toEqual(['flag', 'https://flag:6443']);
  });

  it('then KUBECONFIG, merging a path list with the first file winning', () => {
    const r = loadKubeConfig({ env: { KUBECONFIG: [envFile, path.join(dir, 'missing.yaml'), envFile2].join(path.delimiter), ...inCluster }, homeDir, serviceAccountPrefix: saPrefix });
    expect([r.source, server(r)]).toEqual(['KUBECONFIG', 'https://env:6443']);
    expect(r.kubeConfig.getContexts().map((c) => c.name)).toEqual(['env', 'env2']);
  });

  it('then the in-cluster service account, before ~/.kube/config', () => {
    const saved = { ...process.env };
    // loadFromCluster reads the service host and port from process.env itself.
    Object.assign(process.env, inCluster);
    try {
      const r = loadKubeConfig({ env: inCluster, homeDir, serviceAccountPrefix: saPrefix });
      expect([r.source, server(r)]).toEqual(['in-cluster', 'https://10.0.0.1:443']);
      expect(r.kubeConfig.getContextObject(r.kubeConfig.getCurrentContext())?.namespace).toBe('webstack-system');
    } finally {
      for (const key of Object.keys(inCluster)) {
        if (saved[key] === undefined) Reflect.deleteProperty(process.env, key);
        else process.env[key] = saved[key];
      }
    }
  });

  it('then ~/.kube/config', () => {
    const r = loadKubeConfig({ env: {}, homeDir, serviceAccountPrefix: saPrefix });
    expect([r.source, server(r)]).toEqual(['home', 'https://home:6443']);
  });

  it('says what it tried when nothing is there', () => {
    expect(() => loadKubeConfig({ env: {}, homeDir: path.join(dir, 'nobody'), serviceAccountPrefix: saPrefix })).toThrow(
      /no Kubernetes credentials found: tried --kubeconfig, \$KUBECONFIG, the in-cluster service account/,
    );
  });

  it('names the file it cannot read', () => {
    expect(() => loadKubeConfig({ path: path.join(dir, 'absent.yaml') })).toThrow(/cannot load kubeconfig .*absent\.yaml/);
  });

  it('refuses a kubeconfig without a usable current context', () => {
    const noContext = kubeconfig('nocontext.yaml', 'x', 'https://x:6443', 'elsewhere');
    expect(() => loadKubeConfig({ path: noContext })).toThrow(/has no usable current context \(current-context: "elsewhere"\)/);
  });
});

describe('createKubeClient', () => {
  it('builds a client on the loaded config', () => {
    const { client, loaded } = createKubeClient({ path: flagFile, requestTimeoutMs: 1_000 });
    expect(loaded.source).toBe('flag');
    expect(client.kubeConfig.getCurrentCluster()?.server).toBe('https://flag:6443');
  });
});
