/**
 * What a cloud and cert-manager give a cluster that KWOK does not: volumes, load balancer
 * addresses and issued certificates. Started and stopped by hack/cluster (`tsx hack/fake-cloud.ts
 * KUBECONFIG [--local-volumes DIR]`), logging to the cluster's logs/fake-cloud.log.
 *
 * - PVCs of the `standard` and `fixed-size` StorageClasses get a PersistentVolume bound to them,
 *   and Released volumes are deleted, as reclaimPolicy Delete promises. A bound `standard` claim
 *   that asks for more than it has is resized as a cloud driver's resizer and kubelet would (the
 *   PV's capacity, then the claim's status.capacity); `fixed-size` ones cannot grow (the API
 *   server refuses, as the class does not allow expansion). On KWOK nodes nothing is stored (the pods never
 *   run). With --local-volumes (the real-node cluster, whose StorageClass waits for the first
 *   consumer) the volume is a `local` PV in DIR/<node>/<pv> on the node the scheduler picked, so
 *   its data survives a pod restart and goes with the PV.
 * - On KWOK clusters, Services of type LoadBalancer get an address from TEST-NET-3
 *   (203.0.113.0/24) in their status. The address is only written to status; nothing ever sends
 *   traffic to it.
 * - cert-manager Certificates whose issuer exists get a throwaway self-signed certificate in their
 *   Secret (with the secretTemplate's labels and annotations) and a Ready condition for their
 *   generation, as cert-manager would report (only the CRDs are installed here). One annotated
 *   `cert-manager.io/issue-temporary-certificate` gets a temporary certificate first, as
 *   cert-manager does. A Certificate whose issuer is missing is looked at again every few seconds;
 *   one with Issuing=True (as `cmctl renew` sets) is issued again, with status.revision counted up.
 *
 * It is a small controller built from the operator's own informer and work queue, so hundreds of
 * objects are handled concurrently at a few API requests each (one kubectl process per object
 * made the harness, not the operator, the bottleneck of the scale benchmark).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { createKubeClient } from '../operator/kube/config.js';
import { isAlreadyExists, isNotFound } from '../operator/kube/errors.js';
import { kubeListWatch, type CollectionRef } from '../operator/kube/listwatch.js';
import { resourcePath, type KubeObject } from '../operator/kube/types.js';
import { Informer } from '../operator/runtime/informer.js';
import { WorkQueue, type ProcessResult } from '../operator/runtime/queue.js';
import { parseQuantity } from '../operator/support/quantity.js';

const PROVISIONER = 'webstack.dev/fake-provisioner';
/** The classes hack/cluster-objects.yaml and hack/real/addons.yaml define, and whether they allow expansion. */
const CLASSES: Record<string, { expands: boolean }> = { standard: { expands: true }, 'fixed-size': { expands: false } };
const FIELD_MANAGER = 'fake-cloud';
const ISSUER_RECHECK_MS = 5_000;
const CERT_MANAGER = { group: 'cert-manager.io', version: 'v1' };
const CORE = { group: '', version: 'v1' };

interface Condition {
  type: string;
  status: string;
  observedGeneration?: number;
}

interface Claim extends KubeObject {
  spec: { storageClassName?: string; volumeName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string; capacity?: { storage?: string } };
}

interface Volume extends KubeObject {
  spec?: { local?: { path?: string } };
  status?: { phase?: string };
}

interface Service extends KubeObject {
  spec: { type?: string };
  status?: { loadBalancer?: { ingress?: unknown[] } };
}

interface Certificate extends KubeObject {
  spec: {
    secretName: string;
    commonName?: string;
    dnsNames?: string[];
    issuerRef: { name: string; kind?: string };
    secretTemplate?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  };
  status?: { conditions?: Condition[]; revision?: number };
}

const [kubeconfig, flag, localVolumes] = process.argv.slice(2);
if (!kubeconfig || (flag !== undefined && (flag !== '--local-volumes' || !localVolumes))) {
  console.error('usage: tsx hack/fake-cloud.ts KUBECONFIG [--local-volumes DIR]');
  process.exit(2);
}
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const { client } = createKubeClient({ path: kubeconfig, requestTimeoutMs: 30_000 });
const run = promisify(execFile);

/** RFC 3339 without fractions, as Kubernetes writes its timestamps. */
const timestamp = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Informer logs: only warnings (a failing watch). */
const informerLog = pino({ level: 'warn', base: null });

/**
 * Watches one collection in all namespaces and runs `handle` for each object that changes, a few
 * at a time; a thrown error retries the object with backoff.
 */
