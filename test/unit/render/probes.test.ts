/**
 * Probes (W3): liveness asks only whether the container's own process works, never a dependency,
 * so one outage (the database, say) cannot restart every pod of a tier at once; readiness may
 * check dependencies. Sidecars get a liveness probe and no readiness probe, so a broken exporter
 * is restarted without taking its web server or database out of the Service.
 */
import { describe, expect, it } from '@jest/globals';
import { render } from '../../../operator/render/index.js';
import { ALL_FACTS, example, workloads, type Container } from '../../support/render.js';

interface Probe {
  httpGet?: { path: string; port: number };
  tcpSocket?: { port: number };
  exec?: { command: string[] };
}
type Probed = Container & { livenessProbe?: Probe; readinessProbe?: Probe; startupProbe?: Probe };

function containers(name: 'minimal' | 'full'): { workload: string; container: Probed }[] {
  return workloads(render(example(name), ALL_FACTS)).flatMap((w) =>
    w.pod.containers.map((container) => ({ workload: `${w.object.kind}/${w.object.metadata.name}`, container: container })),
  );
}

describe('probes', () => {
  it.each(['minimal', 'full'] as const)('every container of %s has a liveness probe', (name) => {
    for (const { workload, container } of containers(name)) {
      expect([workload, container.name, container.livenessProbe !== undefined]).toEqual([workload, container.name, true]);
    }
  });

  it('the app is restarted only when its process stops listening, and taken out of the Service by its health path', () => {
    const stack = example('full');
    const apps = containers('full').filter((c) => c.container.name === 'app');
    expect(apps.length).toBeGreaterThan(0);
    for (const { container } of apps) {
      expect(container.livenessProbe).toEqual(expect.objectContaining({ tcpSocket: { port: stack.spec.app.port } }));
      expect(container.startupProbe).toEqual(expect.objectContaining({ tcpSocket: { port: stack.spec.app.port } }));
      expect(container.readinessProbe?.httpGet?.path).toBe(stack.spec.app.healthPath);
    }
  });

  it('exporter sidecars have a liveness probe and no readiness probe', () => {
    const exporters = containers('full').filter((c) => c.container.name === 'exporter');
    expect(exporters.map((e) => e.workload).sort()).toEqual(['Deployment/foobar-web', 'StatefulSet/foobar-mysql']);
    for (const { container } of exporters) {
      expect(container.livenessProbe?.tcpSocket?.port).toBe(container.ports?.[0]?.containerPort);
      expect(container.readinessProbe).toBeUndefined();
    }
  });
});
