/**
 * Container images without a registry or a container engine: each image is one layer made from
 * files of this machine (Debian packages, Go binaries built here) with the shared libraries they
 * load, written as an OCI image archive and imported into a node's containerd.
 *
 *   tsx hack/images/build.ts build [NAME...] build every image (or those named) not cached yet
 *   tsx hack/images/build.ts import SOCKET   import every image into the containerd at SOCKET
 *   tsx hack/images/build.ts list            print the image references
 *
 * Every image is tagged under `webstack.local/` (see IMAGES). An archive is cached under the
 * cache folder by the hash of its inputs (file paths, sizes and modification times, package
 * versions, the image definition and this file), so a warm run rebuilds nothing.
 */
import { hackSetting } from '../settings.js';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { localImage } from './local.js';

const HACK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Dir {
  path: string;
  mode: number;
  uid?: number;
}

interface ImageSpec {
  name: string;
  tag: string;
  /** Host files copied to the same path, with the shared libraries ELF files among them load. */
  files?: string[];
  /** Debian packages whose files (dpkg -L, without docs) are copied. */
  packages?: string[];
  /**
   * Packages of a sid root filesystem (hack/sid/build.sh ENGINE), copied from that root with the
   * libraries their ELF files load there: for servers that need sid's C library.
   */
  sid?: { engine: 'mysql' | 'mariadb'; packages: string[] };
  /** Go programs built here: source dir (with go.mod) or single file, and where they go in the image. */
  go?: { source: string; to: string }[];
  /** Binaries from the node build (NODE_BIN_DIR), copied to /usr/bin. */
  nodeBinaries?: string[];
  /** Other binaries of the cache: a hack/lib.sh folder variable, the file in it, and its place in the image. */
  cachedBinaries?: { dirVar: string; file: string; to: string }[];
  /** Debian's static busybox as /bin/sh and its applets. */
  busybox?: boolean;
  dirs?: Dir[];
  /** Extra passwd/group lines besides root and nobody. */
  users?: string[];
  groups?: string[];
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  env?: string[];
}

const TMP: Dir = { path: '/tmp', mode: 0o1777 };

/** The layout every database server image shares: user 999, its data and socket folders, the server as entrypoint. */
function databaseServer(server: string, gecos: string): Pick<ImageSpec, 'busybox' | 'dirs' | 'users' | 'groups' | 'entrypoint' | 'user'> {
  return {
    busybox: true,
    dirs: [TMP, { path: '/var/lib/mysql', mode: 0o750, uid: 999 }, { path: '/run/mysqld', mode: 0o755, uid: 999 }],
    users: [`mysql:x:999:999:${gecos}:/var/lib/mysql:/bin/false`],
    groups: ['mysql:x:999:'],
    entrypoint: [`/usr/sbin/${server}`],
    user: '999:999',
  };
}

