import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { MYSQL } from '../../../operator/render/config/layout.js';
import { renderMysqlConfig } from '../../../operator/render/config/mysql.js';
import type { WebStack } from '../../../operator/api/types.js';
import { FULL, MINIMAL, Sandbox, examplesInEveryMode, inMode, requireProgram, run } from './helpers.js';

const LAYOUT_DIRS = [MYSQL.configMapDir, MYSQL.confDir, MYSQL.initDir, MYSQL.dataDir, MYSQL.certDir];

/** Passwords with the characters that break naive quoting. */
const PASSWORDS = {
  [MYSQL.env.rootPassword]: 'root"pw\\1',
  [MYSQL.env.appPassword]: "app'pw\\2",
  [MYSQL.env.replicationPassword]: "repl'pw\"3",
  [MYSQL.env.exporterPassword]: 'exp pw 4',
};

/**
 * Stands in for the mysql client: records its arguments, the option file it was given and the SQL
 * on stdin; the connection probe (`--execute`) succeeds only when FAKE_PRIMARY_ANSWERS=yes.
 */
const FAKE_MYSQL = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG/args"
cat "\${1#--defaults-extra-file=}" >> "$FAKE_LOG/option-files"
case "$*" in
  *--execute=*) [ "\${FAKE_PRIMARY_ANSWERS:-no}" = yes ]; exit $? ;;
