/**
 * The WebStack v1alpha1 openAPIV3Schema, the single source of truth for validation, defaulting and
 * `kubectl explain`. Plain JSON data on purpose: client-node's V1JSONSchemaProps renames fields such
 * as `x-kubernetes-validations` when it is dumped, and the CRD must be byte-for-byte what we wrote.
 *
 * Rules of the structural schema that the unit tests enforce: every field has a description and a
 * type, no $ref/const/patternProperties, maps are `additionalProperties` only, and every list, map
 * and string is bounded so the API server's CEL cost estimate stays within budget.
 */
import { DEFAULTS } from './defaults.js';
import { DEFAULT_IMAGES, IMAGE_REFERENCE_PATTERN, MARIADB_VERSIONS, MYSQL_VERSIONS, VERSIONS_RUN_HERE } from './images.js';
import { MAX_STACK_NAME_LENGTH } from './identity.js';

export type JSONValue = string | number | boolean | null | readonly JSONValue[] | { readonly [key: string]: JSONValue };

export interface ValidationRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export interface SchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  default?: JSONValue;
  enum?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  required?: readonly string[];
  properties?: Readonly<Record<string, SchemaProps>>;
  additionalProperties?: SchemaProps;
  items?: SchemaProps;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-validations'?: readonly ValidationRule[];
}

type Extra = Omit<SchemaProps, 'type' | 'description'>;

/**
 * RFC 1123 host names with the per-label limit of 63 that DNS and certificates impose (Kubernetes'
 * own dns1123Subdomain check skips it). Exported so the offline validator uses the same expression.
 */
export const DNS_NAME_PATTERN = '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const WILDCARD_DNS_NAME_PATTERN = '^(\\*\\.)?' + DNS_NAME_PATTERN.slice(1);
/**
 * Names of Kubernetes objects (Secrets, storage classes, issuers) and API groups: Kubernetes' own
 * RFC 1123 subdomain, lower case, no per-label limit; at most 253 characters (maxLength).
 */
export const OBJECT_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** Keys of a Secret or ConfigMap. */
export const DATA_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';
/** Service names must be DNS-1035 labels, and every child is named after the stack. */
export const STACK_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
/** Kubernetes label keys (optional DNS prefix, then a name of at most 63 characters) and values. */
export const LABEL_KEY_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
export const LABEL_VALUE_PATTERN = '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$';
/** Prometheus duration syntax, units in descending order, at least one unit. */
export const PROMETHEUS_DURATION_PATTERN = '^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$';

const limitAtLeastRequest = (resource: 'cpu' | 'memory'): string =>
  `!has(self.limits) || !has(self.requests) || !has(self.limits.${resource}) || !has(self.requests.${resource}) || ` +
  `!isQuantity(self.limits.${resource}) || !isQuantity(self.requests.${resource}) || ` +
  `quantity(self.limits.${resource}).compareTo(quantity(self.requests.${resource})) >= 0`;

/**
 * Every CEL rule of the schema, by name, so that ./validate.ts can pair each with an offline
 * re-implementation (the API server is the only CEL evaluator). Rules naming `oldSelf` are
 * transition rules and only make sense on update.
 */
export const RULES = {
  stackNameLength: `self.metadata.name.size() <= ${MAX_STACK_NAME_LENGTH}`,
  stackNamePattern: `self.metadata.name.matches(r'${STACK_NAME_PATTERN}')`,
  domain: `self.matches(r'${DNS_NAME_PATTERN}')`,
  alias: `self.matches(r'${WILDCARD_DNS_NAME_PATTERN}')`,
  aliasesNotDomain: '!has(self.aliases) || !(self.domain in self.aliases)',
  // The app's certificate comes from the stack's internal CA, which only reencrypt mode creates.
  appTlsNeedsReencrypt: "!has(self.app.tls) || !self.app.tls || !has(self.tls.mode) || self.tls.mode == 'reencrypt'",
  // Map keys cannot carry maxLength; the size guard keeps the regex cheap.
  labels: `self.all(k, k.size() <= 317 && k.matches(r'${LABEL_KEY_PATTERN}') && self[k].matches(r'${LABEL_VALUE_PATTERN}'))`,
  annotationKeys: `self.all(k, k.size() <= 317 && k.matches(r'${LABEL_KEY_PATTERN}'))`,
  quantity: "isQuantity(self) && quantity(self).compareTo(quantity('0')) >= 0",
  cpuLimitAtLeastRequest: limitAtLeastRequest('cpu'),
  memoryLimitAtLeastRequest: limitAtLeastRequest('memory'),
  cidr: 'isCIDR(self) && cidr(self) == cidr(self).masked()',
  peerExactlyOne: 'has(self.cidr) != (has(self.namespaceLabels) || has(self.podLabels))',
  peerExceptNeedsCidr: '!has(self.except) || has(self.cidr)',
  peerExceptInsideCidr:
    '!has(self.except) || !has(self.cidr) || !isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || ' +
    '(cidr(self.cidr).containsCIDR(e) && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))',
  envValueOrSecret: '!(has(self.value) && has(self.secretKeyRef))',
  canaryImageDiffers: '!has(self.canary) || self.canary.image != self.image',
  versionImmutable: 'self == oldSelf',
  versionMatchesEngine: `!has(self.version) || (has(self.engine) && self.engine == 'mariadb') == (self.version in [${MARIADB_VERSIONS.map((v) => `'${v}'`).join(', ')}])`,
  // The version is defaulted by the operator (it depends on the engine): once left out, it may only be
  // written as that default later, never as another version.
  versionAddedAsDefault:
    `has(oldSelf.version) || !has(self.version) || self.version == ((has(self.engine) && self.engine == 'mariadb') ? '${DEFAULTS.database.mariadbVersion}' : '${DEFAULTS.database.version}')`,
  versionNotRemoved: '!has(oldSelf.version) || has(self.version)',
  storageSizeMinimum: "isQuantity(self) && quantity(self).compareTo(quantity('1Gi')) >= 0",
  storageSizeNoShrink: '!isQuantity(self) || !isQuantity(oldSelf) || quantity(self).compareTo(quantity(oldSelf)) >= 0',
  // Spelt out: the cost estimator treats optional-value equality (self.?x == oldSelf.?x) as unbounded.
  storageClassImmutable:
    'has(self.storageClassName) == has(oldSelf.storageClassName) && ' +
    '(!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
  endpointURL: "isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",
  // Go's URL parser takes any digits as a port. Compared as text (cheap for the cost estimate): at most
  // 5 digits, and 5 digits no more than 65535.
  endpointPort: "!isURL(self) || url(self).getPort().size() <= 4 || url(self).getPort().size() == 5 && url(self).getPort() <= '65535'",
  // `type` is defaulted, but the server also checks the rules against the bare `default: {}` of sink.
  sinkEndpointRequired: "!has(self.type) || !(self.type in ['loki', 'elasticsearch', 'otlp']) || has(self.endpoint)",
  sinkCredentialsRequired: "!has(self.type) || !(self.type in ['sumologic', 'elasticsearch']) || has(self.credentialsSecretRef)",
  stdoutSinkNoEndpoint: "!has(self.type) || self.type != 'stdout' || !has(self.endpoint)",
  tolerationKeyOrExists: "has(self.key) && self.key != '' || has(self.operator) && self.operator == 'Exists'",
  tolerationExistsNoValue: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
  tolerationSecondsNoExecute: "!has(self.tolerationSeconds) || has(self.effect) && self.effect == 'NoExecute'",
} as const;

