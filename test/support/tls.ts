/** Throwaway CAs and certificates for e2e tests, made with openssl. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Pem {
  crt: string;
  key: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function inTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'webstack-e2e-tls-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function certificateAuthority(name: string): Pem {
  return inTemp((dir) => {
    openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${name}`]);
    return { crt: readFileSync(path.join(dir, 'ca.crt'), 'utf8'), key: readFileSync(path.join(dir, 'ca.key'), 'utf8') };
  });
}

/** A server certificate for dnsNames (IPv4 addresses become IP names), signed by ca. */
export function serverCertificate(ca: Pem, dnsNames: string[]): Pem {
  return inTemp((dir) => {
    writeFileSync(path.join(dir, 'ca.crt'), ca.crt);
    writeFileSync(path.join(dir, 'ca.key'), ca.key);
    writeFileSync(path.join(dir, 'ext'), `subjectAltName=${dnsNames.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}\nextendedKeyUsage=serverAuth\n`);
    openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${dnsNames[0] ?? 'server'}`]);
    openssl(dir, ['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext', '-out', 'tls.crt']);
    return { crt: readFileSync(path.join(dir, 'tls.crt'), 'utf8'), key: readFileSync(path.join(dir, 'tls.key'), 'utf8') };
  });
}

/** A client certificate with subject CN=`commonName` (its only subject field), signed by ca. */
export function clientCertificate(ca: Pem, commonName: string): Pem {
  return inTemp((dir) => {
    writeFileSync(path.join(dir, 'ca.crt'), ca.crt);
    writeFileSync(path.join(dir, 'ca.key'), ca.key);
    writeFileSync(path.join(dir, 'ext'), 'extendedKeyUsage=clientAuth\n');
    openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${commonName}`]);
    openssl(dir, ['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext', '-out', 'tls.crt']);
    return { crt: readFileSync(path.join(dir, 'tls.crt'), 'utf8'), key: readFileSync(path.join(dir, 'tls.key'), 'utf8') };
  });
}
