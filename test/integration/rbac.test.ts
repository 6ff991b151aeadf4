/**
 * The chart's RBAC against the real API server, which enforces RBAC:
 *
 * - enough: the operator, authenticated as the chart's ServiceAccount, takes two WebStacks
 *   (manifests/examples/full.yaml, and a small one using a namespaced Issuer and deletionPolicy
 *   Delete) from creation to Ready to deletion, pruning stale children on the way, and the API
 *   server refuses none of its requests (no code="403" in its API-request metric, no refusal in its
 *   log). Once with the Roles of `watchNamespaces`, once with the cluster-wide ClusterRole.
 * - no more: each permission (one verb on one resource, in one Role) is removed and the operator
 *   is refused: the API server's 403, which names the verb, resource and namespace, shows up in
 *   the operator's log. Runtime is bounded by removing, in one run, permissions whose refusals
 *   cannot hide each other (every list, every watch, every apply's patch, every apply's create;
 *   pairs that fail in different WebStacks); a batch member left without a refusal is run again
 *   alone, and then a scenario that breaks without a visible 403 also counts.
 *
 * The matrix runs the operator as a child process (the container's entry point,
 * operator/cli/operator.ts, transpiled once), because an operator whose list is refused never
 * finishes starting, and only a process can then be stopped for sure.
 */
import { loadExample } from '../support/examples.js';
import { spawn, execFileSync } from 'node:child_process';
import { freePort } from '../support/ports.js';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { transformFile } from '@swc/core';
import { helmTemplateArgs } from '../../hack/gen-manifests.js';
import type { WebStack } from '../../operator/api/types.js';
import { startOperator } from '../../operator/main.js';
import { CLUSTER_FLAGS } from '../support/operator.js';
import { parseConfig } from '../../operator/runtime/config.js';
import { createLogger } from '../../operator/runtime/logger.js';
import { helmPath, parseObjects, type K8sObject } from '../support/helm.js';
import { parsePermission, permission, permissions, rulesOf, type Role } from '../support/rbac.js';
import {
  TEST_NAMESPACE_LABEL,
  deleteNamespace,
  eventually,
  getJson,
  installCrds,
  kubeConfig,
  kubectl,
  newNamespace,
  repoRoot,
} from '../support/cluster.js';

const FIELD_MANAGER = 'webstack-rbac-test';
const MONITORING = 'monitoring.coreos.com';
const OWNER_NAMESPACE = 'webstack.dev/owner-namespace';
const OWNER_NAME = 'webstack.dev/owner-name';
const MANAGED = 'app.kubernetes.io/managed-by=webstack-operator';
const STALE_LABEL = 'webstack.dev/rbac-test-stale';
const CHILD_RESOURCES =
  'deployments,statefulsets,daemonsets,services,configmaps,secrets,poddisruptionbudgets,networkpolicies,certificates,issuers,servicemonitors,podmonitors,prometheusrules';

// ---------------------------------------------------------------------------------------------
// Permissions, by the Role that grants them.

type RoleName = 'stack' | 'agents' | 'cluster' | 'heartbeats' | 'lease';
interface Perm {
  role: RoleName;
  group: string;
  resource: string;
  verb: string;
}
const keyOf = (p: Perm): string => `${p.role}: ${permission(p.group, p.resource, p.verb)}`;

function permsOf(role: RoleName, rules: Role['rules']): Perm[] {
  return [...permissions(rules)].map((p) => ({ role, ...parsePermission(p) }));
}