const cel = (rule: string, message: string, extra: Omit<ValidationRule, 'rule' | 'message'> = {}): ValidationRule => ({
  rule,
  message,
  ...extra,
});
const str = (description: string, maxLength: number, extra: Extra = {}): SchemaProps => ({
  type: 'string',
  description,
  maxLength,
  ...extra,
});
const enumOf = (description: string, values: readonly string[], extra: Extra = {}): SchemaProps => ({
  type: 'string',
  description,
  enum: values,
  ...extra,
});
const int64 = (description: string): SchemaProps => ({ type: 'integer', format: 'int64', description, minimum: 0 });
const int32 = (description: string, minimum: number, maximum: number, extra: Extra = {}): SchemaProps => ({
  type: 'integer',
  format: 'int32',
  description,
  minimum,
  maximum,
  ...extra,
});
const bool = (description: string, extra: Extra = {}): SchemaProps => ({ type: 'boolean', description, ...extra });
const obj = (description: string, properties: Record<string, SchemaProps>, extra: Extra = {}): SchemaProps => ({
  type: 'object',
  description,
  properties,
  ...extra,
});
const list = (description: string, maxItems: number, items: SchemaProps, extra: Extra = {}): SchemaProps => ({
  type: 'array',
  description,
  maxItems,
  items,
  ...extra,
});

/** Sets `default` and says so in the description, so `kubectl explain` shows it too. */
const withDefault = (schema: SchemaProps, value: JSONValue): SchemaProps => ({
  ...schema,
  description: `${schema.description ?? ''} Default: ${typeof value === 'string' ? value : JSON.stringify(value)}.`,
  default: value,
});

/** A `default: {}` parent, so the server fills the defaults of its fields when it is left out. */
const defaultedObject = (description: string, properties: Record<string, SchemaProps>, extra: Extra = {}): SchemaProps =>
  obj(description, properties, { default: {}, ...extra });

const stringMap = (description: string, maxProperties: number, valueMaxLength: number, extra: Extra = {}): SchemaProps => ({
  type: 'object',
  description,
  maxProperties,
  additionalProperties: { type: 'string', maxLength: valueMaxLength },
  ...extra,
});

const labelMap = (description: string, path: string, maxProperties = 16): SchemaProps =>
  stringMap(description, maxProperties, 63, {
    'x-kubernetes-validations': [
      cel(RULES.labels, `${path} must hold Kubernetes label keys and values (e.g. app.kubernetes.io/name: shop)`),
    ],
  });

const image = (description: string): SchemaProps => str(description, 512, { minLength: 1, pattern: IMAGE_REFERENCE_PATTERN });
/** A Kubernetes object name (a Secret, a storage class, an issuer). */
const objectName = (description: string): SchemaProps => str(description, 253, { minLength: 1, pattern: OBJECT_NAME_PATTERN });

const quantity = (path: string): SchemaProps =>
  str(`Kubernetes quantity, as a string: "250m" or "1" for CPU, "512Mi" or "2Gi" for memory.`, 32, {
    'x-kubernetes-validations': [
      cel(RULES.quantity, `${path} must be a non-negative quantity, e.g. 250m, 1, 512Mi or 2Gi`),
    ],
  });

const limitRule = (path: string, resource: 'cpu' | 'memory'): ValidationRule =>
  cel(
    resource === 'cpu' ? RULES.cpuLimitAtLeastRequest : RULES.memoryLimitAtLeastRequest,
    `${path}.limits.${resource} must be at least ${path}.requests.${resource}`,
    { fieldPath: `.limits.${resource}` },
  );

