/**
 * ACME HTTP-01 through the stack's HAProxy (render/acme.ts): the solver Services select the pods
 * cert-manager labels for each DNS name, port 80 routes challenges there and redirects the rest,
 * and the public certificate starts from a temporary one so HAProxy can serve the challenge.
 */
import { describe, expect, it } from '@jest/globals';
import { acmeRoutes, adler32 } from '../../../operator/render/acme.js';
import { renderHaproxyConfig } from '../../../operator/render/config/haproxy.js';
import { render } from '../../../operator/render/index.js';
import { ALL_FACTS, byKind, example, find } from '../../support/render.js';

describe('ACME HTTP-01 routing', () => {
  it("computes cert-manager's domain label as Go's hash/adler32 does", () => {
    // Printed by `fmt.Printf("%d", adler32.Checksum([]byte(s)))` with Go 1.26.
    expect([adler32('www.foobar.com'), adler32('foobar.com'), adler32('a')]).toEqual([702416250, 364839911, 6422626]);
  });

  it('gives every non-wildcard name of the certificate its own solver Service', () => {
    const base = example('full');
    const stack = { ...base, spec: { ...base.spec, aliases: ['foobar.com', '*.foobar.com'] } };
    expect(acmeRoutes(stack)).toEqual([
      { host: 'www.foobar.com', service: 'foobar-acme-0', domainHash: '702416250' },
      { host: 'foobar.com', service: 'foobar-acme-1', domainHash: '364839911' },
    ]);
    const services = byKind(render(stack, ALL_FACTS), 'Service').filter((s) => s.metadata.name.includes('-acme-'));
    expect(services.map((s) => (s as { spec?: { selector?: unknown } }).spec?.selector)).toEqual([
      { 'acme.cert-manager.io/http01-solver': 'true', 'acme.cert-manager.io/http-domain': '702416250' },
      { 'acme.cert-manager.io/http01-solver': 'true', 'acme.cert-manager.io/http-domain': '364839911' },
    ]);
  });

  it('renders no solver Service without cert-manager', () => {
    const objects = render(example('full'), { ...ALL_FACTS, certManager: false });
    expect(byKind(objects, 'Service').filter((s) => s.metadata.name.includes('-acme-'))).toEqual([]);
  });

  it('routes challenges by host on port 80 and redirects everything else to HTTPS', () => {
    const cfg = renderHaproxyConfig(example('minimal'));
    const http = cfg.slice(cfg.indexOf('frontend http\n'), cfg.indexOf('frontend https'));
    expect(http).toContain('http-request redirect scheme https code 301 unless acme_challenge');
    expect(http).toMatch(/use_backend acme-0 if acme_challenge \{ req\.hdr\(host\),field\(1,:\) -i \S+ \}/);
    expect(http).toContain('server solver minimal-acme-0.shop.svc.cluster.local:8089 resolvers cluster init-addr none');
  });

  it('asks cert-manager for a temporary public certificate, so HAProxy starts before issuance', () => {
    const cert = find(render(example('minimal'), ALL_FACTS), 'Certificate', 'minimal-tls');
    expect(cert.metadata.annotations).toEqual({ 'cert-manager.io/issue-temporary-certificate': 'true' });
  });
});
