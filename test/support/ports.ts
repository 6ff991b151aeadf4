import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer } from 'node:net';

/** A port nobody listens on right now, on the loopback address (the operator's CLI refuses --metrics-port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) {
        server.close(() => reject(new Error('no port')));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Resolves once something accepts connections on the loopback `port`. */
export async function listening(port: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(() => resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${String(port)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Ask {
  port: number;
  tls: boolean;
  host: string;
  /** The TLS server name; none when absent. */
  sni?: string;
  /** A client certificate and its key (PEM). */
  client?: { cert: string; key: string };
}

/** GET / on the loopback `port`: the status answered, or the error's code when there is none (a failed handshake). */
export function ask(options: Ask): Promise<number | string> {
  return new Promise((resolve) => {
    const common = { host: '127.0.0.1', port: options.port, path: '/', headers: { Host: options.host } };
    const req = options.tls ? httpsRequest({ ...common, servername: options.sni ?? '', rejectUnauthorized: false, ...(options.client ?? {}) }) : httpRequest(common);
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}
