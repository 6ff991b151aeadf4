/**
 * Names and labels of everything a WebStack owns. One place, so the renderers, the controller and
 * the tests agree on them. Names are `<stack>-<part>`; the API rejects stack names long enough to
 * push any of them past 63 characters (MAX_STACK_NAME_LENGTH, the CRD's metadata.name rule). The
 * label keys themselves are in api/identity.ts.
 */
import { COMPONENT_LABEL, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, PART_OF_LABEL } from '../api/identity.js';


export type Component = 'loadbalancer' | 'web' | 'app' | 'database' | 'log-agent' | 'tls' | 'monitoring' | 'firewall';

export function names(stack: string) {
  return {
    lb: `${stack}-lb`,
    lbConfig: `${stack}-lb-config`,
    web: `${stack}-web`,
    webConfig: `${stack}-web-config`,
    app: `${stack}-app`,
    appCanary: `${stack}-app-canary`,
    appProxyConfig: `${stack}-app-proxy-config`,
    mysql: `${stack}-mysql`,
    mysqlHeadless: `${stack}-mysql-headless`,
    mysqlPrimary: `${stack}-mysql-primary`,
    mysqlReplicas: `${stack}-mysql-replicas`,
    mysqlConfig: `${stack}-mysql-config`,
    /** Generated once by the controller and never overwritten: root, app and replication passwords. */
    mysqlCredentials: `${stack}-mysql-credentials`,
    /** Public certificate for the domain and aliases, from the user's issuer. */
    tlsSecret: `${stack}-tls`,
    /** Internal CA chain (re-encrypt mode): self-signed issuer -> CA certificate -> CA issuer. */
    selfSignedIssuer: `${stack}-selfsigned`,
    caCertificate: `${stack}-ca`,
    caSecret: `${stack}-ca`,
    caIssuer: `${stack}-ca`,
    lbTlsSecret: `${stack}-lb-tls`,
    webTlsSecret: `${stack}-web-tls`,
    appTlsSecret: `${stack}-app-tls`,
    mysqlTlsSecret: `${stack}-mysql-tls`,
    logAgent: `${stack}-log-agent`,
    logAgentConfig: `${stack}-log-agent-config`,
    rules: `${stack}-rules`,
  };
}

export function selectorLabels(stack: string, component: Component): Record<string, string> {
  return { [NAME_LABEL]: 'webstack', [INSTANCE_LABEL]: stack, [COMPONENT_LABEL]: component };
}

export function commonLabels(stack: string, component: Component): Record<string, string> {
  return { ...selectorLabels(stack, component), [PART_OF_LABEL]: stack, [MANAGED_BY_LABEL]: MANAGED_BY };
}

/** The ordinal of `pod` when it is one of the stack's database instances (`<stack>-mysql-<n>`). */
export function databaseOrdinal(stack: string, pod: string | undefined): number | undefined {
  const prefix = `${names(stack).mysql}-`;
  if (!pod?.startsWith(prefix)) return undefined;
  const ordinal = pod.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(ordinal) ? Number(ordinal) : undefined;
}
