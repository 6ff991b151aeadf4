/**
 * Gather: every read a reconcile needs, before anything is written. The caches answer for the
 * children; the API server only for what the operator does not watch (the user's issuer and log
 * sink Secret) and discovery for the optional APIs.
 */
import type { DefaultedWebStack } from '../api/defaults.js';
import { CERTIFICATE_NAME_ANNOTATION, INSTANCE_LABEL, ISSUER_NAME_ANNOTATION, OPTIONAL_APIS, TEMPORARY_CERTIFICATE_ANNOTATION, type OptionalApis } from '../api/identity.js';
import type { ObjectApi } from '../kube/apply.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import type { ExistingState } from '../render/index.js';
import { names } from '../blueprint/names.js';

/** What a reconcile knows before it writes. */
export interface Gathered {
  apis: OptionalApis;
  /** Versions of the stack's Secrets as the caches show them (see secretVersions). */
  secretVersions: Record<string, string>;
  existing?: ExistingState;
  /** The user's log sink Secret: absent when none is configured, null when it does not exist. */
  sinkSecret?: SecretWithData | null;
  /** Whether spec.tls.issuerRef exists; absent when it was not checked (no cert-manager, external issuer). */
  issuerFound?: boolean;
}

export type SecretWithData = KubeObject & { data?: Record<string, string> };

export interface GatherDeps {
  caches: Lookup;
  objects: Pick<ObjectApi, 'getObject'>;
  optionalApis: () => Promise<OptionalApis>;
  /** Issuers found, by `Kind/namespace/name`, until when the finding is trusted (see issuerExists). */
  issuersFound: Map<string, number>;
  now: () => Date;
}

export async function gather(deps: GatherDeps, stack: DefaultedWebStack): Promise<Gathered> {
  const apis = await deps.optionalApis();
  const gathered: Gathered = { apis, secretVersions: secretVersions(deps.caches, stack) };
  const existing = existingState(deps.caches, stack);
  if (existing) gathered.existing = existing;
  const sinkSecret = await logSinkSecret(deps.objects, stack);
  if (sinkSecret !== undefined) gathered.sinkSecret = sinkSecret;
  const issuerFound = apis.certManager ? await issuerExists(deps, stack) : undefined;
  if (issuerFound !== undefined) gathered.issuerFound = issuerFound;
  return gathered;
}

interface IssuedCertificate extends KubeObject {
  spec?: { secretName?: string };
  status?: { revision?: number };
}

/**
 * Secret name -> version, for the pod templates' config hash. A pod created before its certificate
 * exists waits for the volume and starts with whatever arrives first, so that arrival must not roll
 * it (it would double every new stack's pod churn), while every later certificate must, for the
 * servers to load it:
 * - a certificate without a temporary phase counts by renewals (cert-manager's status.revision
 *   less the first issuance): none until the first renewal;
 * - one with a temporary phase (the public certificate, render/tls.ts: HAProxy must serve before
 *   an ACME order completes) counts nothing while the Secret holds the temporary certificate (the first arrival) and
 *   `issued:<revision>` from the first issuance on. Counting the first issuance like "no
 *   certificate" would make the template go back to the one the pods had before the temporary
 *   certificate came: a rollout still under way then ends on the old pods, which hold the
 *   temporary certificate, and HAProxy serves it for good (seen in a fresh-machine run).
 * Other Secrets count by resourceVersion.
 */
const holdsTemporaryCertificate = (secret: KubeObject): boolean =>
  secret.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION] !== undefined && secret.metadata.annotations[ISSUER_NAME_ANNOTATION] === undefined;