/** The images the real nodes run, tagged `webstack.local/NAME:TAG`. */
export const IMAGES: ImageSpec[] = [
  { name: 'pause', tag: '1.0', go: [{ source: 'images/pause/main.go', to: '/pause' }], entrypoint: ['/pause'], user: '65535:65535' },
  { name: 'busybox', tag: '1.35', busybox: true, dirs: [TMP], cmd: ['sh'] },
  { name: 'coredns', tag: '1.15.0', nodeBinaries: ['coredns'], entrypoint: ['/usr/bin/coredns'] },
  {
    name: 'toolbox',
    tag: '1.0',
    busybox: true,
    files: ['/usr/bin/curl', '/usr/bin/openssl', '/usr/bin/mariadb'],
    // The data-plane benchmark's load generator (test/bench/dataplane.ts).
    go: [{ source: 'images/loadgen', to: '/usr/bin/loadgen' }],
    dirs: [TMP],
    cmd: ['sleep', 'infinity'],
  },
  {
    name: 'haproxy',
    tag: '2.6',
    files: ['/usr/sbin/haproxy'],
    busybox: true,
    dirs: [TMP, { path: '/var/lib/haproxy', mode: 0o755, uid: 99 }, { path: '/run/haproxy', mode: 0o755, uid: 99 }],
    users: ['haproxy:x:99:99:haproxy:/var/lib/haproxy:/bin/false'],
    groups: ['haproxy:x:99:'],
    entrypoint: ['/usr/sbin/haproxy'],
    cmd: ['-W', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
    user: '99:99',
  },
  {
    name: 'nginx',
    tag: '1.22',
    files: ['/usr/sbin/nginx', '/etc/nginx/mime.types'],
    busybox: true,
    dirs: [TMP, { path: '/var/lib/nginx', mode: 0o755, uid: 101 }, { path: '/var/log/nginx', mode: 0o755, uid: 101 }],
    users: ['nginx:x:101:101:nginx:/nonexistent:/bin/false'],
    groups: ['nginx:x:101:'],
    entrypoint: ['/usr/sbin/nginx'],
    cmd: ['-g', 'daemon off;'],
    user: '101:101',
  },
  { name: 'mariadb', tag: '10.11', packages: ['mariadb-server', 'mariadb-server-core', 'mariadb-client', 'mariadb-client-core', 'mariadb-common', 'mysql-common'], ...databaseServer('mariadbd', 'MariaDB') },
  // MariaDB 11.8 from Debian's sid suite (bookworm has 10.11), laid out as the 10.11 image.
  {
    name: 'mariadb',
    tag: '11.8',
    sid: { engine: 'mariadb', packages: ['mariadb-server-core', 'mariadb-client-core', 'mariadb-client', 'mariadb-common', 'mysql-common'] },
    ...databaseServer('mariadbd', 'MariaDB'),
  },
  // MySQL 9.7 from Debian's sid suite (bookworm has no MySQL server), laid out as the upstream
  // image for what the rendered pod uses: mysqld, the mysql client, the data and socket folders.
  { name: 'mysql', tag: '9.7', sid: { engine: 'mysql', packages: ['mysql-server-core', 'mysql-client-core'] }, ...databaseServer('mysqld', 'MySQL') },
  // Debian's 0.14 behind a shim that takes the upstream (0.15+) command line the operator renders.
  {
    name: 'mysqld-exporter',
    tag: '0.14.0',
    files: ['/usr/bin/prometheus-mysqld-exporter'],
    go: [{ source: 'images/mysqld-exporter-compat', to: '/usr/local/bin/mysqld-exporter-compat' }],
    entrypoint: ['/usr/local/bin/mysqld-exporter-compat'],
    user: '65532:65532',
  },
  { name: 'nginx-exporter', tag: '0.11.0', files: ['/usr/bin/prometheus-nginx-exporter'], entrypoint: ['/usr/bin/prometheus-nginx-exporter'], user: '65532:65532' },
  { name: 'app', tag: '1.0', go: [{ source: 'images/app', to: '/app' }], entrypoint: ['/app'], user: '65532:65532' },
  // cert-manager's ACME HTTP-01 solver pods (hack/cert-manager/acmesolver, built by hack/build.sh control-plane).
  {
    name: 'acmesolver',
    tag: '1.0',
    cachedBinaries: [{ dirVar: 'BIN_DIR', file: 'acmesolver', to: '/acmesolver' }],
    entrypoint: ['/acmesolver'],
    user: '65532:65532',
  },
  // The log agent (hack/otelcol), laid out as the upstream contrib image: the same entrypoint and
  // config path, uid 10001, so the operator renders the same DaemonSet for both.
  {
    name: 'otelcol',
    tag: '0.165.0',
    cachedBinaries: [{ dirVar: 'OTELCOL_BIN_DIR', file: 'otelcol-webstack', to: '/otelcol-contrib' }],
    dirs: [TMP, { path: '/etc/otelcol-contrib', mode: 0o755 }],
    entrypoint: ['/otelcol-contrib'],
    cmd: ['--config', '/etc/otelcol-contrib/config.yaml'],
    user: '10001:10001',
  },
];

export const reference = (spec: ImageSpec): string => localImage(`${spec.name}:${spec.tag}`);

function sh(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): string {
  const { quiet, ...rest } = opts;
  return execFileSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'inherit'], ...rest });
}


function isElf(file: string): boolean {
  try {
    const fd = readFileSync(file).subarray(0, 4);
    return fd.toString('latin1') === '\x7fELF';
  } catch {
    return false;
  }
}

