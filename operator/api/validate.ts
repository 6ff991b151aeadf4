/**
 * Offline validation of a WebStack for the `webstack render` CLI, which never talks to an API
 * server. It does what the server does on create: apply the schema's defaults, check the OpenAPI
 * constraints (type, enum, bounds, pattern, required, unknown fields, list uniqueness), then the CEL
 * rules through the TypeScript re-implementations below (the messages come from the schema).
 * Transition rules (immutability, no shrinking) need the stored object and are left to the server.
 */
import { parseCidr, strictlyInside } from '../support/cidr.js';
import { parseQuantity } from '../support/quantity.js';
import { API_VERSION, KIND, MAX_STACK_NAME_LENGTH } from './identity.js';
import { MARIADB_VERSIONS } from './images.js';
import type { EnvVar, LogSinkSpec, Peer, Resources, Toleration } from './types.js';
import {
  DNS_NAME_PATTERN,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  RULES,
  STACK_NAME_PATTERN,
  WILDCARD_DNS_NAME_PATTERN,
  webStackSchema,
  type JSONValue,
  type SchemaProps,
} from './schema.js';

export interface ValidationError {
  /** Field path as the API server prints it, e.g. spec.database.replicas or spec.aliases[1]. */
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fills `default`s the way the API server does: a missing field takes its default, then defaults apply inside it. */
export function applySchemaDefaults(schema: SchemaProps, value: unknown): unknown {
  const out = structuredClone(value);
  fillDefaults(schema, out);
  return out;
}

function fillDefaults(schema: SchemaProps, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) fillDefaults(schema.items, item);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    // Like the server, an explicit null counts as absent for a defaulted field.
    if ((value[key] === undefined || value[key] === null) && prop.default !== undefined) value[key] = structuredClone(prop.default);
  }
  for (const [key, child] of Object.entries(value)) {
    const prop = schema.properties?.[key] ?? schema.additionalProperties;
    if (prop) fillDefaults(prop, child);
  }
}

// ---- offline versions of the CEL rules ----

const matches = (pattern: string) => {
  const re = new RegExp(pattern);
  return (self: unknown) => re.test(self as string);
};

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return ['http:', 'https:'].includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

const limitAtLeastRequest = (resource: 'cpu' | 'memory') => (self: unknown) => {
  const r = self as Resources;
  const limit = parseQuantity(r.limits?.[resource] ?? '');
  const request = parseQuantity(r.requests?.[resource] ?? '');
  return limit === undefined || request === undefined || limit >= request;
};

/**
 * The CEL rules, re-implemented. The walker calls one only when the node it sits on passed the
 * structural checks, which is why the casts to the node's TS type below are sound.
 */
