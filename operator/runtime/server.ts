/**
 * The HTTP endpoint for the kubelet and Prometheus:
 *   /healthz  200 while the process serves requests at all (liveness);
 *   /readyz   200 once every informer has synced and, with leader election on, the elector is
 *             running (leading or standing by); 503 with the reasons otherwise;
 *   /metrics  the Prometheus registry.
 * A standby replica is ready on purpose: it has warm caches and can take over at once, and
 * readiness gates nothing else (the operator serves no traffic).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { LeaderState } from './leader.js';

export interface Readiness {
  ready: boolean;
  /** What is not ready yet (empty when ready). */
  reasons: string[];
}

export interface ReadinessSources {
  informers: { name: string; hasSynced(): boolean }[];
  /** Omitted when leader election is off. */
  elector?: { readonly state: LeaderState } | undefined;
}

export function readinessOf(sources: ReadinessSources): () => Readiness {
  return () => {
    const reasons: string[] = [];
    for (const informer of sources.informers) {
      if (!informer.hasSynced()) reasons.push(`cache ${informer.name} not synced`);
    }
    if (sources.elector?.state === 'stopped') reasons.push('leader election not running');
    return { ready: reasons.length === 0, reasons };
  };
}

export interface HealthServerOptions {
  port: number;
  /** Interface to bind; all by default. */
  host?: string;
  registry: Registry;
  readiness: () => Readiness;
}

export interface HealthServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and waits for open ones, forcing them closed after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'method not allowed\n');
        return;
      }
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      switch (path) {
        case '/healthz':
          send(res, 200, 'ok\n');
          return;
        case '/readyz': {
          const { ready, reasons } = options.readiness();
          send(res, ready ? 200 : 503, ready ? 'ok\n' : reasons.map((r) => `${r}\n`).join(''));
          return;
        }
        case '/metrics':
          send(res, 200, await options.registry.metrics(), options.registry.contentType);
          return;
        default:
          send(res, 404, 'not found\n');
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  });
  // Scrapers keep connections alive; keep-alive must not outlast a shutdown.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    close(graceMs = 5_000) {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