/** The libraries (and the loader) an ELF file needs, from ldd; none for static binaries. */
function sharedLibraries(file: string): string[] {
  let out: string;
  try {
    out = sh('ldd', [file], { quiet: true });
  } catch {
    return []; // "not a dynamic executable"
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** The files of a package installed here, or (with `root`) in that root filesystem: paths as in the root. */
function packageFiles(pkg: string, root = ''): string[] {
  return sh('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-L', pkg])
    .split('\n')
    .filter((f) => f.startsWith('/') && !/^\/usr\/share\/(doc|man|lintian|locale|bug)\b/.test(f) && !f.startsWith('/etc/init.d') && !f.startsWith('/lib/systemd'))
    .filter((f) => existsSync(root + f) && !lstatSync(root + f).isDirectory());
}

/** The folder hack/sid/build.sh made for `engine` (rootfs/, versions.txt), built when missing. */
function sidDir(engine: string): string {
  return sh(path.join(HACK, 'sid/build.sh'), [engine]).trim();
}

/** The libraries an ELF file of a sid root loads, resolved by that root's own loader: paths as in the root. */
function sidSharedLibraries(root: string, file: string): string[] {
  const loader = path.join(root, 'usr/lib64/ld-linux-x86-64.so.2');
  let out: string;
  try {
    out = sh(loader, ['--library-path', path.join(root, 'usr/lib/x86_64-linux-gnu'), '--list', root + file], { quiet: true });
  } catch {
    return []; // not a dynamic executable or library
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1].startsWith(root) ? m[1].slice(root.length) : m[1]);
  }
  return libs;
}

function packageVersion(pkg: string): string {
  return sh('dpkg-query', ['-W', '-f=${Version}', pkg]);
}

/**
 * Copies a file of this machine (or, with `from`, of that root filesystem) to the same path under
 * root, keeping symlinks (and their targets, resolved in the same filesystem).
 */
function copyInto(root: string, file: string, seen: Set<string>, from = ''): void {
  if (seen.has(file)) return;
  seen.add(file);
  const dest = path.join(root, file);
  mkdirSync(path.dirname(dest), { recursive: true });
  const source = from + file;
  const st = lstatSync(source);
  if (st.isSymbolicLink()) {
    const target = readlinkSync(source);
    if (!existsSync(dest)) symlinkSync(target, dest);
    copyInto(root, path.resolve(path.dirname(file), target), seen, from);
    return;
  }
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true }); // the target of a symlink: its files are listed themselves
    return;
  }
  copyFileSync(source, dest);
  chmodSync(dest, st.mode & 0o7777);
}

interface Inputs {
  files: string[];
  packages: string[];
  /** Node binaries: where they are here, and their place in the image. */
  binaries: { from: string; to: string }[];
  key: string;
}

/**
 * What an image is made of, and its cache key. The key reads file stats and package versions only
 * (no ldd over a whole package), so a warm run decides in well under a second per image.
 */
