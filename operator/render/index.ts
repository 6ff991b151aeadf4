/**
 * render(): the desired objects of one WebStack. Pure and deterministic: no I/O, no clock, no
 * randomness; everything it knows about the cluster comes in through RenderFacts. The result is in
 * a fixed order (see PHASES): firewall, CA chain and certificates, configs, Services, the
 * StatefulSet, Deployments, disruption budgets, monitoring; apply keeps only the firewall first
 * (reconcile/apply.ts, ADR 0014). The log agent is not a stack's: one DaemonSet serves
 * every stack (render/agent.ts, rendered from all of them by the agent loop).
 *
 * Not rendered, on purpose: the MySQL credentials Secret (`<stack>-mysql-credentials`, created once
 * by the controller and never overwritten), the copy of the log sink's Secret in the agent
 * namespace (the controller copies it; render cannot read Secrets), owner references (the
 * controller sets them; they cannot cross namespaces anyway), and the DB role labels on pods.
 */
import type { DefaultedWebStack } from '../api/defaults.js';
import { renderApp } from './app.js';
import { newContext, type KubeObject, type RenderFacts } from './context.js';
import { renderDatabase } from './database.js';
import { renderFirewall } from './firewall.js';
import { renderLoadBalancer } from './loadbalancer.js';
import { renderMonitoring } from './monitoring.js';
import { renderTls } from './tls.js';
import { renderWeb } from './web.js';

export type { ExistingState, KubeObject, RenderFacts } from './context.js';
export { PHASES } from './context.js';

export function render(stack: DefaultedWebStack, facts: RenderFacts): KubeObject[] {
  const ctx = newContext(stack, facts);
  // Call order does not matter: each object lands in its phase's scope.
  renderFirewall(ctx);
  renderTls(ctx);
  renderLoadBalancer(ctx);
  renderWeb(ctx);
  renderApp(ctx);
  renderDatabase(ctx);
  renderMonitoring(ctx);
  return ctx.synth();
}
