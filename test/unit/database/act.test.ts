import { describe, expect, it } from '@jest/globals';
import { act, type ActContext } from '../../../operator/database/act.js';
import { mariadb } from '../../../operator/mysql/mariadb.js';

const refuse = () => Promise.reject(new Error('must not be called'));

function context(takeSeedSlot: ActContext['takeSeedSlot']): ActContext {
  return {
    wiring: {
      adapter: mariadb,
      target: () => {
        throw new Error('must not connect');
      },
      source: () => {
        throw new Error('must not connect');
      },
    },
    ackCount: 1,
    record: refuse,
    exclude: refuse,
    include: refuse,
    deletePod: refuse,
    recordAcksReleased: refuse,
    movePrimaryLabel: refuse,
    warn: refuse,
    takeSeedSlot,
    seedProgress: () => Promise.resolve(),
  };
}

describe('act: a seed', () => {
  it('waits, touching nothing, while every seed slot is taken (its worker stays free for other stacks)', async () => {
    const seed = { kind: 'seed', instance: 'db-2', donor: 'db-0', reason: 'db-2 has an empty data directory' } as const;
    await expect(act(seed, context(() => undefined))).resolves.toBe(false);
  });

  it('gives its slot back when the seed fails', async () => {
    let released = 0;
    const seed = { kind: 'seed', instance: 'db-2', donor: 'db-0', reason: 'db-2 has an empty data directory' } as const;
    const release = () => {
      released++;
    };
    await expect(act(seed, context(() => release))).rejects.toThrow(/must not be called/);
    expect(released).toBe(1);
  });
});
