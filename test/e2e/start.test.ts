/**
 * The front door on a machine that can run real nodes: `npm start` with no reachable cluster in
 * the kubeconfig uses the real-node cluster (running here already, so it is not torn down), and
 * its demo WebStack becomes Ready with its database tier; the command it prints fetches the page
 * over HTTPS from a pod, and the page comes from the app, which wrote a row to the primary.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { hackSetting } from '../../hack/settings.js';
import { DEFAULT_AGENT_NAMESPACE, SHARED_AGENT } from '../../operator/blueprint/agent.js';
import { eventually, getJson, kubectl, repoRoot, run } from '../support/cluster.js';

const DEMO = 'webstack-demo';

let start: ChildProcess | undefined;
let output = '';
let startedAt = 0;

beforeAll(async () => {
  // A demo left by an earlier run would be Ready at once: the figure is for a first start.
  await removeDemo();
  startedAt = Date.now();
  // A kubeconfig that names no cluster: what a newcomer on a fresh machine has.
  start = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), ['hack/start.ts'], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: path.join(repoRoot, 'no-such-kubeconfig') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  start.stdout?.on('data', keep);
  start.stderr?.on('data', keep);
}, 240_000);

/**
 * The demo's namespace and WebStack gone, finalizer and all (no operator runs between the tests that
 * make it), and the shared log agent its operator started: the agent is in the host network, so a
 * later test's agent (another namespace) would find its ports taken on every node and stay Pending.
 */
async function removeDemo(): Promise<void> {
  await kubectl(['patch', 'webstack', 'minimal', '-n', DEMO, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
  await kubectl(['delete', 'namespace', DEMO, '--ignore-not-found', '--wait=true', '--timeout=180s'], { allowFail: true });
  const agent = ['-n', DEFAULT_AGENT_NAMESPACE, '--ignore-not-found', '--wait=true', '--timeout=120s'];
  await kubectl(['delete', 'daemonset', SHARED_AGENT.daemonSet, '--cascade=foreground', ...agent], { allowFail: true });
  await kubectl(['delete', 'configmap', SHARED_AGENT.config, ...agent], { allowFail: true });
}

afterAll(async () => {
  const running = start?.exitCode === null ? start : undefined;
  if (running) {
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGINT');
    await exited;
  }
  await removeDemo();
}, 240_000);

describe('npm start where real nodes can run', () => {
  it('makes the demo WebStack Ready with its database, and prints a command that fetches its page over HTTPS from a pod', async () => {
    const fetchCommand = await eventually(
      () => {
        const line = output.split('\n').find((l) => l.includes(' run fetch '));
        return line ? Promise.resolve(line.trim()) : Promise.reject(new Error(`no fetch command printed yet:\n${output.slice(-3000)}`));
      },
      { description: 'npm start printing the fetch command', timeoutMs: 300_000, intervalMs: 1000 },
    );
    expect(output).not.toContain("The nodes are KWOK's");
    const status = await eventually(
      async () => {
        const ws = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[]; database?: { state?: string; primary?: string } } }>(['webstack', '-n', DEMO, 'minimal']);
        const ready = ws.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') throw new Error(`Ready ${ready?.reason ?? 'missing'}: ${ready?.message ?? ''}`);
        return ws.status;
      },
      { description: 'the demo WebStack Ready', timeoutMs: 600_000, intervalMs: 3000 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nnpm start printed:\n${output.slice(-5000)}`);
    });
    console.log(`npm start: the demo WebStack Ready ${((Date.now() - startedAt) / 1000).toFixed(0)} s after the command`);
    expect(status?.database?.state).toBe('Healthy');
    // The printed command, as a user pastes it into a shell with this repository's kubectl on PATH.
    const env = { ...process.env, PATH: `${hackSetting('BIN_DIR')}:${process.env.PATH ?? ''}` };
    const page = await eventually(
      async () => {
        const { stdout } = await run('sh', ['-c', fetchCommand.replace(/ --rm -i /, ' --rm -i --pod-running-timeout=60s ')], { env, timeoutMs: 120_000 });
        return JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1)) as { database?: string; wrote?: number };
      },
      { description: 'the page fetched by the printed command', timeoutMs: 240_000, intervalMs: 5000 },
    );
    // The app answered, having written a row to the primary the operator chose.
    expect(page.database).toBe(status?.database?.primary);
    expect(page.wrote).toBeGreaterThan(0);
  }, 1_000_000);
});
