/**
 * ACME HTTP-01 through the stack's own load balancer. cert-manager answers a challenge from a
 * solver pod it creates in the stack's namespace; HAProxy's port 80 routes
 * `/.well-known/acme-challenge/` requests for each DNS name of the public certificate to a Service
 * selecting that name's solver pods (by the labels cert-manager gives them), and redirects the
 * rest to HTTPS. One Service per name, because an order for several names runs their solver pods
 * side by side and each answers only its own token.
 *
 * The issuer's solver needs no Ingress controller: `http01.ingress.ingressClassName` may name a
 * class nothing implements (README, Security). Wildcard names cannot use HTTP-01 and get no route.
 */
import { k8s } from 'cdk8s-plus-27';
import type { DefaultedWebStack } from '../api/defaults.js';
import { ACME } from '../blueprint/layout.js';
import { id, meta, type RenderContext } from './context.js';
import { servicePort } from './pod.js';

export interface AcmeRoute {
  /** A DNS name of the public certificate. */
  host: string;
  /** The Service in the stack's namespace in front of that name's solver pods. */
  service: string;
  /** cert-manager's domain label value for the name. */
  domainHash: string;
}

/** Adler-32 as cert-manager computes the solver pod's domain label (Go's hash/adler32, printed as %d). */
export function adler32(text: string): number {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

export function acmeRoutes(stack: DefaultedWebStack): AcmeRoute[] {
  const hosts = [...new Set([stack.spec.domain, ...stack.spec.aliases])].filter((h) => !h.startsWith('*.'));
  return hosts.map((host, i) => ({ host, service: `${stack.metadata.name}-acme-${i}`, domainHash: String(adler32(host)) }));
}

/** The solver Services; only with cert-manager, like the Certificate whose challenges they serve. */
export function renderAcmeSolverServices(ctx: RenderContext): void {
  if (!ctx.facts.certManager) return;
  for (const route of acmeRoutes(ctx.stack)) {
    new k8s.KubeService(ctx.scope('services'), id('Service', route.service), {
      metadata: meta(ctx, route.service, 'tls'),
      spec: {
        type: 'ClusterIP',
        selector: { [ACME.solverLabel]: 'true', [ACME.domainLabel]: route.domainHash },
        ports: [servicePort('http', ACME.solverPort, ACME.solverPort)],
      },
    });
  }
}
