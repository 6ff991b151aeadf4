/**
 * Running the helm that hack/build.sh builds (the one the integration tests and
 * `npm run gen:manifests` use) on the chart, and reading what it renders.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helmTemplateArgs } from '../../hack/gen-manifests.js';
import { binDir, repoRoot, run, type RunResult } from './cluster.js';

export { CHART_DIR, INSTALL_FILE, RELEASE, RELEASE_NAMESPACE } from '../../hack/gen-manifests.js';
export const CUSTOM_VALUES = path.join(repoRoot, 'charts/webstack-operator/ci/custom-values.yaml');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Path of helm; fails with what to do when it has not been built yet. */
export function helmPath(): string {
  const helm = path.join(binDir(), 'helm');
  if (!existsSync(helm)) throw new Error(`${helm} does not exist: run hack/build.sh (it builds helm with the control plane)`);
  return helm;
}

export function helm(args: string[], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
  return run(helmPath(), args, opts);
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

/** `helm template` of the chart (as gen:manifests runs it) with extra arguments, parsed. */
export async function template(extra: string[] = []): Promise<K8sObject[]> {
  const { stdout } = await helm(helmTemplateArgs(extra));
  return parseObjects(stdout);
}

export function ofKind<T = K8sObject>(objects: K8sObject[], kind: string): (K8sObject & T)[] {
  return objects.filter((o) => o.kind === kind) as (K8sObject & T)[];
}
