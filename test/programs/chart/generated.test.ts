/**
 * What `npm run gen:manifests` writes must match its sources: the chart's copy of the CRDs and
 * manifests/install.yaml (helm template of the chart with default values).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { crdFiles, installManifest } from '../../../hack/gen-manifests.js';
import { repoRoot } from '../../support/cluster.js';
import { CHART_DIR, INSTALL_FILE, helmPath, parseObjects } from '../../support/helm.js';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
const STALE = 'run `npm run gen:manifests` and commit the result';

describe('generated files', () => {
  it(`${CHART_DIR}/crds holds exactly the CRDs of crds/, unchanged`, () => {
    const chartCrds = readdirSync(path.join(repoRoot, CHART_DIR, 'crds')).sort();
    expect(chartCrds).toEqual(crdFiles());
    for (const file of crdFiles()) {
      if (read(`${CHART_DIR}/crds/${file}`) !== read(`crds/${file}`)) {
        throw new Error(`${CHART_DIR}/crds/${file} differs from crds/${file}: ${STALE}`);
      }
    }
  });

  it(
    `${INSTALL_FILE} is up to date with helm template of the chart`,
    () => {
      if (read(INSTALL_FILE) !== installManifest(helmPath())) {
        throw new Error(`${INSTALL_FILE} is out of date with ${CHART_DIR}: ${STALE}`);
      }
    },
    60_000,
  );

  it(`${INSTALL_FILE} creates the namespaces before anything in them`, () => {
    const objects = parseObjects(read(INSTALL_FILE));
    // kube-node-lease is the API server's own: it creates it at start, like default and kube-system.
    const seen = new Set<string>(['kube-node-lease']);
    for (const obj of objects) {
      if (obj.kind === 'Namespace') seen.add(obj.metadata.name);
      else if (obj.metadata.namespace !== undefined) expect({ obj: `${obj.kind}/${obj.metadata.name}`, ns: seen.has(obj.metadata.namespace) }).toEqual({ obj: `${obj.kind}/${obj.metadata.name}`, ns: true });
    }
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name)).toEqual(['webstacks.webstack.dev']);
  });
});
