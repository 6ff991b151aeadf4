/** Building blocks of the e2e tests' own workloads: restricted pods on the local images. */
import { kubectl } from '../support/cluster.js';

export const image = (name: string): string => `webstack.local/${name}`;

/** A container security context the `restricted` Pod Security profile admits. */
export const restricted = (uid: number) => ({
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
  readOnlyRootFilesystem: true,
});

export const smallResources = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '256Mi' } };

/** A Deployment whose pods are labelled app=NAME. */
export function deployment(name: string, podSpec: object, replicas = 1) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec } },
  };
}

/** A toolbox pod (curl, openssl, mariadb, busybox) that prints `NAME started` and waits. */
export function toolboxPod(name: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'toolbox',
          image: image('toolbox:1.0'),
          imagePullPolicy: 'Never',
          command: ['sh', '-c', `echo "${name} started"; exec sleep 86400`],
          securityContext: restricted(65534),
          resources: smallResources,
        },
      ],
    },
  };
}

export async function applyIn(namespace: string, objects: object[]): Promise<void> {
  await kubectl(['apply', '-n', namespace, '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
}
