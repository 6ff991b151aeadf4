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

export async function openSession(target: ConnectionTarget): Promise<SqlSession> {
  const connection = await mysql.createConnection({
    host: target.host,
    port: target.port,
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
      const [result] = await connection.query({ sql, timeout: options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS });
      return Array.isArray(result) ? (result as Row[]) : [];
    },
    async close() {
      await connection.end().catch(() => {
        connection.destroy();
      });
    },
  };
}
