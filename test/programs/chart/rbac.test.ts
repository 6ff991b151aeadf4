/**
 * The chart's RBAC against the operator's own table of kinds (operator/controller/kinds.ts), and
 * the two binding modes against each other. test/integration/rbac.test.ts proves each permission
 * is needed; these checks keep the chart from drifting when a kind is added or removed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { CHILD_KINDS } from '../../../operator/api/kinds.js';
import { repoRoot } from '../../support/cluster.js';
import { RELEASE_NAMESPACE, ofKind, template } from '../../support/helm.js';
import { permission, permissions, type Permission, type Role } from '../../support/rbac.js';

const AGENTS = 'webstack-system';
const WATCHED = 'shop';

/** Resources the operator touches besides its children. */
const OWN_RESOURCES = ['webstacks', 'webstacks/status', 'webstacks/finalizers', 'events', 'clusterissuers', 'nodes', 'leases'];

let clusterMode: Role[];
let namespacedMode: Role[];

function role(roles: Role[], kind: string, namespace?: string, suffix = ''): Set<Permission> {
  const found = roles.find((r) => r.kind === kind && r.metadata.namespace === namespace && r.metadata.name.endsWith(suffix));
  if (!found) throw new Error(`no ${kind}${namespace ? ` in ${namespace}` : ''}${suffix ? ` named *${suffix}` : ''}`);
  return permissions(found.rules);
}

const union = (...sets: Set<Permission>[]) => new Set(sets.flatMap((s) => [...s]));
const minus = (a: Set<Permission>, b: Set<Permission>) => [...a].filter((p) => !b.has(p)).sort();

beforeAll(async () => {
  const roles = (objects: Awaited<ReturnType<typeof template>>) => [...ofKind<Role>(objects, 'ClusterRole'), ...ofKind<Role>(objects, 'Role')];
  clusterMode = roles(await template());
  namespacedMode = roles(await template(['--set', `watchNamespaces={${WATCHED}}`]));
}, 60_000);

describe('RBAC of the chart', () => {
  it('lets the caches list and watch every child kind, in stack and agent namespaces alike', () => {
    const stack = role(namespacedMode, 'Role', WATCHED);
    const agents = role(namespacedMode, 'Role', AGENTS, '-log-agents');
    const missing = CHILD_KINDS.flatMap((k) =>
      ['list', 'watch'].map((verb) => permission(k.group, k.plural, verb)).filter((p) => !stack.has(p) || !agents.has(p)),
    );
    expect(missing).toEqual([]);
  });

  it('lets prune delete every kind it prunes', () => {
    const all = union(role(namespacedMode, 'Role', WATCHED), role(namespacedMode, 'Role', AGENTS, '-log-agents'));
    expect(CHILD_KINDS.filter((k) => k.prune && !all.has(permission(k.group, k.plural, 'delete'))).map((k) => k.plural)).toEqual([]);
  });

  it('grants nothing on kinds the operator never touches', () => {
    const known = new Set([...CHILD_KINDS.map((k) => k.plural), ...OWN_RESOURCES]);
    const stray = [...clusterMode, ...namespacedMode].flatMap((r) => r.rules.flatMap((rule) => rule.resources ?? [])).filter((res) => !known.has(res));
    expect(stray).toEqual([]);
  });

  it('writes Leases only in the release namespace, and reads the kubelets\' in kube-node-lease only', () => {
    for (const roles of [clusterMode, namespacedMode]) {
      const withLeases = (verbs: string[]) =>
        roles.filter((r) => r.rules.some((rule) => rule.resources?.includes('leases') && rule.verbs.some((v) => verbs.includes(v)))).map((r) => `${r.kind}/${r.metadata.namespace ?? ''}`);
      expect(withLeases(['create', 'update', 'patch', 'delete'])).toEqual([`Role/${RELEASE_NAMESPACE}`]);
      expect(withLeases(['get', 'list', 'watch']).sort()).toEqual(['Role/kube-node-lease', `Role/${RELEASE_NAMESPACE}`].sort());
    }
  });

  it('grants the same stack rights cluster-wide as per namespace', () => {
    const clusterRole = role(clusterMode, 'ClusterRole');
    const expected = union(role(namespacedMode, 'Role', WATCHED), role(namespacedMode, 'ClusterRole'));
    expect({ extra: minus(clusterRole, expected), missing: minus(expected, clusterRole) }).toEqual({ extra: [], missing: [] });
  });

  it('in cluster mode adds in the agent namespace just what the ClusterRole lacks there', () => {
    const clusterRole = role(clusterMode, 'ClusterRole');
    const agentWrites = role(clusterMode, 'Role', AGENTS, '-log-agents');
    const needed = role(namespacedMode, 'Role', AGENTS, '-log-agents');
    expect({
      notCovered: minus(needed, union(clusterRole, agentWrites)),
      repeated: [...agentWrites].filter((p) => clusterRole.has(p)),
      beyondNeed: minus(agentWrites, needed),
    }).toEqual({ notCovered: [], repeated: [], beyondNeed: [] });
  });
});

/** The permissions each table of docs/rbac.md lists, by the heading above it. */
function documented(): Map<string, Set<Permission>> {
  const doc = readFileSync(path.join(repoRoot, 'docs/rbac.md'), 'utf8');
  const out = new Map<string, Set<Permission>>();
  let section = '';
  for (const line of doc.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) section = heading[1] ?? '';
    const row = /^\| ([^|]+) \| ([^|]+) \| ([^|]+) \|/.exec(line);
    if (!row || !section.includes(' rules') || row[1] === 'API group' || row[1]?.startsWith('---')) continue;
    const set = out.get(section) ?? new Set<Permission>();
    const split = (cell: string | undefined) => (cell ?? '').split(',').map((x) => x.trim());
    const group = (row[1] ?? '').trim().replaceAll('"', '');
    for (const resource of split(row[2])) for (const verb of split(row[3])) set.add(permission(group, resource, verb));
    out.set(section, set);
  }
  return out;
}

describe('docs/rbac.md', () => {
  it('lists exactly the permissions the chart grants (namespaced mode)', () => {
    const docs = documented();
    const sections: [string, Set<Permission>][] = [
      ['Stack rules (where WebStacks live)', role(namespacedMode, 'Role', WATCHED)],
      ['Agent rules (the log agent namespace)', role(namespacedMode, 'Role', AGENTS, '-log-agents')],
      ['Cluster rules', role(namespacedMode, 'ClusterRole')],
      ['Heartbeat rules (kube-node-lease)', role(namespacedMode, 'Role', 'kube-node-lease', '-node-heartbeats')],
      ['Lease rules (release namespace)', role(namespacedMode, 'Role', RELEASE_NAMESPACE, '-leader-election')],
    ];
    for (const [section, granted] of sections) {
      const listed = docs.get(section) ?? new Set<Permission>();
      expect({ section, undocumented: minus(granted, listed), notGranted: minus(listed, granted) }).toEqual({ section, undocumented: [], notGranted: [] });
    }
  });
});
