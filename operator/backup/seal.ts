/**
 * Backup data is encrypted in the pod, before it leaves for the object store, with a key the user
 * keeps in a Secret: the store (and whoever reads its bucket) sees only sealed bytes.
 *
 * Format, version 1 (docs/adr/0015-backups.md):
 *
 *     "WSBK" 0x01 | salt (32 bytes) | record* (the last one marked final)
 *     record = flag (1 byte: 0 more, 1 final) | length (u32 BE) | ciphertext (length bytes) | GCM tag (16)
 *
 * Each object gets its own AES-256-GCM key, HKDF-SHA256(user key, salt). A record's nonce is its
 * index (88 bits) and its flag (8 bits), the STREAM construction: records cannot be reordered,
 * dropped, repeated or have their flag changed without failing authentication, and a stream cut
 * short (no final record) is refused. So a backup object that was tampered with, truncated or
 * sealed with another key never restores silently: opening it throws.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const MAGIC = Buffer.from('WSBK\x01', 'latin1');
const SALT_BYTES = 32;
const HEADER_BYTES = MAGIC.length + SALT_BYTES;
const TAG_BYTES = 16;
const RECORD_HEAD_BYTES = 5;
/** Plaintext per record: large enough that the 21 bytes a record adds do not matter (0.03 %). */
export const RECORD_PLAINTEXT_BYTES = 64 * 1024;
/** What a user key must at least hold: a 256-bit key. `openssl rand -base64 32` makes one. */
export const MIN_KEY_BYTES = 32;

function objectKey(userKey: Buffer, salt: Buffer): Buffer {
  if (userKey.length < MIN_KEY_BYTES) throw new Error(`the backup encryption key has ${userKey.length} bytes; it needs at least ${MIN_KEY_BYTES}`);
  return Buffer.from(hkdfSync('sha256', userKey, salt, 'webstack backup v1', 32));
}

function nonce(index: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(index, 5, 6); // 48 bits of index: far beyond any backup's record count
  n[11] = final ? 1 : 0;
  return n;
}

function sealRecord(key: Buffer, index: number, plaintext: Buffer, final: boolean): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(index, final));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const head = Buffer.alloc(RECORD_HEAD_BYTES);
  head[0] = final ? 1 : 0;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body, cipher.getAuthTag()]);
}

/** A stream that seals what is written to it. */
export function sealStream(userKey: Buffer): Transform {
  const salt = randomBytes(SALT_BYTES);
  const key = objectKey(userKey, salt);
  let pending = Buffer.alloc(0);
  let index = 0;
  let headerSent = false;
  const header = (t: Transform) => {
    if (!headerSent) t.push(Buffer.concat([MAGIC, salt]));
    headerSent = true;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      header(this);
      pending = Buffer.concat([pending, chunk]);
      // A record is final only at the end: keep back anything that could be the last one.
      while (pending.length > RECORD_PLAINTEXT_BYTES) {
        this.push(sealRecord(key, index++, pending.subarray(0, RECORD_PLAINTEXT_BYTES), false));
        pending = pending.subarray(RECORD_PLAINTEXT_BYTES);
      }
      done();
    },
    flush(done: TransformCallback) {
      header(this);
      this.push(sealRecord(key, index++, pending, true));
      done();
    },
  });
}

/** A stream that opens what sealStream sealed with the same key, or fails saying why. */
export function openStream(userKey: Buffer): Transform {
  let buffered = Buffer.alloc(0);
  let key: Buffer | undefined;
  let index = 0;
  let finished = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        if (!key) {
          if (buffered.length < HEADER_BYTES) {
            done();
            return;
          }
          if (!buffered.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a sealed backup (unknown header)');
          key = objectKey(userKey, buffered.subarray(MAGIC.length, HEADER_BYTES));
          buffered = buffered.subarray(HEADER_BYTES);
        }
        while (buffered.length >= RECORD_HEAD_BYTES) {
          const length = buffered.readUInt32BE(1);
          if (length > RECORD_PLAINTEXT_BYTES) throw new Error(`record ${index} claims ${length} bytes: the object is damaged`);
          const size = RECORD_HEAD_BYTES + length + TAG_BYTES;
          if (buffered.length < size) break;
          if (finished) throw new Error('data after the final record: the object is damaged');
          const final = buffered[0] === 1;
          const decipher = createDecipheriv('aes-256-gcm', key, nonce(index, final));
          decipher.setAuthTag(buffered.subarray(size - TAG_BYTES, size));
          try {
            this.push(Buffer.concat([decipher.update(buffered.subarray(RECORD_HEAD_BYTES, size - TAG_BYTES)), decipher.final()]));
          } catch {
            throw new Error(`record ${index} does not authenticate: the object was changed, or sealed with another key`);
          }
          index++;
          finished = final;
          buffered = buffered.subarray(size);
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      done(!finished || buffered.length > 0 ? new Error(`the object ends before its final record (after ${index} records): it is truncated`) : null);
    },
  });
}

/** The user key from a Secret's value: base64 of at least 32 bytes (`openssl rand -base64 32`). */
export function keyFromSecretValue(value: Buffer): Buffer {
  const text = value.toString('utf8').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error('the backup encryption key is not base64: make one with openssl rand -base64 32');
  const key = Buffer.from(text, 'base64');
  if (key.length < MIN_KEY_BYTES) throw new Error(`the backup encryption key has ${key.length} bytes; it needs at least ${MIN_KEY_BYTES} (openssl rand -base64 32)`);
  return key;
}

async function through(stream: Transform, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.end(data);
  await ended;
  return Buffer.concat(chunks);
}

/** A small object (a manifest) sealed whole. */
export const sealBuffer = (userKey: Buffer, data: Buffer): Promise<Buffer> => through(sealStream(userKey), data);
/** A small sealed object opened whole. */
export const openBuffer = (userKey: Buffer, sealed: Buffer): Promise<Buffer> => through(openStream(userKey), sealed);
