/**
 * The one place that opens connections (mysql2, promise API). Everything above it sees a
 * SqlSession: a query that returns rows, so adapters are tested with a scripted session and the
 * real driver is exercised against real servers.
 */
import mysql from 'mysql2/promise';
import type { ConnectionTarget } from './types.js';

export type Row = Readonly<Record<string, unknown>>;

export interface SqlSession {
  /** Rows for a statement that returns a result set; [] for one that does not. */
  query(sql: string): Promise<Row[]>;
  close(): Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

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
    async query(sql) {
      const [result] = await connection.query(sql);
      return Array.isArray(result) ? (result as Row[]) : [];
    },
    async close() {
      await connection.end().catch(() => {
        connection.destroy();
      });
    },
  };
}