const resourceList = (description: string, path: string): SchemaProps =>
  obj(description, { cpu: quantity(`${path}.cpu`), memory: quantity(`${path}.memory`) });

const resources = (path: string, defaults: JSONValue): SchemaProps =>
  withDefault(
    obj(
      'CPU and memory for each container of this tier. Setting this replaces the whole default, so give requests and limits together. ' +
        'A memory limit is recommended; a CPU limit is usually not (it throttles instead of protecting).',
      {
        requests: resourceList('What the scheduler reserves for each pod.', `${path}.requests`),
        limits: resourceList('The most each container may use; memory over the limit is OOM-killed.', `${path}.limits`),
      },
      { 'x-kubernetes-validations': [limitRule(path, 'cpu'), limitRule(path, 'memory')] },
    ),
    defaults,
  );

const cidrRule = (path: string): ValidationRule =>
  cel(RULES.cidr, `${path} must be a CIDR with no host bits set, e.g. 203.0.113.0/24 or 2001:db8::/32`);
// The longest IPv6 text form is 45 characters (with an embedded IPv4 address), plus "/128".
const cidrString = (description: string, path: string): SchemaProps =>
  str(description, 49, { 'x-kubernetes-validations': [cidrRule(path)] });

const localObjectReference = (description: string): SchemaProps =>
  obj(description, { name: objectName('Name of the object, in the WebStack\'s namespace.') }, { required: ['name'] });

const port = (description: string): SchemaProps => int32(description, 1, 65535);

const ports = (path: string): SchemaProps =>
  list(
    'Ports the rule opens. When empty, every port is open to the peer.',
    16,
    obj(`A port of ${path}.`, {
      port: port('Port number.'),
      protocol: enumOf('Protocol; TCP when unset.', ['TCP', 'UDP']),
    }, { required: ['port'] }),
    { 'x-kubernetes-list-type': 'atomic' },
  );

const peer = (description: string, path: string): SchemaProps =>
  obj(
    `${description} Set exactly one of cidr, or namespaceLabels and/or podLabels. podLabels alone selects pods in the ` +
      `WebStack's namespace; namespaceLabels alone selects every pod in the matching namespaces; {} matches everything.`,
    {
      cidr: cidrString('IP block, e.g. 10.20.0.0/16. Meant for addresses outside the cluster: select pods by labels, as pod IPs change.', `${path}.cidr`),
      except: list(
        'Blocks inside cidr to leave out. Only together with cidr.',
        16,
        cidrString('IP block inside cidr.', `${path}.except[]`),
        { 'x-kubernetes-list-type': 'set' },
      ),
      namespaceLabels: labelMap('Labels of the namespaces whose pods are the peer.', `${path}.namespaceLabels`),
      podLabels: labelMap('Labels of the pods that are the peer.', `${path}.podLabels`),
    },
    {
      'x-kubernetes-validations': [
        cel(RULES.peerExactlyOne, `${path} must set exactly one of cidr, or namespaceLabels/podLabels`),
        cel(RULES.peerExceptNeedsCidr, `${path}.except is only allowed together with ${path}.cidr`, {
          fieldPath: '.except',
          reason: 'FieldValueForbidden',
        }),
        cel(RULES.peerExceptInsideCidr, `${path}.except entries must be strictly inside ${path}.cidr`, { fieldPath: '.except' }),
      ],
    },
  );

const D = DEFAULTS;

const tls = obj(
  'The public certificate for the domain and aliases, and how traffic is encrypted inside the stack.',
  {
    issuerRef: obj(
      'The cert-manager issuer that signs the public certificate (for example a Let\'s Encrypt ClusterIssuer). ' +
        'ACME HTTP-01 challenges are answered through the stack\'s own load balancer: port 80 sends ' +
        '/.well-known/acme-challenge/ to cert-manager\'s solver pods, so the solver needs no Ingress controller ' +
        '(http01.ingress.ingressClassName may name a class nothing implements); a temporary certificate serves until the first is issued.',
      {
        name: objectName('Name of the Issuer or ClusterIssuer.'),
        kind: withDefault(enumOf('Issuer (in the WebStack\'s namespace) or ClusterIssuer.', ['Issuer', 'ClusterIssuer']), D.tls.issuerKind),
        group: withDefault(objectName('API group of the issuer; set it for external issuers.'), D.tls.issuerGroup),
      },
      { required: ['name'] },
    ),
    mode: withDefault(
      enumOf(
        'reencrypt: HAProxy terminates the public certificate and re-encrypts to Nginx with a certificate from a ' +
          "per-stack internal CA (both verify each other: Nginx admits only HAProxy's client certificate); " +
          'Nginx reaches the app over TLS verified against that CA (served by the app itself ' +
          'with app.tls, else by a TLS sidecar in the app pod), and MySQL requires TLS with a certificate of that CA. ' +
          'The app is given DB_SSL_MODE=VERIFY_IDENTITY and DB_SSL_CA and must pass them to its database driver. ' +
          'terminate: TLS ends at HAProxy and internal traffic is plain (only for trusted networks; the app gets ' +
          'DB_SSL_MODE=REQUIRED for MySQL, DISABLED for MariaDB, which has no certificate outside reencrypt). ' +
          'passthrough: HAProxy forwards TLS untouched and Nginx terminates it with the public certificate.',
        ['reencrypt', 'terminate', 'passthrough'],
      ),
      D.tls.mode,
    ),
  },
  { required: ['issuerRef'] },
);

