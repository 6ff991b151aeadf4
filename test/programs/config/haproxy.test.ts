import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { renderHaproxyConfig } from '../../../operator/render/config/haproxy.js';
import { HAPROXY } from '../../../operator/blueprint/layout.js';
import { FULL, MINIMAL, Sandbox, examplesInEveryMode, inMode, installCertificates, requireProgram, run } from '../../support/configs.js';
import { ask, freePort, listening } from '../../support/ports.js';

const LAYOUT_DIRS = [HAPROXY.certDir, HAPROXY.caDir, HAPROXY.clientCertDir, HAPROXY.runDir];

describe('haproxy.cfg', () => {
  let sandbox: Sandbox;

  beforeAll(() => {
    requireProgram('haproxy');
    sandbox = new Sandbox();
    installCertificates(sandbox, HAPROXY.certDir);
    installCertificates(sandbox, HAPROXY.caDir);
    installCertificates(sandbox, HAPROXY.clientCertDir);
    sandbox.dir(HAPROXY.runDir);
  });

  afterAll(() => {
    sandbox.remove();
  });

  it.each(examplesInEveryMode())('%s in %s mode passes haproxy -c', (label, mode, stack) => {
    const config = sandbox.relocate(renderHaproxyConfig(stack), LAYOUT_DIRS);
    const file = sandbox.write(`haproxy-${label.replace(/\W+/g, '-')}-${mode}.cfg`, config);
    const result = run('haproxy', ['-c', '-f', file]);
    // Nothing resolves the web Service here: init-addr none keeps that from being a warning,
    // so any warning at all is a defect of the rendered file.
    expect(result).toEqual({ status: 0, output: 'Configuration file is valid\n' });
  });

  const full = FULL;
  const fqdn = 'foobar-web.store.svc.cluster.local';

  it('re-encrypts to Nginx and verifies its certificate against the internal CA', () => {
    const cfg = renderHaproxyConfig(inMode(full, 'reencrypt'));
    expect(cfg).toContain(`server-template web 10 ${fqdn}:8443 `);
    expect(cfg).toContain(`ssl verify required ca-file ${path.join(HAPROXY.caDir, 'ca.crt')} sni str(${fqdn}) verifyhost ${fqdn}`);
    // Nginx admits only connections with the internal CA's client certificate; health checks present it too.
    expect(cfg).toContain(`check-sni ${fqdn} crt ${HAPROXY.clientCertDir}/tls.crt`);
    expect(cfg).toContain(`bind :${HAPROXY.httpsPort} ssl crt ${HAPROXY.certDir}/tls.crt`);
    expect(cfg).toContain('Strict-Transport-Security');
    expect(cfg).toContain('option forwardfor');
  });

  it('sends plain HTTP to Nginx in terminate mode', () => {
    const cfg = renderHaproxyConfig(inMode(full, 'terminate'));
    const server = cfg.split('\n').find((l) => l.includes('server-template')) ?? '';
    expect(server).toContain(`${fqdn}:8080 `);
    expect(server).not.toMatch(/\bssl\b/);
    expect(server).toContain('send-proxy-v2');
  });

  it('passes TLS through as TCP in passthrough mode', () => {
    const cfg = renderHaproxyConfig(inMode(full, 'passthrough'));
    expect(cfg).toMatch(/frontend https\n {4}mode tcp\n/);
    expect(cfg).toMatch(/backend web\n {4}mode tcp\n/);
    expect(cfg).not.toContain(HAPROXY.certDir);
    expect(cfg).not.toContain('Strict-Transport-Security');
  });

  it('admits only the allowed client ranges, on both frontends', () => {
    const cfg = renderHaproxyConfig(inMode(full, 'reencrypt'));
    const rule = 'tcp-request connection reject unless { src 203.0.113.0/24 198.51.100.7/32 2001:db8::/32 }';
    expect(cfg.split(rule)).toHaveLength(3);
  });

  it('admits everyone without a rule when a range is /0', () => {
    expect(renderHaproxyConfig(inMode(MINIMAL, 'reencrypt'))).not.toContain('tcp-request connection reject');
  });

  it('serves Prometheus metrics and a probe endpoint on the stats port', () => {
    const cfg = renderHaproxyConfig(inMode(full, 'terminate'));
    expect(cfg).toContain(`bind :${HAPROXY.statsPort}`);
    expect(cfg).toContain('http-request use-service prometheus-exporter if { path /metrics }');
    expect(cfg).toContain('if { path /healthz }');
    expect(cfg).not.toMatch(/^\s*daemon\b/m);
  });
});

describe('haproxy.cfg, run: the stack answers only for its names', () => {
  let sandbox: Sandbox;
  let haproxy: ChildProcess | undefined;
  const ports = { http: 0, https: 0 };

  beforeAll(async () => {
    requireProgram('haproxy');
    sandbox = new Sandbox();
    for (const dir of [HAPROXY.certDir, HAPROXY.caDir, HAPROXY.clientCertDir]) installCertificates(sandbox, dir);
    sandbox.dir(HAPROXY.runDir);
    ports.http = await freePort();
    ports.https = await freePort();
    // The test certificate names www.example.com, MINIMAL's domain; the stats frontend is left out.
    const config = sandbox
      .relocate(renderHaproxyConfig(inMode(MINIMAL, 'reencrypt')), LAYOUT_DIRS)
      .replace(`bind :${String(HAPROXY.httpPort)}`, `bind 127.0.0.1:${String(ports.http)}`)
      .replace(`bind :${String(HAPROXY.httpsPort)}`, `bind 127.0.0.1:${String(ports.https)}`)
      .replace(`bind :${String(HAPROXY.statsPort)}`, `bind 127.0.0.1:${String(await freePort())}`);
    haproxy = spawn('haproxy', ['-db', '-f', sandbox.write('haproxy-run.cfg', config)], { stdio: 'ignore' });
    await listening(ports.https);
  });

  afterAll(() => {
    haproxy?.kill('SIGKILL');
    sandbox.remove();
  });

  it('passes a request for its domain on (503 here: no web pod answers) and redirects plain HTTP for it', async () => {
    expect(await ask({ port: ports.https, tls: true, sni: 'www.example.com', host: 'www.example.com' })).toBe(503);
    expect(await ask({ port: ports.http, tls: false, host: 'www.example.com' })).toBe(301);
  });

  it('refuses another Host with 421, over HTTPS with a served SNI and over plain HTTP', async () => {
    expect(await ask({ port: ports.https, tls: true, sni: 'www.example.com', host: 'attacker.example' })).toBe(421);
    expect(await ask({ port: ports.http, tls: false, host: 'attacker.example' })).toBe(421);
  });

  it('refuses the TLS handshake for a name its certificate does not carry, or no name at all', async () => {
    expect(await ask({ port: ports.https, tls: true, sni: 'attacker.example', host: 'www.example.com' })).toMatch(/ECONNRESET|EPROTO|alert/i);
    expect(await ask({ port: ports.https, tls: true, host: 'www.example.com' })).toMatch(/ECONNRESET|EPROTO|alert/i);
  });
});