function collectInputs(spec: ImageSpec, nodeBinDir: string): Inputs {
  const binaries = [
    ...(spec.nodeBinaries ?? []).map((bin) => ({ from: path.join(nodeBinDir, bin), to: `/usr/bin/${bin}` })),
    ...(spec.cachedBinaries ?? []).map((b) => ({ from: path.join(hackSetting(b.dirVar), b.file), to: b.to })),
  ];
  const files = [...(spec.files ?? []), ...binaries.map((b) => b.from)];
  if (spec.busybox) files.push('/bin/busybox');
  for (const f of files) if (!existsSync(f)) throw new Error(`image ${spec.name}: ${f} is missing (hack/install-test-tools.sh installs the Debian packages; hack/build.sh node builds the node binaries, hack/build.sh control-plane the acmesolver, hack/build.sh otelcol the collector)`);
  const withLibs = new Set(files);
  for (const f of files) if (isElf(f)) for (const lib of sharedLibraries(f)) withLibs.add(lib);
  const hash = createHash('sha256');
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(JSON.stringify(spec));
  for (const pkg of spec.packages ?? []) hash.update(`${pkg}=${packageVersion(pkg)}\n`);
  // A sid root's folder is named by the hash of its pins; versions.txt says what it holds.
  if (spec.sid) hash.update(readFileSync(path.join(sidDir(spec.sid.engine), 'versions.txt')));
  for (const f of [...withLibs].sort()) {
    const st = statSync(f);
    hash.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  for (const g of spec.go ?? []) {
    const src = path.join(HACK, g.source);
    const sources = statSync(src).isDirectory() ? readdirSync(src).map((f) => path.join(src, f)) : [src];
    for (const f of sources.sort()) hash.update(readFileSync(f));
  }
  const placed = new Set(binaries.map((b) => b.from));
  return { files: [...withLibs].filter((f) => !placed.has(f)), packages: spec.packages ?? [], binaries, key: hash.digest('hex').slice(0, 16) };
}

/** The packages' files plus every library their ELF files load. */
function packageClosure(packages: string[]): string[] {
  const files = new Set(packages.flatMap((pkg) => packageFiles(pkg)));
  for (const f of [...files]) if (isElf(f)) for (const lib of sharedLibraries(f)) files.add(lib);
  return [...files];
}

function writeUsers(root: string, spec: ImageSpec): void {
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  const passwd = ['root:x:0:0:root:/root:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false', 'nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false', ...(spec.users ?? [])];
  const group = ['root:x:0:', 'nogroup:x:65534:', 'nonroot:x:65532:', ...(spec.groups ?? [])];
  writeFileSync(path.join(root, 'etc/passwd'), passwd.join('\n') + '\n');
  writeFileSync(path.join(root, 'etc/group'), group.join('\n') + '\n');
}

function installBusybox(root: string): void {
  const applets = sh('/bin/busybox', ['--list-full']).split('\n').filter(Boolean);
  for (const applet of applets) {
    const dest = path.join(root, applet);
    if (existsSync(dest)) continue; // a real program of the image wins over the applet
    mkdirSync(path.dirname(dest), { recursive: true });
    symlinkSync('/bin/busybox', dest);
  }
}

function makeRootfs(spec: ImageSpec, inputs: Inputs, root: string): void {
  const seen = new Set<string>();
  for (const f of [...inputs.files, ...packageClosure(inputs.packages)]) copyInto(root, f, seen);
  if (spec.sid) {
    const sidRoot = path.join(sidDir(spec.sid.engine), 'rootfs');
    // sid merges /lib and /lib64 into /usr: the programs' loader is /lib64/ld-linux-x86-64.so.2.
    for (const top of ['lib', 'lib64']) {
      if (lstatSync(path.join(sidRoot, top)).isSymbolicLink()) symlinkSync(readlinkSync(path.join(sidRoot, top)), path.join(root, top));
    }
    const files = new Set(spec.sid.packages.flatMap((pkg) => packageFiles(pkg, sidRoot)));
    for (const f of [...files]) if (isElf(sidRoot + f)) for (const lib of sidSharedLibraries(sidRoot, f)) files.add(lib);
    for (const f of files) copyInto(root, f, seen, sidRoot);
  }
  for (const b of inputs.binaries) {
    mkdirSync(path.join(root, path.dirname(b.to)), { recursive: true });
    copyFileSync(b.from, path.join(root, b.to));
    chmodSync(path.join(root, b.to), 0o755);
  }
  for (const g of spec.go ?? []) {
    const src = path.join(HACK, g.source);
    const isDir = statSync(src).isDirectory();
    const env = { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
    sh('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', path.join(root, g.to), isDir ? '.' : src], { cwd: isDir ? src : HACK, env });
  }
  if (spec.busybox) installBusybox(root);
  writeUsers(root, spec);
  for (const d of spec.dirs ?? []) {
    const dest = path.join(root, d.path);
    mkdirSync(dest, { recursive: true });
    chmodSync(dest, d.mode);
    if (d.uid !== undefined) chownSync(dest, d.uid, d.uid);
  }
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A deterministic tar of root (sorted, owners kept numerically, mtime 0), gzipped: [gz, diffId]. */
async function layer(root: string, out: string): Promise<{ digest: string; diffId: string; size: number }> {
  const tar = spawn('tar', ['--sort=name', '--mtime=@0', '--numeric-owner', '--format=gnu', '-C', root, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const diff = createHash('sha256');
  const gz = createGzip({ level: 6 });
  const chunks: Buffer[] = [];
  gz.on('data', (c: Buffer) => chunks.push(c));
  tar.stdout.on('data', (c: Buffer) => {
    diff.update(c);
    gz.write(c);
  });
  await new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${String(code)}`))));
  });
  await new Promise<void>((resolve) => gz.end(resolve));
  const blob = Buffer.concat(chunks);
  writeFileSync(out, blob);
  return { digest: sha256(blob), diffId: diff.digest('hex'), size: blob.length };
}

/** Writes an OCI image layout for spec into dir and tars it to archive. */
async function writeArchive(spec: ImageSpec, root: string, dir: string, archive: string): Promise<void> {
  const blobs = path.join(dir, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const tmpLayer = path.join(dir, 'layer.tar.gz');
  const l = await layer(root, tmpLayer);
  renameSync(tmpLayer, path.join(blobs, l.digest));
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(spec.env ?? [])],
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      ...(spec.user ? { User: spec.user } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${l.diffId}`] },
  });
  writeFileSync(path.join(blobs, sha256(config)), config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: Buffer.byteLength(config) },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${l.digest}`, size: l.size }],
  });
  writeFileSync(path.join(blobs, sha256(manifest)), manifest);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${sha256(manifest)}`,
        size: Buffer.byteLength(manifest),
        annotations: { 'io.containerd.image.name': reference(spec), 'org.opencontainers.image.ref.name': spec.tag },
      },
    ],
  };
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  sh('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', `${archive}.partial`, 'oci-layout', 'index.json', 'blobs']);
  renameSync(`${archive}.partial`, archive);
}

