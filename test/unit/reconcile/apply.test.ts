/** The apply step's order: the firewall first, then everything else at once (ADR 0014). */
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import type { KubeObject } from '../../../operator/kube/types.js';
import { applyPlan, applyWaves, type ApplyObjects } from '../../../operator/reconcile/apply.js';
import { render } from '../../../operator/render/index.js';
import { ALL_FACTS, example } from '../../support/render.js';

const objects = render(example('full'), ALL_FACTS);
const POD_MAKERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

describe('apply', () => {
  it('has every NetworkPolicy of the stack in its first wave and everything else in the second', () => {
    const waves = applyWaves(objects);
    expect(waves.map((w) => [...new Set(w.map((o) => o.kind))].includes('NetworkPolicy'))).toEqual([true, false]);
    expect(waves[0]?.every((o) => o.kind === 'NetworkPolicy')).toBe(true);
    expect(waves.flat()).toHaveLength(objects.length);
  });

  it('has every NetworkPolicy applied before anything that makes pods is sent, and sends the rest together, not kind after kind', async () => {
    const events: string[] = [];
    let inFlight = 0;
    let most = 0;
    const api: ApplyObjects = {
      applyObject: async <T extends KubeObject>(obj: T) => {
        events.push(`start ${obj.kind}`);
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        events.push(`end ${obj.kind}`);
        return { ...obj, metadata: { ...obj.metadata } };
      },
    };
    const errors = await applyPlan(api, { apply: objects, prune: [] }, pino({ level: 'silent' }));
    expect(errors).toEqual({});
    const lastPolicyEnd = events.lastIndexOf('end NetworkPolicy');
    const firstPodMaker = events.findIndex((e) => e.startsWith('start ') && POD_MAKERS.has(e.slice('start '.length)));
    expect(firstPodMaker).toBeGreaterThan(lastPolicyEnd);
    // The second wave is in flight together (up to the limit), whatever its kinds.
    expect(most).toBe(16);
  });
});
