import { describe, expect, it } from '@jest/globals';
import { withDefaults, type DefaultedWebStack } from '../../../operator/api/defaults.js';
import { CONFIG_HASH_ANNOTATION, DB_ROLE_LABEL, MAX_STACK_NAME_LENGTH } from '../../../operator/api/identity.js';
import type { TLSMode } from '../../../operator/api/types.js';
import { render, PHASES, type KubeObject } from '../../../operator/render/index.js';
import { names } from '../../../operator/blueprint/names.js';
import { ALL_FACTS, byKind, example, find, invariantViolations, spec, workloads } from '../../support/render.js';

const refs = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const withSpec = (stack: DefaultedWebStack, patch: (s: DefaultedWebStack['spec']) => void): DefaultedWebStack => {
  const copy = structuredClone(stack);
  patch(copy.spec);
  return copy;
};
const inMode = (stack: DefaultedWebStack, mode: TLSMode) => withSpec(stack, (s) => (s.tls.mode = mode));
const templateHash = (objects: KubeObject[], kind: string, name: string) =>
  workloads([find(objects, kind, name)])[0]?.annotations[CONFIG_HASH_ANNOTATION];

describe('render', () => {
  const full = example('full');
  const minimal = example('minimal');

  it.each([
    ['minimal', minimal],
    ['full', full],
  ])('%s: satisfies every invariant', (_label, stack) => {
    expect(invariantViolations(stack, render(stack, ALL_FACTS))).toEqual([]);
  });

  it('is deterministic and does not mutate its input', () => {
    const before = structuredClone(full);
    const first = render(full, ALL_FACTS);
    expect(render(full, ALL_FACTS)).toEqual(first);
    expect(render(structuredClone(full), { ...ALL_FACTS })).toEqual(first);
    expect(full).toEqual(before);
  });

  it('returns objects in apply order: policies, CA chain, certificates, configs, Services, workloads, budgets, monitoring', () => {
    const order = [
      'NetworkPolicy',
      'Issuer|Certificate',
      'ConfigMap',
      'Service',
      'StatefulSet',
      'Deployment',
      'DaemonSet',
      'PodDisruptionBudget',
      'PodMonitor|PrometheusRule',
    ];
    expect(order).toHaveLength(PHASES.length);
    const rank = (kind: string) => order.findIndex((group) => group.split('|').includes(kind));
    const ranks = render(full, ALL_FACTS).map((o) => rank(o.kind));
    expect(ranks).not.toContain(-1);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    // Within TLS: the self-signed issuer, the CA it signs, the CA issuer, then what that issues.
    const n = names('foobar');
    expect(refs(render(full, ALL_FACTS).filter((o) => o.apiVersion.startsWith('cert-manager.io')))).toEqual([
      `Certificate/${n.tlsSecret}`,
      `Issuer/${n.selfSignedIssuer}`,
      `Certificate/${n.caCertificate}`,
      `Issuer/${n.caIssuer}`,
      `Certificate/${n.lbTlsSecret}`,
      `Certificate/${n.webTlsSecret}`,
      `Certificate/${n.appTlsSecret}`,
      `Certificate/${n.mysqlTlsSecret}`,
    ]);
  });

  it('keeps every name a DNS label within 63 characters for the longest stack name', () => {
    const longest = 'a'.repeat(MAX_STACK_NAME_LENGTH);
    const stack = withDefaults({ ...full, metadata: { name: longest, namespace: 'n'.repeat(63) } });
    const objects = render(stack, ALL_FACTS);
    expect(invariantViolations(stack, objects)).toEqual([]);
    for (const o of objects) expect(o.metadata.name.length).toBeLessThanOrEqual(63);
  });

  it('renders the objects of every tier', () => {
    const n = names('foobar');
    const objects = render(full, ALL_FACTS);
    expect(refs(objects.filter((o) => o.metadata.namespace === 'shop'))).toEqual(
      expect.arrayContaining([
        `Deployment/${n.lb}`,
        `Service/${n.lb}`,
        `ConfigMap/${n.lbConfig}`,
        `PodDisruptionBudget/${n.lb}`,
        `Deployment/${n.web}`,
        `Service/${n.web}`,
        `ConfigMap/${n.webConfig}`,
        `PodDisruptionBudget/${n.web}`,
        `Deployment/${n.app}`,
        `Deployment/${n.appCanary}`,
        `Service/${n.app}`,
        `PodDisruptionBudget/${n.app}`,
        `StatefulSet/${n.mysql}`,
        `Service/${n.mysqlHeadless}`,
        `Service/${n.mysqlPrimary}`,
        `Service/${n.mysqlReplicas}`,
        `ConfigMap/${n.mysqlConfig}`,
        `PodDisruptionBudget/${n.mysql}`,
        `PrometheusRule/${n.rules}`,
      ]),
    );
    expect(byKind(objects, 'Secret')).toEqual([]);
  });

  describe('TLS', () => {
    const certManagerRefs = (stack: DefaultedWebStack) =>
      refs(render(stack, ALL_FACTS).filter((o) => o.apiVersion === 'cert-manager.io/v1')).sort();
    const n = names('foobar');

    it('reencrypt: public certificate, internal CA chain and a certificate per internal server', () => {
      expect(certManagerRefs(full)).toEqual(
        [
          `Certificate/${n.tlsSecret}`,
          `Issuer/${n.selfSignedIssuer}`,
          `Certificate/${n.caCertificate}`,
          `Issuer/${n.caIssuer}`,
          `Certificate/${n.lbTlsSecret}`,
          `Certificate/${n.webTlsSecret}`,
          `Certificate/${n.appTlsSecret}`,
          `Certificate/${n.mysqlTlsSecret}`,
        ].sort(),
      );
      // An app serving plain HTTP gets the certificate too: its app proxy serves it.
      expect(certManagerRefs(withSpec(full, (s) => (s.app.tls = false)))).toContain(`Certificate/${n.appTlsSecret}`);
    });

    it.each<TLSMode>(['terminate', 'passthrough'])('%s: only the public certificate, no internal CA', (mode) => {
      expect(certManagerRefs(inMode(full, mode))).toEqual([`Certificate/${n.tlsSecret}`]);
    });

    it('names the domain and aliases in the public certificate, from the spec issuer', () => {
      const cert = spec(find(render(full, ALL_FACTS), 'Certificate', n.tlsSecret));
      expect(cert).toMatchObject({
        secretName: n.tlsSecret,
        dnsNames: ['www.foobar.com', 'foobar.com', 'shop.foobar.com'],
        issuerRef: { name: 'letsencrypt-prod', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      });
    });

    it('issues the MySQL certificate for its Services and, by wildcard, every pod', () => {
      const cert = spec(find(render(full, ALL_FACTS), 'Certificate', n.mysqlTlsSecret)) as { dnsNames: string[]; issuerRef: unknown };
      expect(cert.issuerRef).toEqual({ name: n.caIssuer, kind: 'Issuer', group: 'cert-manager.io' });
      expect(cert.dnsNames).toEqual(
        expect.arrayContaining([
          'foobar-mysql-primary.shop.svc.cluster.local',
          'foobar-mysql-replicas.shop.svc',
          'foobar-mysql-headless',
          '*.foobar-mysql-headless.shop.svc.cluster.local',
        ]),
      );
    });

    it('renders no cert-manager object without cert-manager, yet still mounts the certificates', () => {
      const objects = render(full, { ...ALL_FACTS, certManager: false });
      expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io'))).toEqual([]);
      const lb = workloads([find(objects, 'Deployment', n.lb)])[0];
      expect(JSON.stringify(lb?.pod.volumes)).toContain(n.tlsSecret);
    });

    it('passthrough: HAProxy mounts no certificate, Nginx serves the public one', () => {
      const objects = render(inMode(full, 'passthrough'), ALL_FACTS);
      const lb = workloads([find(objects, 'Deployment', n.lb)])[0];
      const web = workloads([find(objects, 'Deployment', n.web)])[0];
      expect(JSON.stringify(lb?.pod.volumes)).not.toContain('secretName');
      expect(JSON.stringify(web?.pod.volumes)).toContain(`"secretName":"${n.tlsSecret}"`);
    });
  });

  describe('config hash', () => {
    const n = names('foobar');
    const base = render(full, ALL_FACTS);

    it('rolls HAProxy when its certificate rotates, and nothing that does not mount it', () => {
      const rotated = render(full, { ...ALL_FACTS, secretVersions: { [n.tlsSecret]: '42' } });
      expect(templateHash(rotated, 'Deployment', n.lb)).not.toEqual(templateHash(base, 'Deployment', n.lb));
      expect(templateHash(rotated, 'Deployment', n.web)).toEqual(templateHash(base, 'Deployment', n.web));
      expect(templateHash(rotated, 'StatefulSet', n.mysql)).toEqual(templateHash(base, 'StatefulSet', n.mysql));
    });

    it('rolls a tier when its rendered config changes', () => {
      const changed = render(withSpec(full, (s) => (s.domain = 'www.example.org')), ALL_FACTS);
      expect(templateHash(changed, 'Deployment', n.lb)).not.toEqual(templateHash(base, 'Deployment', n.lb));
      expect(templateHash(changed, 'Deployment', n.web)).not.toEqual(templateHash(base, 'Deployment', n.web));
    });

    it('rolls MySQL when its certificate rotates', () => {
      const rotated = render(full, { ...ALL_FACTS, secretVersions: { [n.mysqlTlsSecret]: '7' } });
      expect(templateHash(rotated, 'StatefulSet', n.mysql)).not.toEqual(templateHash(base, 'StatefulSet', n.mysql));
    });
  });

  describe('load balancer Service', () => {
    const n = names('foobar');
    it('keeps client addresses, restricts sources and publishes DNS names', () => {
      const svc = find(render(full, ALL_FACTS), 'Service', n.lb);
      expect(svc.metadata.annotations).toEqual({
        'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
        'external-dns.alpha.kubernetes.io/hostname': 'www.foobar.com,foobar.com,shop.foobar.com',
      });
      expect(spec(svc)).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['0.0.0.0/0', '::/0'] });
    });

    it('sets neither source ranges nor a traffic policy on a ClusterIP Service', () => {
      const svc = spec(find(render(withSpec(full, (s) => (s.loadBalancer.serviceType = 'ClusterIP')), ALL_FACTS), 'Service', n.lb));
      expect(svc).not.toHaveProperty('externalTrafficPolicy');
      expect(svc).not.toHaveProperty('loadBalancerSourceRanges');
    });
  });

  describe('app', () => {
    const n = names('foobar');
    const objects = render(full, ALL_FACTS);

    it('injects the database endpoints and credentials', () => {
      const app = workloads([find(objects, 'Deployment', n.app)])[0];
      const env = (app?.pod.containers[0] as unknown as { env: { name: string; value?: string; valueFrom?: unknown }[] }).env;
      expect(env).toEqual(
        expect.arrayContaining([
          { name: 'DB_WRITE_HOST', value: n.mysqlPrimary },
          { name: 'DB_READ_HOST', value: n.mysqlReplicas },
          { name: 'DB_PORT', value: '3306' },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: n.mysqlCredentials, key: 'app-password' } } },
        ]),
      );
    });

    it.each([
      ['reencrypt', 'mysql', 'VERIFY_IDENTITY'],
      ['reencrypt', 'mariadb', 'VERIFY_IDENTITY'],
      ['terminate', 'mysql', 'REQUIRED'],
      ['passthrough', 'mysql', 'REQUIRED'],
      // MariaDB has no certificate of its own: a driver asked for TLS would be refused.
      ['terminate', 'mariadb', 'DISABLED'],
      ['passthrough', 'mariadb', 'DISABLED'],
    ] as const)('in %s mode on %s tells the app DB_SSL_MODE=%s', (mode, engine, expected) => {
      const stack = withSpec(full, (s) => {
        s.tls.mode = mode;
        s.app.tls = false;
        s.database.engine = engine;
        s.database.version = engine === 'mysql' ? '8.4' : '10.11';
      });
      const app = workloads([find(render(stack, ALL_FACTS), 'Deployment', n.app)])[0];
      const env = (app?.pod.containers[0] as unknown as { env: { name: string; value?: string }[] }).env;
      expect(env.find((e) => e.name === 'DB_SSL_MODE')?.value).toBe(expected);
    });

    it('runs the canary behind the same Service, with its own variant and image', () => {
      const [stable, canary] = workloads([find(objects, 'Deployment', n.app), find(objects, 'Deployment', n.appCanary)]);
      const serviceSelector = (spec(find(objects, 'Service', n.app)) as { selector: Record<string, string> }).selector;
      expect(stable?.labels['webstack.dev/variant']).toBe('stable');
      expect(canary?.labels['webstack.dev/variant']).toBe('canary');
      expect(canary?.pod.containers[0]?.image).toBe('ghcr.io/foobar/shop:2.8.0-rc.1');
      expect(spec(find(objects, 'Deployment', n.appCanary)).replicas).toBe(1);
      for (const w of [stable, canary]) expect(w?.labels).toMatchObject(serviceSelector);
      expect(serviceSelector).not.toHaveProperty('webstack.dev/variant');
    });

    it('renders no canary when the spec has none', () => {
      expect(refs(render(minimal, ALL_FACTS))).not.toContain(`Deployment/${names('minimal').appCanary}`);
    });
  });

  describe('database', () => {
    const n = names('foobar');
    const objects = render(full, ALL_FACTS);

    it.each([
      ['Retain', 'Retain'],
      ['Delete', 'Delete'],
    ] as const)('deletionPolicy %s keeps volumes as %s', (policy, expected) => {
      const sts = spec(find(render(withSpec(full, (s) => (s.database.deletionPolicy = policy)), ALL_FACTS), 'StatefulSet', n.mysql));
      expect(sts.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: expected, whenScaled: expected });
    });

    it('claims the spec storage as a real quantity, or keeps an existing claim template', () => {
      const claim = (o: KubeObject[]) => (spec(find(o, 'StatefulSet', n.mysql)).volumeClaimTemplates as { spec: unknown }[])[0]?.spec;
      expect(claim(objects)).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '50Gi' } }, storageClassName: 'standard' });
      const kept = render(full, { ...ALL_FACTS, existing: { mysqlStorage: { size: '20Gi' } } });
      expect(claim(kept)).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } });
    });

    it('is an ordered StatefulSet behind its headless Service; roles are selected, not set', () => {
      const sts = find(objects, 'StatefulSet', n.mysql);
      expect(spec(sts)).toMatchObject({ serviceName: n.mysqlHeadless, podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' }, replicas: 3 });
      expect(workloads([sts])[0]?.labels).not.toHaveProperty(DB_ROLE_LABEL);
      expect(spec(find(objects, 'Service', n.mysqlHeadless))).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect((spec(find(objects, 'Service', n.mysqlPrimary)).selector as Record<string, string>)[DB_ROLE_LABEL]).toBe('primary');
      // The label, not readiness, says who takes writes; the replicas' Service keeps readiness (lag).
      expect(spec(find(objects, 'Service', n.mysqlPrimary)).publishNotReadyAddresses).toBe(true);
      expect(spec(find(objects, 'Service', n.mysqlReplicas)).publishNotReadyAddresses).toBeUndefined();
      expect((spec(find(objects, 'Service', n.mysqlReplicas)).selector as Record<string, string>)[DB_ROLE_LABEL]).toBe('replica');
    });

    it('leaves rolling the pods to the database loop (OnDelete), or to the StatefulSet when that loop is off', () => {
      const withoutLoop = find(render(full, { ...ALL_FACTS, databaseController: false }), 'StatefulSet', n.mysql);
      expect(spec(withoutLoop).updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    });

    it('gives up a DNS try after 1 s, so a dead DNS server does not hold a replica that must stop replicating', () => {
      const pod = (spec(find(objects, 'StatefulSet', n.mysql)).template as { spec: { dnsConfig?: unknown } }).spec;
      expect(pod.dnsConfig).toEqual({ options: [{ name: 'timeout', value: '1' }, { name: 'attempts', value: '2' }] });
    });
  });

  describe('monitoring', () => {
    const monitoring = (o: KubeObject[]) => o.filter((x) => x.apiVersion.startsWith('monitoring.coreos.com'));

    it('renders a PodMonitor per scraped tier and the rules, labelled for Prometheus', () => {
      const objects = monitoring(render(full, ALL_FACTS));
      expect(refs(objects)).toEqual(
        expect.arrayContaining(['PodMonitor/foobar-lb', 'PodMonitor/foobar-web', 'PodMonitor/foobar-mysql', 'PrometheusRule/foobar-rules']),
      );
      for (const o of objects) expect(o.metadata.labels).toMatchObject({ release: 'prometheus' });
      expect((spec(find(objects, 'PrometheusRule', 'foobar-rules')).groups as unknown[]).length).toBeGreaterThan(0);
    });

    it('renders none when disabled or without prometheus-operator', () => {
      expect(monitoring(render(full, { ...ALL_FACTS, prometheusOperator: false }))).toEqual([]);
      expect(monitoring(render(withSpec(full, (s) => (s.monitoring.enabled = false)), ALL_FACTS))).toEqual([]);
    });
  });

  it('never scales the database below its primary: the StatefulSet keeps the primary\'s pod until the database loop has moved it', () => {
    const withPrimary = (replicas: number, primary: string | undefined): number => {
      const stack = withSpec(minimal, (s) => (s.database.replicas = replicas));
      stack.status = primary === undefined ? {} : { database: { primary } };
      return (spec(find(render(stack, ALL_FACTS), 'StatefulSet', names(stack.metadata.name).mysql)) as { replicas: number }).replicas;
    };
    const base = names(minimal.metadata.name).mysql;
    expect(withPrimary(2, undefined)).toBe(2);
    expect(withPrimary(2, `${base}-1`)).toBe(2);
    expect(withPrimary(2, `${base}-2`)).toBe(3);
    expect(withPrimary(1, `${base}-4`)).toBe(5);
    // Not one of this stack's instances: ignored.
    expect(withPrimary(2, `other-mysql-7`)).toBe(2);
  });

  it('renders no log agent: one agent serves every stack, rendered from all of them (render/agent.ts)', () => {
    const objects = render(full, { ...ALL_FACTS, agentNamespace: 'agents' });
    expect(byKind(objects, 'DaemonSet')).toEqual([]);
    expect(objects.filter((o) => o.metadata.namespace === 'agents')).toEqual([]);
  });
});
