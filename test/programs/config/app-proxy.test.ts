import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../../operator/api/defaults.js';
import { renderAppProxyConfig } from '../../../operator/render/config/app-proxy.js';
import { APP_PROXY } from '../../../operator/blueprint/layout.js';
import { stackPlan } from '../../../operator/blueprint/plan.js';
import { FULL, MINIMAL, Sandbox, inMode, installCertificates, requireProgram } from '../../support/configs.js';

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
    expect(renderAppProxyConfig(stackPlan(inMode(MINIMAL, 'reencrypt')))).toBeDefined();
    expect(renderAppProxyConfig(stackPlan(inMode(MINIMAL, 'terminate')))).toBeUndefined();
    expect(renderAppProxyConfig(stackPlan(inMode(MINIMAL, 'passthrough')))).toBeUndefined();
    // spec.app.tls: the app serves TLS itself.
    expect(renderAppProxyConfig(stackPlan(withDefaults(FULL)))).toBeUndefined();
  });

  it.each([
    ['app on 8080', 8080, 8443],
    ['app on 8443', 8443, 9443],
  ])('%s: passes nginx -t, listens with TLS on %s, requires client certificates, proxies to loopback', (_label, appPort, proxyPort) => {
    const stack = inMode({ ...MINIMAL, spec: { ...MINIMAL.spec, app: { ...MINIMAL.spec.app, port: appPort } } }, 'reencrypt');
    const config = renderAppProxyConfig(stackPlan(stack)) ?? '';
    expect(config).toContain(`listen ${proxyPort} ssl;`);
    expect(config).toContain('ssl_verify_client on;');
    expect(config).toContain(`server 127.0.0.1:${appPort};`);
    const file = sandbox.write(`app-proxy-${appPort}.conf`, sandbox.relocate(config, LAYOUT_DIRS));
    const stdout = openSync(path.join(sandbox.root, 'nginx-stdout'), 'w');
    try {
      const result = spawnSync('nginx', ['-t', '-q', '-e', 'stderr', '-p', sandbox.root, '-c', file], { encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'] });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      closeSync(stdout);
    }
  });
});
