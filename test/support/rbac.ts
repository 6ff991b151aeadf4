/**
 * RBAC rules as sets of single permissions (one verb on one resource of one API group), so rules
 * can be compared, and removed one at a time, whatever way they are grouped.
 */
import type { K8sObject } from './helm.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export type Role = K8sObject & { rules: PolicyRule[] };

/** `verb resource.group` (`verb resource` for the core group), e.g. `patch webstacks/status.webstack.dev`. */
export type Permission = string;

export function permission(group: string, resource: string, verb: string): Permission {
  return `${verb} ${resource}${group ? `.${group}` : ''}`;
}

export function parsePermission(p: Permission): { group: string; resource: string; verb: string } {
  const [verb = '', rest = ''] = p.split(' ');
  const dot = rest.indexOf('.');
  return dot < 0 ? { verb, resource: rest, group: '' } : { verb, resource: rest.slice(0, dot), group: rest.slice(dot + 1) };
}

export function permissions(rules: PolicyRule[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) out.add(permission(group, resource, verb));
      }
    }
  }
  return out;
}

/** Rules granting exactly `perms`: one rule per resource, verbs in a stable order. */
export function rulesOf(perms: Iterable<Permission>): PolicyRule[] {
  const byResource = new Map<string, { group: string; resource: string; verbs: string[] }>();
  for (const p of perms) {
    const { group, resource, verb } = parsePermission(p);
    const key = `${group}/${resource}`;
    const entry = byResource.get(key) ?? { group, resource, verbs: [] };
    entry.verbs.push(verb);
    byResource.set(key, entry);
  }
  return [...byResource.values()].map((e) => ({ apiGroups: [e.group], resources: [e.resource], verbs: e.verbs.sort() }));
}
