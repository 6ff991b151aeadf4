import { describe, expect, it } from '@jest/globals';
import type { Decision } from '../../../operator/database/decide.js';
import { ExclusionGate } from '../../../operator/database/exclusion-gate.js';

const exclude = (instance: string): Decision => ({
  state: 'Degraded',
  reason: 'db-0 is the primary',
  action: { kind: 'exclude', instance, reason: `${instance} holds transactions db-0 does not have`, remedy: 'reseed' },
  instances: [],
});
const none: Decision = { state: 'Healthy', reason: 'ok', action: { kind: 'none' }, instances: [] };

describe('ExclusionGate', () => {
  it('lets an exclusion through only on its third decision in a row, saying how far it is meanwhile', () => {
    const gate = new ExclusionGate(3);
    const first = gate.pass('ns/a', exclude('db-1'));
    expect(first.action).toEqual({ kind: 'none' });
    expect(first.reason).toContain('decided 1 of the 3 times');
    expect(gate.pass('ns/a', exclude('db-1')).action.kind).toBe('none');
    expect(gate.pass('ns/a', exclude('db-1')).action).toMatchObject({ kind: 'exclude', instance: 'db-1' });
  });

  it('starts again when a decision in between does not exclude, or excludes another instance, and counts each stack apart', () => {
    const gate = new ExclusionGate(3);
    gate.pass('ns/a', exclude('db-1'));
    gate.pass('ns/a', exclude('db-1'));
    gate.pass('ns/a', none);
    expect(gate.pass('ns/a', exclude('db-1')).action.kind).toBe('none');
    gate.pass('ns/a', exclude('db-2'));
    expect(gate.pass('ns/a', exclude('db-1')).action.kind).toBe('none');
    gate.pass('ns/b', exclude('db-1'));
    gate.pass('ns/b', exclude('db-1'));
    expect(gate.pass('ns/b', exclude('db-1')).action.kind).toBe('exclude');
  });
});
