/**
 * The operator's identity, described once: the WebStack API's coordinates, the name it writes
 * under, every label, annotation and finalizer it sets or selects on, the stack-name limit, and
 * the optional APIs it adapts to. Discovery, the watch table, render, status and the chart all
 * read these values from here, so a key cannot drift between the writer and the reader.
 */

// ---- the WebStack API ----

export const GROUP = 'webstack.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'WebStack';
export const PLURAL = 'webstacks';

// ---- who writes ----

/** Server-side apply field manager of every write, and the Events' reporting component. */
export const FIELD_MANAGER = 'webstack-operator';
/** The agent loop's own manager (operator/agent/): the shared log agent is no stack's child. */
export const AGENT_FIELD_MANAGER = 'webstack-operator-log-agent';
/** The database loop's own manager (operator/database/): `status.database` and the pods' role labels. */
export const DATABASE_FIELD_MANAGER = 'webstack-operator-database';
/** Value of MANAGED_BY_LABEL on every child; the informers select on it. */
export const MANAGED_BY = 'webstack-operator';

// ---- labels ----

export const NAME_LABEL = 'app.kubernetes.io/name';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/**
 * The owning WebStack of a child, for every child: owner references cannot cross namespaces (the
 * log agent's objects live in the agent namespace), so prune, finalize and the watch-event router
 * find a stack's children by these two labels. The namespace label is also part of the log
 * agent's (immutable) DaemonSet selector, which tells apart stacks of one name in two namespaces.
 * See docs/adr/0008-one-owner-namespace-label.md.
 */
export const OWNER_NAMESPACE_LABEL = 'webstack.dev/owner-namespace';
export const OWNER_NAME_LABEL = 'webstack.dev/owner-name';

/** Pod label the operator moves to elect the MySQL primary; the `-primary` Service selects on it. */
export const DB_ROLE_LABEL = 'webstack.dev/mysql-role';
/** Pod label telling the stable Deployment's pods from the canary's (both are behind one Service). */
export const VARIANT_LABEL = 'webstack.dev/variant';

// ---- annotations ----

/** Pod-template annotation holding a hash of mounted configs and certificates, so pods roll when they change. */
export const CONFIG_HASH_ANNOTATION = 'webstack.dev/config-hash';
/** Set by cert-manager on the Secrets it issues (read, never written). */
export const CERTIFICATE_NAME_ANNOTATION = 'cert-manager.io/certificate-name';
/** Set by cert-manager on a Secret it issued into; its temporary certificate has none. */
export const ISSUER_NAME_ANNOTATION = 'cert-manager.io/issuer-name';
/** On a Certificate: cert-manager writes a temporary certificate into its Secret until the first issuance. */
export const TEMPORARY_CERTIFICATE_ANNOTATION = 'cert-manager.io/issue-temporary-certificate';

// ---- lifecycle ----

/** Held while a WebStack has children the garbage collector cannot reach (other namespaces, kept credentials). */
export const FINALIZER = 'webstack.dev/cleanup';

/**
 * The longest stack name. The binding limit is not a Service name (`-mysql-replicas`, 15
 * characters) but the StatefulSet: its pods carry the label
 * `controller-revision-hash=<statefulset>-<hash of up to 10 characters>`, which must fit in 63
 * characters, so `<stack>-mysql` may have at most 52, leaving 46 for the stack name.
 */
export const MAX_STACK_NAME_LENGTH = 46;

// ---- optional APIs ----

export interface OptionalApiInfo {
  group: string;
  version: string;
  apiVersion: string;
  /** The kind whose presence in discovery means the API is installed. */
  probeKind: string;
}

/**
 * APIs the operator uses when they are installed and reports on (Stalled) when they are not. The
 * watch table marks their kinds with `requires`, discovery probes `probeKind`, and render emits
 * their objects only while the fact is true.
 */
export const OPTIONAL_APIS = {
  certManager: { group: 'cert-manager.io', version: 'v1', apiVersion: 'cert-manager.io/v1', probeKind: 'Certificate' },
  prometheusOperator: { group: 'monitoring.coreos.com', version: 'v1', apiVersion: 'monitoring.coreos.com/v1', probeKind: 'PrometheusRule' },
} as const satisfies Record<string, OptionalApiInfo>;

export type OptionalApi = keyof typeof OPTIONAL_APIS;
export const OPTIONAL_API_NAMES = Object.keys(OPTIONAL_APIS) as OptionalApi[];

/** Which optional APIs are served (and watched). */
export type OptionalApis = Record<OptionalApi, boolean>;