const OFFLINE: Record<keyof typeof RULES, ((self: unknown) => boolean) | 'transition'> = {
  stackNameLength: (self) => ((self as { metadata: { name: string } }).metadata.name.length <= MAX_STACK_NAME_LENGTH),
  stackNamePattern: (self) => new RegExp(STACK_NAME_PATTERN).test((self as { metadata: { name: string } }).metadata.name),
  domain: matches(DNS_NAME_PATTERN),
  alias: matches(WILDCARD_DNS_NAME_PATTERN),
  aliasesNotDomain: (self) => {
    const s = self as { domain: string; aliases?: string[] };
    return !s.aliases?.includes(s.domain);
  },
  appTlsNeedsReencrypt: (self) => {
    const spec = self as { app: { tls?: boolean }; tls: { mode?: string } };
    return spec.app.tls !== true || spec.tls.mode === undefined || spec.tls.mode === 'reencrypt';
  },
  labels: (self) =>
    Object.entries(self as Record<string, string>).every(
      ([k, v]) => k.length <= 317 && new RegExp(LABEL_KEY_PATTERN).test(k) && new RegExp(LABEL_VALUE_PATTERN).test(v),
    ),
  annotationKeys: (self) => Object.keys(self as Record<string, string>).every((k) => k.length <= 317 && new RegExp(LABEL_KEY_PATTERN).test(k)),
  quantity: (self) => (parseQuantity(self as string) ?? -1) >= 0,
  cpuLimitAtLeastRequest: limitAtLeastRequest('cpu'),
  memoryLimitAtLeastRequest: limitAtLeastRequest('memory'),
  cidr: (self) => parseCidr(self as string)?.canonical === true,
  peerExactlyOne: (self) => {
    const p = self as Peer;
    return (p.cidr !== undefined) !== (p.namespaceLabels !== undefined || p.podLabels !== undefined);
  },
  peerExceptNeedsCidr: (self) => (self as Peer).except === undefined || (self as Peer).cidr !== undefined,
  peerExceptInsideCidr: (self) => {
    const p = self as Peer;
    const outer = parseCidr(p.cidr ?? '');
    return !outer || (p.except ?? []).every((e) => {
      const inner = parseCidr(e);
      return !inner || strictlyInside(outer, inner);
    });
  },
  envValueOrSecret: (self) => !((self as EnvVar).value !== undefined && (self as EnvVar).secretKeyRef !== undefined),
  canaryImageDiffers: (self) => {
    const app = self as { image: string; canary?: { image: string } };
    return app.canary?.image !== app.image;
  },
  versionImmutable: 'transition',
  versionMatchesEngine: (self) => {
    const db = self as { engine?: string; version?: string };
    return db.version === undefined || (db.engine === 'mariadb') === MARIADB_VERSIONS.includes(db.version);
  },
  versionAddedAsDefault: 'transition',
  versionNotRemoved: 'transition',
  storageSizeMinimum: (self) => (parseQuantity(self as string) ?? 0) >= 1024 ** 3,
  storageSizeNoShrink: 'transition',
  storageClassImmutable: 'transition',
  endpointURL: (self) => isHttpUrl(self as string),
  endpointPort: (self) => {
    const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(self as string)?.[1];
    return port === undefined || port.length <= 4 || (port.length === 5 && port <= '65535');
  },
  sinkEndpointRequired: (self) => {
    const s = self as LogSinkSpec;
    return !['loki', 'elasticsearch', 'otlp'].includes(s.type ?? '') || s.endpoint !== undefined;
  },
  sinkCredentialsRequired: (self) => {
    const s = self as LogSinkSpec;
    return !['sumologic', 'elasticsearch'].includes(s.type ?? '') || s.credentialsSecretRef !== undefined;
  },
  stdoutSinkNoEndpoint: (self) => (self as LogSinkSpec).type !== 'stdout' || (self as LogSinkSpec).endpoint === undefined,
  tolerationKeyOrExists: (self) => {
    const t = self as Toleration;
    return (t.key !== undefined && t.key !== '') || t.operator === 'Exists';
  },
  tolerationExistsNoValue: (self) => {
    const t = self as Toleration;
    return t.operator !== 'Exists' || t.value === undefined || t.value === '';
  },
  tolerationSecondsNoExecute: (self) => {
    const t = self as Toleration;
    return t.tolerationSeconds === undefined || t.effect === 'NoExecute';
  },
};

const byRule = new Map(Object.entries(OFFLINE).map(([name, check]) => [RULES[name as keyof typeof RULES], check]));

/** Names of the CEL rules without an offline version: only the transition rules. */
export const SERVER_ONLY_RULES = Object.entries(OFFLINE)
  .filter(([, check]) => check === 'transition')
  .map(([name]) => name);

// ---- the schema walker ----

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function hasType(schema: SchemaProps, value: unknown): boolean {
  if (schema.type === undefined) return true;
  switch (schema.type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
    case 'boolean':
      return typeof value === schema.type;
  }
}

const show = (v: JSONValue | undefined): string => (v === undefined ? 'undefined' : JSON.stringify(v));
/** maxLength counts code points (Go runes), like the API server, not UTF-16 units. */
const codePoints = (s: string): number => Array.from(s).length;

