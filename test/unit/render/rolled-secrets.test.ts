/**
 * Pods read their Secrets at start, so a pod must roll whenever any Secret it reads changes, and
 * only then. The Secrets are found here by walking the pod spec's JSON for every kind of Secret
 * reference, independently of how render collects them.
 */
import { describe, expect, it } from '@jest/globals';
import type { DefaultedWebStack } from '../../../operator/api/defaults.js';
import { render } from '../../../operator/render/index.js';
import { examplesInEveryMode } from '../../support/configs.js';
import { ALL_FACTS, workloads, type Workload } from '../../support/render.js';

/** Names under `secretName` (volumes), `secret.name` (projected), `secretKeyRef.name` and `secretRef.name` (env). */
function secretsIn(value: unknown, parentKey = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => secretsIn(v, parentKey));
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  const own = [
    ...(typeof record.secretName === 'string' ? [record.secretName] : []),
    ...(['secretKeyRef', 'secretRef', 'secret'].includes(parentKey) && typeof record.name === 'string' ? [record.name] : []),
  ];
  return [...own, ...Object.entries(record).flatMap(([k, v]) => secretsIn(v, k))];
}

const hashes = (stack: DefaultedWebStack, secretVersions: Record<string, string>) =>
  new Map(workloads(render(stack, { ...ALL_FACTS, secretVersions })).map((w: Workload) => [w.object.metadata.name, w.annotations['webstack.dev/config-hash']]));

describe.each(examplesInEveryMode())('%s in %s mode', (_label, _mode, stack) => {
  const before = hashes(stack, {});
  const rendered = workloads(render(stack, ALL_FACTS));

  it.each(rendered.map((w) => [w.object.metadata.name, w] as const))('%s rolls when a Secret it reads changes, and for no other', (name, w) => {
    const read = [...new Set(secretsIn(w.pod))];
    for (const secret of read) expect([secret, hashes(stack, { [secret]: 'v2' }).get(name)]).not.toEqual([secret, before.get(name)]);
    const others = rendered.flatMap((o) => secretsIn(o.pod)).filter((s) => !read.includes(s));
    for (const secret of [...others, 'unrelated-secret']) expect([secret, hashes(stack, { [secret]: 'v2' }).get(name)]).toEqual([secret, before.get(name)]);
  });
});
