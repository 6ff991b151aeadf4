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

  it('holds a re-seed that discards an old primary\'s transactions the same way, and lets a plain seed through at once', () => {
    const gate = new ExclusionGate(3);
    const reseed: Decision = { ...none, action: { kind: 'seed', instance: 'db-0', donor: 'db-1', reason: 'errant old primary', discarding: '0-1-11' } };
    expect(gate.pass('ns/a', reseed)).toMatchObject({ action: { kind: 'none' }, reason: expect.stringContaining('db-0 is to be re-seeded') as unknown });
    gate.pass('ns/a', reseed);
    expect(gate.pass('ns/a', reseed).action).toMatchObject({ kind: 'seed', discarding: '0-1-11' });
    const empty: Decision = { ...none, action: { kind: 'seed', instance: 'db-2', donor: 'db-1', reason: 'empty' } };
    expect(new ExclusionGate(3).pass('ns/a', empty).action.kind).toBe('seed');
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
