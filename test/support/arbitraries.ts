/**
 * fast-check generators of valid WebStacks: every field within the CRD schema's bounds
 * (operator/api/schema.ts), optional sections toggled. The property tests assert that the
 * validator accepts what they generate, so a generator drifting from the schema fails loudly.
 */
import fc from 'fast-check';
import { API_VERSION, KIND, MAX_STACK_NAME_LENGTH } from '../../operator/api/identity.js';
import type { IngressRule, Resources, SpreadMode, TLSMode, Toleration, WebStack, WebStackSpec } from '../../operator/api/types.js';
import { HAPROXY, MYSQL, NGINX } from '../../operator/blueprint/layout.js';
import type { RenderFacts } from '../../operator/render/index.js';

const LETTERS = Array.from('abcdefghijklmnopqrstuvwxyz');
const label = (min: number, max: number) =>
  fc
    .tuple(
      fc.constantFrom(...LETTERS),
      fc.string({ unit: fc.constantFrom(...LETTERS, ...Array.from('0123456789-')), minLength: min - 1, maxLength: max - 1 }),
    )
    .map(([first, rest]) => (first + rest).replace(/-+$/, ''))
    .filter((s) => s.length >= min);

export const stackName = fc.oneof(label(1, 12), label(MAX_STACK_NAME_LENGTH, MAX_STACK_NAME_LENGTH));
export const namespaceName = fc.oneof(label(1, 12), label(63, 63));

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Drops undefined fields, as a YAML document would not have them (exactOptionalPropertyTypes). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const resources: fc.Arbitrary<Resources> = fc.constantFrom<Resources>(
  { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
  { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
  { requests: { cpu: '250m', memory: '256Mi' } },
  { limits: { memory: '512Mi' } },
);

const cidr = fc.constantFrom('0.0.0.0/0', '::/0', '203.0.113.0/24', '198.51.100.0/25', '2001:db8::/32', '10.0.0.0/8');
const spread = fc.constantFrom<SpreadMode>('Required', 'Preferred', 'Disabled');
const labels = fc.dictionary(fc.constantFrom('team', 'env', 'release', 'example.com/tier'), fc.constantFrom('a', 'prod', 'prometheus'), { maxKeys: 3 });
const image = fc.constantFrom('ghcr.io/acme/shop:1.0.0', 'registry.example.com/app@sha256:' + 'a'.repeat(64), 'app:latest');

const toleration: fc.Arbitrary<Toleration> = fc.constantFrom<Toleration>(
  { key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' },
  { operator: 'Exists' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
);

const firewallPeer = fc.constantFrom(
  { cidr: '192.0.2.0/24' },
  { cidr: '198.51.100.0/24', except: ['198.51.100.128/25'] },
  { namespaceLabels: { 'kubernetes.io/metadata.name': 'reporting' } },
  { namespaceLabels: { team: 'batch' }, podLabels: { app: 'export' } },
);

type TierName = 'loadBalancer' | 'web' | 'app' | 'database';

/**
 * Extra firewall rules whose peers are outside the stack's namespace (other namespaces by label,
 * or addresses outside the pod network). Ingress rules either open every port or the ports the
 * tier listens on, filled in once the TLS mode and app port are known (withTierPorts).
 */
const firewall = optional(
  fc.record(
    {
      extraIngress: fc.array(
        fc.record({ tier: fc.constantFrom<TierName>('loadBalancer', 'web', 'app', 'database'), from: firewallPeer, withPorts: fc.boolean() }),
        { maxLength: 3 },
      ),
      appEgress: fc.array(
        fc.tuple(firewallPeer, optional(fc.integer({ min: 1, max: 65535 }))).map(([to, port]) => compact({ to, ports: port === undefined ? undefined : [{ port }] })),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
);

function withTierPorts(spec: WebStackSpec): WebStackSpec {
  const fw = spec.firewall;
  if (!fw?.extraIngress) return spec;
  // The generator's rules carry a withPorts flag instead of ports; see `firewall` above.
  const rules = fw.extraIngress as (IngressRule & { withPorts?: boolean })[];
  const tierPorts: Record<TierName, number[]> = {
    loadBalancer: [HAPROXY.httpPort, HAPROXY.httpsPort],
    web: [spec.tls.mode === 'terminate' ? NGINX.httpPort : NGINX.httpsPort],
    app: [(spec.tls.mode ?? 'reencrypt') === 'reencrypt' && spec.app.tls !== true ? ((spec.app.port ?? 8080) === 8443 ? 9443 : 8443) : (spec.app.port ?? 8080)],
    database: [MYSQL.port],
  };
  const extraIngress = rules.map(({ withPorts, ...rule }) =>
    withPorts ? { ...rule, ports: tierPorts[rule.tier].map((port) => ({ port, protocol: 'TCP' as const })) } : rule,
  );
  return { ...spec, firewall: { ...fw, extraIngress } };
}

const logging = optional(
  fc.oneof(
    fc.constant({ enabled: false }),
    fc.constant({ sink: { type: 'stdout' as const } }),
    fc.constant({ sink: { type: 'loki' as const, endpoint: 'http://loki.observability:3100' } }),
    fc.constant({ sink: { type: 'otlp' as const, endpoint: 'https://otel.example.com', credentialsSecretRef: { name: 'otlp' } } }),
    fc.constant({ sink: { type: 'sumologic' as const, credentialsSecretRef: { name: 'sumo' } } }),
    fc.constant({ sink: { type: 'elasticsearch' as const, endpoint: 'https://es.example.com:9200', credentialsSecretRef: { name: 'es' } } }),
  ),
);

export const specArbitrary: fc.Arbitrary<WebStackSpec> = fc
    .record({
      domain: fc.constantFrom('www.foobar.com', 'example.org', 'a.b.c.example.net'),
      aliases: optional(fc.subarray(['foobar.com', '*.shop.example.com', 'm.example.org'])),
      tls: fc.record({
        issuerRef: fc.record({ name: fc.constantFrom('letsencrypt', 'internal'), kind: optional(fc.constantFrom('Issuer' as const, 'ClusterIssuer' as const)) }, { requiredKeys: ['name'] }).map(compact),
        mode: optional(fc.constantFrom<TLSMode>('reencrypt', 'terminate', 'passthrough')),
      }).map(compact),
      loadBalancer: optional(
        fc
          .record(
            {
              replicas: fc.integer({ min: 1, max: 20 }),
              serviceType: fc.constantFrom('LoadBalancer' as const, 'NodePort' as const, 'ClusterIP' as const),
              serviceAnnotations: fc.dictionary(fc.constantFrom('a.example.com/x', 'b'), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
              allowedSourceRanges: fc.uniqueArray(cidr, { minLength: 1, maxLength: 3 }),
              externalDNS: fc.boolean(),
              resources,
            },
            { requiredKeys: [] },
          ),
      ),
      web: optional(fc.record({ replicas: fc.integer({ min: 1, max: 50 }), resources }, { requiredKeys: [] })),
      app: fc
        .record(
          {
            image,
            port: optional(fc.integer({ min: 1, max: 65535 })),
            replicas: optional(fc.integer({ min: 1, max: 100 })),
            healthPath: optional(fc.constantFrom('/healthz', '/ready', '/')),
            tls: optional(fc.boolean()),
            env: optional(
              fc.uniqueArray(
                fc.oneof(
                  fc.record({ name: fc.constantFrom('A', 'B', 'LOG_LEVEL'), value: fc.string({ maxLength: 8 }) }),
                  fc.record({ name: fc.constantFrom('TOKEN', 'KEY'), secretKeyRef: fc.record({ name: fc.constantFrom('s1', 's2'), key: fc.constantFrom('k') }) }),
                ),
                { selector: (e) => e.name, maxLength: 3 },
              ),
            ),
            envFromSecrets: optional(fc.uniqueArray(fc.record({ name: fc.constantFrom('settings', 'more') }), { selector: (s) => s.name, maxLength: 2 })),
            resources: optional(resources),
            canary: optional(fc.record({ image: fc.constant('ghcr.io/acme/shop:2.0.0-rc.1'), replicas: optional(fc.integer({ min: 1, max: 10 })) }).map(compact)),
          },
          { requiredKeys: ['image'] },
        )
        .map(compact),
      database: optional(
        fc
          .record(
            {
              version: fc.constantFrom('8.0', '8.4'),
              replicas: fc.integer({ min: 2, max: 9 }),
              storage: fc.record({ size: fc.constantFrom('1Gi', '20Gi', '1Ti'), storageClassName: fc.constantFrom('standard', 'fast') }, { requiredKeys: [] }),
              resources,
              deletionPolicy: fc.constantFrom('Retain' as const, 'Delete' as const),
            },
            { requiredKeys: [] },
          ),
      ),
      firewall,
      logging,
      monitoring: optional(
        fc.record(
          {
            enabled: fc.boolean(),
            labels,
            namespaceLabels: fc.constantFrom({}, { 'kubernetes.io/metadata.name': 'monitoring' }),
            qps: fc.record({ spikeFactor: fc.constantFrom(2, 3.5), dropFactor: fc.constantFrom(0.1, 0.5), window: fc.constantFrom('30m', '1h', '1d') }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
      ),
      placement: optional(
        fc.record(
          {
            hostnameSpread: spread,
            zoneSpread: spread,
            nodeSelector: fc.constantFrom({}, { 'kubernetes.io/os': 'linux' }),
            tolerations: fc.array(toleration, { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
      ),
      imagePullSecrets: optional(fc.uniqueArray(fc.record({ name: fc.constantFrom('pull', 'ghcr') }), { selector: (s) => s.name, maxLength: 2 })),
    })
  .map((s) => withTierPorts(onlyReencryptAppTls(compact(s) as WebStackSpec)));

/** The API refuses app.tls outside reencrypt mode (the app certificate comes from the internal CA). */
function onlyReencryptAppTls(spec: WebStackSpec): WebStackSpec {
  if ((spec.tls.mode ?? 'reencrypt') === 'reencrypt' || spec.app.tls === undefined) return spec;
  const { tls: _, ...app } = spec.app;
  return { ...spec, app };
}

export const webStackArbitrary: fc.Arbitrary<WebStack> = fc
  .record({ name: stackName, namespace: namespaceName, spec: specArbitrary })
  .map(({ name, namespace, spec }) => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec }));

export const factsArbitrary: fc.Arbitrary<RenderFacts> = fc
  .record({
    certManager: fc.boolean(),
    prometheusOperator: fc.boolean(),
    agentNamespace: optional(fc.constantFrom('webstack-system', 'logging-agents')),
    secretVersions: optional(fc.dictionary(fc.constantFrom('x-tls', 'x-ca'), fc.constantFrom('1', '2'), { maxKeys: 2 })),
  })
  .map((facts) => compact(facts) as RenderFacts);
