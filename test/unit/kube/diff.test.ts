import { describe, expect, it } from '@jest/globals';
import { satisfies } from '../../../operator/kube/diff.js';

describe('satisfies', () => {
  const desired = {
    metadata: { name: 'web', labels: { a: '1' } },
    spec: { replicas: 3, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1', ports: [{ containerPort: 8443 }] }] } } },
  };

  it('accepts a live object with extra server-defaulted fields', () => {
    const live = {
      metadata: { name: 'web', labels: { a: '1', extra: 'x' }, resourceVersion: '7', managedFields: [] },
      spec: {
        replicas: 3,
        revisionHistoryLimit: 10,
        template: {
          spec: {
            restartPolicy: 'Always',
            containers: [
              { name: 'injected-sidecar', image: 'other' },
              { name: 'nginx', image: 'nginx:1', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 8443, protocol: 'TCP' }] },
            ],
          },
        },
      },
    };
    expect(satisfies(desired, live)).toBe(true);
  });

  it('rejects a changed scalar, a missing field and a missing list element', () => {
    const live = structuredClone(desired);
    live.spec.replicas = 2;
    expect(satisfies(desired, live)).toBe(false);
    expect(satisfies(desired, { metadata: desired.metadata })).toBe(false);
    const noContainer = structuredClone(desired);
    noContainer.spec.template.spec.containers = [];
    expect(satisfies(desired, noContainer)).toBe(false);
  });

  it('compares unnamed lists by position and length', () => {
    expect(satisfies({ args: ['a', 'b'] }, { args: ['a', 'b'] })).toBe(true);
    expect(satisfies({ args: ['a', 'b'] }, { args: ['b', 'a'] })).toBe(false);
    expect(satisfies({ args: ['a'] }, { args: ['a', 'b'] })).toBe(false);
  });

  it('treats quantities the server canonicalized as equal, and only those', () => {
    expect(satisfies({ cpu: '1000m', memory: '1024Mi' }, { cpu: '1', memory: '1Gi' })).toBe(true);
    expect(satisfies({ cpu: '0.5' }, { cpu: '500m' })).toBe(true);
    expect(satisfies({ cpu: '600m' }, { cpu: '500m' })).toBe(false);
    expect(satisfies({ image: 'nginx:1' }, { image: 'nginx:2' })).toBe(false);
  });

  it('treats empty maps and lists the server omitted as present', () => {
    expect(satisfies({ from: [{ namespaceSelector: { matchLabels: {} } }] }, { from: [{ namespaceSelector: {} }] })).toBe(true);
    expect(satisfies({ args: [] }, {})).toBe(true);
    expect(satisfies({ namespaceSelector: { matchLabels: { a: 'b' } } }, { namespaceSelector: {} })).toBe(false);
  });
});
