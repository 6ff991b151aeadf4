/**
 * The one place that opens connections (mysql2, promise API). Everything above it sees a
 * SqlSession: a query that returns rows, so adapters are tested with a scripted session and the
 * real driver is exercised against real servers.
 */
import mysql from 'mysql2/promise';
import type { ConnectionTarget } from './types.js';

export type Row = Readonly<Record<string, unknown>>;

export interface SqlSession {
  /**
   * Rows for a statement that returns a result set; [] for one that does not. Rejects after
   * `timeoutMs` (default 30 s): a server that accepts connections but hangs must not hang the loop.
   */
  query(sql: string, options?: { timeoutMs?: number }): Promise<Row[]>;
  close(): Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
/** How long close() lets a polite QUIT take before it destroys the connection. */
const CLOSE_TIMEOUT_MS = 1000;

export async function openSession(target: ConnectionTarget): Promise<SqlSession> {
  const connection = await mysql.createConnection({
    ...(target.socketPath === undefined ? { host: target.host, port: target.port } : { socketPath: target.socketPath }),
    user: target.user,
    password: target.password,
    connectTimeout: target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // GTID sequence numbers and counters may exceed 2^53: keep them as text.
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
    ...(target.tls
      ? {
          ssl: {
            ca: target.tls.ca,
            rejectUnauthorized: true,
            ...(target.tls.servername === undefined ? {} : { servername: target.tls.servername }),
          },
        }
      : {}),
  });
  return {
    async query(sql, options = {}) {
      const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
      try {
        const [result] = await connection.query({ sql, timeout: timeoutMs });
        return Array.isArray(result) ? (result as Row[]) : [];
      } catch (err) {
        // mysql2 only rejects at the deadline; the statement stays queued on the connection and
        // everything after it (close() included) would wait for a server that may never answer.
        if (isDeadline(err)) {
          connection.destroy();
          throw new Error(`no answer to "${sql.slice(0, 60)}" within ${timeoutMs} ms: connection dropped`, { cause: err });
        }
        throw err;
      }
    },
    async close() {
      // end() sends QUIT behind any statement still running, so it waits for a server that may
      // never answer (a hung statement, a server that died mid-query): give it a moment, then
      // drop the socket.
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        connection.end().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!ended) connection.destroy();
    },
  };
}

function isDeadline(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'PROTOCOL_SEQUENCE_TIMEOUT';
}