function control<T extends KubeObject>(ref: CollectionRef, handle: (obj: T) => Promise<ProcessResult | undefined>): Informer<T> {
  const informer = new Informer<T>({ source: kubeListWatch<T>(client, ref), name: ref.plural, logger: informerLog });
  const queue = new WorkQueue({
    concurrency: 4,
    backoff: { baseMs: 500, maxMs: 10_000 },
    handler: async (key) => {
      const [namespace, name] = key.split('/') as [string, string];
      const obj = informer.get(namespace === '' ? undefined : namespace, name);
      return obj ? handle(obj) : undefined;
    },
    onProcessed: (key, outcome, _ms, error) => {
      if (outcome === 'error') log(`${ref.plural} ${key}: ${error instanceof Error ? error.message : String(error)}`);
    },
  });
  informer.onChange(({ type, object }) => {
    if (type !== 'delete') queue.add(`${object.metadata.namespace ?? ''}/${object.metadata.name}`);
  });
  queue.start();
  informer.start();
  return informer;
}

async function ignore(request: Promise<unknown>, expected: (err: unknown) => boolean): Promise<boolean> {
  try {
    await request;
    return true;
  } catch (err) {
    if (expected(err)) return false;
    throw err;
  }
}

/** Where a volume lives: a directory on its node (real nodes), or nowhere (KWOK). */
async function volumeSource(name: string, node: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (localVolumes === undefined) return { hostPath: { path: `/var/lib/fake-volumes/${name}` } };
  if (node === undefined) return undefined; // WaitForFirstConsumer: the scheduler has not picked a node yet
  const dir = path.join(localVolumes, node, name);
  // World-writable like local-path-provisioner's: kubelet gives `local` volumes the pod's fsGroup.
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o777);
  return {
    local: { path: dir },
    nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
  };
}

async function provision(pvc: Claim): Promise<undefined> {
  const { spec, metadata } = pvc;
  const storageClass = CLASSES[spec.storageClassName ?? ''];
  if (!storageClass) return undefined;
  if (pvc.status?.phase === 'Bound' && storageClass.expands) return resize(pvc);
  if (pvc.status?.phase !== 'Pending' || spec.volumeName || !metadata.uid) return undefined;
  const name = `pvc-${metadata.uid}`;
  const source = await volumeSource(name, metadata.annotations?.[SELECTED_NODE]);
  if (!source) return undefined;
  const volume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
    spec: {
      storageClassName: spec.storageClassName,
      persistentVolumeReclaimPolicy: 'Delete',
      capacity: { storage: spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: [spec.accessModes?.[0] ?? 'ReadWriteOnce'],
      ...source,
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: metadata.namespace, name: metadata.name, uid: metadata.uid },
    },
  };
  if (await ignore(client.request({ method: 'POST', path: resourcePath(CORE, 'persistentvolumes'), body: volume }), isAlreadyExists)) {
    log(`provisioned ${name} for ${metadata.namespace ?? ''}/${metadata.name}`);
  }
  return undefined;
}

/** Online expansion, as external-resizer and kubelet do it: the volume first, then the claim's status. */
async function resize(pvc: Claim): Promise<undefined> {
  const requested = pvc.spec.resources?.requests?.storage;
  const capacity = pvc.status?.capacity?.storage;
  const { namespace = '', name } = pvc.metadata;
  if (!requested || !pvc.spec.volumeName || (parseQuantity(requested) ?? 0) <= (parseQuantity(capacity ?? '0') ?? 0)) return undefined;
  const patch = (path: string, body: unknown) => client.request({ method: 'PATCH', path, contentType: 'application/merge-patch+json', body });
  await patch(resourcePath(CORE, 'persistentvolumes', { name: pvc.spec.volumeName }), { spec: { capacity: { storage: requested } } });
  await patch(resourcePath(CORE, 'persistentvolumeclaims', { namespace, name, subresource: 'status' }), { status: { capacity: { storage: requested } } });
  log(`resized ${pvc.spec.volumeName} of ${namespace}/${name} from ${capacity ?? '?'} to ${requested}`);
  return undefined;
}

async function reclaim(pv: Volume): Promise<undefined> {
  if (pv.status?.phase !== 'Released' || pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) return undefined;
  // The data goes with the volume, as with any cloud disk under reclaimPolicy Delete.
  const dir = pv.spec?.local?.path;
  if (localVolumes !== undefined && dir?.startsWith(localVolumes + path.sep)) await rm(dir, { recursive: true, force: true });
  if (await ignore(client.request({ method: 'DELETE', path: resourcePath(CORE, 'persistentvolumes', { name: pv.metadata.name }) }), isNotFound)) {
    log(`deleted released volume ${pv.metadata.name}`);
  }
  return undefined;
}

