/**
 * TLS tier: cert-manager objects. The public certificate comes from the user's issuer; in
 * `reencrypt` mode a per-stack internal CA (self-signed Issuer -> CA Certificate -> CA Issuer)
 * issues the certificates of HAProxy (a client certificate for Nginx), Nginx, the app (or its app
 * proxy) and MySQL, so no hop inside the cluster is in clear or open to a pod without one.
 *
 * Who terminates, what is verified and which Secrets a tier mounts is decided once per stack by
 * tlsPlan() (RenderContext.plan.tls) and read by the object and the config renderers alike. It
 * depends only on the spec, never on facts.certManager: the config files name those paths either
 * way. Without cert-manager nothing here is rendered; the controller reports TLSReady=False and
 * the Secrets can still be provided by hand.
 */
import { OPTIONAL_APIS, TEMPORARY_CERTIFICATE_ANNOTATION } from '../api/identity.js';
import { renderAcmeSolverServices } from './acme.js';
import { serviceHost, tierCommonName } from '../blueprint/layout.js';
import { customResource, meta, serviceDnsNames, type RenderContext } from './context.js';
import { commonLabels } from '../blueprint/names.js';

const { apiVersion: CERT_MANAGER_API, group: CERT_MANAGER_GROUP } = OPTIONAL_APIS.certManager;

interface IssuerRef {
  name: string;
  kind: string;
  group: string;
}

interface CertificateSpec {
  secretName: string;
  issuerRef: IssuerRef;
  dnsNames?: string[];
  commonName?: string;
  isCA?: boolean;
  duration?: string;
  renewBefore?: string;
  usages?: string[];
}

// Internal leaf certificates live 90 days and renew 30 days ahead; the CA lives 10 years because
// cert-manager does not re-issue leaves when a CA rotates, so a CA rotation breaks trust until then.
const LEAF = { duration: '2160h', renewBefore: '720h' };
const CA = { duration: '87600h', renewBefore: '720h' };

function certificate(ctx: RenderContext, name: string, spec: CertificateSpec, annotations: Record<string, string> = {}): void {
  customResource(ctx, 'tls', { apiVersion: CERT_MANAGER_API, kind: 'Certificate' }, meta(ctx, name, 'tls', { annotations }), {
    spec: {
      ...spec,
      // A rotated certificate gets a fresh key; ECDSA P-256 is cheap for every TLS handshake.
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      // Labelled Secrets let the controller watch them (facts.secretVersions) with one selector.
      secretTemplate: { labels: commonLabels(ctx.name, 'tls') },
    },
  });
}

function issuer(ctx: RenderContext, name: string, spec: Record<string, unknown>): void {
  customResource(ctx, 'tls', { apiVersion: CERT_MANAGER_API, kind: 'Issuer' }, meta(ctx, name, 'tls'), { spec });
}

const unique = (values: string[]) => [...new Set(values)];

export function renderTls(ctx: RenderContext): void {
  if (!ctx.facts.certManager) return;
  const { spec, names: n } = ctx;
  const plan = ctx.plan.tls;

  // A self-signed stand-in fills the Secret until the issuer signs: the pods mounting it start
  // first, and an ACME HTTP-01 challenge needs HAProxy serving port 80 before the certificate exists.
  certificate(
    ctx,
    n.tlsSecret,
    { secretName: plan.publicSecret, issuerRef: { ...spec.tls.issuerRef }, dnsNames: unique([spec.domain, ...spec.aliases]) },
    { [TEMPORARY_CERTIFICATE_ANNOTATION]: 'true' },
  );
  renderAcmeSolverServices(ctx);
  if (plan.caSecret === undefined) return;

  const caIssuerRef: IssuerRef = { name: n.caIssuer, kind: 'Issuer', group: CERT_MANAGER_GROUP };
  const serverAndClient = ['digital signature', 'key encipherment', 'server auth', 'client auth'];
  issuer(ctx, n.selfSignedIssuer, { selfSigned: {} });
  certificate(ctx, n.caCertificate, {
    secretName: plan.caSecret,
    issuerRef: { name: n.selfSignedIssuer, kind: 'Issuer', group: CERT_MANAGER_GROUP },
    isCA: true,
    commonName: `${ctx.name}.${ctx.namespace} internal CA`.slice(0, 64),
    usages: ['cert sign', 'crl sign', 'digital signature'],
    ...CA,
  });
  issuer(ctx, n.caIssuer, { ca: { secretName: plan.caSecret } });

  if (plan.lbSecret !== undefined) {
    certificate(ctx, n.lbTlsSecret, {
      secretName: plan.lbSecret,
      issuerRef: caIssuerRef,
      // A client certificate only: Nginx admits HAProxy by it (its common name); it serves nothing.
      commonName: tierCommonName(n.lb, ctx.namespace),
      dnsNames: serviceDnsNames(ctx, n.lb),
      usages: ['digital signature', 'key encipherment', 'client auth'],
      ...LEAF,
    });
  }
  if (plan.webSecret !== undefined) {
    certificate(ctx, n.webTlsSecret, {
      secretName: plan.webSecret,
      issuerRef: caIssuerRef,
      // Serves HAProxy, and is the client certificate the app proxy admits by its common name.
      commonName: tierCommonName(n.web, ctx.namespace),
      dnsNames: serviceDnsNames(ctx, n.web),
      usages: serverAndClient,
      ...LEAF,
    });
  }
  if (plan.appSecret !== undefined) {
    certificate(ctx, n.appTlsSecret, {
      secretName: plan.appSecret,
      issuerRef: caIssuerRef,
      dnsNames: serviceDnsNames(ctx, n.app),
      // The app (or its proxy) only serves: it is nobody's client over TLS.
      usages: ['digital signature', 'key encipherment', 'server auth'],
      ...LEAF,
    });
  }
  if (plan.mysqlSecret !== undefined) {
    const headlessDomain = `${n.mysqlHeadless}.${ctx.namespace}.svc`;
    certificate(ctx, n.mysqlTlsSecret, {
      secretName: plan.mysqlSecret,
      issuerRef: caIssuerRef,
      dnsNames: [
        ...serviceDnsNames(ctx, n.mysqlHeadless),
        ...serviceDnsNames(ctx, n.mysqlPrimary),
        ...serviceDnsNames(ctx, n.mysqlReplicas),
        // Pod names by wildcard, not one per ordinal: scaling the database must not re-issue the
        // certificate, which would roll every MySQL pod (primary included) through the config hash.
        `*.${headlessDomain}`,
        `*.${serviceHost(n.mysqlHeadless, ctx.namespace)}`,
      ],
      // Replicas present it as a client certificate to the primary as well.
      usages: serverAndClient,
      ...LEAF,
    });
  }
}
