/**
 * The database passwords: generated once with a cryptographic RNG and created, never replaced, so
 * no edit or restart can change them. Creation races (two reconciles, a restart) end in
 * AlreadyExists, which leaves the first values in place. A Secret made by an older operator gets
 * the keys it lacks added, with its resourceVersion as precondition, so a racing writer makes the
 * patch fail instead of replacing a fresh password. Not rendered: render is deterministic, and a
 * password must not be.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DefaultedWebStack } from '../api/defaults.js';
import type { ObjectApi } from '../kube/apply.js';
import { isAlreadyExists } from '../kube/errors.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import { MYSQL } from '../blueprint/layout.js';
import { commonLabels, names } from '../blueprint/names.js';
import { ownerLabels } from './ownership.js';

/** Returns the Secret's resourceVersion, which the database pods' config hash covers. */
export async function ensureCredentials(
  objects: Pick<ObjectApi, 'createObject' | 'getObject' | 'mergePatch'>,
  caches: Lookup,
  stack: DefaultedWebStack,
  log: Logger,
): Promise<string> {
  const ns = stack.metadata.namespace ?? '';
  const name = names(stack.metadata.name).mysqlCredentials;
  const password = () => randomBytes(24).toString('base64url');
  const cached = caches.get('Secret', ns, name) as (KubeObject & { data?: Record<string, string> }) | undefined;
  if (cached?.metadata.resourceVersion) {
    const missing = Object.values(MYSQL.secretKeys).filter((key) => cached.data?.[key] === undefined);
    if (missing.length === 0) return cached.metadata.resourceVersion;
    const patched = await objects.mergePatch(
      { apiVersion: 'v1', kind: 'Secret', name, namespace: ns },
      { metadata: { resourceVersion: cached.metadata.resourceVersion }, stringData: Object.fromEntries(missing.map((key) => [key, password()])) },
    );
    log.info({ secret: name, keys: missing }, 'added database credentials');
    return patched.metadata.resourceVersion ?? '';
  }
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, labels: { ...commonLabels(stack.metadata.name, 'database'), ...ownerLabels(stack) } },
    type: 'Opaque',
    stringData: Object.fromEntries(Object.values(MYSQL.secretKeys).map((key) => [key, password()])),
  };
  try {
    const created = await objects.createObject(secret);
    log.info({ secret: name }, 'generated database credentials');
    return created.metadata.resourceVersion ?? '';
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await objects.getObject({ apiVersion: 'v1', kind: 'Secret', name, namespace: ns });
    return existing?.metadata.resourceVersion ?? '';
  }
}