export function secretVersions(caches: Lookup, stack: DefaultedWebStack): Record<string, string> {
  const ns = stack.metadata.namespace;
  const versions: Record<string, string> = {};
  const ours = (o: KubeObject) => o.metadata.labels?.[INSTANCE_LABEL] === stack.metadata.name;
  const secrets = caches.list('Secret', ns).filter(ours);
  for (const secret of secrets) {
    const { name, resourceVersion, annotations } = secret.metadata;
    if (annotations?.[CERTIFICATE_NAME_ANNOTATION] === undefined && resourceVersion) versions[name] = resourceVersion;
  }
  for (const cert of (caches.list('Certificate', ns) as IssuedCertificate[]).filter(ours)) {
    const secretName = cert.spec?.secretName;
    if (!secretName) continue;
    const revision = cert.status?.revision ?? 1;
    if (cert.metadata.annotations?.[TEMPORARY_CERTIFICATE_ANNOTATION] === 'true') {
      const secret = secrets.find((s) => s.metadata.name === secretName);
      // The Secret may show the issued certificate before the Certificate's revision does: 1 then.
      if (secret && !holdsTemporaryCertificate(secret)) versions[secretName] = `issued:${revision}`;
    } else if (revision > 1) versions[secretName] = `renewals:${revision - 1}`;
  }
  return versions;
}

interface ImmutableStatefulSetFields {
  spec?: {
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    volumeClaimTemplates?: { spec?: { resources?: { requests?: { storage?: string } }; storageClassName?: string } }[];
  };
}

/** volumeClaimTemplates and podManagementPolicy are immutable: keep what the StatefulSet was created with. */
export function existingState(caches: Lookup, stack: DefaultedWebStack): ExistingState | undefined {
  const sts = caches.get('StatefulSet', stack.metadata.namespace, names(stack.metadata.name).mysql) as (KubeObject & ImmutableStatefulSetFields) | undefined;
  if (!sts) return undefined;
  const state: ExistingState = {};
  const claim = sts.spec?.volumeClaimTemplates?.[0]?.spec;
  const size = claim?.resources?.requests?.storage;
  if (size) state.mysqlStorage = { size, ...(claim.storageClassName ? { storageClassName: claim.storageClassName } : {}) };
  if (sts.spec?.podManagementPolicy) state.mysqlPodManagementPolicy = sts.spec.podManagementPolicy;
  return state;
}

/** The Secret named in spec.logging.sink.credentialsSecretRef (not watched: it is the user's). */
async function logSinkSecret(objects: GatherDeps['objects'], stack: DefaultedWebStack): Promise<SecretWithData | null | undefined> {
  const { logging } = stack.spec;
  const ref = logging.sink.credentialsSecretRef;
  if (!logging.enabled || !ref) return undefined;
  const found = await objects.getObject<SecretWithData>({ apiVersion: 'v1', kind: 'Secret', name: ref.name, namespace: stack.metadata.namespace ?? '' });
  return found ?? null;
}

/** How long a found issuer is believed to exist before it is read again. */
const ISSUER_FOUND_TTL_MS = 60_000;

/**
 * One issuer usually serves every stack (a ClusterIssuer), and a reconcile runs on every change
 * of every child, so a found issuer is trusted for ISSUER_FOUND_TTL_MS instead of being read
 * each time: a deleted issuer is reported that much later. A missing one is read again on every
 * reconcile, so a stalled stack sees it appear at its next recheck.
 */
async function issuerExists(deps: GatherDeps, stack: DefaultedWebStack): Promise<boolean | undefined> {
  const { issuerRef } = stack.spec.tls;
  // External issuers (other groups) are not ours to check; cert-manager reports on them.
  if (issuerRef.group !== OPTIONAL_APIS.certManager.group) return undefined;
  const ref = {
    apiVersion: OPTIONAL_APIS.certManager.apiVersion,
    kind: issuerRef.kind,
    name: issuerRef.name,
    ...(issuerRef.kind === 'Issuer' ? { namespace: stack.metadata.namespace } : {}),
  };
  const key = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
  const now = deps.now().getTime();
  if ((deps.issuersFound.get(key) ?? 0) > now) return true;
  const found = (await deps.objects.getObject(ref)) !== undefined;
  if (found) deps.issuersFound.set(key, now + ISSUER_FOUND_TTL_MS);
  else deps.issuersFound.delete(key);
  return found;
}
