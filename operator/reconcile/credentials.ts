/**
 * The MySQL passwords: generated once with a cryptographic RNG and created, never updated, so no
 * edit or restart can replace them. Creation races (two reconciles, a restart) end in
 * AlreadyExists, which leaves the first values in place. Not rendered: render is deterministic,
 * and a password must not be.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DefaultedWebStack } from '../api/defaults.js';
import type { ObjectApi } from '../kube/apply.js';
import { isAlreadyExists } from '../kube/errors.js';
import type { Lookup } from '../kube/lookup.js';
import { MYSQL } from '../render/config/layout.js';
import { commonLabels, names } from '../render/names.js';
import { ownerLabels } from './ownership.js';

/** Returns the Secret's resourceVersion, which the database pods' config hash covers. */
export async function ensureCredentials(
  objects: Pick<ObjectApi, 'createObject' | 'getObject'>,
  caches: Lookup,
  stack: DefaultedWebStack,
  log: Logger,
): Promise<string> {
  const ns = stack.metadata.namespace ?? '';
  const name = names(stack.metadata.name).mysqlCredentials;
  const cached = caches.get('Secret', ns, name);
  if (cached?.metadata.resourceVersion) return cached.metadata.resourceVersion;
  const password = () => randomBytes(24).toString('base64url');
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
