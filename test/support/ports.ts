import { createServer } from 'node:net';

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
