import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { withDefaults } from '../../../operator/api/defaults.js';
import { renderAppProxyConfig } from '../../../operator/render/config/app-proxy.js';
import { APP_PROXY, stackNamespace, tierCommonName } from '../../../operator/blueprint/layout.js';
import { names } from '../../../operator/blueprint/names.js';
import { FULL, MINIMAL, Sandbox, clientCertificate, inMode, installCertificates, nginxTest, requireProgram } from '../../support/configs.js';
import { ask, freePort, listening } from '../../support/ports.js';

const LAYOUT_DIRS = [APP_PROXY.confDir, APP_PROXY.certDir, APP_PROXY.caDir, APP_PROXY.runDir];

describe('app proxy nginx.conf', () => {
  let sandbox: Sandbox;

  beforeAll(() => {
    requireProgram('nginx');
    sandbox = new Sandbox();
    installCertificates(sandbox, APP_PROXY.certDir);
    installCertificates(sandbox, APP_PROXY.caDir);
    sandbox.dir(APP_PROXY.runDir);
  });

  afterAll(() => {
    sandbox.remove();
  });

  it('exists only in reencrypt mode for an app serving plain HTTP', () => {
    expect(renderAppProxyConfig(inMode(MINIMAL, 'reencrypt'))).toBeDefined();
    expect(renderAppProxyConfig(inMode(MINIMAL, 'terminate'))).toBeUndefined();
    expect(renderAppProxyConfig(inMode(MINIMAL, 'passthrough'))).toBeUndefined();
    // spec.app.tls: the app serves TLS itself.
    expect(renderAppProxyConfig(withDefaults(FULL))).toBeUndefined();
  });

  it.each([
    ['app on 8080', 8080, 8443],
    ['app on 8443', 8443, 9443],
  ])('%s: passes nginx -t, listens with TLS on %s, requires client certificates, proxies to loopback', (_label, appPort, proxyPort) => {
    const stack = inMode({ ...MINIMAL, spec: { ...MINIMAL.spec, app: { ...MINIMAL.spec.app, port: appPort } } }, 'reencrypt');
    const config = renderAppProxyConfig(stack) ?? '';
    expect(config).toContain(`listen ${proxyPort} ssl;`);
    expect(config).toContain('ssl_verify_client on;');
    expect(config).toContain(`server 127.0.0.1:${appPort};`);
    expect(nginxTestOf(`app-proxy-${appPort}.conf`, config)).toEqual({ status: 0, stderr: '' });
  });

  it('passes nginx -t with the longest names (the common name it admits is 64 characters)', () => {
    const stack = inMode({ ...MINIMAL, metadata: { name: 'a-stack-with-a-long-name', namespace: 'n'.repeat(63) } }, 'reencrypt');
    expect(nginxTestOf('app-proxy-long.conf', renderAppProxyConfig(stack) ?? '')).toEqual({ status: 0, stderr: '' });
  });

  function nginxTestOf(name: string, config: string): { status: number | null; stderr: string } {
    return nginxTest(sandbox, sandbox.write(name, sandbox.relocate(config, LAYOUT_DIRS)));
  }
});

describe('app proxy, run: only the web tier gets in', () => {
  let sandbox: Sandbox;
  let nginx: ChildProcess | undefined;
  let port = 0;
  const stack = inMode(MINIMAL, 'reencrypt');

  beforeAll(async () => {
    requireProgram('nginx');
    sandbox = new Sandbox();
    installCertificates(sandbox, APP_PROXY.certDir);
    installCertificates(sandbox, APP_PROXY.caDir);
    sandbox.dir(APP_PROXY.runDir);
    port = await freePort();
    const proxyPort = stack.spec.app.port === 8443 ? 9443 : 8443;
    // Nothing listens on the app's port: a request the proxy lets through gets 502.
    const config = sandbox.relocate(renderAppProxyConfig(stack) ?? '', LAYOUT_DIRS).replace(`listen ${String(proxyPort)} ssl;`, `listen 127.0.0.1:${String(port)} ssl;`);
    const file = sandbox.write('app-proxy-run.conf', config);
    nginx = spawn('nginx', ['-e', 'stderr', '-p', sandbox.root, '-c', file], { stdio: 'ignore' });
    await listening(port);
  });

  afterAll(() => {
    nginx?.kill('SIGKILL');
    sandbox.remove();
  });

  it("admits the web tier's certificate and refuses another leaf of the same CA with 403", async () => {
    const web = clientCertificate(tierCommonName(names(stack.metadata.name).web, stackNamespace(stack)));
    expect(await ask({ port, tls: true, host: 'app', client: web })).toBe(502);
    const lb = clientCertificate(tierCommonName(names(stack.metadata.name).lb, stackNamespace(stack)));
    expect(await ask({ port, tls: true, host: 'app', client: lb })).toBe(403);
    // No certificate at all: nginx's own 400.
    expect(await ask({ port, tls: true, host: 'app' })).toBe(400);
  });
});
