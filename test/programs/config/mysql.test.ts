/**
 * The database tier's files, run by the real programs of both engines (MariaDB 10.11 from this
 * machine's packages, MySQL 9.7 from a sid root, see hack/sid/build.sh): init-config.sh
 * initializes a data directory and writes the server's configuration and init file; the real
 * server starts from them; readiness.sh and pre-stop.sh ask the real server.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { MYSQL } from '../../../operator/blueprint/layout.js';
import { renderMysqlConfig } from '../../../operator/render/config/mysql.js';
import type { WebStack } from '../../../operator/api/types.js';
import { withDefaults, type DefaultedWebStack } from '../../../operator/api/defaults.js';
import { freePort } from '../../support/ports.js';
import { mariadb as mariadbAdapter } from '../../../operator/mysql/mariadb.js';
import { mysql84 } from '../../../operator/mysql/mysql84.js';
import { sidPrograms } from '../../support/mysql-servers.js';
import { FULL, MINIMAL, Sandbox, examplesInEveryMode, inMode, requireProgram, run } from '../../support/configs.js';

const LAYOUT_DIRS = [MYSQL.configMapDir, MYSQL.confDir, MYSQL.runDir, MYSQL.dataDir, MYSQL.certDir, MYSQL.tmpDir];

/** Passwords with the characters that break naive quoting. */
const PASSWORDS = {
  [MYSQL.env.rootPassword]: 'root"pw\\1',
  [MYSQL.env.appPassword]: "app'pw\\2",
  [MYSQL.env.replicationPassword]: "repl'pw\"3",
  [MYSQL.env.exporterPassword]: 'exp pw 4',
  [MYSQL.env.operatorPassword]: "op$(x)`'5",
};

const mariadb = (stack: WebStack): DefaultedWebStack => withDefaults({ ...stack, spec: { ...stack.spec, database: { ...stack.spec.database, engine: 'mariadb', version: '10.11' } } });

/** The engines whose files run for real here, with what differs in running them. */
const REAL_ENGINES = [
  {
    label: 'MariaDB 10.11',
    stack: mariadb,
    adapter: mariadbAdapter,
    path: () => process.env.PATH ?? '',
    programs: ['mariadb-install-db', 'mariadbd', 'mariadb', 'mariadb-admin'],
    server: 'mariadbd',
    admin: 'mariadb-admin',
    gtids: 'gtid_binlog_state',
    semiSyncSource: 'rpl_semi_sync_master_enabled',
    pointNowhere: (port: number) => `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${port}, MASTER_USER='x', MASTER_PASSWORD='y', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`,
  },
  {
    label: 'MySQL 9.7',
    stack: (s: WebStack) => withDefaults(s),
    adapter: mysql84,
    // The sid root's programs (hack/sid/build.sh) before this machine's.
    path: () => `${sidPrograms('mysql')}:${process.env.PATH ?? ''}`,
    programs: ['mysqld', 'mysql', 'mysqladmin'],
    server: 'mysqld',
    admin: 'mysqladmin',
    gtids: 'gtid_executed',
    semiSyncSource: 'rpl_semi_sync_source_enabled',
    pointNowhere: (port: number) => `CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=${port}, SOURCE_USER='x', SOURCE_PASSWORD='y', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1`,
  },
];

