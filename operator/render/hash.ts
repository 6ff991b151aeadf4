/**
 * The pod-template config hash (CONFIG_HASH_ANNOTATION). A pod only reads its config files and
 * certificates at start, so a template that changes whenever they do makes the Deployment or
 * StatefulSet roll its pods, one at a time, exactly when needed. SHA-256 of a canonical encoding:
 * deterministic, no clock, no I/O.
 */
import { createHash } from 'node:crypto';

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

export function configHash({ files = {}, secrets = [], secretVersions = {} }: HashInputs): string {
  const canonical = JSON.stringify({
    files: sortedEntries(files),
    // Only the Secrets this pod uses: a rotation elsewhere must not restart it.
    secrets: [...new Set(secrets)].sort().map((name) => [name, secretVersions[name] ?? 'unknown']),
  });
  return createHash('sha256').update(canonical).digest('hex');
}