async function assignAddress(svc: Service): Promise<undefined> {
  if (svc.spec.type !== 'LoadBalancer' || (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0) return undefined;
  const { namespace = '', name } = svc.metadata;
  // Stable per Service, so a recreated Service gets its old address back.
  const ip = `203.0.113.${(createHash('sha256').update(`${namespace}/${name}`).digest().readUInt32BE(0) % 250) + 2}`;
  await client.request({
    method: 'PATCH',
    path: resourcePath(CORE, 'services', { namespace, name, subresource: 'status' }),
    contentType: 'application/merge-patch+json',
    body: { status: { loadBalancer: { ingress: [{ ip }] } } },
  });
  log(`assigned ${ip} to ${namespace}/${name}`);
  return undefined;
}

async function selfSigned(dnsName: string): Promise<{ crt: string; key: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fake-cert-'));
  try {
    const [crtFile, keyFile] = [path.join(dir, 'tls.crt'), path.join(dir, 'tls.key')];
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '90',
      '-subj', `/CN=${dnsName.replace(/^\*\./, '')}`, '-addext', `subjectAltName=DNS:${dnsName}`, '-keyout', keyFile, '-out', crtFile,
    ]);
    return { crt: await readFile(crtFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A throwaway certificate in the Certificate's Secret, annotated as cert-manager annotates it. */
async function writeCertificate(cert: Certificate, issuerAnnotations: Record<string, string>): Promise<void> {
  const { namespace = '', name } = cert.metadata;
  const { spec } = cert;
  const { crt, key } = await selfSigned(spec.dnsNames?.[0] ?? spec.commonName ?? name);
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  await client.request({
    method: 'PATCH',
    path: resourcePath(CORE, 'secrets', { namespace, name: spec.secretName }),
    query: { fieldManager: FIELD_MANAGER, force: true },
    contentType: 'application/apply-patch+yaml',
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: spec.secretName,
        namespace,
        labels: spec.secretTemplate?.labels ?? {},
        // cert-manager names the Certificate on every Secret it writes, and the issuer on issued ones.
        annotations: { ...spec.secretTemplate?.annotations, 'cert-manager.io/certificate-name': name, ...issuerAnnotations },
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(crt), 'tls.key': b64(key), 'ca.crt': b64(crt) },
    },
  });
}

async function issue(cert: Certificate): Promise<ProcessResult | undefined> {
  const { namespace = '', name, generation } = cert.metadata;
  const { spec } = cert;
  const secretPath = resourcePath(CORE, 'secrets', { namespace, name: spec.secretName });
  const ready = cert.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === generation);
  // `cmctl renew` asks for a new certificate by setting Issuing=True.
  const renewing = cert.status?.conditions?.some((c) => c.type === 'Issuing' && c.status === 'True');
  const secretExists = await ignore(client.request({ method: 'GET', path: secretPath }), isNotFound);
  if (ready && !renewing && secretExists) return undefined;
  // cert-manager's issue-temporary-certificate: a missing Secret gets a temporary certificate at
  // once, issuer or not, which names the Certificate but no issuer; issuance replaces it.
  if (!secretExists && cert.metadata.annotations?.['cert-manager.io/issue-temporary-certificate'] === 'true') await writeCertificate(cert, {});

  const issuerKind = spec.issuerRef.kind ?? 'Issuer';
  const issuerPath =
    issuerKind === 'ClusterIssuer'
      ? resourcePath(CERT_MANAGER, 'clusterissuers', { name: spec.issuerRef.name })
      : resourcePath(CERT_MANAGER, 'issuers', { namespace, name: spec.issuerRef.name });
  if (!(await ignore(client.request({ method: 'GET', path: issuerPath }), isNotFound))) return { requeueAfterMs: ISSUER_RECHECK_MS };

  await writeCertificate(cert, { 'cert-manager.io/issuer-name': spec.issuerRef.name, 'cert-manager.io/issuer-kind': issuerKind });
  const now = new Date();
  await client.request({
    method: 'PATCH',
    path: resourcePath(CERT_MANAGER, 'certificates', { namespace, name, subresource: 'status' }),
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', lastTransitionTime: timestamp(now), observedGeneration: generation },
        ],
        // Counts issuances, as cert-manager does; the operator rolls pods on renewals by it.
        revision: (cert.status?.revision ?? 0) + 1,
        notBefore: timestamp(now),
        notAfter: timestamp(new Date(now.getTime() + 90 * 86_400_000)),
      },
    },
  });
  log(`issued ${namespace}/${spec.secretName} for certificate ${name}`);
  return undefined;
}

control<Claim>({ ...CORE, plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim' }, provision);
control<Volume>({ ...CORE, plural: 'persistentvolumes', kind: 'PersistentVolume' }, reclaim);
if (localVolumes === undefined) control<Service>({ ...CORE, plural: 'services', kind: 'Service' }, assignAddress);
// Without the cert-manager CRDs (WEBSTACK_OPTIONAL_CRDS=false) this informer keeps retrying its
// list quietly, and starts working if the CRDs are installed later.
control<Certificate>({ ...CERT_MANAGER, plural: 'certificates', kind: 'Certificate' }, issue);
log('fake-cloud running');
