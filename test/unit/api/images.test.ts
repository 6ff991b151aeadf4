import { describe, expect, it } from '@jest/globals';
import { DEFAULT_IMAGES, IMAGE_KEYS, imageCatalog, inRegistry, isImageReference, isRegistry, mysqlImageKey } from '../../../operator/api/images.js';

describe('the image catalog', () => {
  it('has a valid default for every entry', () => {
    expect(Object.keys(DEFAULT_IMAGES).sort()).toEqual([...IMAGE_KEYS].sort());
    expect(IMAGE_KEYS.filter((key) => !isImageReference(DEFAULT_IMAGES[key]))).toEqual([]);
  });

  it('is the defaults without overrides', () => {
    expect(imageCatalog()).toEqual(DEFAULT_IMAGES);
  });

  it('has an entry for each database version the CRD allows', () => {
    expect([mysqlImageKey('8.0'), mysqlImageKey('8.4')]).toEqual(['mysql80', 'mysql84']);
  });
});

describe('inRegistry', () => {
  it.each([
    ['haproxy:3.2-alpine', 'mirror.test', 'mirror.test/library/haproxy:3.2-alpine'],
    ['prom/mysqld-exporter:v0.17.2', 'mirror.test:5000', 'mirror.test:5000/prom/mysqld-exporter:v0.17.2'],
    ['quay.io/org/app:1', 'mirror.test/quay', 'mirror.test/quay/org/app:1'],
    ['localhost/app:1', 'mirror.test', 'mirror.test/app:1'],
    ['registry:5000/app@sha256:' + 'a'.repeat(64), 'mirror.test/', `mirror.test/app@sha256:${'a'.repeat(64)}`],
  ])('moves %s to %s', (image, registry, moved) => {
    expect(inRegistry(image, registry)).toBe(moved);
  });
});

describe('reference checks', () => {
  it.each(['mysql:8.4', 'webstack.local/nginx:1.22', 'localhost:5000/a/b-c_d.e:v1.2', `mysql@sha256:${'0'.repeat(64)}`, 'otel:1'])('accept the image %s', (image) => {
    expect(isImageReference(image)).toBe(true);
  });

  it.each(['', 'Nginx:1', 'otel collector:1', '"mysql:8.4"', 'https://mirror/x:1', 'x:', 'a//b'])('refuse the image %j', (image) => {
    expect(isImageReference(image)).toBe(false);
  });

  it.each(['mirror.test', 'mirror.test:5000', 'harbor.corp/dockerhub', 'localhost:5000'])('accept the registry %s', (registry) => {
    expect(isRegistry(registry)).toBe(true);
  });

  it.each(['', 'https://mirror.test', 'mirror.test/', 'Mirror.test', '-mirror'])('refuse the registry %j', (registry) => {
    expect(isRegistry(registry)).toBe(false);
  });
});
