/**
 * One plan per stack, computed once (newContext) and read by the object renderers, the config
 * renderers and the database loop (how it dials each instance) alike, so the Secret a pod mounts, the port a Service exposes and the line a config
 * file holds follow from the same decision instead of agreeing by convention.
 *
 * TLS, hop by hop: in `reencrypt` HAProxy terminates the public certificate and re-encrypts to
 * Nginx with a certificate from the stack's internal CA, which also signs the app's and MySQL's.
 * The app's certificate is served by the app itself (spec.app.tls) or, for an app that serves
 * plain HTTP, by a TLS-terminating sidecar in the app pod (the app proxy), so Nginx -> app is
 * encrypted and verified with no app change. `terminate` sends plain HTTP from HAProxy on;
 * `passthrough` hands the TCP stream to Nginx, which serves the public certificate itself.
 */
import type { DefaultedSpec, DefaultedWebStack } from '../api/defaults.js';
import type { TLSMode } from '../api/types.js';
import { APP_PROXY, NGINX } from './layout.js';
import { names } from './names.js';

/** One hop inside the stack. */
export interface HopTls {
  encrypted: boolean;
  /** The client checks the server's certificate against the stack's internal CA (and its name). */
  verified: boolean;
  /** The server asks for the client's certificate and checks it against the internal CA too. */
  mutual: boolean;
}

export interface TlsPlan {
  mode: TLSMode;
  /** Who holds the public certificate: HAProxy, or Nginx behind HAProxy's TCP passthrough. */
  publicTlsAt: 'loadBalancer' | 'web';
  hops: {
    /** HAProxy -> Nginx (always PROXY protocol; TLS unless HAProxy terminates and sends HTTP). */
    lbToWeb: HopTls;
    /** Nginx -> app: TLS to the app (spec.app.tls) or to its app proxy (reencrypt), else plain. */
    webToApp: HopTls;
    /**
     * App and replicas -> the database: verified in reencrypt mode; otherwise encrypted by MySQL's
     * own certificate (it makes one at initialization), and plain on MariaDB, which has none.
     */
    toDatabase: HopTls;
  };
  /** Nginx's main port and its name: TLS on httpsPort unless the LB -> web hop is in clear. */
  webPort: { number: number; name: 'http' | 'https' };
  /**
   * The port the app Service exposes, Nginx dials and the app's NetworkPolicy admits: the app
   * proxy's TLS port when there is one, else spec.app.port.
   */
  appPort: { number: number; name: 'http' | 'https' };
  /** The TLS-terminating sidecar in front of an app that serves plain HTTP (reencrypt without spec.app.tls). */
  appProxy?: { port: number; upstreamPort: number };
  /** The Secrets each tier's pods mount: a certificate to serve, the CA to verify with. */
  mounts: {
    /** clientCert: what HAProxy presents to Nginx (reencrypt). */
    loadBalancer: { cert?: string; ca?: string; clientCert?: string };
    web: { cert?: string; ca?: string };
    /** cert: served by the app (spec.app.tls) or its app proxy; ca: verifies MySQL (DB_SSL_CA) and the proxy's clients. */
    app: { cert?: string; ca?: string };
    database: { cert?: string };
  };
  /** Certificate for the domain and aliases: served by HAProxy, or by Nginx in passthrough mode. */
  publicSecret: string;
  /** Internal CA (reencrypt only); `ca.crt` of this Secret is the trust anchor inside the stack. */
  caSecret?: string;
  /** What Nginx serves: the internal certificate (reencrypt), the public one (passthrough), none (terminate). */
  webSecret?: string;
  /** HAProxy's client certificate (reencrypt): Nginx admits only connections that present it. */
  lbSecret?: string;
  /** The app's certificate (reencrypt), served by the app (spec.app.tls) or its app proxy. */
  appSecret?: string;
  /** MySQL's certificate (reencrypt). */
  mysqlSecret?: string;
}

type Secrets = Pick<TlsPlan, 'publicSecret' | 'caSecret' | 'lbSecret' | 'webSecret' | 'appSecret' | 'mysqlSecret'>;

function secretsOf(stackName: string, spec: DefaultedSpec): Secrets {
  const n = names(stackName);
  switch (spec.tls.mode) {
    case 'reencrypt':
      return {
        publicSecret: n.tlsSecret,
        caSecret: n.caSecret,
        lbSecret: n.lbTlsSecret,
        webSecret: n.webTlsSecret,
        appSecret: n.appTlsSecret,
        mysqlSecret: n.mysqlTlsSecret,
      };
    case 'passthrough':
      return { publicSecret: n.tlsSecret, webSecret: n.tlsSecret };
    case 'terminate':
      return { publicSecret: n.tlsSecret };
  }
}

const present = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

/** The stack's TLS, hop by hop. spec.app.tls implies reencrypt (a CEL rule), so the CA exists whenever the app serves TLS. */
export function tlsPlan(stackName: string, spec: DefaultedSpec): TlsPlan {
  const mode = spec.tls.mode;
  const secrets = secretsOf(stackName, spec);
  const publicTlsAt = mode === 'passthrough' ? 'web' : 'loadBalancer';
  const reencrypt = mode === 'reencrypt';
  const webEncrypted = mode !== 'terminate';
  // Without spec.app.tls a reencrypt stack puts the app proxy in front of the app.
  const appProxy = reencrypt && !spec.app.tls ? { port: APP_PROXY.portFor(spec.app.port), upstreamPort: spec.app.port } : undefined;
  const appEncrypted = spec.app.tls || appProxy !== undefined;
  return {
    mode,
    publicTlsAt,
    hops: {
      lbToWeb: { encrypted: webEncrypted, verified: reencrypt, mutual: reencrypt },
      webToApp: { encrypted: appEncrypted, verified: appEncrypted, mutual: appEncrypted },
      toDatabase: { encrypted: reencrypt || spec.database.engine === 'mysql', verified: reencrypt, mutual: false },
    },
    webPort: webEncrypted ? { number: NGINX.httpsPort, name: 'https' } : { number: NGINX.httpPort, name: 'http' },
    appPort: { number: appProxy?.port ?? spec.app.port, name: appEncrypted ? 'https' : 'http' },
    ...(appProxy ? { appProxy } : {}),
    mounts: {
      loadBalancer: {
        ...present('cert', publicTlsAt === 'loadBalancer' ? secrets.publicSecret : undefined),
        ...present('ca', secrets.caSecret),
        ...present('clientCert', secrets.lbSecret),
      },
      // ca: verifies the app (or its proxy), and HAProxy's client certificate in reencrypt mode.
      web: { ...present('cert', secrets.webSecret), ...present('ca', appEncrypted || reencrypt ? secrets.caSecret : undefined) },
      app: { ...present('cert', secrets.appSecret), ...present('ca', secrets.caSecret) },
      database: present('cert', secrets.mysqlSecret),
    },
    ...secrets,
  };
}

export interface StackPlan {
  tls: TlsPlan;
}

export function stackPlan(stack: DefaultedWebStack): StackPlan {
  return { tls: tlsPlan(stack.metadata.name, stack.spec) };
}