function archivePath(imagesDir: string, spec: ImageSpec, key: string): string {
  return path.join(imagesDir, `${spec.name}-${spec.tag}-${key}.tar`);
}

async function buildAll(only: string[] = []): Promise<string[]> {
  const imagesDir = path.join(hackSetting('CACHE_ROOT'), 'images');
  const nodeBinDir = hackSetting('NODE_BIN_DIR');
  mkdirSync(imagesDir, { recursive: true });
  const archives: string[] = [];
  for (const spec of IMAGES.filter((s) => only.length === 0 || only.includes(s.name))) {
    const inputs = collectInputs(spec, nodeBinDir);
    const archive = archivePath(imagesDir, spec, inputs.key);
    if (!existsSync(archive)) {
      const started = Date.now();
      const work = mkdtempSync(path.join(tmpdir(), `webstack-image-${spec.name}-`));
      try {
        const root = path.join(work, 'rootfs');
        mkdirSync(root);
        makeRootfs(spec, inputs, root);
        await writeArchive(spec, root, path.join(work, 'oci'), archive);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      // Older archives of the same image are stale.
      for (const f of readdirSync(imagesDir)) if (f.startsWith(`${spec.name}-${spec.tag}-`) && path.join(imagesDir, f) !== archive) rmSync(path.join(imagesDir, f));
      console.error(`[images] built ${reference(spec)} in ${((Date.now() - started) / 1000).toFixed(1)}s (${(statSync(archive).size / 1e6).toFixed(1)} MB)`);
    }
    archives.push(archive);
  }
  return archives;
}

async function main(): Promise<void> {
  const [command, socket, ...rest] = process.argv.slice(2);
  if (command === 'list') {
    for (const spec of IMAGES) console.log(reference(spec));
  } else if (command === 'build') {
    await buildAll([socket, ...rest].filter((n): n is string => n !== undefined));
  } else if (command === 'import' && socket) {
    const ctr = path.join(hackSetting('NODE_BIN_DIR'), 'ctr');
    const started = Date.now();
    for (const archive of await buildAll()) sh(ctr, ['--address', socket, '-n', 'k8s.io', 'images', 'import', archive], { quiet: true });
    console.error(`[images] imported ${IMAGES.length} images into ${socket} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  } else {
    console.error('usage: tsx hack/images/build.ts build | import SOCKET | list');
    process.exit(2);
  }
}

await main();
