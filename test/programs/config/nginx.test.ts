import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NGINX } from '../../../operator/blueprint/layout.js';
import { renderNginxConfig, renderNginxStartScript } from '../../../operator/render/config/nginx.js';
import { FULL, MINIMAL, Sandbox, examplesInEveryMode, inMode, installCertificates, nginxTest, requireProgram, run } from '../../support/configs.js';

const LAYOUT_DIRS = [NGINX.confDir, NGINX.certDir, NGINX.caDir, NGINX.runDir];

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim());
}

describe('nginx.conf and start.sh', () => {
  let sandbox: Sandbox;
  /** A stand-in `nginx` that records its arguments instead of starting. */
  let fakeBin: string;

  /** Runs the rendered start.sh against a fake resolv.conf; returns its result. */
  function runStartScript(resolvConf: string): ReturnType<typeof run> {
    const script = sandbox.write(path.join(NGINX.confDir, NGINX.startScript), sandbox.relocate(renderNginxStartScript(), LAYOUT_DIRS));
    const resolv = sandbox.write('resolv.conf', resolvConf);
    return run('sh', [script], { env: { PATH: `${fakeBin}:/usr/bin:/bin`, RESOLV_CONF: resolv } });
  }

  beforeAll(() => {
    requireProgram('nginx');
    sandbox = new Sandbox();
    installCertificates(sandbox, NGINX.certDir);
    installCertificates(sandbox, NGINX.caDir);
    sandbox.dir(NGINX.runDir);
    fakeBin = sandbox.dir('fake-bin');
    chmodSync(sandbox.write('fake-bin/nginx', '#!/bin/sh\necho "nginx $*"\n'), 0o755);
  });

  afterAll(() => {
    sandbox.remove();
  });

  it('start.sh passes sh -n', () => {
    const script = sandbox.write('start-syntax.sh', renderNginxStartScript());
    expect(run('sh', ['-n', script])).toEqual({ status: 0, output: '' });
  });

  it("start.sh writes the pod's first nameserver as nginx's resolver, then execs nginx", () => {
    const result = runStartScript('search shop.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n');
    expect(result).toEqual({ status: 0, output: `nginx -c ${path.join(sandbox.root, NGINX.confDir, NGINX.configFile)}\n` });
    expect(readFileSync(path.join(sandbox.root, NGINX.runDir, NGINX.resolverFile), 'utf8')).toBe('resolver 10.96.0.10 valid=10s;\n');
  });

  it('start.sh brackets an IPv6 nameserver and refuses to start without one', () => {
    expect(runStartScript('nameserver fd00:10:96::a\n').status).toBe(0);
    expect(readFileSync(path.join(sandbox.root, NGINX.runDir, NGINX.resolverFile), 'utf8')).toBe('resolver [fd00:10:96::a] valid=10s;\n');
    const missing = runStartScript('search cluster.local\n');
    expect(missing.status).toBe(1);
    expect(missing.output).toContain('no nameserver');
  });

  it.each(examplesInEveryMode())('%s in %s mode passes nginx -t', (label, mode, stack) => {
    // resolver.conf is what start.sh writes at container start.
    expect(runStartScript('nameserver 127.0.0.53\n').status).toBe(0);
    const file = sandbox.write(`nginx-${label.replace(/\W+/g, '-')}-${mode}.conf`, sandbox.relocate(renderNginxConfig(stack), LAYOUT_DIRS));
    expect(nginxTest(sandbox, file)).toEqual({ status: 0, stderr: '' });
  });

  const full = FULL;
  const minimal = MINIMAL;

  it('listens with TLS and the PROXY protocol on the main port, per mode', () => {
    expect(lines(renderNginxConfig(inMode(full, 'reencrypt')))).toContain(`listen ${NGINX.httpsPort} ssl proxy_protocol;`);
    expect(lines(renderNginxConfig(inMode(full, 'passthrough')))).toContain(`listen ${NGINX.httpsPort} ssl proxy_protocol;`);
    const terminate = renderNginxConfig(inMode(full, 'terminate'));
    expect(lines(terminate)).toContain(`listen ${NGINX.httpPort} proxy_protocol;`);
    expect(terminate).not.toContain('ssl_certificate');
    expect(terminate).not.toContain('Strict-Transport-Security');
  });

  it("admits only HAProxy's client certificate in reencrypt mode; in passthrough every client comes through", () => {
    const reencrypt = lines(renderNginxConfig(inMode(full, 'reencrypt')));
    expect(reencrypt).toContain('ssl_verify_client on;');
    expect(reencrypt).toContain(`ssl_client_certificate ${NGINX.caDir}/ca.crt;`);
    expect(renderNginxConfig(inMode(full, 'passthrough'))).not.toContain('ssl_verify_client');
  });

  it('takes the client address from the PROXY header of trusted private ranges only', () => {
    const cfg = lines(renderNginxConfig(inMode(minimal, 'reencrypt')));
    expect(cfg).toContain('real_ip_header proxy_protocol;');
    expect(cfg).toContain('set_real_ip_from 10.0.0.0/8;');
    expect(cfg).not.toContain('set_real_ip_from 0.0.0.0/0;');
  });

  it('proxies to the app Service, over verified TLS when the app or its app proxy serves TLS', () => {
    const plain = lines(renderNginxConfig(inMode(minimal, 'terminate')));
    expect(plain).toContain('set $webstack_app mini-app.shop.svc.cluster.local:8080;');
    expect(plain).toContain('proxy_pass http://$webstack_app;');
    expect(plain.join('\n')).not.toContain('proxy_ssl_verify');

    // reencrypt, an app serving plain HTTP: to its app proxy, with Nginx's internal certificate as client certificate.
    const proxied = lines(renderNginxConfig(inMode(minimal, 'reencrypt')));
    expect(proxied).toContain('set $webstack_app mini-app.shop.svc.cluster.local:8443;');
    expect(proxied).toContain('proxy_pass https://$webstack_app;');
    expect(proxied).toContain('proxy_ssl_verify on;');
    expect(proxied).toContain(`proxy_ssl_certificate ${NGINX.certDir}/tls.crt;`);

    const tls = lines(renderNginxConfig(inMode(full, 'terminate')));
    expect(tls).toContain('set $webstack_app foobar-app.store.svc.cluster.local:8443;');
    expect(tls).toContain('proxy_pass https://$webstack_app;');
    expect(tls).toContain('proxy_ssl_verify on;');
    expect(tls).toContain(`proxy_ssl_trusted_certificate ${NGINX.caDir}/ca.crt;`);
    expect(tls).toContain('proxy_ssl_name foobar-app.store.svc.cluster.local;');
  });

  it('adds the security headers unless the app sends its own', () => {
    const cfg = renderNginxConfig(inMode(minimal, 'reencrypt'));
    for (const header of ['X-Content-Type-Options', 'X-Frame-Options', 'Referrer-Policy', 'Content-Security-Policy']) {
      const variable = header.toLowerCase().replaceAll('-', '_');
      expect(cfg).toContain(`add_header ${header} $webstack_${variable} always;`);
      expect(cfg).toContain(`map $upstream_http_${variable} $webstack_${variable} {`);
    }
    expect(cfg).toContain('add_header Strict-Transport-Security "max-age=63072000" always;');
  });

  it('answers probes and stub_status on the status port, stub_status to loopback only', () => {
    const cfg = renderNginxConfig(inMode(minimal, 'passthrough'));
    const status = cfg.slice(cfg.indexOf(`listen ${NGINX.statusPort};`));
    expect(status).toContain(`location = ${NGINX.healthPath} {`);
    expect(status).toMatch(/location = \/stub_status \{\s+stub_status;\s+allow 127\.0\.0\.1;\s+allow ::1;\s+deny all;/);
    expect(NGINX.stubStatusUrl).toBe(`http://127.0.0.1:${NGINX.statusPort}${NGINX.stubStatusPath}`);
  });

  it("runs one worker per CPU of the pod's limit (or request), not of the node", () => {
    expect(lines(renderNginxConfig(inMode(minimal, 'reencrypt')))).toContain('worker_processes 1;');
    const big = { ...minimal, spec: { ...minimal.spec, web: { resources: { requests: { cpu: '500m' }, limits: { cpu: '2500m' } } } } };
    expect(lines(renderNginxConfig(inMode(big, 'reencrypt')))).toContain('worker_processes 3;');
  });

  it('writes nothing outside the run directory', () => {
    const cfg = renderNginxConfig(inMode(full, 'reencrypt'));
    for (const m of cfg.matchAll(/^\s*(pid|\w+_temp_path)\s+(\S+);/gm)) {
      expect(m[2]?.startsWith(`${NGINX.runDir}/`)).toBe(true);
    }
    expect(cfg).toContain('daemon off;');
  });
});