const loadBalancer = defaultedObject('The HAProxy tier: the entry point that DNS points at.', {
  replicas: withDefault(int32('Number of HAProxy pods, spread over nodes. Use at least 2 so a node failure keeps the site up.', 1, 20), D.loadBalancer.replicas),
  image: image(`HAProxy container image. Default: the operator's image catalog (${DEFAULT_IMAGES.haproxy} unless the operator is configured otherwise).`),
  serviceType: withDefault(
    enumOf('Type of the Service in front of HAProxy. LoadBalancer gets an external address from the cloud.', ['LoadBalancer', 'NodePort', 'ClusterIP']),
    D.loadBalancer.serviceType,
  ),
  serviceAnnotations: stringMap('Annotations added to the Service, e.g. for the cloud load balancer.', 32, 4096, {
    'x-kubernetes-validations': [
      cel(RULES.annotationKeys, 'spec.loadBalancer.serviceAnnotations must have Kubernetes annotation keys (e.g. service.beta.kubernetes.io/aws-load-balancer-type)'),
    ],
  }),
  allowedSourceRanges: withDefault(
    list(
      'Client CIDRs allowed to reach the load balancer (Service loadBalancerSourceRanges and the firewall). ' +
        'Use 0.0.0.0/0 and ::/0 for everyone.',
      64,
      cidrString('Client CIDR.', 'spec.loadBalancer.allowedSourceRanges[]'),
      { minItems: 1, 'x-kubernetes-list-type': 'set' },
    ),
    D.loadBalancer.allowedSourceRanges,
  ),
  externalDNS: withDefault(
    bool('Annotate the Service with the domain and aliases so external-dns publishes the DNS records.'),
    D.loadBalancer.externalDNS,
  ),
  resources: resources('spec.loadBalancer.resources', D.loadBalancer.resources),
});

const web = defaultedObject('The Nginx tier between the load balancer and the app.', {
  replicas: withDefault(int32('Number of Nginx pods, spread over nodes and zones.', 1, 50), D.web.replicas),
  image: image(
    `Nginx container image; must run as non-root (an nginx-unprivileged build). Default: the operator's image catalog (${DEFAULT_IMAGES.nginx} unless the operator is configured otherwise).`,
  ),
  resources: resources('spec.web.resources', D.web.resources),
});

