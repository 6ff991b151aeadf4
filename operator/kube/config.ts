/**
 * Where the operator's API credentials come from, in this order:
 *   1. the --kubeconfig flag,
 *   2. the KUBECONFIG environment variable (a path list; the first file's current context wins),
 *   3. the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and a mounted token),
 *   4. ~/.kube/config.
 * In-cluster comes before ~/.kube/config (client-node's loadFromDefault does the opposite) so
 * that a stray kubeconfig baked into an image can never redirect a deployed operator.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type KubeClientOptions } from './client.js';

export type KubeConfigSource = 'flag' | 'KUBECONFIG' | 'in-cluster' | 'home';

export interface LoadKubeConfigOptions {
  /** The --kubeconfig flag. */
  path?: string | undefined;
  env?: Record<string, string | undefined>;
  homeDir?: string;
  /** Prefix of the service account mount (`/var/run/secrets/...`), for tests. */
  serviceAccountPrefix?: string;
  fileExists?: (file: string) => boolean;
}

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  source: KubeConfigSource;
  /** The file(s) read, or the service account directory. */
  from: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function readFile(file: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new Error(`cannot load kubeconfig ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return kc;
}

/** Adds the clusters, users and contexts of `extra` that `base` does not have by name (kubectl's merge rule: first wins). */
function mergeInto(base: KubeConfig, extra: KubeConfig): void {
  const has = (list: { name: string }[], name: string) => list.some((x) => x.name === name);
  for (const c of extra.getClusters()) if (!has(base.getClusters(), c.name)) base.addCluster(c);
  for (const u of extra.getUsers()) if (!has(base.getUsers(), u.name)) base.addUser(u);
  for (const c of extra.getContexts()) if (!has(base.getContexts(), c.name)) base.addContext(c);
  if (!base.getCurrentContext()) base.setCurrentContext(extra.getCurrentContext());
}

function checked(loaded: LoadedKubeConfig): LoadedKubeConfig {
  if (!loaded.kubeConfig.getCurrentCluster()) {
    throw new Error(`kubeconfig from ${loaded.from} has no usable current context (current-context: "${loaded.kubeConfig.getCurrentContext()}")`);
  }
  return loaded;
}

export function loadKubeConfig(options: LoadKubeConfigOptions = {}): LoadedKubeConfig {
  const env = options.env ?? process.env;
  const exists = options.fileExists ?? existsSync;

  if (options.path) {
    return checked({ kubeConfig: readFile(options.path), source: 'flag', from: options.path });
  }

  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
  const [first, ...rest] = list;
  if (first !== undefined) {
    const kc = readFile(first);
    // kubectl skips listed files that do not exist; only the first one must be there.
    for (const file of rest) if (exists(file)) mergeInto(kc, readFile(file));
    return checked({ kubeConfig: kc, source: 'KUBECONFIG', from: list.join(path.delimiter) });
  }

  const prefix = options.serviceAccountPrefix ?? '';
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && exists(`${prefix}${SERVICE_ACCOUNT_DIR}/token`)) {
    const kc = new KubeConfig();
    // loadFromCluster reads the host and port from process.env itself.
    kc.loadFromCluster(prefix);
    return checked({ kubeConfig: kc, source: 'in-cluster', from: `${prefix}${SERVICE_ACCOUNT_DIR}` });
  }

  const home = path.join(options.homeDir ?? homedir(), '.kube', 'config');
  if (exists(home)) {
    return checked({ kubeConfig: readFile(home), source: 'home', from: home });
  }

  throw new Error(
    'no Kubernetes credentials found: tried --kubeconfig, $KUBECONFIG, the in-cluster service account ' +
      `(${SERVICE_ACCOUNT_DIR}) and ${home}`,
  );
}

/** Loads credentials as above and returns a client with the request timeout and observer. */
export function createKubeClient(options: LoadKubeConfigOptions & KubeClientOptions): { client: KubeClient; loaded: LoadedKubeConfig } {
  const loaded = loadKubeConfig(options);
  const clientOptions: KubeClientOptions = { requestTimeoutMs: options.requestTimeoutMs };
  if (options.onRequest) clientOptions.onRequest = options.onRequest;
  if (options.httpApi) clientOptions.httpApi = options.httpApi;
  return { client: new KubeClient(loaded.kubeConfig, clientOptions), loaded };
}
