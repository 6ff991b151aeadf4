/** Building blocks of the e2e tests' own workloads: restricted pods on the local images. */
import { kubectl } from './cluster.js';

import { LOCAL_IMAGE_CATALOG, localImage } from '../../hack/images/local.js';
import { IMAGE_FLAG } from '../../operator/runtime/config.js';
import type { ImageKey } from '../../operator/api/images.js';

/** A local image by `name:tag` (hack/images/build.ts builds them, every real node has them). */
export const image = localImage;

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

/**
 * The operator's flags for stacks on the local images (hack/images/local.ts's catalog). It runs on
 * this host, so its database connections come from the node bridge's address.
 */
export const LOCAL_OPERATOR_FLAGS = [
  ...Object.entries(LOCAL_IMAGE_CATALOG).map(([key, image]) => `--image-${IMAGE_FLAG[key as ImageKey]}=${image}`),
  '--operator-cidr=10.250.0.1/32',
];

/** A small WebStack on the local images: one pod per tier, MariaDB with one replica, no logging or monitoring. */
export function localWebStack(name: string, domain: string, mode: 'reencrypt' | 'terminate' | 'passthrough', issuer: string) {
  return {
    apiVersion: 'webstack.dev/v1alpha1',
    kind: 'WebStack',
    metadata: { name },
    spec: {
      domain,
      tls: { mode, issuerRef: { name: issuer, kind: 'Issuer' } },
      loadBalancer: { replicas: 1, serviceType: 'ClusterIP' },
      web: { replicas: 1 },
      app: { image: image('app:1.0'), port: 8080, replicas: 1, healthPath: '/healthz' },
      database: { engine: 'mariadb', replicas: 2 },
      logging: { enabled: false },
      monitoring: { enabled: false },
      placement: { hostnameSpread: 'Disabled', zoneSpread: 'Disabled' },
    },
  };
}
