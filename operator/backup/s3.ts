/**
 * The few S3 calls backups need (put, multipart upload, get, list, delete), signed with AWS
 * Signature Version 4, path-style, over node:https with the store's own CA when it has one. Any
 * S3-compatible store answers them; the tests run SeaweedFS (test/programs/backup).
 *
 * Why not an SDK: six calls, and the pod that runs them must stay small; the signing is a page
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface StoreSettings {
  /** e.g. https://s3.example.com:8333; path-style requests go to `${endpoint}/${bucket}/${key}`. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** PEM of the CA that signed the store's certificate, when the system's do not. */
  ca?: string;
}

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

/** Parts of a multipart upload (S3's minimum is 5 MiB but for the last). */
export const PART_BYTES = 8 * 1024 * 1024;
const RETRIES = 4;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding, as SigV4 wants it: encodeURIComponent leaves !'()* alone. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface Call {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  key?: string;
  query?: Record<string, string>;
  body?: Buffer;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Readable;
}

export class ObjectStore {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly settings: StoreSettings) {
    this.url = new URL(settings.endpoint);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') throw new Error(`the object store endpoint ${settings.endpoint} is not http(s)`);
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(settings.ca ? { ca: settings.ca } : {}) }) : new http.Agent({ keepAlive: true });
  }

  /** Creates the bucket. The operator never does (the user names one that exists); the tests' store starts empty. */
  async createBucket(): Promise<void> {
    await this.text({ method: 'PUT' });
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.text({ method: 'PUT', key, body });
  }

  /** Uploads a stream of unknown length: one PUT when it fits a part, a multipart upload otherwise. */
  async upload(key: string, source: AsyncIterable<Buffer>): Promise<number> {
    let part = Buffer.alloc(0);
    let uploadId: string | undefined;
    const etags: string[] = [];
    let total = 0;
    const sendPart = async (data: Buffer) => {
      uploadId ??= tag(await this.text({ method: 'POST', key, query: { uploads: '' } }), 'UploadId');
      if (!uploadId) throw new S3Error(500, 'NoUploadId', `the store started no multipart upload for ${key}`);
      const answer = await this.call({ method: 'PUT', key, query: { partNumber: String(etags.length + 1), uploadId }, body: data });
      answer.body.resume();
      etags.push(answer.headers.etag ?? '');
    };
    try {
      for await (const chunk of source) {
        total += chunk.length;
        part = Buffer.concat([part, chunk]);
        while (part.length >= PART_BYTES) {
          await sendPart(part.subarray(0, PART_BYTES));
          part = part.subarray(PART_BYTES);
        }
      }
      if (!uploadId) {
        await this.put(key, part);
        return total;
      }
      if (part.length > 0) await sendPart(part);
      const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`).join('');
      const done = await this.text({ method: 'POST', key, query: { uploadId }, body: Buffer.from(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`) });
      // S3 may answer 200 with an error in the body.
      if (done.includes('<Error>')) throw errorFromXml(200, done);
      return total;
    } catch (err) {
      // An interrupted upload leaves no parts behind to be billed or listed.
      if (uploadId) await this.text({ method: 'DELETE', key, query: { uploadId } }).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    return (await this.call({ method: 'GET', key })).body;
  }

  async getBuffer(key: string): Promise<Buffer> {
    return collect(await this.get(key));
  }

  /** Every object under `prefix`, in key order. */
  async list(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    do {
      const xml = await this.text({ method: 'GET', query: { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) } });
      for (const entry of blocks(xml, 'Contents')) {
        objects.push({ key: tag(entry, 'Key') ?? '', size: Number(tag(entry, 'Size') ?? 0), lastModified: new Date(tag(entry, 'LastModified') ?? 0) });
      }
      token = tag(xml, 'IsTruncated') === 'true' ? tag(xml, 'NextContinuationToken') : undefined;
    } while (token);
    return objects;
  }

  async delete(key: string): Promise<void> {
    await this.text({ method: 'DELETE', key });
  }

  close(): void {
    this.agent.destroy();
  }

  private async text(c: Call): Promise<string> {
    return (await collect((await this.call(c)).body)).toString('utf8');
  }

  /**
   * One call, tried again after 0.5, 1, 2 and 4 s when the store is unreachable or answers 5xx
   * (stores answer 500 and 503 while they start or shed load; every call here is idempotent).
   */
  private async call(c: Call): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.callOnce(c);
      } catch (err) {
        if (!transient(err) || attempt >= RETRIES) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }

  private callOnce(c: Call): Promise<Answer> {
    const body = c.body ?? Buffer.alloc(0);
    const path = `/${encode(this.settings.bucket)}${c.key === undefined ? '' : `/${c.key.split('/').map(encode).join('/')}`}`;
    const query = Object.entries(c.query ?? {})
      .map(([k, v]) => `${encode(k)}=${encode(v)}`)
      .sort()
      .join('&');
    const headers = this.sign(c.method, path, query, body.length > 0 ? sha256(body) : EMPTY_SHA256, { ...c.headers, 'content-length': String(body.length) });
    const request = this.url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.url.hostname, port: this.url.port || undefined, method: c.method, path: query ? `${path}?${query}` : path, headers, agent: this.agent, timeout: 60_000 },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve({ status, headers: res.headers, body: res });
            return;
          }
          void collect(res).then(
            (b) => reject(errorFromXml(status, b.toString('utf8'), `${c.method} ${path}`)),
            reject,
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${c.method} ${path}: no answer from the object store within 60 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  private sign(method: string, path: string, query: string, payloadHash: string, extra: Record<string, string>): Record<string, string> {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = { ...extra, host: this.url.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
    const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
    const canonical = [method, path, query, names.map((n) => `${n}:${lower[n] ?? ''}\n`).join(''), names.join(';'), payloadHash].join('\n');
    const scope = `${day}/${this.settings.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    const key = ['s3', 'aws4_request'].reduce((k, part) => hmac(k, part), hmac(hmac(`AWS4${this.settings.secretAccessKey}`, day), this.settings.region));
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${this.settings.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
  }
}

/** A store restarting, overloaded or out of reach for a moment; not a refusal or a certificate it does not trust. */
function transient(err: unknown): boolean {
  if (err instanceof S3Error) return err.status >= 500;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code) || /no answer from the object store|socket hang up/.test(String(err));
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const unescapeXml = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] ?? '');
const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c] ?? ''};`);

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : unescapeXml(m[1]);
}

function blocks(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1] ?? '');
}

function errorFromXml(status: number, xml: string, what = 'the object store'): S3Error {
  const code = tag(xml, 'Code') ?? `HTTP${status}`;
  return new S3Error(status, code, `${what}: ${code}${tag(xml, 'Message') ? `: ${tag(xml, 'Message')}` : ''} (HTTP ${status})`);
}

export const isNoSuchKey = (err: unknown): boolean => err instanceof S3Error && (err.code === 'NoSuchKey' || err.status === 404);