esac
cat >> "$FAKE_LOG/sql"
`;

function configMap(stack: WebStack, mode: 'reencrypt' | 'terminate' | 'passthrough' = 'reencrypt') {
  return renderMysqlConfig(inMode(stack, mode));
}

describe('MySQL configuration', () => {
  let sandbox: Sandbox;
  let fakeBin: string;
  const minimal = MINIMAL;
  const full = FULL;

  beforeAll(() => {
    requireProgram('sh');
    sandbox = new Sandbox();
    fakeBin = sandbox.dir('fake-bin');
    chmodSync(sandbox.write('fake-bin/mysql', FAKE_MYSQL), 0o755);
  });

  afterAll(() => {
    sandbox.remove();
  });

  it.each(examplesInEveryMode())('%s in %s mode: the scripts pass sh -n', (label, mode, stack) => {
    const files = renderMysqlConfig(stack);
    expect(Object.keys(files).sort()).toEqual(Object.values(MYSQL.files).sort());
    for (const name of [MYSQL.files.init, MYSQL.files.bootstrap]) {
      const script = sandbox.write(`syntax/${label.replace(/\W+/g, '-')}-${mode}-${name}`, files[name] ?? '');
      expect({ name, ...run('sh', ['-n', script]) }).toEqual({ name, status: 0, output: '' });
      expect(files[name]?.startsWith('#!/bin/sh\n')).toBe(true);
    }
  });

  it.each(['reencrypt', 'terminate', 'passthrough'] as const)('my.cnf in %s mode: GTID, semi-sync, and TLS only for reencrypt', (mode) => {
    const cnf = (configMap(full, mode)[MYSQL.files.config] ?? '').split('\n');
    for (const setting of [
      '[mysqld]',
      'gtid_mode=ON',
      'enforce_gtid_consistency=ON',
      'binlog_format=ROW',
      'log_replica_updates=ON',
      'skip_name_resolve=ON',
      'plugin-load-add=semisync_source.so',
      'plugin-load-add=semisync_replica.so',
      'loose-rpl_semi_sync_source_enabled=ON',
      'loose-rpl_semi_sync_replica_enabled=ON',
    ]) {
      expect(cnf).toContain(setting);
    }
    // The full example's 4Gi limit: half of it for the buffer pool.
    expect(cnf).toContain('innodb_buffer_pool_size=2048M');
    // server_id is per pod (server-id.cnf), never shared.
    expect(cnf.filter((l) => l.startsWith('server_id'))).toEqual([]);
    const tls = ['require_secure_transport=ON', `ssl_ca=${MYSQL.certDir}/ca.crt`, `ssl_cert=${MYSQL.certDir}/tls.crt`, `ssl_key=${MYSQL.certDir}/tls.key`];
    for (const setting of tls) {
      if (mode === 'reencrypt') expect(cnf).toContain(setting);
      else expect(cnf).not.toContain(setting);
    }
  });

  /** Runs init-config.sh as pod `pod` in a fresh copy of the pod's filesystem. */
  function runInit(pod: string, options: { dataInitialized: boolean }) {
    const root = `init-${pod}-${options.dataInitialized ? 'restart' : 'first'}`;
    const box = sandbox.dir(root);
    const inBox = (p: string) => path.join(box, p);
    const files = configMap(full);
    for (const dir of [MYSQL.confDir, MYSQL.initDir, MYSQL.dataDir]) mkdirSync(inBox(dir), { recursive: true });
    if (options.dataInitialized) mkdirSync(inBox(path.join(MYSQL.dataDir, 'mysql')));
    for (const [name, content] of Object.entries(files)) {
      sandbox.write(path.join(root, MYSQL.configMapDir, name), content);
    }
    const relocated = (files[MYSQL.files.init] ?? '').replace(
      new RegExp(LAYOUT_DIRS.map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g'),
      (d) => inBox(d),
    );
    const script = sandbox.write(path.join(root, 'init-config.sh'), relocated);
    const result = run('sh', [script], { env: { PATH: '/usr/bin:/bin', POD_NAME: pod } });
    const read = (p: string) => (existsSync(inBox(p)) ? readFileSync(inBox(p), 'utf8') : undefined);
    return {
      result,
      serverId: read(path.join(MYSQL.confDir, 'server-id.cnf')),
      myCnf: read(path.join(MYSQL.confDir, 'webstack.cnf')),
      bootstrapMode: existsSync(inBox(path.join(MYSQL.initDir, MYSQL.files.bootstrap)))
        ? statSync(inBox(path.join(MYSQL.initDir, MYSQL.files.bootstrap))).mode & 0o777
        : undefined,
    };
  }

  it('init-config.sh gives each pod its server_id and stages the files', () => {
    const first = runInit('foobar-mysql-0', { dataInitialized: false });
    expect(first.result).toEqual({ status: 0, output: '' });
    expect(first.serverId).toBe('[mysqld]\nserver_id=100\nreport_host=foobar-mysql-0.foobar-mysql-headless.store.svc.cluster.local\n');
    expect(first.myCnf).toBe(configMap(full)[MYSQL.files.config]);
    expect(first.bootstrapMode).toBe(0o555);
  });

  it('init-config.sh makes replicas read-only, except on their very first start', () => {
    expect(runInit('foobar-mysql-2', { dataInitialized: false }).serverId).not.toContain('read_only');
    const restart = runInit('foobar-mysql-2', { dataInitialized: true }).serverId ?? '';
    expect(restart).toContain('server_id=102\n');
    expect(restart).toContain('read_only=ON\nsuper_read_only=ON\n');
    expect(runInit('foobar-mysql-0', { dataInitialized: true }).serverId).not.toContain('read_only');
  });

  it('init-config.sh refuses a host name without an ordinal', () => {
    const { result } = runInit('foobar-mysql', { dataInitialized: false });
    expect(result.status).toBe(1);
    expect(result.output).toContain('no StatefulSet ordinal');
  });

  /** Runs bootstrap.sh as pod `pod` with the fake client; returns what the client received. */
  function runBootstrap(stack: WebStack, mode: 'reencrypt' | 'terminate', pod: string, primaryAnswers: boolean) {
    const log = sandbox.dir(`bootstrap-${stack.metadata.name}-${mode}-${pod}-${String(primaryAnswers)}`);
    const tmp = sandbox.dir(path.join(path.relative(sandbox.root, log), 'tmp'));
    const script = sandbox.write(path.join(path.relative(sandbox.root, log), 'bootstrap.sh'), configMap(stack, mode)[MYSQL.files.bootstrap] ?? '');
    const result = run('sh', [script], {
      env: {
        PATH: `${fakeBin}:/usr/bin:/bin`,
        POD_NAME: pod,
        TMPDIR: tmp,
        FAKE_LOG: log,
        FAKE_PRIMARY_ANSWERS: primaryAnswers ? 'yes' : 'no',
        ...PASSWORDS,
      },
    });
    const read = (name: string) => (existsSync(path.join(log, name)) ? readFileSync(path.join(log, name), 'utf8') : '');
    return { result, args: read('args'), sql: read('sql'), optionFiles: read('option-files'), leftovers: readdirSync(tmp) };
  }

  it('bootstrap.sh on ordinal 0 creates the database and users, passwords only from the environment', () => {
    const { result, args, sql, optionFiles, leftovers } = runBootstrap(full, 'reencrypt', 'foobar-mysql-0', false);
    expect(result.status).toBe(0);
    expect(sql).toContain('CREATE DATABASE IF NOT EXISTS `app`;');
    expect(sql).toContain("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app''pw\\\\2';");
    expect(sql).toContain("CREATE USER IF NOT EXISTS 'replicator'@'%' IDENTIFIED BY 'repl''pw\"3';");
    expect(sql).toContain("GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'%';");
    expect(sql).toContain("GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'localhost', 'exporter'@'127.0.0.1';");
    expect(sql).not.toContain('CHANGE REPLICATION SOURCE');
    // The probe of the -primary Service verified its certificate; no password on any command line.
    expect(args).toContain('--host=foobar-mysql-primary.store.svc.cluster.local');
    expect(args).toContain('--ssl-mode=VERIFY_IDENTITY');
    for (const password of Object.values(PASSWORDS)) expect(args).not.toContain(password);
    expect(optionFiles).toContain('[client]\nuser=root\npassword="root"pw\\\\1"\n');
    expect(leftovers).toEqual([]);
  });

  it.each([
    ['a later ordinal', 'foobar-mysql-1', false],
    ['ordinal 0 rebuilt while a primary answers', 'foobar-mysql-0', true],
  ])('bootstrap.sh on %s joins the -primary Service as a read-only replica', (_, pod, primaryAnswers) => {
    const { result, sql } = runBootstrap(full, 'reencrypt', pod, primaryAnswers);
    expect(result.status).toBe(0);
    expect(sql).not.toContain('CREATE USER');
    // The full example runs MySQL 8.0, which has no RESET BINARY LOGS AND GTIDS yet.
    expect(sql).toContain('RESET MASTER;');
    expect(sql).toContain(
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST='foobar-mysql-primary.store.svc.cluster.local', SOURCE_PORT=3306, " +
        "SOURCE_USER='replicator', SOURCE_PASSWORD='repl''pw\"3', SOURCE_AUTO_POSITION=1, " +
        `SOURCE_SSL=1, SOURCE_SSL_CA='${MYSQL.certDir}/ca.crt', SOURCE_SSL_VERIFY_SERVER_CERT=1,`,
    );
    expect(sql).toContain('START REPLICA;');
    expect(sql).toContain('SET PERSIST super_read_only = ON;');
  });

  it('bootstrap.sh encrypts replication without verification when there is no internal CA', () => {
    const { sql, args } = runBootstrap(minimal, 'terminate', 'mini-mysql-1', false);
    expect(sql).toContain('RESET BINARY LOGS AND GTIDS;');
    expect(sql).toContain('SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_CONNECT_RETRY=10');
    expect(sql).not.toContain('SOURCE_SSL_CA');
    // Only ordinal 0 probes for an existing primary.
    expect(args).not.toContain('--execute');
    const probe = runBootstrap(minimal, 'terminate', 'mini-mysql-0', false).args;
    expect(probe).toContain('--ssl-mode=REQUIRED');
  });

  it('bootstrap.sh stops before touching MySQL when a password is missing', () => {
    const log = sandbox.dir('bootstrap-missing');
    const script = sandbox.write('bootstrap-missing/bootstrap.sh', configMap(full)[MYSQL.files.bootstrap] ?? '');
    const { [MYSQL.env.replicationPassword]: _missing, ...others } = PASSWORDS;
    const env = { PATH: `${fakeBin}:/usr/bin:/bin`, POD_NAME: 'foobar-mysql-0', FAKE_LOG: log, ...others };
    const result = run('sh', [script], { env });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(MYSQL.env.replicationPassword);
    expect(existsSync(path.join(log, 'args'))).toBe(false);
    rmSync(log, { recursive: true, force: true });
  });
});