/** Which role an object is, in a release with watchNamespaces (namespaced mode). */
function roleName(obj: K8sObject, ns: { release: string; stack: string; agents: string }): RoleName {
  if (obj.kind === 'ClusterRole') return 'cluster';
  if (obj.metadata.namespace === ns.stack) return 'stack';
  if (obj.metadata.namespace === ns.agents) return 'agents';
  if (obj.metadata.namespace === ns.release) return 'lease';
  if (obj.metadata.namespace === 'kube-node-lease') return 'heartbeats';
  throw new Error(`unexpected ${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
}

const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

function render(ns: { release: string; stack: string; agents: string }, mode: 'namespaced' | 'cluster'): K8sObject[] {
  const label = `logAgent.namespaceLabels.${TEST_NAMESPACE_LABEL.replaceAll('.', '\\.')}=true`;
  const args = ['--namespace', ns.release, '--set', `logAgent.namespace=${ns.agents}`, '--set-string', label];
  if (mode === 'namespaced') args.push('--set', `watchNamespaces={${ns.stack}}`);
  const text = execFileSync(helmPath(), helmTemplateArgs(args), { encoding: 'utf8' });
  return parseObjects(text).filter((o) => RBAC_KINDS.has(o.kind));
}

/**
 * What the operator may do only where the API server runs the OwnerReferencesPermissionEnforcement
 * admission plugin (OpenShift, hardened clusters), which the local one does not: setting
 * ownerReferences with blockOwnerDeletion needs `update` on the owner's finalizers there. The
 * scenario checks that the operator's children do carry blockOwnerDeletion.
 */
const EXCEPTIONS: Record<string, string> = {
  'stack: update webstacks/finalizers.webstack.dev': 'checked only by the OwnerReferencesPermissionEnforcement admission plugin',
};

// ---------------------------------------------------------------------------------------------
// Stale children: objects labelled as a stack's that render does not produce, so the first
// reconcile prunes them. Each stack gets some, so two prune refusals show in one run.

interface Stale {
  role: 'stack' | 'agents';
  owner: 'a' | 'b';
  group: string;
  resource: string;
  apiVersion: string;
  kind: string;
  body: Record<string, unknown>;
}

const selector = { matchLabels: { 'rbac-test': 'stale' } };
// Never scheduled (no node matches), and restricted, so Pod Security has nothing to warn about.
const template = {
  metadata: { labels: { 'rbac-test': 'stale' } },
  spec: {
    nodeSelector: { 'rbac-test/no-such-node': 'true' },
    securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'c', image: 'registry.example/none:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
  },
};
const STALE: Stale[] = [
  { role: 'stack', owner: 'a', group: 'networking.k8s.io', resource: 'networkpolicies', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', body: { spec: { podSelector: selector, policyTypes: ['Ingress'] } } },
  { role: 'stack', owner: 'a', group: 'cert-manager.io', resource: 'issuers', apiVersion: 'cert-manager.io/v1', kind: 'Issuer', body: { spec: { selfSigned: {} } } },
  { role: 'stack', owner: 'a', group: 'cert-manager.io', resource: 'certificates', apiVersion: 'cert-manager.io/v1', kind: 'Certificate', body: { spec: { secretName: 'rbac-stale-cert', dnsNames: ['stale.example'], issuerRef: { name: 'rbac-no-such-issuer', kind: 'Issuer' } } } },
  { role: 'stack', owner: 'a', group: '', resource: 'configmaps', apiVersion: 'v1', kind: 'ConfigMap', body: { data: {} } },
  { role: 'stack', owner: 'a', group: '', resource: 'services', apiVersion: 'v1', kind: 'Service', body: { spec: { clusterIP: 'None', ports: [{ port: 80 }], selector: selector.matchLabels } } },
  { role: 'stack', owner: 'a', group: 'apps', resource: 'statefulsets', apiVersion: 'apps/v1', kind: 'StatefulSet', body: { spec: { replicas: 0, serviceName: 'none', selector, template } } },
  { role: 'agents', owner: 'a', group: 'apps', resource: 'daemonsets', apiVersion: 'apps/v1', kind: 'DaemonSet', body: { spec: { selector, template } } },
  { role: 'agents', owner: 'a', group: '', resource: 'configmaps', apiVersion: 'v1', kind: 'ConfigMap', body: { data: {} } },
  { role: 'stack', owner: 'b', group: 'apps', resource: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment', body: { spec: { replicas: 0, selector, template } } },
  { role: 'stack', owner: 'b', group: 'policy', resource: 'poddisruptionbudgets', apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', body: { spec: { minAvailable: 1, selector } } },
  { role: 'stack', owner: 'b', group: MONITORING, resource: 'servicemonitors', apiVersion: `${MONITORING}/v1`, kind: 'ServiceMonitor', body: { spec: { selector, endpoints: [{ port: 'metrics' }] } } },
  { role: 'stack', owner: 'b', group: MONITORING, resource: 'podmonitors', apiVersion: `${MONITORING}/v1`, kind: 'PodMonitor', body: { spec: { selector, podMetricsEndpoints: [{ port: 'metrics' }] } } },
  { role: 'stack', owner: 'b', group: MONITORING, resource: 'prometheusrules', apiVersion: `${MONITORING}/v1`, kind: 'PrometheusRule', body: { spec: { groups: [] } } },
  { role: 'agents', owner: 'b', group: 'networking.k8s.io', resource: 'networkpolicies', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', body: { spec: { podSelector: selector, policyTypes: ['Ingress'] } } },
  { role: 'agents', owner: 'b', group: MONITORING, resource: 'podmonitors', apiVersion: `${MONITORING}/v1`, kind: 'PodMonitor', body: { spec: { selector, podMetricsEndpoints: [{ port: 'metrics' }] } } },
];

// ---------------------------------------------------------------------------------------------
// The plan of the minimality matrix, from the rendered Roles.

/** Kinds the reconciler applies (server-side apply: patch, plus create for a new object), per Role. */
const APPLIED: Record<'stack' | 'agents', string[]> = {
  stack: ['deployments', 'statefulsets', 'services', 'configmaps', 'poddisruptionbudgets', 'networkpolicies', 'certificates', 'issuers', 'podmonitors', 'prometheusrules'],
  agents: ['daemonsets', 'configmaps', 'secrets', 'networkpolicies', 'podmonitors'],
};
const applied = (p: Perm) => (p.role === 'stack' || p.role === 'agents') && APPLIED[p.role].includes(p.resource);

/** Removals whose refusals do not hide each other: each request fails on its own. */
const BATCHES: { name: string; select: (p: Perm) => boolean }[] = [
  // The prometheus-operator informers start only after the others synced, so they get a run of their own.
  { name: 'every list but of prometheus-operator kinds', select: (p) => p.verb === 'list' && p.group !== MONITORING },
  { name: 'every list of prometheus-operator kinds', select: (p) => p.verb === 'list' && p.group === MONITORING },
  { name: 'every watch', select: (p) => p.verb === 'watch' },
  { name: 'patch of every applied kind', select: (p) => p.verb === 'patch' && applied(p) },
  { name: 'create of every applied kind', select: (p) => p.verb === 'create' && applied(p) },
];

/** Pairs that fail in different WebStacks (a: full.yaml, b: the small one). */
const PAIRS: [string, string][] = [
  ['cluster: get clusterissuers.cert-manager.io', 'stack: get issuers.cert-manager.io'],
  // At deletion: a's copy of its log sink Secret; b's credentials (deletionPolicy Delete).
  ['agents: delete secrets', 'stack: delete secrets'],
];

interface PlanEntry {
  name: string;
  remove: Perm[];
}

function plan(all: Perm[]): PlanEntry[] {
  const left = new Map(all.filter((p) => !(keyOf(p) in EXCEPTIONS)).map((p) => [keyOf(p), p]));
  const take = (keys: string[]): Perm[] =>
    keys.map((k) => {
      const p = left.get(k);
      if (!p) throw new Error(`the plan names ${k}, which the chart does not grant (or which is planned twice)`);
      left.delete(k);
      return p;
    });
  const entries: PlanEntry[] = [];
  for (const batch of BATCHES) {
    entries.push({ name: batch.name, remove: take([...left.values()].filter(batch.select).map(keyOf)) });
  }
  const pruned = (owner: 'a' | 'b') => STALE.filter((s) => s.owner === owner).map((s) => `${s.role}: ${permission(s.group, s.resource, 'delete')}`);
  const [a, b] = [pruned('a'), pruned('b')];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const keys = [a[i], b[i]].filter((k): k is string => k !== undefined);
    entries.push({ name: `prune: ${keys.join(' + ')}`, remove: take(keys) });
  }
  for (const pair of PAIRS) entries.push({ name: pair.join(' + '), remove: take(pair) });
  for (const p of [...left.values()]) entries.push({ name: keyOf(p), remove: take([keyOf(p)]) });
  return entries;
}

const PLAN_NS = { release: 'plan-release', stack: 'plan-stack', agents: 'plan-agents' };
const PLANNED_ROLES = render(PLAN_NS, 'namespaced').filter((o): o is Role => o.kind === 'ClusterRole' || o.kind === 'Role');
const ALL_PERMS = PLANNED_ROLES.flatMap((r) => permsOf(roleName(r, PLAN_NS), r.rules));
// Only the database controller labels and restarts pods and reads nodes and their heartbeats, and
// it does not run on fake nodes (no database answers there): those grants are used by the e2e
// suite on real nodes (test/e2e/chart.test.ts), not here.
const DATABASE_CONTROLLER_ONLY = new Set(['stack: patch pods', 'stack: delete pods', 'cluster: get nodes', 'heartbeats: get leases.coordination.k8s.io']);
const PLAN = plan(ALL_PERMS.filter((p) => !DATABASE_CONTROLLER_ONLY.has(keyOf(p))));

// ---------------------------------------------------------------------------------------------
// A release of the chart's RBAC, with a token of its ServiceAccount.

interface Release {
  ns: { release: string; stack: string; agents: string };
  roles: Map<RoleName, Role>;
  user: string;
  kubeConfig: KubeConfig;
  kubeconfigFile: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const applyAsAdmin = (objects: unknown[]) =>
  kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', FIELD_MANAGER, '-f', '-'], {
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });

async function install(mode: 'namespaced' | 'cluster'): Promise<Release> {
  const release = await newNamespace('rbac-op', { restricted: true });
  const stack = await newNamespace('rbac', { restricted: true });
  const ns = { release, stack, agents: `${release}-agents` };
  cleanups.push(() => deleteNamespace(stack), () => deleteNamespace(release));
  const objects = render(ns, mode);
  cleanups.push(async () => {
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
  });
  await applyAsAdmin(objects);

  const roles = new Map<RoleName, Role>();
  for (const obj of objects) {
    if (obj.kind === 'ClusterRole' || obj.kind === 'Role') roles.set(roleName(obj, ns), obj as Role);
  }
  const sa = objects.find((o) => o.kind === 'ServiceAccount')?.metadata.name ?? '';
  const user = `system:serviceaccount:${release}:${sa}`;

  // What the WebStacks refer to: the issuers, the Secrets of full.yaml.
  await applyAsAdmin([
    { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt-prod' }, spec: { selfSigned: {} } },
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'local-ca', namespace: stack }, spec: { selfSigned: {} } },
    ...['stripe', 'shop-settings', 'ghcr-foobar'].map((name) => secret(stack, name, { 'api-key': 'test' })),
    secret(stack, 'loki-credentials', { authorization: 'Basic dGVzdDp0ZXN0' }),
  ]);

  const { stdout: token } = await kubectl(['create', 'token', sa, '-n', release, '--duration=2h']);
  const admin = kubeConfig();
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'operator', token: token.trim() }],
    contexts: [{ name: 'operator', cluster: cluster.name, user: 'operator' }],
    currentContext: 'operator',
  });
  const dir = path.join(repoRoot, 'node_modules/.cache/webstack-rbac-test');
  mkdirSync(dir, { recursive: true });
  const kubeconfigFile = path.join(dir, `kubeconfig-${release}.json`);
  writeFileSync(kubeconfigFile, kc.exportConfig(), { mode: 0o600 });
  cleanups.push(() => {
    rmSync(kubeconfigFile, { force: true });
    return Promise.resolve();
  });

  const result: Release = { ns, roles, user, kubeConfig: kc, kubeconfigFile };
  await eventually(async () => expectCan(result, { role: mode === 'namespaced' ? 'stack' : 'cluster', group: 'webstack.dev', resource: 'webstacks', verb: 'list' }, true), {
    description: 'the RoleBindings to take effect',
  });
  return result;
}

function secret(namespace: string, name: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: data };
}

/** Where a Role of that name applies; undefined for the ClusterRole. */
function namespaceOf(release: Release, role: RoleName): string | undefined {
  return { stack: release.ns.stack, agents: release.ns.agents, heartbeats: 'kube-node-lease', lease: release.ns.release, cluster: undefined }[role];
}

/** Asks the API server whether the operator's user may do `p` where `p`'s Role applies. */
async function expectCan(release: Release, p: Perm, allowed: boolean): Promise<void> {
  const [resource, subresource] = p.resource.split('/');
  const args = ['auth', 'can-i', p.verb, `${resource ?? ''}${p.group ? `.${p.group}` : ''}`, '--as', release.user];
  if (subresource) args.push(`--subresource=${subresource}`);
  const ns = namespaceOf(release, p.role);
  if (ns) args.push('-n', ns);
  const { stdout } = await kubectl(args, { allowFail: true });
  if ((stdout.trim() === 'yes') !== allowed) throw new Error(`can-i ${keyOf(p)}: ${stdout.trim()}`);
}

/** Takes `remove` out of the release's Roles and waits until the API server refuses it. */
async function restrict(release: Release, remove: Perm[]): Promise<void> {
  const gone = new Set(remove.map(keyOf));
  const objects = [...release.roles.entries()]
    .filter(([name]) => remove.some((p) => p.role === name))
    .map(([name, role]) => ({ ...role, rules: rulesOf([...permissions(role.rules)].filter((p) => !gone.has(`${name}: ${p}`))) }));
  await applyAsAdmin(objects);
  const probe = remove[0];
  if (probe) await eventually(() => expectCan(release, probe, false), { description: `RBAC to refuse ${keyOf(probe)}` });
}

/** Puts the Roles back as the chart renders them. */
async function restore(release: Release, removed: Perm[]): Promise<void> {
  await applyAsAdmin([...release.roles.values()]);
  const probe = removed[0];
  if (probe) await eventually(() => expectCan(release, probe, true), { description: `RBAC to allow ${keyOf(probe)} again` });
}

// ---------------------------------------------------------------------------------------------
// The operator, in process or as a child process, and the refusals in its log.

interface Refusal {
  verb: string;
  resource: string;
  group: string;
  namespace: string | undefined;
}

// The API server's RBAC message: User "..." cannot patch resource "webstacks/status" in API group
// "webstack.dev" in the namespace "x" (or: at the cluster scope).
const REFUSAL = /cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)/g;

function refusalsInLine(line: string): Refusal[] {
  const strings = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : typeof value === 'object' && value !== null ? Object.values(value).flatMap(strings) : [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = line;
  }
  return strings(parsed).flatMap((text) =>
    [...text.matchAll(REFUSAL)].map((m) => ({ verb: m[1] ?? '', resource: m[2] ?? '', group: m[3] ?? '', namespace: m[4] })),
  );
}

/** The operator's log lines, and the refusals in them (parsed once per line: runs log a lot at debug). */
class OperatorLog {
  readonly lines: string[] = [];
  private readonly found: Refusal[] = [];
  private parsed = 0;

  refusals(): Refusal[] {
    for (; this.parsed < this.lines.length; this.parsed++) this.found.push(...refusalsInLine(this.lines[this.parsed] ?? ''));
    return this.found;
  }

  /** A pino destination that splits what it is given into lines. */
  destination() {
    let partial = '';
    return {
      write: (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        this.lines.push(...parts.filter((l) => l !== ''));
      },
    };
  }
}

function refuses(release: Release, p: Perm, r: Refusal): boolean {
  const ns = namespaceOf(release, p.role);
  return r.verb === p.verb && r.resource === p.resource && r.group === p.group && r.namespace === ns;
}

interface ChildOperator {
  log: OperatorLog;
  /** Set when the process ended by itself (it should not: a refused request is retried). */
  exited(): string | undefined;
  stop(): Promise<void>;
}


/** Configuration for one run: its own Lease, so no run waits for another's to expire. */
function operatorArgs(release: Release, run: string, port: number): string[] {
  return [
    `--namespaces=${release.ns.stack}`,
    `--metrics-port=${port}`,
    '--log-level=debug',
    '--leader-elect=true',
    `--lease-namespace=${release.ns.release}`,
    `--lease-name=rbac-${run}`,
    `--identity=rbac-${run}`,
    '--lease-duration=6s',
    '--renew-deadline=4s',
    '--retry-period=1s',
    '--resync-period=5s',
    '--request-timeout=15s',
    ...CLUSTER_FLAGS,
  ];
}

const CLI_DIR = path.join(repoRoot, 'node_modules/.cache/webstack-rbac-test/dist');

/** Transpiles operator/ to plain JavaScript once (no type check: `npm run typecheck` does that). */
async function transpileOperator(): Promise<string> {
  rmSync(CLI_DIR, { recursive: true, force: true });
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const full = path.join(dir, f);
      return statSync(full).isDirectory() ? walk(full) : full.endsWith('.ts') ? [full] : [];
    });
  for (const file of walk(path.join(repoRoot, 'operator'))) {
    const out = path.join(CLI_DIR, path.relative(repoRoot, file)).replace(/\.ts$/, '.js');
    const { code } = await transformFile(file, { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } });
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, code);
  }
  return path.join(CLI_DIR, 'operator/cli/operator.js');
}

async function startChild(cli: string, release: Release, run: string): Promise<ChildOperator> {
  const log = new OperatorLog();
  const args = [cli, `--kubeconfig=${release.kubeconfigFile}`, ...operatorArgs(release, run, await freePort())];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, WEBSTACK_AGENT_NAMESPACE: release.ns.agents, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sink = log.destination();
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      sink.write(chunk);
    });
  }
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = `exited with ${signal ?? `code ${String(code)}`}: ${log.lines.slice(-5).join('\n')}`;
      resolve();
    }),
  );
  return {
    log,
    exited: () => exit,
    async stop() {
      // Each run has a Lease of its own, so there is nothing to hand over: end it at once.
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The scenario: stale children, two WebStacks, Ready, delete, gone.

function stacksFor(release: Release, run: string): WebStack[] {
  const full = loadExample('full');
  full.metadata = { name: `a${run}`, namespace: release.ns.stack };
  const small = loadExample('minimal');
  small.metadata = { name: `b${run}`, namespace: release.ns.stack };
  small.spec.tls = { issuerRef: { name: 'local-ca', kind: 'Issuer' } };
  small.spec.loadBalancer = { replicas: 1 };
  small.spec.web = { replicas: 1 };
  small.spec.app = { ...small.spec.app, replicas: 1 };
  small.spec.database = { deletionPolicy: 'Delete' };
  return [full, small];
}

function staleObjects(release: Release, run: string): unknown[] {
  return STALE.map((s) => {
    const stack = `${s.owner}${run}`;
    return {
      apiVersion: s.apiVersion,
      kind: s.kind,
      metadata: {
        name: `${stack}-stale`,
        namespace: s.role === 'stack' ? release.ns.stack : release.ns.agents,
        labels: { 'app.kubernetes.io/managed-by': 'webstack-operator', [OWNER_NAMESPACE]: release.ns.stack, [OWNER_NAME]: stack, [STALE_LABEL]: 'true' },
      },
      ...s.body,
    };
  });
}

const names = async (args: string[]): Promise<string[]> =>
  (await kubectl(['get', ...args, '-o', 'name'], { allowFail: true })).stdout.split('\n').filter((l) => l !== '');

type Outcome = 'completed' | 'stopped' | `broke: ${string}`;

/** How long a batch run waits for one more refusal after the last one. */
const BATCH_QUIET_MS = 30_000;

/** True once `count` is above zero and has not changed for `ms`. */
function quietFor(ms: number, count: () => number): () => boolean {
  let last = -1;
  let since = Date.now();
  return () => {
    const n = count();
    if (n !== last) [last, since] = [n, Date.now()];
    return n > 0 && Date.now() - since > ms;
  };
}

/**
 * Runs the scenario; returns early ('stopped') as soon as `stop()` says so, or 'broke: ...' when
 * a step does not finish in time.
 */
async function scenario(release: Release, run: string, stop: () => boolean, onReady?: () => Promise<void>): Promise<Outcome> {
  const { stack: ns, agents } = release.ns;
  const [a, b] = stacksFor(release, run).map((s) => s.metadata.name);
  const step = async (description: string, timeoutMs: number, missing: () => Promise<string | undefined>): Promise<Outcome | undefined> => {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      if (stop()) return 'stopped';
      last = (await missing().catch((err: unknown) => (err instanceof Error ? err.message : String(err)))) ?? '';
      if (last === '') return undefined;
      if (stop()) return 'stopped';
      if (Date.now() > deadline) return `broke: ${description} within ${timeoutMs / 1000}s (still: ${last})`;
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  await applyAsAdmin(staleObjects(release, run));
  await applyAsAdmin(stacksFor(release, run));
  const ready = await step('both WebStacks Ready, stale children pruned', 180_000, async () => {
    const notReady: string[] = [];
    for (const name of [a, b]) {
      const ws = await getJson<WebStack>(['webstack', name ?? '', '-n', ns]);
      const c = ws.status?.conditions?.find((x) => x.type === 'Ready');
      if (c?.status !== 'True') notReady.push(`${name ?? ''} Ready=${c?.status ?? 'absent'} (${c?.message ?? ''})`);
    }
    const stale = [...(await names([CHILD_RESOURCES, '-n', ns, '-l', STALE_LABEL])), ...(await names([CHILD_RESOURCES, '-n', agents, '-l', STALE_LABEL]))];
    if (stale.length > 0) notReady.push(`stale: ${stale.join(' ')}`);
    return notReady.join('; ') || undefined;
  });
  if (ready) return ready;
  await onReady?.();

  // The StatefulSet's claim template cannot change: the operator grows b's volumes itself.
  const size = '11Gi';
  await kubectl(['patch', 'webstack', b ?? '', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { database: { storage: { size } } } })]);
  const grown = await step(`b's volumes grown to ${size}`, 60_000, async () => {
    const claims = await getJson<{ items: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[] }>([
      'pvc', '-n', ns, '-l', `app.kubernetes.io/instance=${b ?? ''}`,
    ]);
    const small = claims.items.filter((c) => c.spec.resources.requests.storage !== size).map((c) => c.metadata.name);
    return claims.items.length === 0 ? 'no claims' : small.length > 0 ? `asking for less: ${small.join(' ')}` : undefined;
  });
  if (grown) return grown;

  await kubectl(['delete', 'webstack', a ?? '', b ?? '', '-n', ns, '--wait=false']);
  const gone = await step('both WebStacks gone, with what they had in the agent namespace and the Delete credentials', 90_000, async () => {
    const left = [
      ...(await names(['webstacks', '-n', ns])),
      ...(await names([CHILD_RESOURCES, '-n', agents, '-l', `${OWNER_NAMESPACE}=${ns}`])),
      ...(await names(['secret', `${b ?? ''}-mysql-credentials`, '-n', ns])),
    ];
    return left.join(' ') || undefined;
  });
  return gone ?? 'completed';
}

