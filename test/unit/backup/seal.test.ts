import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { RECORD_PLAINTEXT_BYTES, keyFromSecretValue, openStream, sealStream } from '../../../operator/backup/seal.js';

async function through(stream: Transform, data: Buffer, pieceBytes = 10_000): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces = Array.from({ length: Math.ceil(data.length / pieceBytes) }, (_, i) => data.subarray(i * pieceBytes, (i + 1) * pieceBytes));
  await pipeline(Readable.from(pieces), stream, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

const key = randomBytes(32);
const seal = (data: Buffer) => through(sealStream(key), data);
const open = (sealed: Buffer, withKey = key) => through(openStream(withKey), sealed, 7_777);

describe('sealed backup objects', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['exactly one record', RECORD_PLAINTEXT_BYTES],
    ['several records and a partial one', 3 * RECORD_PLAINTEXT_BYTES + 123],
  ])('round-trip: %s', async (_name, size) => {
    const data = randomBytes(size);
    expect((await open(await seal(data))).equals(data)).toBe(true);
  });

  it('holds none of the plaintext', async () => {
    const data = Buffer.from('INSERT INTO customers VALUES (1, "ada@example.com");\n'.repeat(5000));
    const sealed = await seal(data);
    expect(sealed.includes(Buffer.from('ada@example.com'))).toBe(false);
    expect(sealed.length).toBeLessThan(data.length * 1.01 + 100);
  });

  it('never seals the same data to the same bytes twice (a fresh salt per object)', async () => {
    const data = Buffer.from('the same rows');
    expect((await seal(data)).equals(await seal(data))).toBe(false);
  });

  it('refuses another key', async () => {
    const sealed = await seal(randomBytes(1000));
    await expect(open(sealed, randomBytes(32))).rejects.toThrow(/does not authenticate/);
  });

  it('refuses a flipped bit anywhere in a record', async () => {
    const sealed = await seal(randomBytes(2 * RECORD_PLAINTEXT_BYTES + 10));
    for (const at of [40, 60_000, sealed.length - 1]) {
      const damaged = Buffer.from(sealed);
      damaged[at] = (damaged[at] ?? 0) ^ 0x01;
      await expect(open(damaged)).rejects.toThrow(/damaged|authenticate/);
    }
  });

  it('refuses an object cut short, even exactly at a record boundary', async () => {
    const sealed = await seal(randomBytes(3 * RECORD_PLAINTEXT_BYTES + 10));
    const firstRecordEnd = 37 + 5 + RECORD_PLAINTEXT_BYTES + 16;
    await expect(open(sealed.subarray(0, firstRecordEnd))).rejects.toThrow(/truncated/);
    await expect(open(sealed.subarray(0, sealed.length - 3))).rejects.toThrow(/truncated/);
  });

  it('refuses records swapped or one dropped', async () => {
    const sealed = await seal(randomBytes(3 * RECORD_PLAINTEXT_BYTES + 10));
    const record = 5 + RECORD_PLAINTEXT_BYTES + 16;
    const header = sealed.subarray(0, 37);
    const r = (i: number) => sealed.subarray(37 + i * record, 37 + (i + 1) * record);
    const rest = sealed.subarray(37 + 3 * record);
    await expect(open(Buffer.concat([header, r(1), r(0), r(2), rest]))).rejects.toThrow(/does not authenticate/);
    await expect(open(Buffer.concat([header, r(0), r(2), rest]))).rejects.toThrow(/does not authenticate/);
  });

  it('refuses what is not a sealed object', async () => {
    await expect(open(Buffer.from('CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3);'))).rejects.toThrow(/not a sealed backup/);
  });
});

describe('the key from its Secret', () => {
  it('takes base64 of 32 bytes or more', () => {
    const raw = randomBytes(32);
    expect(keyFromSecretValue(Buffer.from(`${raw.toString('base64')}\n`)).equals(raw)).toBe(true);
  });

  it('refuses a short key or one that is not base64, saying how to make one', () => {
    expect(() => keyFromSecretValue(Buffer.from(randomBytes(16).toString('base64')))).toThrow(/16 bytes.*openssl rand -base64 32/);
    expect(() => keyFromSecretValue(Buffer.from('correct horse battery staple, very long passphrase'))).toThrow(/not base64/);
  });
});
