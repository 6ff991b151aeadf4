/**
 * The backup objects against a real S3 server (SeaweedFS, test/support/object-store.ts): sealed
 * uploads in one PUT and in parts, the manifest-last listing, retention's deletes, an upload cut
 * off mid-way, refused credentials, the store's own CA, and the store going away and back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backupId, baseKeys, completeBackups, expiredKeys } from '../../../operator/backup/catalog.js';
import { ObjectStore, PART_BYTES, S3Error } from '../../../operator/backup/s3.js';
import { openStream, sealStream } from '../../../operator/backup/seal.js';
import { startTestStore, type TestStore } from '../../support/object-store.js';
import { certificateAuthority, serverCertificate, type Pem } from '../../support/tls.js';

let plain: TestStore;
let secure: TestStore;
let ca: Pem;
const key = randomBytes(32);
const stores: ObjectStore[] = [];

function client(store: TestStore, o: { bucket?: string; secret?: string; ca?: string } = {}): ObjectStore {
  const s = new ObjectStore({
    endpoint: store.endpoint,
    bucket: o.bucket ?? 'backups',
    region: store.region,
    accessKeyId: store.accessKeyId,
    secretAccessKey: o.secret ?? store.secretAccessKey,
    ...(o.ca ? { ca: o.ca } : {}),
  });
  stores.push(s);
  return s;
}

async function sealedUpload(store: ObjectStore, objectKey: string, data: Buffer): Promise<number> {
  const sealed = sealStream(key);
  const upload = store.upload(objectKey, sealed);
  await pipeline(Readable.from([data]), sealed);
  return upload;
}

async function openedDownload(store: ObjectStore, objectKey: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(await store.get(objectKey), openStream(key), async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) chunks.push(c);
  });
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  ca = certificateAuthority('test store CA');
  [plain, secure] = await Promise.all([startTestStore(), startTestStore({ tls: { cert: serverCertificate(ca, ['127.0.0.1']), ca } })]);
  await client(plain).createBucket();
  await client(secure, { ca: ca.crt }).createBucket();
}, 120_000);

afterAll(async () => {
  for (const s of stores) s.close();
  await Promise.all([plain.remove(), secure.remove()]);
}, 60_000);

describe('backup objects in a real S3 store (SeaweedFS)', () => {
  it('stores sealed data in one PUT and in parts, and gives it back only through the key', async () => {
    const store = client(plain);
    const small = randomBytes(100_000);
    const large = randomBytes(2 * PART_BYTES + 12_345);
    expect(await sealedUpload(store, 'shop/base/small/data', small)).toBeGreaterThan(small.length);
    expect(await sealedUpload(store, 'shop/base/large/data', large)).toBeGreaterThan(large.length);
    expect((await openedDownload(store, 'shop/base/small/data')).equals(small)).toBe(true);
    expect((await openedDownload(store, 'shop/base/large/data')).equals(large)).toBe(true);
    const raw = await store.getBuffer('shop/base/small/data');
    expect(raw.includes(small.subarray(0, 32))).toBe(false);
    const listed = await store.list('shop/base/');
    expect(listed.map((o) => o.key)).toEqual(['shop/base/large/data', 'shop/base/small/data']);
    expect(listed[0]?.size).toBe((await store.getBuffer('shop/base/large/data')).length);
  }, 120_000);

  it('lists a backup only once its manifest is written, and retention deletes what it names', async () => {
    const store = client(plain);
    const prefix = 'retention/';
    const now = new Date();
    const ids = [3, 2, 1].map((h) => backupId(new Date(now.getTime() - h * 3_600_000)));
    for (const id of ids) {
      await sealedUpload(store, baseKeys(prefix, id).data, randomBytes(1000));
    }
    expect(completeBackups(prefix, await store.list(prefix))).toEqual([]);
    for (const id of ids) await store.put(baseKeys(prefix, id).manifest, Buffer.from('{}'));
    expect(completeBackups(prefix, await store.list(prefix)).map((b) => b.id)).toEqual(ids);
    for (const k of expiredKeys(prefix, await store.list(prefix), { keep: 1, abandonedAfterMs: 86_400_000 }, now)) await store.delete(k);
    const left = await store.list(prefix);
    expect(completeBackups(prefix, left).map((b) => b.id)).toEqual([ids[2]]);
    expect(left).toHaveLength(2);
  }, 60_000);

  it('an upload cut off mid-way leaves no object', async () => {
    const store = client(plain);
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(PART_BYTES + 1000);
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('the database went away mid-backup');
    }
    await expect(store.upload('cut/base/x/data', failing())).rejects.toThrow(/went away/);
    expect(await store.list('cut/')).toEqual([]);
  }, 60_000);

  it('refuses wrong credentials and a bucket that does not exist, saying so', async () => {
    await expect(client(plain, { secret: 'not-the-secret' }).list('')).rejects.toThrow(/SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId/);
    const err = await client(plain, { bucket: 'no-such-bucket' }).put('x', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3Error);
    expect(String(err)).toMatch(/NoSuchBucket/);
  }, 30_000);

  it("speaks TLS to a store whose certificate the store's CA signed, and refuses it without that CA", async () => {
    await client(secure, { ca: ca.crt }).put('tls/hello', Buffer.from('hello'));
    expect((await client(secure, { ca: ca.crt }).getBuffer('tls/hello')).toString()).toBe('hello');
    await expect(client(secure).list('tls/')).rejects.toThrow(/self-signed|unable to (get|verify)/i);
  }, 30_000);

  it('fails clearly while the store is down, and works again when it is back', async () => {
    const store = client(plain);
    await plain.stop();
    await expect(store.put('outage/x', Buffer.from('x'))).rejects.toThrow(/ECONNREFUSED|socket hang up|ECONNRESET/);
    await plain.start();
    await store.put('outage/x', Buffer.from('x'));
    expect((await store.list('outage/')).map((o) => o.key)).toEqual(['outage/x']);
  }, 120_000);
});