// eslint-disable-next-line complexity -- one check per OpenAPI keyword, each a line, in the server's order
function walk(schema: SchemaProps, value: unknown, path: string, errors: ValidationError[]): void {
  const fail = (message: string, at = path) => errors.push({ path: at, message });
  if (!hasType(schema, value)) {
    fail(`Invalid value: ${show(value as JSONValue)}: must be of type ${schema.type ?? ''}`);
    return;
  }
  const before = errors.length;
  if (typeof value === 'string') {
    const length = codePoints(value);
    if (schema.enum && !schema.enum.includes(value)) {
      fail(`Unsupported value: ${show(value)}: supported values: ${schema.enum.map((e) => show(e)).join(', ')}`);
    }
    if (schema.minLength !== undefined && length < schema.minLength) fail(`should be at least ${schema.minLength} chars long`);
    if (schema.maxLength !== undefined && length > schema.maxLength) fail(`Too long: may not be more than ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) fail(`Invalid value: ${show(value)}: should match '${schema.pattern}'`);
  }
  if (typeof value === 'number') {
    const { minimum: min, maximum: max } = schema;
    if (min !== undefined && (schema.exclusiveMinimum ? value <= min : value < min)) {
      fail(`Invalid value: ${value}: should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${min}`);
    }
    if (max !== undefined && (schema.exclusiveMaximum ? value >= max : value > max)) {
      fail(`Invalid value: ${value}: should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${max}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`should have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`Too many: ${value.length}: must have at most ${schema.maxItems} items`);
    const listType = schema['x-kubernetes-list-type'];
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const identity = (item: unknown): string | undefined => {
      if (listType === 'set') return JSON.stringify(item);
      if (listType === 'map' && isObject(item)) return JSON.stringify(keys.map((k) => item[k]));
      return undefined;
    };
    const seen = new Set<string>();
    value.forEach((item, i) => {
      if (schema.items) walk(schema.items, item, `${path}[${i}]`, errors);
      const id = identity(item);
      if (id !== undefined && seen.has(id)) fail(`Duplicate value: ${id}`, `${path}[${i}]`);
      if (id !== undefined) seen.add(id);
    });
  }
  if (isObject(value)) {
    const entries = Object.entries(value);
    if (schema.maxProperties !== undefined && entries.length > schema.maxProperties) fail(`Too many: ${entries.length}: must have at most ${schema.maxProperties} items`);
    for (const key of schema.required ?? []) {
      if (value[key] === undefined) fail('Required value', `${path}.${key}`);
    }
    for (const [key, child] of entries) {
      const prop = schema.properties?.[key];
      if (prop) walk(prop, child, `${path}.${key}`, errors);
      else if (schema.additionalProperties) walk(schema.additionalProperties, child, `${path}[${key}]`, errors);
      // The schema declares only metadata.name; the server checks the rest of metadata itself.
      else if (schema.properties && path !== '.metadata') fail('field not declared in schema', `${path}.${key}`);
    }
  }
  // CEL rules only run on a node whose own structure is sound; the server would report both, but a
  // rule about a malformed field only repeats the structural error.
  if (errors.length > before) return;
  for (const { rule, message, fieldPath } of schema['x-kubernetes-validations'] ?? []) {
    const check = byRule.get(rule);
    if (typeof check === 'function' && !check(value)) fail(message, `${path}${fieldPath ?? ''}`);
  }
}

/** Checks a value against any node of the schema; paths start with `path`. */
export function validateAgainstSchema(schema: SchemaProps, value: unknown, path: string): ValidationError[] {
  const errors: ValidationError[] = [];
  walk(schema, value, path, errors);
  return errors;
}

/**
 * Validates a parsed YAML/JSON document as a WebStack after applying the schema defaults, as the
 * API server does. An empty list means valid (up to the transition rules; see the file comment).
 */
export function validateWebStack(value: unknown): ValidationError[] {
  if (!isObject(value)) return [{ path: '', message: `a WebStack must be an object, not ${typeOf(value)}` }];
  const errors: ValidationError[] = [];
  if (value.apiVersion !== API_VERSION) errors.push({ path: 'apiVersion', message: `Unsupported value: ${show(value.apiVersion as JSONValue)}: supported values: "${API_VERSION}"` });
  if (value.kind !== KIND) errors.push({ path: 'kind', message: `Unsupported value: ${show(value.kind as JSONValue)}: supported values: "${KIND}"` });
  const name = isObject(value.metadata) ? value.metadata.name : undefined;
  if (typeof name !== 'string' || name === '') {
    errors.push({ path: 'metadata.name', message: 'Required value: name is required' });
    return errors;
  }
  // The root's path is empty, so its children come out as ".spec..."; the server prints "spec...".
  const inner = validateAgainstSchema(webStackSchema, applySchemaDefaults(webStackSchema, value), '');
  return [...errors, ...inner.map((e) => ({ ...e, path: e.path.replace(/^\./, '') }))];
}
