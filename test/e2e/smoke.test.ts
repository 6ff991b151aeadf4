/**
 * The real-node cluster works as a cluster: pods run real processes under the restricted profile,
 * probes run, Services resolve through CoreDNS and answer across nodes, NetworkPolicies are
 * enforced, volumes keep data across pod restarts, and `kubectl logs`/`exec` work.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { deleteNamespace, eventually, getJson, kubectl, newNamespace } from '../support/cluster.js';
import { realNodeCount } from './host.js';
import { applyIn, deployment, image, restricted as restrictedAs, smallResources, toolboxPod } from '../support/objects.js';

const BUSYBOX = image('busybox:1.35');
const restricted = restrictedAs(65534);

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; ready: boolean }[] };
}

const isReady = (pod: Pod) => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

let ns: string;

const apply = (objects: object[]) => applyIn(ns, objects);

async function pods(selector: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(['pods', '-n', ns, '-l', selector])).items;
}

/** Runs a command in a pod; resolves with its output, or rejects with what it printed. */
async function exec(pod: string, command: string[]): Promise<string> {
  return (await kubectl(['exec', '-n', ns, pod, '--', ...command])).stdout;
}

/** Whether `client` gets an HTTP answer from url within 2 s. */
async function reaches(client: string, url: string): Promise<boolean> {
  const { code } = await kubectl(['exec', '-n', ns, client, '--', 'curl', '-sS', '-o', '/dev/null', '-m', '2', url], { allowFail: true });
  return code === 0;
}

const web = deployment(
  'web',
  {
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }],
    containers: [
      {
        name: 'httpd',
        image: BUSYBOX,
        imagePullPolicy: 'Never',
        command: ['sh', '-c', 'echo "hello from $(hostname)" > /www/index.html && exec httpd -f -vv -p 8080 -h /www'],
        ports: [{ containerPort: 8080 }],
        securityContext: restricted,
        resources: smallResources,
        readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
        livenessProbe: { exec: { command: ['test', '-d', '/www'] }, periodSeconds: 2 },
        volumeMounts: [{ name: 'www', mountPath: '/www' }],
      },
    ],
    volumes: [{ name: 'www', emptyDir: {} }],
  },
  3,
);

beforeAll(async () => {
  ns = await newNamespace('e2e-smoke', { restricted: true });
  await apply([
    web,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 8080 }] } },
    toolboxPod('client-allowed', { role: 'client', access: 'true' }),
    toolboxPod('client-denied', { role: 'client', access: 'false' }),
  ]);
  await kubectl(['wait', '-n', ns, '--for=condition=Available', 'deployment/web', '--timeout=120s']);
  await kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod', '-l', 'role=client', '--timeout=120s']);
}, 180_000);

afterAll(async () => {
  await deleteNamespace(ns);
});

describe('pods on real nodes', () => {
  it('run real processes on every real node, under the restricted profile, and pass their probes', async () => {
    const webPods = await pods('app=web');
    expect(webPods).toHaveLength(3);
    const nodes = new Set(webPods.map((p) => p.spec.nodeName));
    expect(nodes.size).toBe(Math.min(3, realNodeCount()));
    for (const pod of webPods) {
      expect(isReady(pod)).toBe(true);
      expect(pod.status.containerStatuses?.[0]?.restartCount).toBe(0);
      // The container's PID 1 is the web server itself.
      expect(await exec(pod.metadata.name, ['cat', '/proc/1/cmdline'])).toContain('httpd');
    }
    // Three kubectl execs: seconds each late in a long run on 2 cores.
  }, 60_000);

  it('go NotReady when their readiness probe fails, and Ready again when it passes', async () => {
    const [pod] = await pods('app=web');
    const name = pod?.metadata.name ?? '';
    await exec(name, ['mv', '/www/index.html', '/www/away.html']);
    await eventually(async () => {
      const [now] = (await pods('app=web')).filter((p) => p.metadata.name === name);
      if (!now || isReady(now)) throw new Error('still Ready');
    }, { description: `${name} to go NotReady`, timeoutMs: 20_000 });
    await exec(name, ['mv', '/www/away.html', '/www/index.html']);
    await eventually(async () => {
      const [now] = (await pods('app=web')).filter((p) => p.metadata.name === name);
      if (!now || !isReady(now)) throw new Error('not Ready yet');
    }, { description: `${name} to be Ready again`, timeoutMs: 20_000 });
  }, 60_000);

  it('answer through a Service name resolved by CoreDNS, and pod to pod across nodes', async () => {
    const fqdn = `web.${ns}.svc.cluster.local`;
    const service = await getJson<{ spec: { clusterIP: string } }>(['service', 'web', '-n', ns]);
    expect(await exec('client-allowed', ['nslookup', fqdn])).toContain(service.spec.clusterIP);
    expect(await exec('client-allowed', ['curl', '-sS', '-m', '5', `http://web:8080/`])).toMatch(/^hello from web-/);
    expect(await exec('client-allowed', ['curl', '-sS', '-m', '5', `http://${fqdn}:8080/`])).toMatch(/^hello from web-/);
    for (const pod of await pods('app=web')) {
      expect(await exec('client-allowed', ['curl', '-sS', '-m', '5', `http://${pod.status.podIP ?? ''}:8080/`])).toBe(`hello from ${pod.metadata.name}\n`);
    }
  }, 30_000);

  it('resolve nothing outside the cluster domain', async () => {
    const { code, stdout, stderr } = await kubectl(['exec', '-n', ns, 'client-allowed', '--', 'nslookup', 'example.com'], { allowFail: true });
    expect(code).not.toBe(0);
    expect(stdout + stderr).not.toMatch(/Address:\s+\d+\.\d+\.\d+\.\d+\s*$/m);
  }, 30_000);

  it('have their logs and exec served through the API server by each kubelet', async () => {
    expect((await kubectl(['logs', '-n', ns, 'client-denied'])).stdout).toContain('client-denied started');
    expect((await exec('client-denied', ['id', '-u'])).trim()).toBe('65534');
  }, 30_000);
});

