/**
 * `kubectl webstack` as a user runs it: kubectl finds `kubectl-webstack` on PATH (here a wrapper
 * around operator/cli/kubectl-webstack.ts) and the plugin reads the stack the operator reconciled
 * on the real API server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningOperator } from '../../operator/main.js';
import { binDir, deleteNamespace, eventually, getJson, installCrds, kubeconfigPath, kubectl, newNamespace, repoRoot, run } from '../support/cluster.js';
import { AGENT_NAMESPACE, startTestOperator } from '../support/operator.js';

let ns: string;
let operator: RunningOperator;
let pluginDir: string;

/** `kubectl webstack ARGS`, with the plugin on PATH as an installed package puts it (kubectl takes no flag before a plugin's name: KUBECONFIG says the cluster). */
const plugin = (args: string[]) =>
  run(path.join(binDir(), 'kubectl'), ['webstack', ...args], {
    env: { ...process.env, PATH: `${pluginDir}:${process.env.PATH ?? ''}`, KUBECONFIG: kubeconfigPath() },
    allowFail: true,
  });

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  ns = await newNamespace('plugin', { restricted: true });
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' }, spec: { selfSigned: {} } }) });
  pluginDir = mkdtempSync(path.join(tmpdir(), 'kubectl-plugin-'));
  const wrapper = path.join(pluginDir, 'kubectl-webstack');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${path.join(repoRoot, 'node_modules/.bin/tsx')}" "${path.join(repoRoot, 'operator/cli/kubectl-webstack.ts')}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  operator = await startTestOperator(ns);
  await kubectl(['apply', '-n', ns, '-f', path.join(repoRoot, 'manifests/examples/minimal.yaml')]);
  await eventually(
    async () => {
      const ws = await getJson<{ status?: { conditions?: { type: string }[] } }>(['webstack', '-n', ns, 'minimal']);
      if (!ws.status?.conditions?.some((c) => c.type === 'Ready')) throw new Error('no Ready condition yet');
    },
    { description: 'the minimal stack with status', timeoutMs: 120_000 },
  );
}, 240_000);

afterAll(async () => {
  await kubectl(['delete', 'webstack', '--all', '-n', ns, '--timeout=60s'], { allowFail: true });
  await operator.stop();
  await deleteNamespace(ns);
  rmSync(pluginDir, { recursive: true, force: true });
}, 120_000);

describe('kubectl webstack', () => {
  it('status prints the stack as the operator reports it: every concern, and the certificates the stack asked for', async () => {
    const { stdout, code } = await plugin(['status', 'minimal', '-n', ns]);
    expect(code).toBe(0);
    expect(stdout).toContain(`WebStack ${ns}/minimal:`);
    for (const concern of ['TLSReady', 'LoadBalancerReady', 'WebReady', 'AppReady', 'DatabaseReady', 'FirewallReady', 'LoggingReady', 'MonitoringReady']) {
      expect(stdout).toMatch(new RegExp(`(ok|!!|\\?\\?) ${concern}`));
    }
    expect(stdout).toContain('certificates:');
    expect(stdout).toMatch(/minimal-tls\s+(expires|not issued yet)/);
  });

  it('why says in one sentence what the Ready condition says, and a missing stack is an error', async () => {
    const ws = await getJson<{ status: { conditions: { type: string; status: string; message: string }[] } }>(['webstack', '-n', ns, 'minimal']);
    const ready = ws.status.conditions.find((c) => c.type === 'Ready');
    const { stdout } = await plugin(['why', 'minimal', '-n', ns]);
    expect(stdout.startsWith('minimal ')).toBe(true);
    if (ready?.status !== 'True') expect(stdout).toContain(ready?.message ?? '?');
    const missing = await plugin(['why', 'nothing-here', '-n', ns]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe(`no WebStack nothing-here in namespace ${ns}\n`);
  });
});
