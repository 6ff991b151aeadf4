/**
 * Names and labels of everything a WebStack owns. One place, so the renderers, the controller and
 * the tests agree on them. Names are `<stack>-<part>`; the API rejects stack names long enough to
 * push any of them past 63 characters (see the CRD's metadata.name rule).
 */

export const MANAGED_BY = 'webstack-operator';
export const FIELD_MANAGER = 'webstack-operator';
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const NAME_LABEL = 'app.kubernetes.io/name';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Pod label the operator moves to elect the MySQL primary; the `-primary` Service selects on it. */
export const DB_ROLE_LABEL = 'webstack.dev/mysql-role';
/** Pod-template annotation holding a hash of mounted configs and certificates, so pods roll when they change. */
export const CONFIG_HASH_ANNOTATION = 'webstack.dev/config-hash';

/**
 * The longest stack name. The binding limit is not a Service name (`-mysql-replicas`, 15
 * characters) but the StatefulSet: its pods carry the label
 * `controller-revision-hash=<statefulset>-<hash of up to 10 characters>`, which must fit in 63
 * characters, so `<stack>-mysql` may have at most 52, leaving 46 for the stack name.
 */
export const MAX_STACK_NAME_LENGTH = 46;

export type Component = 'loadbalancer' | 'web' | 'app' | 'database' | 'log-agent' | 'tls' | 'monitoring' | 'firewall';

export function names(stack: string) {
  return {
    lb: `${stack}-lb`,
    lbConfig: `${stack}-lb-config`,
    web: `${stack}-web`,
    webConfig: `${stack}-web-config`,
    app: `${stack}-app`,
    appCanary: `${stack}-app-canary`,
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