/** Removes what a run left: finalizers the operator could not remove, children, stale objects. */
async function cleanUp(release: Release, run: string): Promise<void> {
  const { stack: ns, agents } = release.ns;
  for (const name of stacksFor(release, run).map((s) => s.metadata.name)) {
    await kubectl(['patch', 'webstack', name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
  }
  await kubectl(['delete', 'webstacks', '--all', '-n', ns, '--wait=false'], { allowFail: true });
  for (const where of [ns, agents]) {
    await kubectl(['delete', CHILD_RESOURCES, '-n', where, '-l', MANAGED, '--wait=false'], { allowFail: true });
  }
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  // Without RBAC enforcement nothing below would prove anything.
  const { stdout } = await kubectl(['auth', 'can-i', 'list', 'secrets', '--all-namespaces', '--as', 'system:serviceaccount:rbac-probe:nobody'], {
    allowFail: true,
  });
  if (stdout.trim() !== 'no') throw new Error(`the API server does not enforce RBAC (can-i answered "${stdout.trim()}")`);
  await installCrds();
}, 120_000);

describe.each(['namespaced', 'cluster'] as const)('the chart RBAC (%s mode) is enough', (mode) => {
  it('for create -> Ready -> delete, with no request refused', async () => {
    const release = await install(mode);
    const log = new OperatorLog();
    const config = parseConfig(operatorArgs(release, 'ok', await freePort()), { POD_NAMESPACE: release.ns.release });
    // cluster mode: the ClusterRole is bound cluster-wide, but the operator still watches only the
    // test's namespace, so it never touches the WebStacks of other tests sharing the cluster.
    const operator = await startOperator({
      config,
      kubeConfig: release.kubeConfig,
      agentNamespace: release.ns.agents,
      logger: createLogger({ level: 'debug', destination: log.destination() }),
    });
    let outcome: Outcome;
    let blockOwnerDeletion: unknown;
    try {
      outcome = await scenario(
        release,
        'ok',
        () => log.refusals().length > 0,
        async () => {
          const app = await getJson<{ metadata: { ownerReferences?: { blockOwnerDeletion?: boolean }[] } }>(['deployment', 'aok-app', '-n', release.ns.stack]);
          blockOwnerDeletion = app.metadata.ownerReferences?.[0]?.blockOwnerDeletion;
        },
      );
    } finally {
      await operator.stop();
      await cleanUp(release, 'ok');
    }
    const metric = await operator.metrics.registry.getSingleMetric('webstack_api_requests_total')?.get();
    const refused = (metric?.values ?? []).filter((v) => v.labels.code === '403').map((v) => `${String(v.labels.verb)} ${String(v.labels.resource)}`);
    expect({ outcome, refusedInMetrics: refused, refusedInLog: log.refusals() }).toEqual({ outcome: 'completed', refusedInMetrics: [], refusedInLog: [] });
    // Why update on webstacks/finalizers is granted although this API server never checks it.
    expect(blockOwnerDeletion).toBe(true);
  }, 360_000);
});

describe('the chart RBAC (namespaced mode) is no more than needed', () => {
  let release: Release;
  let cli: string;

  beforeAll(async () => {
    [release, cli] = await Promise.all([install('namespaced'), transpileOperator()]);
  }, 180_000);

  it('plans every permission the chart grants', () => {
    const planned = PLAN.flatMap((e) => e.remove.map(keyOf))
      .concat(Object.keys(EXCEPTIONS), [...DATABASE_CONTROLLER_ONLY])
      .sort();
    expect(planned).toEqual(ALL_PERMS.map(keyOf).sort());
  });

  let runs = 0;
  /**
   * One run without `remove`: which of them the API server refused, and how the scenario went. A
   * batch (more than one removed) also stops once its refusals have stopped coming for a while:
   * a member whose request another refusal hid is run again alone anyway, so waiting for the
   * scenario to break (minutes) would prove nothing more.
   */
  async function without(remove: Perm[]): Promise<{ unrefused: Perm[]; outcome: Outcome; refusals: Refusal[] }> {
    const run = String(++runs);
    await restrict(release, remove);
    const started = Date.now();
    const operator = await startChild(cli, release, run);
    const unrefused = () => remove.filter((p) => !operator.log.refusals().some((r) => refuses(release, p, r)));
    const settled = remove.length > 1 ? quietFor(BATCH_QUIET_MS, () => remove.length - unrefused().length) : () => false;
    let outcome: Outcome;
    try {
      outcome = await scenario(release, run, () => unrefused().length === 0 || operator.exited() !== undefined || settled());
    } finally {
      await operator.stop();
      await restore(release, remove);
      await cleanUp(release, run);
    }
    // The operator exits by design when it loses its lease (the Deployment restarts it); any other
    // exit is a fault of this harness or of the operator, not a proof.
    const exit = operator.exited();
    if (exit !== undefined && !exit.startsWith('exited with SIGKILL')) {
      if (!operator.log.lines.some((l) => l.includes('lost the lease'))) throw new Error(`the operator ${exit}`);
      if (outcome === 'stopped' && unrefused().length > 0) outcome = 'broke: the operator lost its lease and exited';
    }
    const left = unrefused();
    // One line per run, so a slow matrix shows where its time goes.
    process.stderr.write(
      `[rbac] run ${run}: ${remove.length} removed, ${remove.length - left.length} refused, ${outcome} after ${Math.round((Date.now() - started) / 1000)}s\n`,
    );
    return { unrefused: left, outcome, refusals: operator.log.refusals() };
  }

  it.each(PLAN.map((e) => [e.name, e] as const))('without %s, the operator is refused', async (_name, entry) => {
    const first = await without(entry.remove);
    const unproven: string[] = [];
    for (const p of first.unrefused) {
      // A batch member may have been hidden by another's refusal: alone, a broken scenario counts too.
      const alone = entry.remove.length === 1 ? first : await without([p]);
      if (alone.unrefused.length > 0 && alone.outcome === 'completed') {
        unproven.push(`${keyOf(p)}: the scenario completed without it (refusals seen: ${JSON.stringify(alone.refusals)})`);
      }
    }
    expect(unproven).toEqual([]);
  }, 600_000);
});
