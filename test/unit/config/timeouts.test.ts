/**
 * Response timeouts along the request path, read from the rendered configs: each hop must wait
 * longer than the hop behind it, so the innermost one that gives up answers 504 itself and no
 * outer hop cuts a response that was still coming (HAProxy once gave up at 30 s while Nginx
 * waited 60 s for the app).
 */
import { describe, expect, it } from '@jest/globals';
import { renderAppProxyConfig } from '../../../operator/render/config/app-proxy.js';
import { renderHaproxyConfig } from '../../../operator/render/config/haproxy.js';
import { renderNginxConfig } from '../../../operator/render/config/nginx.js';
import { MINIMAL, inMode } from '../../support/configs.js';

const seconds = (config: string, directive: RegExp): number[] => [...config.matchAll(directive)].map((m) => Number(m[1]));

describe('response timeouts', () => {
  it('shrink from the load balancer inwards (reencrypt: HAProxy -> Nginx -> app proxy -> app)', () => {
    const stack = inMode(MINIMAL, 'reencrypt');
    const lbServer = seconds(renderHaproxyConfig(stack), /^\s*timeout server (\d+)s$/gm);
    const lbClient = seconds(renderHaproxyConfig(stack), /^\s*timeout client (\d+)s$/gm);
    const web = seconds(renderNginxConfig(stack), /^\s*proxy_read_timeout (\d+)s;$/gm);
    const appProxy = seconds(renderAppProxyConfig(stack) ?? '', /^\s*proxy_read_timeout (\d+)s;$/gm);
    expect([lbServer.length, lbClient.length, appProxy.length]).toEqual([1, 1, 1]);
    expect(web.length).toBeGreaterThan(0);
    const [lb = 0] = lbServer;
    const [proxy = 0] = appProxy;
    expect(lbClient[0]).toBeGreaterThanOrEqual(lb);
    for (const w of web) {
      expect(w).toBeLessThan(lb);
      expect(proxy).toBeLessThan(w);
    }
  });
});
