/**
 * nginx.conf of the app proxy: the TLS-terminating sidecar in the app pods of a reencrypt stack
 * whose app serves plain HTTP (layout.APP_PROXY). Pure function. Checked with the Debian nginx
 * (1.22) in the unit tests, like the web tier's config, so it avoids newer directives.
 *
 * Only the web tier gets in: a client certificate from the stack's internal CA whose common name
 * is the web tier's (`<stack>-web-tls`); another leaf of the same CA gets 403. The app sees the request as Nginx sent it
 * (X-Forwarded-* included); the proxy adds nothing but the TLS.
 */
import type { DefaultedWebStack } from '../../api/defaults.js';
import { names } from '../../blueprint/names.js';
import { stackPlan, type StackPlan } from '../../blueprint/plan.js';
import { APP_PROXY, RESPONSE_TIMEOUT_S, TLS_FILES, stackNamespace, tierCommonName } from '../../blueprint/layout.js';
import { UPGRADE_MAP, admitOnly, tempPaths } from './nginx.js';

export function renderAppProxyConfig(stack: DefaultedWebStack, plan: StackPlan = stackPlan(stack)): string | undefined {
  const proxy = plan.tls.appProxy;
  if (proxy === undefined) return undefined;
  const run = APP_PROXY.runDir;
  const lines = [
    '# App proxy: TLS (client certificates of the internal CA only) in front of an app serving plain HTTP.',
    '# Rendered by webstack-operator; edits are overwritten.',
    'daemon off;',
    // TLS handshakes and copying bytes: one worker keeps it inside the sidecar's small memory limit.
    'worker_processes 1;',
    `pid ${run}/nginx.pid;`,
    'error_log stderr warn;',
    '',
    'events {',
    '    worker_connections 1024;',
    '}',
    '',
    'http {',
    '    server_tokens off;',
    // The web tier logs every request already.
    '    access_log off;',
    ...tempPaths(run),
    '',
    ...UPGRADE_MAP,
    '',
    '    upstream webstack_app {',
    `        server 127.0.0.1:${proxy.upstreamPort};`,
    '        keepalive 16;',
    '    }',
    '',
    '    server {',
    `        listen ${proxy.port} ssl;`,
    `        ssl_certificate ${APP_PROXY.certDir}/${TLS_FILES.cert};`,
    `        ssl_certificate_key ${APP_PROXY.certDir}/${TLS_FILES.key};`,
    `        ssl_client_certificate ${APP_PROXY.caDir}/${TLS_FILES.ca};`,
    '        ssl_verify_client on;',
    '        ssl_verify_depth 2;',
    ...admitOnly(tierCommonName(names(stack.metadata.name).web, stackNamespace(stack))),
    '        ssl_protocols TLSv1.2 TLSv1.3;',
    '        ssl_prefer_server_ciphers off;',
    '        ssl_session_cache shared:webstack_app_tls:1m;',
    '        ssl_session_timeout 1h;',
    // The web tier enforces the body size; the proxy streams what it is given.
    '        client_max_body_size 0;',
    '',
    '        location / {',
    '            proxy_pass http://webstack_app;',
    '            proxy_http_version 1.1;',
    '            proxy_set_header Host $host;',
    '            proxy_set_header Upgrade $http_upgrade;',
    '            proxy_set_header Connection $webstack_connection;',
    '            proxy_request_buffering off;',
    '            proxy_buffering off;',
    '            proxy_connect_timeout 5s;',
    `            proxy_read_timeout ${RESPONSE_TIMEOUT_S.appProxy}s;`,
    '        }',
    '    }',
    '}',
  ];
  return lines.join('\n') + '\n';
}
