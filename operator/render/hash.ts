/**
 * The pod-template config hash (CONFIG_HASH_ANNOTATION). A pod only reads its config files and
 * certificates at start, so a template that changes whenever they do makes the Deployment or
 * StatefulSet roll its pods, one at a time, exactly when needed. SHA-256 of a canonical encoding:
 * deterministic, no clock, no I/O.
 *
 * The Secrets hashed are read off the pod spec (secretsReadBy), never listed by hand: a Secret a
 * pod mounts or reads into its environment but does not hash would never roll it.
 */
import { createHash } from 'node:crypto';
import type { k8s } from 'cdk8s-plus-27';

export interface HashInputs {
  /** Rendered config files, file name -> content. */
  files?: Readonly<Record<string, string>>;
  /** Names of the Secrets the pod mounts or reads. */
  secrets?: readonly string[];
  /** facts.secretVersions: what the controller saw of those Secrets (resourceVersion or data hash). */
  secretVersions?: Readonly<Record<string, string>> | undefined;
}

const sortedEntries = (record: Readonly<Record<string, string>>) =>
  Object.keys(record)
    .sort()
    .map((key): [string, string] => [key, record[key] ?? '']);

/** Every Secret a pod spec reads: Secret and projected volumes, env secretKeyRef and envFrom, of every container. */
export function secretsReadBy(spec: Pick<k8s.PodSpec, 'volumes' | 'containers' | 'initContainers'>): string[] {
  const fromVolumes = (spec.volumes ?? []).flatMap((v) => [
    ...(v.secret?.secretName ? [v.secret.secretName] : []),
    ...(v.projected?.sources ?? []).flatMap((s) => (s.secret?.name ? [s.secret.name] : [])),
  ]);
  const fromContainers = [...(spec.initContainers ?? []), ...spec.containers].flatMap((c) => [
    ...(c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef?.name ? [e.valueFrom.secretKeyRef.name] : [])),
    ...(c.envFrom ?? []).flatMap((e) => (e.secretRef?.name ? [e.secretRef.name] : [])),
  ]);
  return [...new Set([...fromVolumes, ...fromContainers])].sort();
}

export function configHash({ files = {}, secrets = [], secretVersions = {} }: HashInputs): string {
  const canonical = JSON.stringify({
    files: sortedEntries(files),
    // Only the Secrets this pod uses: a rotation elsewhere must not restart it.
    secrets: [...new Set(secrets)].sort().map((name) => [name, secretVersions[name] ?? 'unknown']),
  });
  return createHash('sha256').update(canonical).digest('hex');
}