describe('database configuration files', () => {
  let sandbox: Sandbox;
  beforeAll(() => {
    requireProgram('sh');
    sandbox = new Sandbox();
  });
  afterAll(() => sandbox.remove());

  it.each(examplesInEveryMode())('%s in %s mode: the scripts of both engines pass sh -n', (label, mode, stack) => {
    for (const engineStack of [stack, mariadb(stack)]) {
      const files = renderMysqlConfig(engineStack);
      expect(Object.keys(files).sort()).toEqual(Object.values(MYSQL.files).sort());
      for (const name of [MYSQL.files.init, MYSQL.files.readiness, MYSQL.files.preStop]) {
        const script = sandbox.write(`syntax/${label.replace(/\W+/g, '-')}-${mode}-${engineStack.spec.database.engine}-${name}`, files[name] ?? '');
        expect({ name, ...run('sh', ['-n', script]) }).toEqual({ name, status: 0, output: '' });
      }
    }
  });

  it.each(['mysql', 'mariadb'] as const)('%s: every server starts read-only, the semi-sync source half off, TLS only in reencrypt', (engine) => {
    for (const mode of ['reencrypt', 'terminate', 'passthrough'] as const) {
      const stack = engine === 'mariadb' ? mariadb(FULL) : FULL;
      const cnf = (renderMysqlConfig(inMode(stack, mode))[MYSQL.files.config] ?? '').split('\n');
      const expected =
        engine === 'mysql'
          ? ['read_only=ON', 'super_read_only=ON', 'gtid_mode=ON', 'log_replica_updates=ON', 'loose-rpl_semi_sync_source_enabled=OFF']
          : ['read_only=ON', 'gtid_strict_mode=ON', 'log_slave_updates=ON', 'rpl_semi_sync_master_enabled=OFF'];
      for (const setting of [...expected, 'log_bin=binlog', 'binlog_format=ROW', 'skip_name_resolve=ON', 'innodb_buffer_pool_size=2048M']) {
        expect(cnf).toContain(setting);
      }
      // A timeout would let the primary degrade to asynchronous silently: the controller sets the longest.
      expect(cnf.filter((l) => l.includes('semi_sync') && l.includes('timeout'))).toEqual([]);
      expect(cnf.filter((l) => l.startsWith('server_id'))).toEqual([]);
      expect(cnf.includes('require_secure_transport=ON')).toBe(mode === 'reencrypt');
    }
  });

  describe.each(REAL_ENGINES)('$label, run for real', (engine) => {
    // MySQL takes a few seconds to start (and to initialize a data directory).
    jest.setTimeout(30_000);
    let box: Sandbox;
    let port: number;
    let server: ChildProcess | undefined;
    const stack = engine.stack(inMode(MINIMAL, 'terminate'));
    const files = renderMysqlConfig(stack);
    const inBox = (p: string) => path.join(box.root, p);
    const asRoot = process.getuid?.() === 0;

    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      env = { PATH: engine.path(), ...PASSWORDS };
      for (const program of engine.programs) requireProgram(program, env.PATH);
      box = new Sandbox();
      for (const dir of [MYSQL.confDir, MYSQL.runDir, MYSQL.dataDir, MYSQL.tmpDir]) box.dir(dir);
      for (const [name, content] of Object.entries(files)) box.write(path.join(MYSQL.configMapDir, name), box.relocate(content, LAYOUT_DIRS));
      port = await freePort();
    });
    afterAll(async () => {
      await stopServer();
      box.remove();
    });

    /** init-config.sh as pod `pod` (tests run as root: the programs need to be told so). */
    function initConfig(pod: string) {
      let script = readFileSync(inBox(path.join(MYSQL.configMapDir, MYSQL.files.init)), 'utf8');
      if (asRoot) script = script.replaceAll('--no-defaults ', '--no-defaults --user=root ');
      const file = box.write('init-config.sh', script);
      return run('sh', [file], { env: { ...env, POD_NAME: pod } });
    }

    async function startServer(): Promise<void> {
      const cnf = readFileSync(inBox(MYSQL.configFile), 'utf8').replace(`port=${MYSQL.port}`, `port=${port}\nbind_address=127.0.0.1`);
      box.write(MYSQL.configFile, cnf);
      const started = spawn(engine.server, [`--defaults-file=${inBox(MYSQL.configFile)}`, `--init-file=${inBox(MYSQL.initSql)}`, ...(asRoot ? ['--user=root'] : [])], { stdio: ['ignore', 'ignore', 'pipe'], env });
      server = started;
      let log = '';
      started.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
      for (let i = 0; i < 100 && started.exitCode === null; i++) {
        if (run(engine.admin, ['--protocol=socket', `--socket=${inBox(MYSQL.socket)}`, 'ping'], { env }).status === 0) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`${engine.server} did not start from the rendered configuration:\n${log.split('\n').slice(-15).join('\n')}`);
    }

    async function stopServer(): Promise<void> {
      if (!server) return;
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
      server = undefined;
    }

    const connect = (user: string, password: string) => mysql.createConnection({ host: '127.0.0.1', port, user, password, database: MYSQL.database });

    function readiness() {
      const script = box.write('readiness.sh', readFileSync(inBox(path.join(MYSQL.configMapDir, MYSQL.files.readiness)), 'utf8'));
      return run('sh', [script], { env });
    }

    it('init-config.sh initializes the empty data directory and gives the pod its server_id', () => {
      const result = initConfig('mini-mysql-2');
      expect(result).toEqual({ status: 0, output: 'init-config.sh: initializing the empty data directory of mini-mysql-2\n' });
      expect(existsSync(inBox(path.join(MYSQL.dataDir, 'mysql')))).toBe(true);
      const cnf = readFileSync(inBox(MYSQL.configFile), 'utf8');
      expect(cnf).toContain('\nserver_id=102\nreport_host=mini-mysql-2.mini-mysql-headless.shop.svc.cluster.local\n');
    });

    it('the server starts read-only from it, with every account and no transaction of its own', async () => {
      await startServer();
      const operator = await connect(MYSQL.users.operator, PASSWORDS[MYSQL.env.operatorPassword]);
      const [rows] = await operator.query(`SELECT @@read_only AS ro, @@${engine.gtids} AS gtids, @@${engine.semiSyncSource} AS source, @@server_id AS id`);
      expect(rows).toEqual([{ ro: 1, gtids: '', source: 0, id: 102 }]);
      await operator.end();
      // The application's writes are refused until the controller promotes this server.
      const app = await connect(MYSQL.users.app, PASSWORDS[MYSQL.env.appPassword]);
      await expect(app.query('CREATE TABLE t (id INT PRIMARY KEY)')).rejects.toThrow(/read-only/);
      await app.end();
      await expect(connect(MYSQL.users.app, 'wrong')).rejects.toThrow(/Access denied/);
    });

    it('readiness.sh: Ready when it answers and is nobody\'s replica; not Ready when the server is down', async () => {
      expect(readiness()).toEqual({ status: 0, output: '' });
      await stopServer();
      expect(readiness().status).not.toBe(0);
    });

    it('pre-stop.sh: a read-only server stops at once; a writable one (the primary) waits for the switchover', async () => {
      const script = box.write('pre-stop.sh', readFileSync(inBox(path.join(MYSQL.configMapDir, MYSQL.files.preStop)), 'utf8').replace(`-lt ${MYSQL.preStopWaitSeconds}`, '-lt 3'));
      const preStop = () => {
        const started = Date.now();
        return { ...run('sh', [script], { env }), seconds: Math.round((Date.now() - started) / 1000) };
      };
      await startServer();
      expect(preStop()).toEqual({ status: 0, output: '', seconds: 0 });
      const operator = await connect(MYSQL.users.operator, PASSWORDS[MYSQL.env.operatorPassword]);
      await operator.query('SET GLOBAL read_only = OFF');
      expect(preStop().seconds).toBeGreaterThanOrEqual(3);
      await operator.query('SET GLOBAL read_only = ON');
      await operator.end();
      await stopServer();
    });

    it('a restart keeps the data directory and the accounts still work', async () => {
      expect(initConfig('mini-mysql-2')).toEqual({ status: 0, output: '' });
      await startServer();
      const operator = await connect(MYSQL.users.operator, PASSWORDS[MYSQL.env.operatorPassword]);
      const [rows] = await operator.query(`SELECT @@read_only AS ro, @@${engine.gtids} AS gtids`);
      expect(rows).toEqual([{ ro: 1, gtids: '' }]);
      await operator.end();
    });

    it('readiness.sh: a replica whose IO thread cannot connect is not Ready, and says why', async () => {
      const operator = await connect(MYSQL.users.operator, PASSWORDS[MYSQL.env.operatorPassword]);
      const nowhere = await freePort();
      await operator.query(engine.pointNowhere(nowhere));
      await operator.query(engine.adapter.startReplica());
      const result = readiness();
      expect(result.status).toBe(1);
      expect(result.output).toMatch(/^replication IO thread: (Connecting|No)\n$/);
      await operator.query(engine.adapter.stopReplica());
      await operator.query(engine.adapter.resetReplicaAll());
      expect(readiness()).toEqual({ status: 0, output: '' });
      await operator.end();
    });
  });
});
