import { describe, expect, it } from '@jest/globals';
import { Slots } from '../../../operator/support/slots.js';

describe('Slots', () => {
  it('gives at most `size` at once, none past that, and a slot again once one is released (once)', () => {
    const slots = new Slots(2);
    const first = slots.take();
    const second = slots.take();
    expect([first, second].every((r) => typeof r === 'function')).toBe(true);
    expect(slots.take()).toBeUndefined();
    first?.();
    first?.();
    expect(slots.free).toBe(1);
    expect(slots.take()).toBeDefined();
    expect(slots.take()).toBeUndefined();
  });

  it('refuses a size below one', () => {
    expect(() => new Slots(0)).toThrow(/positive integer/);
  });
});
