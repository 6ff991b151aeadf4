/**
 * The drills' writers, pods that insert rows 1, 2, ... into the stack's database through a
 * Service's address, over TLS verified with the stack's internal CA, and print `ack N T` for each
 * committed row, T on the machine's boot clock. Reading a writer's log gives every acknowledged row
 * and when it was acknowledged.
 *
 * Two kinds: `writer` opens one connection per row (a stateless client), into table `acked`;
 * `pooled` is the test application writing through its connection pool into table `pooled`, and
 * also prints `err T message` for every error it sees: a switchover that leaves its connections on
 * the old primary shows as read-only errors until something ends those connections.
 */
import { readFileSync } from 'node:fs';
import { kubectl } from '../support/cluster.js';
import { image, restricted, smallResources } from '../support/objects.js';

/** Which client the writer runs: MariaDB's from the toolbox image, or MySQL's from the MySQL image. */
const CLIENTS = {
  mariadb: { image: 'toolbox:1.0', command: (host: string) => `mariadb --host=${host} --user=app --ssl --ssl-ca=/ca/ca.crt --connect-timeout=2 app` },
  mysql: { image: 'mysql:9.7', command: (host: string) => `mysql --host=${host} --user=app --ssl-mode=VERIFY_CA --ssl-ca=/ca/ca.crt --connect-timeout=2 app` },
} as const;

interface WriterOptions {
  stack: string;
  engine: keyof typeof CLIENTS;
  serviceIp: string;
  /** The node the writer runs on: a drill that cuts a database node's power must not cut the writer. */
  nodeName?: string;
}

/** Seconds on the boot clock, in the writer's shell (the same clock in every pod and in this process). */
const NOW = 'read up _ </proc/uptime';

/** The label a stack's firewall must let in on 3306 (spec.firewall.extraIngress). */
export const WRITER_LABEL = 'e2e.webstack.dev/writer';

export function writerPod(o: WriterOptions): object {
  // The Service's address, not its name: a drill that stops CoreDNS's node must not stop the writer.
  // TLS with the internal CA (the server requires it); the name is not checked, as it is dialled by address.
  const client = `timeout 15 ${CLIENTS[o.engine].command(o.serviceIp)}`;
  const script = [
    `until ${client} -e 'CREATE TABLE IF NOT EXISTS acked (id INT PRIMARY KEY)' 2>/dev/null; do sleep 1; done`,
    'echo ready',
    'i=0',
    // Each ack carries the time of its commit, so outages are measured from the writer's own record.
    `while true; do i=$((i+1)); if ${client} -e "INSERT INTO acked (id) VALUES ($i)" 2>/dev/null; then ${NOW}; echo "ack $i $up"; fi; sleep 0.2; done`,
  ].join('\n');
  return clientPod('writer', o, script);
}

/**
 * The test application (hack/images/app) as a writer: its own pool (4 connections, each kept up to
 * a minute), a row every 0.2 s, an error logged and the connection kept unless the driver finds it
 * broken, as an application's pool does.
 */
export function pooledWriterPod(o: WriterOptions): object {
  const pod = clientPod('pooled', o, '') as { spec: { containers: Record<string, unknown>[] } };
  const [container] = pod.spec.containers;
  if (!container) throw new Error('no container');
  delete container.command;
  container.image = image('app:1.0');
  container.securityContext = restricted(65532);
  container.env = [
    { name: 'DB_WRITE_HOST', value: o.serviceIp },
    { name: 'DB_SSL_MODE', value: 'VERIFY_CA' },
    { name: 'DB_SSL_CA', value: '/ca/ca.crt' },
    { name: 'DB_USER', value: 'app' },
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${o.stack}-mysql-credentials`, key: 'app-password' } } },
    { name: 'DB_NAME', value: 'app' },
    { name: 'BIND', value: '127.0.0.1' },
    { name: 'WRITE_INTERVAL', value: '200ms' },
    { name: 'WRITE_TABLE', value: 'pooled' },
  ];
  return pod;
}

function clientPod(name: string, o: WriterOptions, script: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { [WRITER_LABEL]: 'true' } },
    spec: {
      ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }),
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name,
          image: image(CLIENTS[o.engine].image),
          imagePullPolicy: 'Never',
          command: ['sh', '-c', script],
          env: [{ name: 'MYSQL_PWD', valueFrom: { secretKeyRef: { name: `${o.stack}-mysql-credentials`, key: 'app-password' } } }],
          securityContext: restricted(65534),
          resources: smallResources,
          volumeMounts: [{ name: 'ca', mountPath: '/ca', readOnly: true }],
        },
      ],
      volumes: [{ name: 'ca', secret: { secretName: `${o.stack}-ca`, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }],
    },
  };
}

export interface Ack {
  id: number;
  /** Seconds on the boot clock when the commit was acknowledged. */
  at: number;
}

export async function acks(namespace: string, writer: 'writer' | 'pooled' = 'writer'): Promise<Ack[]> {
  const { stdout } = await kubectl(['logs', '-n', namespace, writer], { allowFail: true });
  return stdout.split('\n').flatMap((l) => {
    const m = /^ack (\d+) ([\d.]+)$/.exec(l);
    return m ? [{ id: Number(m[1]), at: Number(m[2]) }] : [];
  });
}

export interface ClientError {
  at: number;
  message: string;
}

/** The errors the pooled writer's client saw, in order. */
export async function clientErrors(namespace: string): Promise<ClientError[]> {
  const { stdout } = await kubectl(['logs', '-n', namespace, 'pooled'], { allowFail: true });
  return stdout.split('\n').flatMap((l) => {
    const m = /^err ([\d.]+) (.*)$/.exec(l);
    return m ? [{ at: Number(m[1]), message: m[2] ?? '' }] : [];
  });
}

/** Now on the boot clock the writer stamps its acks with. */
export function uptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** The longest gap between consecutive acks from the last one before `start` to the first after `until` (or the last one). */
export function longestGap(all: readonly Ack[], start: number, until: number): number {
  const ats = all.map((a) => a.at);
  const from = Math.max(0, ats.findIndex((at) => at >= start) - 1);
  const after = ats.findIndex((at) => at > until);
  const to = after === -1 ? ats.length - 1 : after;
  let longest = 0;
  for (let i = from + 1; i <= to; i++) longest = Math.max(longest, (ats[i] ?? 0) - (ats[i - 1] ?? 0));
  return longest;
}
