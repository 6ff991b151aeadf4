/**
 * nginx.conf of the web tier and the small start script that runs it. Pure functions.
 * Written for the nginx-unprivileged 1.29 image and checked with the Debian nginx (1.22) in the
 * unit tests, so it avoids directives newer than 1.22 (e.g. `http2 on`).
 */
import type { DefaultedWebStack } from '../../api/defaults.js';
import { parseQuantity } from '../../support/quantity.js';
import { names } from '../../blueprint/names.js';
import { stackPlan, type HopTls, type StackPlan, type TlsPlan } from '../../blueprint/plan.js';
import { NGINX, RESPONSE_TIMEOUT_S, TLS_FILES, serviceHost, stackNamespace, tierCommonName } from '../../blueprint/layout.js';

/**
 * Only HAProxy connects to the main port (NetworkPolicy), and it sends the client address in a
 * PROXY header. Pod networks use private ranges, so those are the addresses trusted to send it.
 */
const TRUSTED_PROXY_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];

/**
 * Baseline security headers, added only when the app does not send its own (a map turns the
 * app's header into an empty value, and nginx skips empty add_header values).
 * The CSP blocks plugins, framing by other sites and <base> hijacking but leaves script and style
 * sources to the app, which knows them.
 */
const SECURITY_HEADERS: readonly [name: string, value: string][] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['Referrer-Policy', 'strict-origin-when-cross-origin'],
  ['Content-Security-Policy', "object-src 'none'; frame-ancestors 'self'; base-uri 'self'"],
];

const headerVariable = (header: string): string => header.toLowerCase().replaceAll('-', '_');

function securityHeaderMaps(): string[] {
  return SECURITY_HEADERS.flatMap(([name, value]) => [
    `    map $upstream_http_${headerVariable(name)} $webstack_${headerVariable(name)} {`,
    `        ""      "${value}";`,
    '        default "";',
    '    }',
  ]);
}

/**
 * One worker per CPU the pod may use. `auto` counts the node's CPUs, and dozens of workers would
 * not fit the web tier's small memory limit.
 */
function workerProcesses(stack: DefaultedWebStack): number {
  const { limits, requests } = stack.spec.web.resources;
  const cpus = parseQuantity(limits?.cpu ?? requests?.cpu ?? '') ?? 1;
  return Math.max(1, Math.ceil(cpus));
}

/** The main port; in reencrypt mode it admits only HAProxy, whose certificate's common name is `lbCommonName`. */
function listener(tls: TlsPlan, lbCommonName: string): string[] {
  const port = tls.webPort.number;
  if (!tls.hops.lbToWeb.encrypted) return [`        listen ${port} proxy_protocol;`];
  return [
    `        listen ${port} ssl proxy_protocol;`,
    `        ssl_certificate ${NGINX.certDir}/${TLS_FILES.cert};`,
    `        ssl_certificate_key ${NGINX.certDir}/${TLS_FILES.key};`,
    '        ssl_protocols TLSv1.2 TLSv1.3;',
    '        ssl_prefer_server_ciphers off;',
    '        ssl_session_cache shared:webstack_tls:10m;',
    '        ssl_session_timeout 1h;',
    // Only a certificate of the internal CA with HAProxy's common name gets a response.
    ...(tls.hops.lbToWeb.mutual ? [`        ssl_client_certificate ${NGINX.caDir}/${TLS_FILES.ca};`, '        ssl_verify_client on;', ...admitOnly(lbCommonName)] : []),
  ];
}

/**
 * The app Service is dialled through a variable so nginx resolves it per request with the pod's
 * nameserver: nginx starts (and `nginx -t` passes) without cluster DNS, and follows a recreated
 * Service. Over TLS (spec.app.tls, or the app proxy in reencrypt mode) the app's certificate is
 * verified against the internal CA, and Nginx presents its own internal certificate as a client
 * certificate (the app proxy requires one).
 */
function appProxy(stack: DefaultedWebStack, hop: HopTls, port: number, clientCertificate: boolean): string[] {
  const appHost = serviceHost(names(stack.metadata.name).app, stackNamespace(stack));
  const scheme = hop.encrypted ? 'https' : 'http';
  const verify = hop.verified
    ? [
        '            proxy_ssl_verify on;',
        `            proxy_ssl_trusted_certificate ${NGINX.caDir}/${TLS_FILES.ca};`,
        // Nginx's internal certificate (reencrypt only; passthrough's is the public one).
        ...(clientCertificate
          ? [`            proxy_ssl_certificate ${NGINX.certDir}/${TLS_FILES.cert};`, `            proxy_ssl_certificate_key ${NGINX.certDir}/${TLS_FILES.key};`]
          : []),
        '            proxy_ssl_verify_depth 2;',
        '            proxy_ssl_server_name on;',
        `            proxy_ssl_name ${appHost};`,
        '            proxy_ssl_protocols TLSv1.2 TLSv1.3;',
      ]
    : [];
  return [
    '        location / {',
    `            set $webstack_app ${appHost}:${port};`,
    `            proxy_pass ${scheme}://$webstack_app;`,
    '            proxy_http_version 1.1;',
    '            proxy_set_header Host $host;',
    // $remote_addr is the client address from the PROXY header (see real_ip_header).
    '            proxy_set_header X-Real-IP $remote_addr;',
    '            proxy_set_header X-Forwarded-For $remote_addr;',
    // Plain HTTP never reaches the app: HAProxy redirects it to HTTPS.
    '            proxy_set_header X-Forwarded-Proto https;',
    '            proxy_set_header X-Forwarded-Host $host;',
    '            proxy_set_header Upgrade $http_upgrade;',
    '            proxy_set_header Connection $webstack_connection;',
    '            proxy_connect_timeout 5s;',
    `            proxy_read_timeout ${RESPONSE_TIMEOUT_S.web}s;`,
    ...verify,
    '        }',
  ];
}