const app = obj(
  'The application servers behind Nginx.',
  {
    image: image(
      'Application container image, preferably pinned by tag or digest. It runs under the restricted Pod Security profile: ' +
        'as uid and gid 65532 (files it reads must be readable by that user), no capabilities, and a read-only root filesystem ' +
        'where only /tmp (an emptyDir of 256Mi) is writable; an image that must run as another user or write under its work directory needs adapting.',
    ),
    port: withDefault(port('Port the application listens on.'), D.app.port),
    replicas: withDefault(int32('Number of application pods, spread over nodes and zones.', 1, 100), D.app.replicas),
    healthPath: withDefault(
      str('HTTP path of the application\'s health check, used by the readiness probe (it may check the database). Liveness and startup only check that the app accepts connections on port, so an outage of a dependency never restarts every app pod at once.', 256, { pattern: '^/[^\\s]*$' }),
      D.app.healthPath,
    ),
    tls: withDefault(
      bool(
        'The app serves HTTPS on port itself, with the certificate <stack>-app-tls of the internal CA mounted at /etc/webstack/tls. ' +
          'When false (reencrypt mode), a TLS-terminating Nginx sidecar in the app pod serves that certificate on 8443 (9443 when ' +
          'port is 8443), accepts only clients with a certificate of the internal CA, and proxies to the app on 127.0.0.1:port; ' +
          'the Service and the NetworkPolicy expose only the sidecar\'s port.',
      ),
      D.app.tls,
    ),
    env: list(
      'Environment variables of the app container, besides the database settings the operator injects.',
      64,
      obj(
        'An environment variable: a literal value or a key of a Secret.',
        {
          name: str('Variable name.', 256, { minLength: 1, pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$' }),
          value: str('Literal value.', 32768),
          secretKeyRef: obj(
            'Take the value from a key of a Secret in the WebStack\'s namespace.',
            { name: objectName('Secret name.'), key: str('Key in the Secret.', 253, { minLength: 1, pattern: DATA_KEY_PATTERN }) },
            { required: ['name', 'key'] },
          ),
        },
        {
          required: ['name'],
          'x-kubernetes-validations': [
            cel(RULES.envValueOrSecret, 'spec.app.env[] must set value or secretKeyRef, not both'),
          ],
        },
      ),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
    envFromSecrets: list(
      'Secrets whose keys all become environment variables of the app container.',
      16,
      localObjectReference('A Secret in the WebStack\'s namespace.'),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
    resources: resources('spec.app.resources', D.app.resources),
    canary: obj(
      'A second, smaller Deployment of the app with another image behind the same Service, so one bad build ' +
        'cannot take every server down. Remove it to finish (or abandon) the rollout.',
      {
        image: image('Image of the canary; must differ from spec.app.image.'),
        replicas: withDefault(int32('Number of canary pods.', 1, 10), D.app.canaryReplicas),
      },
      { required: ['image'] },
    ),
  },
  {
    required: ['image'],
    'x-kubernetes-validations': [
      cel(RULES.canaryImageDiffers, 'spec.app.canary.image must differ from spec.app.image', {
        fieldPath: '.canary.image',
      }),
    ],
  },
);

const roleChange = (description: string): SchemaProps =>
  obj(description, {
    time: str('When (RFC 3339).', 64, { format: 'date-time' }),
    from: str('The former primary.', 253),
    to: str('The new primary.', 253),
    reason: str('Why.', 1024),
  }, { required: ['time', 'from', 'to', 'reason'] });

const database = defaultedObject('The database tier: one primary and GTID replicas with loss-less semi-synchronous replication, run by the operator\'s database controller (docs/database.md): it chooses the primary, fails over when it is down and switches over for planned moves.', {
  engine: withDefault(
    enumOf('Database server: mysql (MySQL) or mariadb (MariaDB). Immutable.', ['mysql', 'mariadb'], {
      'x-kubernetes-validations': [cel(RULES.versionImmutable, 'spec.database.engine is immutable')],
    }),
    D.database.engine,
  ),
  version: enumOf(
    `Major.minor version: ${MYSQL_VERSIONS.join(', ')} for mysql, ${MARIADB_VERSIONS.join(', ')} for mariadb. Default: ${D.database.version} for mysql, ${D.database.mariadbVersion} for mariadb. Run against real servers by this project's tests: ${VERSIONS_RUN_HERE.join(', ')}; the others use the same statements and are not run here (docs/database.md lists what differs). 8.0 is end of life (April 2026: no more patched builds upstream). Immutable: moving to another version needs a dump and restore.`,
    [...MYSQL_VERSIONS, ...MARIADB_VERSIONS],
    { 'x-kubernetes-validations': [cel(RULES.versionImmutable, 'spec.database.version is immutable')] },
  ),
  image: image(
    "Database container image. Default: the operator's image catalog entry for the version (mysql:<version> or mariadb:<version> unless the operator is configured otherwise). Set it to use a pinned digest of the same version.",
  ),
  replicas: withDefault(
    int32('Number of MySQL pods: one primary plus replicas-1 replicas. At least 2, so there is always a second copy of the data.', 2, 9),
    D.database.replicas,
  ),
  durability: withDefault(
    enumOf(
      "What the primary does when every replica is down: Kubernetes reports it (pod gone, not Ready, its node not Ready, or its node's kubelet stopped renewing its Lease while the instance does not answer), or it is the old primary a failover left, silent since; never merely 'the operator cannot reach it'. Required: commits wait for a replica's acknowledgement, so writes stop until one is back. Preferred: commits go on without one, status.database.acksReleased says from which GTID set on the replicas lack them, no replica is promoted until one has caught up, and acks are awaited again as soon as a replica is in sync. Preferred is the default: with the default two instances, Required stops every write during any outage or planned restart of the one replica.",
      ['Required', 'Preferred'],
    ),
    D.database.durability,
  ),
  storage: defaultedObject(
    'The persistent volume of each MySQL pod.',
    {
      size: withDefault(
        str('Size of each volume, e.g. 20Gi. It may grow but never shrink: the operator grows each volume claim, and the StorageReady condition says when the volumes have the new size, or that the storage class does not allow expansion.', 32, {
          'x-kubernetes-validations': [
            cel(RULES.storageSizeMinimum, 'spec.database.storage.size must be a quantity of at least 1Gi, e.g. 20Gi'),
            cel(RULES.storageSizeNoShrink, 'spec.database.storage.size may not shrink (volumes can only grow)'),
          ],
        }),
        D.database.storageSize,
      ),
      storageClassName: objectName('Storage class of the volumes; the cluster default when unset. Immutable.'),
    },
    {
      'x-kubernetes-validations': [
        cel(RULES.storageClassImmutable, 'spec.database.storage.storageClassName is immutable', {
          fieldPath: '.storageClassName',
        }),
      ],
    },
  ),
  resources: resources('spec.database.resources', D.database.resources),
  deletionPolicy: withDefault(
    enumOf('What happens to the MySQL volumes when the WebStack is deleted: Retain keeps them, Delete removes them.', ['Retain', 'Delete']),
    D.database.deletionPolicy,
  ),
}, {
  'x-kubernetes-validations': [
    cel(RULES.versionMatchesEngine, `spec.database.version must be ${MYSQL_VERSIONS.join(' or ')} for engine mysql, ${MARIADB_VERSIONS.join(' or ')} for engine mariadb`, { fieldPath: '.version' }),
    cel(RULES.versionAddedAsDefault, 'spec.database.version was left out (the default of the engine applies) and may only be set to that default now', { fieldPath: '.version' }),
    cel(RULES.versionNotRemoved, 'spec.database.version may not be removed', { fieldPath: '.version' }),
  ],
});

const firewall = defaultedObject(
  'Extra NetworkPolicy rules. The stack is default-deny; the operator always allows the traffic the tiers need ' +
    '(clients to the load balancer, load balancer to web, web to app, app to database, replication, DNS, metrics scrapes).',
  {
    dns: withDefault(
      obj(
        'Where the stack\'s pods and its log agent may send DNS queries: the cluster DNS. Change it where DNS is not ' +
          'kube-dns pods in kube-system on port 53, e.g. NodeLocal DNSCache ({to: {cidr: 169.254.20.10/32}}, ports 53 UDP and TCP) ' +
          'or OpenShift ({to: {namespaceLabels: {kubernetes.io/metadata.name: openshift-dns}, podLabels: ' +
          '{dns.operator.openshift.io/daemonset-dns: default}}}, ports 5353 UDP and TCP).',
        { to: peer('The DNS servers.', 'spec.firewall.dns.to'), ports: ports('spec.firewall.dns') },
        { required: ['to'] },
      ),
      D.firewall.dns as unknown as JSONValue,
    ),
    extraIngress: list(
      'More traffic allowed into a tier, e.g. a batch job reaching the database.',
      32,
      obj(
        'Traffic from a peer into one tier.',
        {
          tier: enumOf('The tier the traffic may reach.', ['loadBalancer', 'web', 'app', 'database']),
          from: peer('Where the traffic comes from.', 'spec.firewall.extraIngress[].from'),
          ports: ports('spec.firewall.extraIngress[]'),
        },
        { required: ['tier', 'from'] },
      ),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    appEgress: list(
      'Destinations outside the stack the app may reach, e.g. a payment API. Everything else is blocked.',
      32,
      obj(
        'Traffic from the app to a peer.',
        { to: peer('Where the traffic goes.', 'spec.firewall.appEgress[].to'), ports: ports('spec.firewall.appEgress[]') },
        { required: ['to'] },
      ),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
  },
);

const logging = defaultedObject('Log shipping: a per-node agent (DaemonSet) collects container logs and node metrics and sends them to the sink.', {
  enabled: withDefault(bool('Run the log agent.'), D.logging.enabled),
  sink: defaultedObject(
    'Where logs go.',
    {
      type: withDefault(
        enumOf(
          'sumologic (needs credentialsSecretRef), loki (needs endpoint), elasticsearch (needs endpoint and credentialsSecretRef), ' +
            'otlp (needs endpoint) or stdout (the agent prints them; for debugging). sumologic and elasticsearch are rendered for the upstream collector image ' +
            '(the default) and not run here: the collector this project builds has neither exporter.',
          ['sumologic', 'loki', 'elasticsearch', 'otlp', 'stdout'],
        ),
        D.logging.sinkType,
      ),
      endpoint: str('URL of the sink, e.g. http://loki.observability:3100 or https://otel-collector:4318.', 2048, {
        'x-kubernetes-validations': [
          cel(RULES.endpointURL, 'spec.logging.sink.endpoint must be an http(s) URL, e.g. http://loki.observability:3100'),
          cel(RULES.endpointPort, 'spec.logging.sink.endpoint has a port above 65535'),
        ],
      }),
      credentialsSecretRef: localObjectReference(
        'Secret (in the WebStack\'s namespace) with the sink\'s credentials: key "endpoint" (the Sumo Logic HTTP source URL, which embeds its token) and/or key "authorization" (the whole Authorization header value, e.g. "Basic <base64 user:password>" or "Bearer <token>"). The operator copies it next to the log agent.',
      ),
    },
    {
      'x-kubernetes-validations': [
        cel(RULES.sinkEndpointRequired, 'spec.logging.sink.endpoint is required when type is loki, elasticsearch or otlp', {
          fieldPath: '.endpoint',
          reason: 'FieldValueRequired',
        }),
        cel(
          RULES.sinkCredentialsRequired,
          'spec.logging.sink.credentialsSecretRef is required when type is sumologic or elasticsearch',
          { fieldPath: '.credentialsSecretRef', reason: 'FieldValueRequired' },
        ),
        cel(RULES.stdoutSinkNoEndpoint, 'spec.logging.sink.endpoint is not used by the stdout sink: set spec.logging.sink.type', {
          fieldPath: '.endpoint',
          reason: 'FieldValueForbidden',
        }),
      ],
    },
  ),
});

const monitoring = defaultedObject(
  'Prometheus metrics and QPS alerts. Needs the prometheus-operator CRDs; without them the MonitoringReady condition says so.',
  {
    enabled: withDefault(bool('Create ServiceMonitor/PodMonitor and PrometheusRule objects.'), D.monitoring.enabled),
    labels: labelMap('Labels put on the monitoring objects so that the Prometheus instance selects them, e.g. release: prometheus.', 'spec.monitoring.labels'),
    namespaceLabels: withDefault(
      labelMap(
        'Labels of the namespace Prometheus runs in; the firewall admits scrapes of the metrics ports from there only. {} admits scrapes from every namespace.',
        'spec.monitoring.namespaceLabels',
      ),
      { ...D.monitoring.namespaceLabels },
    ),
    qps: defaultedObject(
      'Alerts on the HAProxy request rate compared with its own average over window, a window that ends 10 minutes ago so an anomaly is not part of the baseline it is compared with; an alert also fires when the rate disappears (every load balancer pod gone).',
      {
        spikeFactor: withDefault(
          { type: 'number', description: 'Alert when QPS reaches the baseline times this factor.', minimum: 1, exclusiveMinimum: true, maximum: 1000 },
          D.monitoring.qps.spikeFactor,
        ),
        dropFactor: withDefault(
          { type: 'number', description: 'Alert when QPS falls to the baseline times this factor.', minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true },
          D.monitoring.qps.dropFactor,
        ),
        window: withDefault(
          str('Length of the baseline, as a Prometheus duration, e.g. 30m, 1h, 1d.', 16, { minLength: 2, pattern: PROMETHEUS_DURATION_PATTERN }),
          D.monitoring.qps.window,
        ),
        minimumQPS: withDefault(
          { type: 'number', description: 'No drop alert while the baseline is below this rate, so quiet sites stay quiet.', minimum: 0, maximum: 1000000 },
          D.monitoring.qps.minimumQPS,
        ),
      },
    ),
  },
);

const placement = defaultedObject('Where the pods of every tier run.', {
  hostnameSpread: withDefault(
    enumOf('Spread the replicas of each tier over nodes. Required: never two on one node while another node fits. Preferred: best effort.', ['Required', 'Preferred', 'Disabled']),
    D.placement.hostnameSpread,
  ),
  zoneSpread: withDefault(
    enumOf('Spread the replicas of each tier over zones (topology.kubernetes.io/zone).', ['Required', 'Preferred', 'Disabled']),
    D.placement.zoneSpread,
  ),
  nodeSelector: labelMap('Node labels every pod must match.', 'spec.placement.nodeSelector'),
  tolerations: list(
    'Taints the pods tolerate.',
    16,
    obj(
      'A toleration, as in a pod spec.',
      {
        key: str('Taint key; empty with operator Exists tolerates every taint.', 316, { pattern: `^(${LABEL_KEY_PATTERN.slice(1, -1)})?$` }),
        operator: enumOf('Equal (the default) or Exists.', ['Exists', 'Equal']),
        value: str('Taint value; empty with operator Exists.', 63, { pattern: LABEL_VALUE_PATTERN }),
        effect: enumOf('Taint effect to tolerate; all effects when unset.', ['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
        tolerationSeconds: {
          type: 'integer',
          format: 'int64',
          description: 'How long a NoExecute taint is tolerated before eviction; forever when unset.',
          minimum: 0,
          maximum: 31536000,
        },
      },
      {
        'x-kubernetes-validations': [
          cel(RULES.tolerationKeyOrExists, 'spec.placement.tolerations[].operator must be Exists when key is empty', {
            fieldPath: '.operator',
          }),
          cel(RULES.tolerationExistsNoValue, 'spec.placement.tolerations[].value must be empty when operator is Exists', {
            fieldPath: '.value',
          }),
          cel(RULES.tolerationSecondsNoExecute, 'spec.placement.tolerations[].tolerationSeconds needs effect NoExecute', {
            fieldPath: '.tolerationSeconds',
          }),
        ],
      },
    ),
    { 'x-kubernetes-list-type': 'atomic' },
  ),
});

const spec = obj(
  'The desired web stack: an HAProxy load balancer with TLS, Nginx, the application and MySQL, with firewalling, log shipping and monitoring.',
  {
    domain: str('Public host name of the site, e.g. www.foobar.com. DNS must point it at the load balancer (see spec.loadBalancer.externalDNS).', 253, {
      minLength: 1,
      'x-kubernetes-validations': [
        cel(RULES.domain, 'spec.domain must be a lowercase DNS name (RFC 1123), e.g. www.example.com'),
      ],
    }),
    aliases: list(
      'More host names served by the stack and named in its certificate, e.g. foobar.com. A leading "*." is a wildcard and needs an issuer with a DNS-01 solver.',
      16,
      str('A host name.', 253, {
        minLength: 1,
        'x-kubernetes-validations': [
          cel(
            RULES.alias,
            'spec.aliases[] must be a lowercase DNS name (RFC 1123), optionally starting with "*.", e.g. foobar.com',
          ),
        ],
      }),
      { 'x-kubernetes-list-type': 'set' },
    ),
    tls,
    loadBalancer,
    web,
    app,
    database,
    firewall,
    logging,
    monitoring,
    placement,
    imagePullSecrets: list(
      'Secrets used to pull the images of every tier.',
      16,
      localObjectReference('A docker-registry Secret in the WebStack\'s namespace.'),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
  },
  {
    required: ['domain', 'tls', 'app'],
    'x-kubernetes-validations': [
      cel(RULES.aliasesNotDomain, 'spec.aliases must not repeat spec.domain', { fieldPath: '.aliases' }),
      cel(RULES.appTlsNeedsReencrypt, 'spec.app.tls requires spec.tls.mode reencrypt: the app certificate comes from the internal CA', {
        fieldPath: '.app.tls',
      }),
    ],
  },
);

const condition = obj(
  'An observation of one aspect of the stack, in the standard Kubernetes condition shape.',
  {
    type: str('Condition type in CamelCase: Ready (the summary), Reconciling or Stalled (kstatus), or one per concern, e.g. DatabaseReady.', 316, {
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: enumOf('True, False or Unknown.', ['True', 'False', 'Unknown']),
    reason: str('Machine-readable CamelCase reason of the last transition.', 1024, {
      minLength: 1,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: str('Human-readable details.', 32768),
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'metadata.generation the condition was computed from.' },
    lastTransitionTime: { type: 'string', format: 'date-time', description: 'When status last changed.' },
  },
  { required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'] },
);

const tierCount = (tier: string): SchemaProps =>
  str(`Ready/desired pods of the ${tier} tier, e.g. 3/3.`, 24, { pattern: '^[0-9]+/[0-9]+$' });

const status = obj('What the operator observed. Written by the operator only.', {
  observedGeneration: {
    type: 'integer',
    format: 'int64',
    minimum: 0,
    description: 'metadata.generation of the spec the status describes; status is current when it equals metadata.generation.',
  },
  phase: enumOf('Summary for humans: Pending, Progressing, Ready or Degraded; a stalled stack stays Progressing, and the Stalled condition says why. Tools should read the Ready and Stalled conditions.', [
    'Pending',
    'Progressing',
    'Ready',
    'Degraded',
  ]),
  conditions: list(
    'Ready, and one condition per concern (TLSReady, DatabaseReady, ...), plus the kstatus pair: Reconciling=True while the ' +
      'operator or a workload controller is still converging, Stalled=True when it cannot go on until someone acts (a child ' +
      'the API server refused, a missing issuer, Secret or CRD, a Deployment past its progress deadline), with the reason ' +
      'and message of what blocks it. Reconciling is False whenever Stalled is True, so kstatus-based tools (Flux, kpt) ' +
      'report Failed rather than InProgress.',
    32,
    condition,
    { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  ),
  url: str('Public URL of the site, e.g. https://www.foobar.com.', 2048),
  loadBalancer: obj('The load balancer Service.', {
    address: str('External IP or host name of the load balancer; point DNS here.', 253),
  }),
  tiers: obj('Ready pods per tier.', {
    loadBalancer: tierCount('load balancer'),
    web: tierCount('web'),
    app: tierCount('app'),
    database: tierCount('database'),
  }),
  database: obj('The database cluster as the database controller sees it (written by it alone).', {
    primary: str('Pod that is the current primary (writes go to the -primary Service).', 253),
    replicas: list('Replicas in sync with the primary (reads through the -replicas Service).', 16, str('A replica pod.', 253), { 'x-kubernetes-list-type': 'atomic' }),
    state: enumOf('Healthy, Degraded (writes go on, a replica is behind or broken), Failed (failing over), Lost (a human must choose), Incomplete (setting up, or the controller cannot see enough to act) or Unreachable (every pod runs, yet no instance has answered the operator for 2 minutes: the path to them is cut).', ['Healthy', 'Degraded', 'Failed', 'Lost', 'Incomplete', 'Unreachable']),
    reason: str('Why the cluster is in this state, and what the controller does next.', 1024),
    commitsWaitingForAck: int32(
      "Commits on the primary waiting for a replica's acknowledgement: semi-sync never falls back to asynchronous, so while no replica acks, writes hang (DatabaseReady False, Event WaitingForAcks, alert WebStackMySQLWaitingForAcks). Absent when none wait.",
      0,
      2147483647,
    ),
    acksReleased: obj(
      "Set while the primary commits without waiting for a replica's acknowledgement (durability Preferred, every replica down). No replica is promoted while it is set; it is cleared once a replica has caught up and acks are awaited again.",
      {
        since: str("The primary's GTID set when acks were released: the replicas may lack the commits that were waiting then and everything after.", 4096),
        time: str('When acks were released (RFC 3339).', 64),
      },
      { required: ['since', 'time'] },
    ),
    seeding: obj(
      'Set while an empty instance is being filled from another one (a lost volume, a scale-up, a remedy applied), and gone when the seed ends.',
      {
        instance: str('The instance being filled.', 253),
        donor: str('The instance it is copied from.', 253),
        method: enumOf('clone (MySQL: the server copies from the donor itself) or dump (MariaDB: a consistent dump streamed through the operator).', ['clone', 'dump']),
        started: str('When the seed started (RFC 3339).', 64),
        deadline: str('When it is given up and started over (RFC 3339).', 64),
        copiedBytes: int64('Bytes copied so far (clone: data files; dump: the dump text).'),
        estimatedBytes: int64("The whole copy's size, where the engine estimates it (clone)."),
      },
      { required: ['instance', 'donor', 'method', 'started', 'deadline'] },
    ),
    instances: list(
      'Each instance.',
      16,
      obj('One instance.', {
        name: str('Pod name.', 253),
        role: enumOf('primary, replica or excluded.', ['primary', 'replica', 'excluded']),
        healthy: bool('Serving its role: the primary writable with semi-sync, a replica replicating in sync.'),
        reason: str('Why it is (not) healthy.', 1024),
        gtid: str('Transactions it has committed, as a GTID set.', 4096),
        lagSeconds: int32('Seconds behind the primary, as the replica reports it.', 0, 2147483647),
      }, { required: ['name', 'role', 'healthy', 'reason'] }),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
    excluded: list(
      'Instances left out of replication (errant transactions, binlogs no longer available, a broken applier), with the remedy.',
      16,
      obj('An excluded instance.', { name: str('Pod name.', 253), reason: str('Why.', 1024), remedy: str('What a human does about it.', 1024) }, { required: ['name', 'reason', 'remedy'] }),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
    lastFailover: roleChange('The last failover: the primary did not answer and a replica was promoted.'),
    lastSwitchover: roleChange('The last switchover: a planned move of the primary (pod deletion, drain, rollout).'),
  }),
});

export const webStackSchema: SchemaProps = obj(
  'WebStack runs a complete, secured and monitored three-tier web site for one domain.',
  {
    apiVersion: str('Versioned schema of this object: webstack.dev/v1alpha1.', 253),
    kind: str('Kind of this object: WebStack.', 253),
    // The API server accepts only name and generateName here, without descriptions; the bound keeps
    // the cost of the root's name rules below within budget.
    metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 253 } } },
    spec,
    status,
  },
  {
    required: ['spec'],
    'x-kubernetes-validations': [
      cel(
        RULES.stackNameLength,
        `metadata.name must be at most ${MAX_STACK_NAME_LENGTH} characters, so that the names of the stack's objects fit in 63`,
        { fieldPath: '.metadata.name' },
      ),
      cel(
        RULES.stackNamePattern,
        "metadata.name must start with a lowercase letter and hold only lowercase letters, digits and '-' (it names Services)",
        { fieldPath: '.metadata.name' },
      ),
    ],
  },
);
