/**
 * haproxy.cfg of the load balancer tier. Pure: the same stack always renders the same text.
 * Written for HAProxy 3.2 (the image) and checked with the Debian HAProxy (2.6) in the unit tests,
 * so it only uses keywords both versions accept.
 */
import type { DefaultedWebStack } from '../../api/defaults.js';
import { names } from '../../blueprint/names.js';
import { stackPlan, type StackPlan, type TlsPlan } from '../../blueprint/plan.js';
import { acmeRoutes } from '../acme.js';
import { ACME, HAPROXY, NGINX, RESPONSE_TIMEOUT_S, TLS_FILES, serviceHost, stackNamespace } from '../../blueprint/layout.js';

/** Mode-independent settings shared by every frontend and backend. */
function globalAndDefaults(title: string): string[] {
  return [
    `# ${title}`,
    '# Rendered by webstack-operator; edits are overwritten.',
    'global',
    // No `daemon`: the container's main process must stay in the foreground.
    '    log stdout format raw local0 info',
    // About 35 kB per connection (two 16 kB buffers): 4096 fits the default 256Mi memory limit.
    '    maxconn 4096',
    '    hard-stop-after 30s',
    `    stats socket ${HAPROXY.runDir}/${HAPROXY.adminSocket} mode 600 level admin`,
    // cert-manager Secrets hold tls.crt and tls.key: `crt tls.crt` then finds tls.key beside it.
    '    ssl-load-extra-del-ext',
    '    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets',
    '    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305',
    '    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
    '    ssl-default-server-options ssl-min-ver TLSv1.2',
    '',
    'defaults',
    '    mode http',
    '    log global',
    // The log format (httplog or tcplog) is chosen per frontend; the stats frontend logs nothing.
    '    option dontlognull',
    '    timeout connect 5s',
    // The client side waits as long as the server side: a client idle while its response is made is no fault.
    `    timeout client ${RESPONSE_TIMEOUT_S.lb}s`,
    `    timeout server ${RESPONSE_TIMEOUT_S.lb}s`,
    '    timeout http-request 10s',
    '    timeout http-keep-alive 10s',
    '    timeout queue 30s',
    '    timeout check 5s',
    // WebSockets and other upgraded connections stay open longer than a request.
    '    timeout tunnel 1h',
    '',
    // Pod IPs behind the headless web Service change with every rollout; HAProxy follows the DNS
    // answers at run time (the nameserver comes from the pod's /etc/resolv.conf).
    'resolvers cluster',
    '    parse-resolv-conf',
    '    accepted_payload_size 8192',
    '    resolve_retries 3',
    '    timeout resolve 1s',
    '    timeout retry 1s',
    '    hold valid 10s',
    '    hold obsolete 30s',
    '',
    // Probes and Prometheus scrape this port; no stats page, nothing else answers.
    'frontend stats',
    `    bind :${HAPROXY.statsPort}`,
    '    no log',
    `    http-request use-service prometheus-exporter if { path ${HAPROXY.metricsPath} }`,
    `    http-request return status 200 content-type text/plain string "ok" if { path ${HAPROXY.healthPath} }`,
    '    http-request deny deny_status 404',
  ];
}

/**
 * `tcp-request connection reject` for clients outside spec.loadBalancer.allowedSourceRanges. A /0
 * range admits everyone, so no rule is rendered (and IPv6 clients are not refused by `0.0.0.0/0`).
 * HAProxy sees client addresses only with the LB Service's externalTrafficPolicy: Local.
 */
function sourceFilter(stack: DefaultedWebStack): string[] {
  const ranges = stack.spec.loadBalancer.allowedSourceRanges;
  if (ranges.some((cidr) => cidr.endsWith('/0'))) return [];
  return [`    tcp-request connection reject unless { src ${ranges.join(' ')} }`];
}

/**
 * The names the stack serves (spec.domain and spec.aliases; `*.` covers one label), as ACLs named
 * `served_name` on `fetch`, lowercased. Without them any Host reaches the app and gets its answer:
 * someone else's name pointed at the address, DNS rebinding, host-header injection.
 */
function servedNameAcls(stack: DefaultedWebStack, fetch: string): string[] {
  const all = [stack.spec.domain, ...stack.spec.aliases];
  const exact = all.filter((n) => !n.startsWith('*.'));
  // Single quotes: HAProxy's parser neither unescapes nor expands `$` inside them.
  const wildcards = all.filter((n) => n.startsWith('*.')).map((n) => `'^[^.]+${n.slice(1).replaceAll('.', '\\.')}$'`);
  return [
    ...(exact.length > 0 ? [`    acl served_name ${fetch},lower -m str ${exact.join(' ')}`] : []),
    ...(wildcards.length > 0 ? [`    acl served_name ${fetch},lower -m reg ${wildcards.join(' ')}`] : []),
  ];
}

/** The Host header without its port. */
const HOST = 'req.hdr(host),field(1,:)';

/**
 * The web pods, discovered from the headless `<stack>-web` Service: the `cluster` resolvers fill
 * one slot per A record within a second of startup. `init-addr none` lets HAProxy start (and
 * `haproxy -c` pass) without resolving first; a libc lookup would give every slot the same single
 * address anyway. Every connection, health checks included, starts with a PROXY v2 header
 * carrying the client address for Nginx.
 */
