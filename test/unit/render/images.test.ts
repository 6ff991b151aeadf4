/**
 * Every image render writes comes from the operator's catalog (RenderFacts.images) or from the
 * stack's own image field. The walk looks at every `image` key of every rendered object, not only
 * the pod templates it knows today, so a new container with a hard-coded image fails here.
 */
import { describe, expect, it } from '@jest/globals';
import type { DefaultedWebStack } from '../../../operator/api/defaults.js';
import { DEFAULT_IMAGES, IMAGE_KEYS, type ImageCatalog, type ImageKey } from '../../../operator/api/images.js';
import { render, type KubeObject } from '../../../operator/render/index.js';
import { ALL_FACTS, allContainers, example, workloads } from '../../support/render.js';

/** A catalog in which no entry equals a default, so a default that slips through is seen. */
const CATALOG: ImageCatalog = Object.fromEntries(IMAGE_KEYS.map((key) => [key, `catalog.test/${key.toLowerCase()}:1`])) as Record<ImageKey, string>;

/** Every value of a key named `image`, anywhere in the objects, with the path it was found at. */
function imagesIn(value: unknown, at = ''): { at: string; image: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => imagesIn(v, `${at}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) =>
    key === 'image' ? [{ at: `${at}.${key}`, image: v }] : imagesIn(v, `${at}.${key}`),
  );
}

const everyImage = (objects: KubeObject[]) => objects.flatMap((o) => imagesIn(o, `${o.kind}/${o.metadata.name}`));

/** The image of the named container (init or not) in the workloads of a component. */
function imageOf(objects: KubeObject[], kind: string, container: string): string[] {
  return workloads(objects)
    .filter((w) => w.object.kind === kind)
    .flatMap((w) => allContainers(w.pod))
    .filter((c) => c.name === container)
    .map((c) => c.image);
}

const withSpec = (stack: DefaultedWebStack, patch: (s: DefaultedWebStack['spec']) => void): DefaultedWebStack => {
  const copy = structuredClone(stack);
  patch(copy.spec);
  return copy;
};

describe('images', () => {
  const minimal = example('minimal');
  const full = example('full');

  it('come from the catalog or the stack, in every object of every TLS mode', () => {
    const cases = (['reencrypt', 'terminate', 'passthrough'] as const).flatMap((mode) => [minimal, full].map((base) => withSpec(base, (s) => (s.tls.mode = mode))));
    for (const stack of cases) {
      const allowed = new Set([
        ...Object.values(CATALOG),
        stack.spec.app.image,
        stack.spec.app.canary?.image,
        stack.spec.loadBalancer.image,
        stack.spec.web.image,
        stack.spec.database.image,
      ]);
      const found = everyImage(render(stack, { ...ALL_FACTS, images: CATALOG }));
      expect(found.length).toBeGreaterThan(0);
      expect(found.filter((f) => typeof f.image !== 'string' || !allowed.has(f.image))).toEqual([]);
    }
  });

  it('use each catalog entry a stack without image fields needs, and only the catalog besides the app', () => {
    const found = new Set(everyImage(render(minimal, { ...ALL_FACTS, images: CATALOG })).map((f) => f.image));
    found.delete(minimal.spec.app.image);
    // minimal runs the default engine and version, MySQL 9.7: the other database entries are left
    // out; the log agent is shared by every stack and rendered apart (test/unit/render/agent.test.ts).
    const { mysql80: _unused, mysql84: _not84, mariadb1011: _notMariadb, mariadb114: _notMariadb114, mariadb118: _notMariadb118, logAgent: _shared, ...needed } = CATALOG;
    expect([...found].sort()).toEqual(Object.values(needed).sort());
  });

  it('put each entry on its own container, init containers included', () => {
    const objects = render(minimal, { ...ALL_FACTS, images: CATALOG });
    expect(imageOf(objects, 'Deployment', 'haproxy')).toEqual([CATALOG.haproxy]);
    expect(imageOf(objects, 'Deployment', 'nginx')).toEqual([CATALOG.nginx]);
    expect(imageOf(objects, 'Deployment', 'exporter')).toEqual([CATALOG.nginxExporter]);
    expect(imageOf(objects, 'StatefulSet', 'init-config')).toEqual([CATALOG.mysql97]);
    expect(imageOf(objects, 'StatefulSet', 'mysql')).toEqual([CATALOG.mysql97]);
    expect(imageOf(objects, 'StatefulSet', 'exporter')).toEqual([CATALOG.mysqldExporter]);
  });

  it('follow spec.database.version to its catalog entry', () => {
    const objects = render(withSpec(minimal, (s) => (s.database.version = '8.0')), { ...ALL_FACTS, images: CATALOG });
    expect(imageOf(objects, 'StatefulSet', 'mysql')).toEqual([CATALOG.mysql80]);
    expect(imageOf(objects, 'StatefulSet', 'init-config')).toEqual([CATALOG.mysql80]);
  });

  it("leave the catalog for the stack's own fields", () => {
    const objects = render(full, { ...ALL_FACTS, images: CATALOG });
    expect(imageOf(objects, 'Deployment', 'haproxy')).toEqual([full.spec.loadBalancer.image]);
    expect(imageOf(objects, 'Deployment', 'nginx')).toEqual([full.spec.web.image]);
    expect(imageOf(objects, 'StatefulSet', 'mysql')).toEqual([full.spec.database.image]);
    expect(imageOf(objects, 'StatefulSet', 'init-config')).toEqual([full.spec.database.image]);
    // The sidecars have no per-stack field.
    expect(imageOf(objects, 'StatefulSet', 'exporter')).toEqual([CATALOG.mysqldExporter]);
  });

  it("are today's defaults without a catalog in the facts", () => {
    const objects = render(minimal, ALL_FACTS);
    expect(imageOf(objects, 'Deployment', 'haproxy')).toEqual([DEFAULT_IMAGES.haproxy]);
    expect(imageOf(objects, 'StatefulSet', 'mysql')).toEqual([DEFAULT_IMAGES.mysql97]);
  });
});