/** Temporary files under `run`: the root filesystem is read-only. Shared with the app proxy. */
export function tempPaths(run: string): string[] {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `    ${kind}_temp_path ${run}/${kind === 'client_body' ? 'client' : kind}_temp;`);
}

/**
 * In a server that verifies client certificates: 403 for any but the peer whose certificate's
 * subject is exactly `CN=<commonName>`. Every leaf of the stack's CA verifies, so this is what tells
 * HAProxy from the app or MySQL (their certificates are client certificates too). A plain string
 * comparison: a map of it needs a hash bucket larger than nginx's default for long names (a stack
 * in a long namespace crash-looped with "could not build map_hash"). Shared with the app proxy.
 */
export function admitOnly(commonName: string): string[] {
  return [`        if ($ssl_client_s_dn != "CN=${commonName}") {`, '            return 403;', '        }'];
}

/** `$webstack_connection`: "upgrade" when the client asks for one (WebSockets), else empty. Shared with the app proxy. */
export const UPGRADE_MAP: readonly string[] = ['    map $http_upgrade $webstack_connection {', '        ""      "";', '        default upgrade;', '    }'];

export function renderNginxConfig(stack: DefaultedWebStack, { tls }: StackPlan = stackPlan(stack)): string {
  const run = NGINX.runDir;
  const serverNames = [stack.spec.domain, ...stack.spec.aliases].join(' ');
  const lines = [
    `# Nginx for WebStack ${stackNamespace(stack)}/${stack.metadata.name} (TLS mode ${tls.mode})`,
    '# Rendered by webstack-operator; edits are overwritten.',
    // Foreground process of the container; every written path is in the runDir emptyDir.
    'daemon off;',
    `worker_processes ${workerProcesses(stack)};`,
    `pid ${run}/nginx.pid;`,
    'error_log stderr warn;',
    '',
    'events {',
    '    worker_connections 1024;',
    '}',
    '',
    'http {',
    // Written by start.sh: `resolver <pod nameserver>;`, needed by the variable proxy_pass.
    `    include ${run}/${NGINX.resolverFile};`,
    '    default_type application/octet-stream;',
    '    server_tokens off;',
    '    sendfile on;',
    '    keepalive_timeout 65s;',
    ...tempPaths(run),
    '    log_format webstack \'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent \'',
    '                        \'"$http_referer" "$http_user_agent" $request_time $upstream_response_time\';',
    '    access_log /dev/stdout webstack;',
    '',
    ...UPGRADE_MAP,
    ...securityHeaderMaps(),
    '',
    '    server {',
    ...listener(tls, tierCommonName(names(stack.metadata.name).lb, stackNamespace(stack))),
    `        server_name ${serverNames};`,
    ...TRUSTED_PROXY_RANGES.map((cidr) => `        set_real_ip_from ${cidr};`),
    '        real_ip_header proxy_protocol;',
    ...SECURITY_HEADERS.map(([name]) => `        add_header ${name} $webstack_${headerVariable(name)} always;`),
    // In reencrypt mode HAProxy replaces this header with its own identical one.
    ...(!tls.hops.lbToWeb.encrypted ? [] : ['        add_header Strict-Transport-Security "max-age=63072000" always;']),
    '',
    `        location = ${NGINX.healthPath} {`,
    '            access_log off;',
    '            default_type text/plain;',
    '            return 200 "ok\\n";',
    '        }',
    '',
    ...appProxy(stack, tls.hops.webToApp, tls.appPort.number, tls.mode === 'reencrypt'),
    '    }',
    '',
    // Plain HTTP without the PROXY protocol, for kubelet probes and the exporter sidecar.
    '    server {',
    `        listen ${NGINX.statusPort};`,
    '        access_log off;',
    `        location = ${NGINX.healthPath} {`,
    '            default_type text/plain;',
    '            return 200 "ok\\n";',
    '        }',
    `        location = ${NGINX.stubStatusPath} {`,
    '            stub_status;',
    '            allow 127.0.0.1;',
    '            allow ::1;',
    '            deny all;',
    '        }',
    '        location / {',
    '            return 404;',
    '        }',
    '    }',
    '}',
  ];
  return lines.join('\n') + '\n';
}

/**
 * The web container's entrypoint (NGINX.command). nginx's `resolver` only takes addresses, and the
 * cluster DNS address is known only inside the pod, so this copies the first nameserver of
 * /etc/resolv.conf into runDir/resolver.conf before exec'ing nginx. POSIX sh, no other tools.
 */
export function renderNginxStartScript(): string {
  const conf = `${NGINX.confDir}/${NGINX.configFile}`;
  const resolverFile = `${NGINX.runDir}/${NGINX.resolverFile}`;
  return `#!/bin/sh
# Starts nginx for a WebStack web pod. Rendered by webstack-operator.
set -eu

# RESOLV_CONF exists for the unit tests, which cannot write /etc/resolv.conf.
nameserver=
while read -r key value _; do
  if [ "$key" = nameserver ] && [ -n "$value" ]; then
    nameserver=$value
    break
  fi
done < "\${RESOLV_CONF:-/etc/resolv.conf}"

if [ -z "$nameserver" ]; then
  echo "start.sh: no nameserver in /etc/resolv.conf; nginx cannot resolve the app Service" >&2
  exit 1
fi

case $nameserver in
  *:*) nameserver="[$nameserver]" ;; # nginx wants IPv6 addresses in brackets
esac

# valid=10s: follow a recreated Service within seconds.
printf 'resolver %s valid=10s;\\n' "$nameserver" > "${resolverFile}"

exec nginx -c "${conf}" "$@"
`;
}