function webServers(stack: DefaultedWebStack, tls: TlsPlan, serverOptions: string): string {
  const host = serviceHost(names(stack.metadata.name).web, stackNamespace(stack));
  // Spare slots absorb surge pods during rollouts; unused slots stay in maintenance.
  const slots = Math.max(10, 2 * stack.spec.web.replicas);
  return (
    `    server-template web ${slots} ${host}:${tls.webPort.number} check resolvers cluster ` +
    `init-addr none send-proxy-v2 check-send-proxy ${serverOptions}`
  ).trimEnd();
}

/** HTTP health check of Nginx's own /healthz on its main port. */
function webHealthCheck(stack: DefaultedWebStack): string[] {
  return [
    '    option httpchk',
    `    http-check send meth GET uri ${NGINX.healthPath} ver HTTP/1.1 hdr Host ${stack.spec.domain}`,
    '    http-check expect status 200',
  ];
}

/**
 * Port 80 redirects to HTTPS, except ACME HTTP-01 challenges: those go, per DNS name (the Host
 * header without a port), to the Service of that name's cert-manager solver pods (render/acme.ts).
 * A challenge for another name finds no backend (503).
 */
function httpFrontend(stack: DefaultedWebStack): string[] {
  const routes = acmeRoutes(stack);
  const frontend = [
    'frontend http',
    `    bind :${HAPROXY.httpPort}`,
    '    option httplog',
    ...sourceFilter(stack),
    `    acl acme_challenge path_beg ${ACME.challengePath}`,
    ...servedNameAcls(stack, HOST),
    '    http-request deny deny_status 421 unless served_name',
    '    http-request redirect scheme https code 301 unless acme_challenge',
    ...routes.map((r, i) => `    use_backend acme-${i} if acme_challenge { ${HOST} -i ${r.host} }`),
  ];
  const backends = routes.flatMap((r, i) => [
    '',
    `backend acme-${i}`,
    `    server solver ${serviceHost(r.service, stackNamespace(stack))}:${ACME.solverPort} resolvers cluster init-addr none`,
  ]);
  return [...frontend, ...backends];
}

/** reencrypt and terminate: HAProxy terminates the public TLS and proxies HTTP requests. */
function httpModeSections(stack: DefaultedWebStack, tls: TlsPlan): string[] {
  const webHost = serviceHost(names(stack.metadata.name).web, stackNamespace(stack));
  const clientCert = tls.hops.lbToWeb.mutual ? ` crt ${HAPROXY.clientCertDir}/${TLS_FILES.cert}` : '';
  const upstreamTls =
    tls.hops.lbToWeb.verified
      ? `ssl verify required ca-file ${HAPROXY.caDir}/${TLS_FILES.ca} sni str(${webHost}) verifyhost ${webHost} check-sni ${webHost}${clientCert}`
      : '';
  return [
    'frontend https',
    // strict-sni: a handshake whose SNI the certificate does not name (or with none) fails.
    `    bind :${HAPROXY.httpsPort} ssl crt ${HAPROXY.certDir}/${TLS_FILES.cert} strict-sni alpn h2,http/1.1`,
    '    option httplog',
    ...sourceFilter(stack),
    // 421 Misdirected Request: a served SNI does not make every Host served.
    ...servedNameAcls(stack, HOST),
    '    http-request deny deny_status 421 unless served_name',
    // Clients must not be able to forge the forwarding headers the app relies on.
    '    http-request del-header X-Forwarded-For',
    '    http-request del-header X-Forwarded-Proto',
    '    http-request del-header X-Forwarded-Host',
    '    http-request del-header Forwarded',
    '    http-request set-header X-Forwarded-Proto https',
    '    option forwardfor',
    // set-header (not add) so an HSTS header from Nginx is replaced rather than doubled.
    '    http-response set-header Strict-Transport-Security "max-age=63072000"',
    '    default_backend web',
    '',
    'backend web',
    '    balance roundrobin',
    ...webHealthCheck(stack),
    webServers(stack, tls, upstreamTls),
  ];
}

/**
 * passthrough: TLS goes to Nginx untouched (it holds the public certificate), so HAProxy can only
 * balance TCP connections; the client address still reaches Nginx through the PROXY header.
 * Health checks speak TLS without verification: they test Nginx, not the public certificate.
 */
function tcpModeSections(stack: DefaultedWebStack, tls: TlsPlan): string[] {
  return [
    'frontend https',
    '    mode tcp',
    '    option tcplog',
    `    bind :${HAPROXY.httpsPort}`,
    ...sourceFilter(stack),
    // Only a ClientHello naming a served name goes on (the Host header is encrypted here).
    '    tcp-request inspect-delay 5s',
    ...servedNameAcls(stack, 'req.ssl_sni'),
    '    tcp-request content reject unless { req.ssl_hello_type 1 } served_name',
    '    default_backend web',
    '',
    'backend web',
    '    mode tcp',
    '    balance leastconn',
    ...webHealthCheck(stack),
    webServers(stack, tls, `check-ssl verify none check-sni ${stack.spec.domain}`),
  ];
}

export function renderHaproxyConfig(stack: DefaultedWebStack, { tls }: StackPlan = stackPlan(stack)): string {
  const title = `HAProxy for WebStack ${stackNamespace(stack)}/${stack.metadata.name} (TLS mode ${tls.mode})`;
  const sections = [
    globalAndDefaults(title),
    httpFrontend(stack),
    tls.publicTlsAt === 'web' ? tcpModeSections(stack, tls) : httpModeSections(stack, tls),
  ];
  return sections.map((lines) => lines.join('\n')).join('\n\n') + '\n';
}
