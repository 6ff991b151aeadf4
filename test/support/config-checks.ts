/**
 * Every config the operator renders for one stack, put before the program that reads it: HAProxy
 * (`haproxy -c`), the web tier's and the app proxy's Nginx (`nginx -t`), the Prometheus rules
 * (`promtool check rules`) and the shared log agent's collector (`otelcol-webstack validate`, for the
 * sink types its build has). Used where a test needs the programs' verdict on stacks it did not
 * write by hand (the admission property test).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { hackSetting } from '../../hack/settings.js';
import type { DefaultedWebStack } from '../../operator/api/defaults.js';
import { agentRoute } from '../../operator/blueprint/agent.js';
import { APP_PROXY, HAPROXY, LOG_AGENT, NGINX } from '../../operator/blueprint/layout.js';
import { renderAppProxyConfig } from '../../operator/render/config/app-proxy.js';
import { renderHaproxyConfig } from '../../operator/render/config/haproxy.js';
import { agentEnv, renderLogAgentConfig } from '../../operator/render/config/log-agent.js';
import { renderNginxConfig } from '../../operator/render/config/nginx.js';
import { renderPrometheusRuleGroups } from '../../operator/render/config/prometheus-rules.js';
import { Sandbox, installCertificates, nginxTest, requireProgram, run } from './configs.js';

/** The sink types the collector built here has exporters for (hack/otelcol/builder-config.yaml). */
export const COLLECTOR_BUILT_SINKS: readonly string[] = ['stdout', 'loki', 'otlp'];

export interface Refusal {
  program: string;
  output: string;
}

export function collectorBinary(): string {
  const bin = path.join(hackSetting('OTELCOL_BIN_DIR'), 'otelcol-webstack');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run hack/build.sh otelcol (or npm run setup) to build the collector`);
  return bin;
}

export class ConfigPrograms {
  private readonly sandbox = new Sandbox();
  private readonly collector: string;
  private count = 0;

  constructor() {
    for (const program of ['haproxy', 'nginx', 'promtool']) requireProgram(program);
    this.collector = collectorBinary();
    for (const dir of [HAPROXY.certDir, HAPROXY.caDir, HAPROXY.clientCertDir, NGINX.certDir, NGINX.caDir, APP_PROXY.certDir, APP_PROXY.caDir]) installCertificates(this.sandbox, dir);
    for (const dir of [HAPROXY.runDir, NGINX.runDir, APP_PROXY.runDir, LOG_AGENT.hostRoot, LOG_AGENT.storageDir]) this.sandbox.dir(dir);
    // What the web container's start.sh writes at start: the pod's nameserver for nginx's resolver.
    this.sandbox.write(path.join(NGINX.runDir, NGINX.resolverFile), 'resolver 127.0.0.53 valid=10s;\n');
  }

  /** The programs that refused one of the stack's configs, with their words; empty when all accept. */
  check(stack: DefaultedWebStack): Refusal[] {
    const n = ++this.count;
    const refusals: Refusal[] = [];
    const refuse = (program: string, result: { status: number | null; output: string }) => {
      if (result.status !== 0) refusals.push({ program, output: result.output.trim() });
    };
    const haproxyFile = this.sandbox.write(`haproxy-${n}.cfg`, this.sandbox.relocate(renderHaproxyConfig(stack), [HAPROXY.certDir, HAPROXY.caDir, HAPROXY.clientCertDir, HAPROXY.runDir]));
    refuse('haproxy', run('haproxy', ['-c', '-f', haproxyFile]));
    refuse('nginx (web)', this.nginx(`nginx-${n}.conf`, renderNginxConfig(stack), [NGINX.confDir, NGINX.certDir, NGINX.caDir, NGINX.runDir]));
    const appProxy = renderAppProxyConfig(stack);
    if (appProxy !== undefined) refuse('nginx (app proxy)', this.nginx(`app-proxy-${n}.conf`, appProxy, [APP_PROXY.certDir, APP_PROXY.caDir, APP_PROXY.runDir]));
    const rules = this.sandbox.write(`rules-${n}.yaml`, stringify({ groups: renderPrometheusRuleGroups(stack) }));
    refuse('promtool', run('promtool', ['check', 'rules', rules]));
    if (COLLECTOR_BUILT_SINKS.includes(stack.spec.logging.sink.type)) refuse('otelcol', this.validateAgent(stack, n));
    return refusals;
  }

  remove(): void {
    this.sandbox.remove();
  }

  private nginx(name: string, config: string, dirs: string[]): { status: number | null; output: string } {
    const { status, stderr } = nginxTest(this.sandbox, this.sandbox.write(name, this.sandbox.relocate(config, dirs)));
    return { status, output: stderr };
  }

  /** The stack alone in the shared agent's config, its credentials in the environment as the agent has them. */
  private validateAgent(stack: DefaultedWebStack, n: number): { status: number | null; output: string } {
    const route = agentRoute(stack);
    const file = this.sandbox.write(`agent-${n}.yaml`, this.sandbox.relocate(renderLogAgentConfig([route]), [LOG_AGENT.hostRoot, LOG_AGENT.storageDir]));
    const vars = agentEnv(route);
    const env = { PATH: process.env.PATH, [LOG_AGENT.env.nodeName]: 'node-1', [vars.sinkAuthorization]: 'Bearer token', [vars.sinkEndpoint]: 'https://sink.example/v1' };
    return run(this.collector, ['validate', `--config=${file}`], { env });
  }
}
