/**
 * A real S3 store on this host for the backup tests: SeaweedFS's `weed server` (master, volume,
 * filer and S3 gateway in one process), built by hack/build.sh control-plane. It is the tests'
 * store, not something the operator needs: any S3-compatible store serves backups.
 *
 * Everything listens on the loopback address, and SeaweedFS's anonymous usage report (on by
 * default, to telemetry.seaweedfs.com) is off and pointed at a closed local port: no packet leaves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hackSetting } from '../../hack/settings.js';
import { ObjectStore, S3Error, type StoreSettings } from '../../operator/backup/s3.js';
import { freePort } from './ports.js';
import type { Pem } from './tls.js';
import type { Sealing } from '../../operator/backup/base-backup.js';

const REGION = 'us-east-1';

export interface TestStore {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** weed's output so far, for failure messages. */
  log(): string;
  /** Stops the server (its data stays until `remove`). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  remove(): Promise<void>;
}

export function weedBinary(): string {
  const binary = path.join(hackSetting('BIN_DIR'), 'weed');
  if (!existsSync(binary)) throw new Error(`${binary} is missing: build it with hack/build.sh control-plane (npm run setup does)`);
  return binary;
}

/** A fresh store with one identity allowed everything; `tls` makes its S3 endpoint HTTPS (`cert` signed by `ca`). */
export async function startTestStore(o: { tls?: { cert: Pem; ca: Pem } } = {}): Promise<TestStore> {
  const binary = weedBinary();
  const dir = mkdtempSync(path.join(tmpdir(), 'webstack-s3-'));
  const accessKeyId = `test${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const config = path.join(dir, 's3.json');
  writeFileSync(config, JSON.stringify({ identities: [{ name: 'backups', credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }] }));
  const tlsArgs: string[] = [];
  if (o.tls) {
    writeFileSync(path.join(dir, 'tls.crt'), o.tls.cert.crt);
    writeFileSync(path.join(dir, 'tls.key'), o.tls.cert.key);
    tlsArgs.push(`-s3.cert.file=${path.join(dir, 'tls.crt')}`, `-s3.key.file=${path.join(dir, 'tls.key')}`);
  }
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc, closed] = await Promise.all(Array.from({ length: 9 }, () => freePort()));
  const args = [
    'server',
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-dir=${path.join(dir, 'data')}`,
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.telemetry=false',
    `-master.telemetry.url=http://127.0.0.1:${closed}/`,
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.config=${config}`,
    // A bucket that does not exist is an error to see, not one to create.
    '-s3.autoCreateBucket=false',
    ...tlsArgs,
  ];
  let child: ChildProcess | undefined;
  let output = '';
  const endpoint = `${o.tls ? 'https' : 'http'}://127.0.0.1:${s3}`;
  const start = async () => {
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const c = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-30_000);
    };
    c.stdout.on('data', keep);
    c.stderr.on('data', keep);
    await ready({ endpoint, region: REGION, accessKeyId, secretAccessKey, bucket: '', ...(o.tls ? { ca: o.tls.ca.crt } : {}) }, () => c.exitCode !== null, () => output);
  };
  const stop = async () => {
    const c = child;
    if (c?.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    // weed takes 10 s to stop on SIGTERM; a store that goes away hard is as good a test.
    const timer = setTimeout(() => c.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    endpoint,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    log: () => output,
    stop,
    start,
    remove: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Until the store takes a write: its S3 gateway answers before its volume server has registered,
 * and the first writes fail (500) or wait for a volume to be made.
 */
async function ready(settings: StoreSettings, exited: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const probe = new ObjectStore({ ...settings, bucket: 'readiness-probe' });
  let lastError: string | undefined;
  try {
    for (;;) {
      if (exited()) throw new Error(`weed exited while starting:\n${output().slice(-3000)}`);
      lastError = await probe
        .createBucket()
        .catch((err: unknown) => {
          if (!(err instanceof S3Error && err.status === 409)) throw err; // BucketAlreadyOwnedByYou: made by an earlier start
        })
        .then(() => probe.put('probe', Buffer.from('ok')))
        .then(
          () => undefined,
          (err: unknown) => String(err),
        );
      if (lastError === undefined) return;
      if (Date.now() > deadline) throw new Error(`weed did not take a write within 60 s (${lastError}):\n${output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    probe.close();
  }
}

/** A fresh test store with bucket `backups`, and what the backup code writes to it with a random key under `prefix`. */
export async function startSealedStore(prefix: string): Promise<{ sealing: Sealing; store: TestStore; remove: () => Promise<void> }> {
  const store = await startTestStore();
  const client = new ObjectStore({ endpoint: store.endpoint, bucket: 'backups', region: store.region, accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey });
  await client.createBucket();
  return {
    sealing: { store: client, prefix, key: randomBytes(32) },
    store,
    remove: async () => {
      client.close();
      await store.remove();
    },
  };
}