describe('NetworkPolicy, enforced by kube-router', () => {
  const url = () => `http://web.${ns}.svc.cluster.local:8080/`;

  it('admits both clients before any policy', async () => {
    expect(await reaches('client-allowed', url())).toBe(true);
    expect(await reaches('client-denied', url())).toBe(true);
  }, 30_000);

  it('blocks both once a default-deny policy selects the web pods', async () => {
    await apply([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }]);
    await eventually(async () => {
      if (await reaches('client-allowed', url())) throw new Error('client-allowed still gets through');
    }, { description: 'the default-deny policy to block client-allowed', timeoutMs: 30_000 });
    expect(await reaches('client-denied', url())).toBe(false);
    // The web pods stay Ready: kubelet's probes from the node are not pod traffic.
    expect((await pods('app=web')).every(isReady)).toBe(true);
  }, 60_000);

  it('admits exactly the pod an allow rule selects', async () => {
    await apply([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-access' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { access: 'true' } } }], ports: [{ port: 8080 }] }] },
      },
    ]);
    await eventually(async () => {
      if (!(await reaches('client-allowed', url()))) throw new Error('client-allowed is still blocked');
    }, { description: 'the allow rule to admit client-allowed', timeoutMs: 30_000 });
    expect(await reaches('client-denied', url())).toBe(false);
    for (const pod of await pods('app=web')) {
      expect(await reaches('client-allowed', `http://${pod.status.podIP ?? ''}:8080/`)).toBe(true);
      expect(await reaches('client-denied', `http://${pod.status.podIP ?? ''}:8080/`)).toBe(false);
    }
  }, 60_000);
});

describe('volumes of the local StorageClass', () => {
  const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
  const writer = (name: string, script: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      securityContext: { fsGroup: 65534 },
      containers: [
        {
          name: 'sh',
          image: BUSYBOX,
          imagePullPolicy: 'Never',
          command: ['sh', '-c', script],
          securityContext: restricted,
          resources: smallResources,
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    },
  });
  const finished = async (name: string) =>
    eventually(async () => {
      const pod = await getJson<Pod>(['pod', name, '-n', ns]);
      if (pod.status.phase !== 'Succeeded') throw new Error(`phase ${pod.status.phase ?? 'unknown'}`);
    }, { description: `pod ${name} to succeed`, timeoutMs: 90_000 });

  it('keep a file across pods, and lose it with the volume', async () => {
    const token = randomBytes(8).toString('hex');
    await apply([claim, writer('first', `echo ${token} > /data/token`)]);
    await finished('first');
    await kubectl(['delete', 'pod', 'first', '-n', ns, '--wait=true']);
    await apply([writer('second', 'cat /data/token')]);
    await finished('second');
    expect((await kubectl(['logs', 'second', '-n', ns])).stdout.trim()).toBe(token);

    const pvc = await getJson<{ spec: { volumeName: string } }>(['pvc', 'data', '-n', ns]);
    const pv = await getJson<{ spec: { local?: { path: string } } }>(['pv', pvc.spec.volumeName]);
    const dir = pv.spec.local?.path ?? '';
    expect(existsSync(`${dir}/token`)).toBe(true);
    await kubectl(['delete', 'pod', 'second', '-n', ns, '--wait=true']);
    await kubectl(['delete', 'pvc', 'data', '-n', ns, '--wait=true']);
    await eventually(async () => {
      if (existsSync(dir)) throw new Error(`${dir} still exists`);
      const { code } = await kubectl(['get', 'pv', pvc.spec.volumeName], { allowFail: true });
      if (code === 0) throw new Error('the PV still exists');
    }, { description: 'the volume and its directory to be deleted', timeoutMs: 60_000 });
  }, 240_000);
});
