#!/usr/bin/env node
/**
 * `kubectl webstack`: the kubectl plugin (kubectl runs `kubectl-webstack` from PATH; the package
 * installs it as a bin). Reads the cluster of the current kubeconfig:
 *
 *   kubectl webstack status NAME [-n NAMESPACE]   the stack as a tree: concerns, database, certificates
 *   kubectl webstack why NAME [-n NAMESPACE]      the one thing keeping it from Ready, in a sentence
 *   kubectl webstack render -f FILE ...           as `webstack render`
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { API_VERSION, INSTANCE_LABEL, PLURAL } from '../api/identity.js';
import type { WebStack } from '../api/types.js';
import { KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { isNotFound } from '../kube/errors.js';
import { statusTree, whyNotReady, type CertificateLike } from './explain.js';
import { main as webstackMain } from './webstack.js';

const USAGE = `Usage: kubectl webstack status NAME [-n NAMESPACE]
       kubectl webstack why NAME [-n NAMESPACE]
       kubectl webstack render -f FILE [...]   (see webstack render --help)
`;

async function fetchStack(client: KubeClient, namespace: string, name: string): Promise<{ stack: WebStack; certificates: CertificateLike[] }> {
  const stack = (await client.request({ method: 'GET', path: `/apis/${API_VERSION}/namespaces/${namespace}/${PLURAL}/${name}` })) as WebStack;
  // cert-manager may not be installed: then there is nothing to list.
  const certificates = await client
    .request({ method: 'GET', path: `/apis/cert-manager.io/v1/namespaces/${namespace}/certificates`, query: { labelSelector: `${INSTANCE_LABEL}=${name}` } })
    .then((list) => ((list as { items?: CertificateLike[] }).items ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)))
    .catch((err: unknown) => {
      if (isNotFound(err)) return [];
      throw err;
    });
  return { stack, certificates };
}

/** NAME and the namespace of `status|why NAME [-n NAMESPACE] [--kubeconfig FILE]`, or undefined for bad arguments. */
function target(args: string[]): { name: string; namespace?: string; kubeconfig?: string } | undefined {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { namespace: { type: 'string', short: 'n' }, kubeconfig: { type: 'string' } } });
  const [name] = positionals;
  if (name === undefined || positionals.length > 1) return undefined;
  return { name, ...(values.namespace === undefined ? {} : { namespace: values.namespace }), ...(values.kubeconfig === undefined ? {} : { kubeconfig: values.kubeconfig }) };
}

export async function main(argv: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'render') return webstackMain(argv);
  const t = command === 'status' || command === 'why' ? target(rest) : undefined;
  if (!t) {
    out(USAGE);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 1;
  }
  const { kubeConfig } = loadKubeConfig({ path: t.kubeconfig });
  const namespace = t.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
  try {
    const { stack, certificates } = await fetchStack(new KubeClient(kubeConfig, { requestTimeoutMs: 15_000 }), namespace, t.name);
    out(command === 'status' ? statusTree(stack, certificates, new Date()) : whyNotReady(stack));
    return 0;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    out(`no WebStack ${t.name} in namespace ${namespace}\n`);
    return 1;
  }
}

// Run when executed (bin, tsx), not when imported by tests; realpath follows npm's bin symlink.
const invoked = process.argv[1];
if (invoked !== undefined && import.meta.url === pathToFileURL(realpathSync(invoked)).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`kubectl webstack: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
