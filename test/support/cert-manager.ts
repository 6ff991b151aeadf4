/**
 * The real cert-manager controller for one test namespace (built by hack/build.sh from
 * hack/cert-manager, run on this host with the cluster's kubeconfig: the CA paths need no webhook
 * and no solver pods), with a CA Issuer the test names.
 */
import { hackSetting } from '../../hack/settings.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { kubeconfigPath, kubectl, waitEstablished } from './cluster.js';
import type { Pem } from './tls.js';
import { applyIn } from './objects.js';


const b64 = (text: string) => Buffer.from(text).toString('base64');

const FAKE_GUARD = 'webstack-e2e-real-cert-manager';

/**
 * The clusters' hack/fake-cloud.ts stands in for cert-manager where only its CRDs are installed:
 * it self-signs every Certificate, faster than the real controller. An in-tree admission policy
 * (no webhook) refuses its writes to Secrets in namespaces labelled for the real controller, so
 * the real one issues them.
 */
async function keepFakeCertificatesOut(namespace: string): Promise<void> {
  await kubectl(['label', 'namespace', namespace, 'webstack.dev/cert-manager=real']);
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicy',
          metadata: { name: FAKE_GUARD },
          spec: {
            failurePolicy: 'Fail',
            matchConstraints: {
              resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] }],
              namespaceSelector: { matchLabels: { 'webstack.dev/cert-manager': 'real' } },
            },
            validations: [
              {
                // Its server-side applies name their field manager; cert-manager's annotations stay, so only this tells them apart.
                expression: "!has(object.metadata.managedFields) || !object.metadata.managedFields.exists(m, m.manager == 'fake-cloud')",
                message: 'this namespace gets its certificates from the real cert-manager controller, not from hack/fake-cloud.ts',
              },
            ],
          },
        },
        {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicyBinding',
          metadata: { name: FAKE_GUARD },
          spec: { policyName: FAKE_GUARD, validationActions: ['Deny'] },
        },
      ],
    }),
  });
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
