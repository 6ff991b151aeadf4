/**
 * Properties over random valid WebStacks and random facts: render never throws, is
 * deterministic, and every invariant holds (helpers.invariantViolations).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { withDefaults } from '../../../operator/api/defaults.js';
import { validateWebStack } from '../../../operator/api/validate.js';
import { render } from '../../../operator/render/index.js';
import { names } from '../../../operator/blueprint/names.js';
import { factsArbitrary, webStackArbitrary } from '../../support/arbitraries.js';
import { find, invariantViolations, spec } from '../../support/render.js';

const RUNS = { numRuns: 150 };

describe('render over random specs', () => {
  it('only generates specs the API accepts', () => {
    fc.assert(
      fc.property(webStackArbitrary, (stack) => {
        expect(validateWebStack(stack)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('never throws, is deterministic and keeps every invariant', () => {
    fc.assert(
      fc.property(webStackArbitrary, factsArbitrary, (raw, facts) => {
        const stack = withDefaults(raw);
        const objects = render(stack, facts);
        expect(render(withDefaults(raw), { ...facts })).toEqual(objects);
        expect(invariantViolations(stack, objects)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('renders TLS, monitoring and logging objects exactly when spec and facts call for them', () => {
    fc.assert(
      fc.property(webStackArbitrary, factsArbitrary, (raw, facts) => {
        const stack = withDefaults(raw);
        const s = stack.spec;
        const objects = render(stack, facts);
        const n = names(stack.metadata.name);
        const kinds = (group: string) => objects.filter((o) => o.apiVersion.startsWith(group));

        const certManager = kinds('cert-manager.io').map((o) => `${o.kind}/${o.metadata.name}`);
        if (!facts.certManager) expect(certManager).toEqual([]);
        else if (s.tls.mode !== 'reencrypt') expect(certManager).toEqual([`Certificate/${n.tlsSecret}`]);
        else expect(certManager).toEqual(expect.arrayContaining([`Issuer/${n.caIssuer}`, `Certificate/${n.mysqlTlsSecret}`]));

        const monitored = facts.prometheusOperator && s.monitoring.enabled;
        expect(kinds('monitoring.coreos.com').length > 0).toBe(monitored);
        // The log agent is shared (render/agent.ts), never a stack's object.
        expect(objects.some((o) => o.kind === 'DaemonSet')).toBe(false);

        const retention = spec(find(objects, 'StatefulSet', n.mysql)).persistentVolumeClaimRetentionPolicy;
        expect(retention).toEqual({ whenDeleted: s.database.deletionPolicy, whenScaled: s.database.deletionPolicy });
      }),
      RUNS,
    );
  });
});
