/**
 * The real cert-manager controller for one test namespace (built by hack/build.sh from
 * hack/cert-manager, run on this host with the cluster's kubeconfig: the CA paths need no webhook
 * and no solver pods), with a CA Issuer the test names.
 */
import { FAKE_CERTIFICATES_GUARD, REAL_CERT_MANAGER_LABEL } from '../../hack/cert-manager-guard.js';
import { hackSetting } from '../../hack/settings.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { kubeconfigPath, kubectl, waitEstablished } from './cluster.js';
import type { Pem } from './tls.js';
import { applyIn } from './objects.js';


const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Only the real controller writes certificates in `namespace` (hack/cert-manager-guard.ts). */
async function keepFakeCertificatesOut(namespace: string): Promise<void> {
  await kubectl(['label', '--overwrite', 'namespace', namespace, `${REAL_CERT_MANAGER_LABEL}=real`]);
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: FAKE_CERTIFICATES_GUARD }) });
}

export interface RunningProgram {
  /** The program's last output, for failure messages. */
  log(): string;
  stop(): void;
}

/** A program of the control-plane build (hack/build.sh control-plane puts them in BIN_DIR). */
export const controlPlaneBinary = (name: string): string => path.join(hackSetting('BIN_DIR'), name);

/**
 * Starts `command` with its stderr kept (the last 20 kB), in the network namespace `netns` when
 * given (`ip netns exec` execs it, so the child is the program itself).
 */
export function startProgram(command: string, args: string[], netns?: string): RunningProgram {
  let output = '';
  const child = netns ? spawn('ip', ['netns', 'exec', netns, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.on('error', (e) => {
    output += `\n${e.message} (build it with hack/build.sh control-plane)`;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  child.on('exit', (code, signal) => {
    output += `\n[${path.basename(command)} exited: ${signal ?? code}]`;
  });
  return { log: () => output, stop: () => child.kill('SIGTERM') };
}

/**
 * Installs the cert-manager CRDs, keeps the fake issuer out of `namespace` and starts the
 * controller for it (in network namespace `o.netns` when given, with `o.args` added).
 */
export async function startCertManagerController(namespace: string, o: { netns?: string; args?: string[] } = {}): Promise<RunningProgram> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'webstack-tests', '-f', path.join(hackSetting('CRDS_DIR'), 'cert-manager.yaml')]);
  await waitEstablished('crd/certificates.cert-manager.io', 'crd/issuers.cert-manager.io');
  await keepFakeCertificatesOut(namespace);
  return startProgram(controlPlaneBinary('cert-manager-controller'), [`--kubeconfig=${kubeconfigPath()}`, `--namespace=${namespace}`, '--v=1', ...(o.args ?? [])], o.netns);
}

/** startCertManagerController, plus the Issuer `issuer` signing with `ca`. */
export async function startCertManager(namespace: string, issuer: string, ca: Pem): Promise<RunningProgram> {
  const controller = await startCertManagerController(namespace);
  await applyIn(namespace, [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${issuer}-ca` }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(ca.crt), 'tls.key': b64(ca.key) } },
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: issuer }, spec: { ca: { secretName: `${issuer}-ca` } } },
  ]);
  return controller;
}
