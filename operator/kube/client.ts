/**
 * The operator's handle on one API server. Three ways in, all authenticated from one KubeConfig
 * and all observed by the same RequestObserver:
 *
 * - `request()`: raw JSON requests. Objects go to the server exactly as given and come back exactly
 *   as sent (timestamps stay strings). Server-side apply, status, discovery, leases and lists use
 *   this, because client-node's typed path re-serializes bodies through its generated models and
 *   silently drops fields the models do not know (newer or custom fields), and it turns timestamps
 *   into Dates on the way in.
 * - `watch()`: a streaming watch over node:http(s), abortable at any point, including before the
 *   response headers arrive, which client-node's Watch cannot do (it returns its AbortController
 *   only once the headers are in, so a hung connect can never be cancelled).
 * - `api(Class)`: client-node's generated clients, over the same instrumented transport, for
 *   callers who want typed calls on kinds whose models are complete.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { createInterface } from 'node:readline';
import {
  HttpMethod,
  ServerConfiguration,
  createConfiguration,
  type Configuration,
  type HttpLibrary,
  type KubeConfig,
} from '@kubernetes/client-node';
import { KubeApiError, NO_RESPONSE, errorFromResponse, toKubeApiError } from './errors.js';
import { describeRequest, instrumentedTransport, type RequestObserver } from './transport.js';
import type { KubeObject } from './types.js';

export type QueryValue = string | number | boolean | undefined;
export type Query = Record<string, QueryValue>;

export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. `/apis/apps/v1/namespaces/shop/deployments/foobar-web`. */
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Content-Type of the body; `application/json` by default. */
  contentType?: string;
  signal?: AbortSignal;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  /** The object, or a Status for ERROR events. */
  object: KubeObject;
}

export interface KubeClientOptions {
  /** Upper bound on every non-watch request, body included. */
  requestTimeoutMs: number;
  onRequest?: RequestObserver;
  /** Replaces the HTTP library under the instrumentation (tests). */
  httpApi?: HttpLibrary;
}

/** Keep-alive probes on watch sockets, so a peer that vanished is noticed by the OS. */
const WATCH_KEEPALIVE_MS = 30_000;

/** What identifies a connection's TLS identity and trust; equal strings can share an agent. */
function tlsFingerprint(options: https.AgentOptions): string {
  const fields = [options.ca, options.cert, options.key, options.pfx, options.passphrase, options.servername, options.rejectUnauthorized];
  return JSON.stringify(fields.map((value) => (Buffer.isBuffer(value) ? value.toString('base64') : value)));
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

export class KubeClient {
  readonly configuration: Configuration;
  private readonly server: string;
  private readonly requestTimeoutMs: number;
  private readonly onRequest: RequestObserver | undefined;
  private agent: { tls: string; agent: https.Agent } | undefined;

  constructor(
    readonly kubeConfig: KubeConfig,
    options: KubeClientOptions,
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster (check current-context)');
    this.server = cluster.server.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.onRequest = options.onRequest;
    this.configuration = createConfiguration({
      baseServer: new ServerConfiguration(this.server, {}),
      authMethods: { default: kubeConfig },
      httpApi: instrumentedTransport({
        timeoutMs: options.requestTimeoutMs,
        ...(options.onRequest ? { onRequest: options.onRequest } : {}),
        ...(options.httpApi ? { inner: options.httpApi } : {}),
      }),
    });
  }

  /**
   * client-node builds a new https.Agent for every request, so each request opened its own TCP
   * and TLS connection (a full handshake, client certificate included). One keep-alive agent with
   * the same TLS options lets requests share connections, as kubectl does. It is rebuilt when the
   * TLS material changes (a rotated client certificate); proxy agents are left as they come.
   */
  private sharedAgent(fresh: http.Agent | undefined): http.Agent | undefined {
    if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return fresh;
    const tls = tlsFingerprint(fresh.options);
    // The old agent is not destroyed: requests still on it finish, and its idle sockets close
    // when the server times them out.
    if (this.agent?.tls !== tls) this.agent = { tls, agent: new https.Agent({ ...fresh.options, keepAlive: true }) };
    return this.agent.agent;
  }

  /** A client-node generated API client (e.g. CoreV1Api) sharing this client's transport. */
  api<T>(apiClass: new (configuration: Configuration) => T): T {
    return new apiClass(this.configuration);
  }

  /**
   * Sends one JSON request and returns the parsed response body (undefined for an empty body).
   * Non-2xx responses throw KubeApiError with the Status reason and message.
   */
  // eslint-disable-next-line complexity -- older than the budget; one request's options, timeout and error mapping
  async request(req: RawRequest): Promise<unknown> {
    const ctx = this.configuration.baseServer.makeRequestContext(req.path, HttpMethod[req.method]);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) ctx.setQueryParam(key, String(value));
    }
    ctx.setHeaderParam('Accept', 'application/json');
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(req.body));
    }
    if (req.signal) ctx.setSignal(req.signal);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    const agent = this.sharedAgent(ctx.getAgent());
    if (agent) ctx.setAgent(agent);
    const what = `${req.method} ${req.path}`;

    let code: number;
    let text: string;
    try {
      const response = await this.configuration.httpApi.send(ctx).toPromise();
      code = response.httpStatusCode;
      text = await response.body.text();
    } catch (err) {
      // The transport's timeout also covers reading the body; an abort there surfaces as AbortError.
      if (isAbortError(err) && !req.signal?.aborted) {
        throw new KubeApiError(NO_RESPONSE, 'Timeout', `${what}: no complete response within ${this.requestTimeoutMs}ms`, undefined, { cause: err });
      }
      throw toKubeApiError(err, what);
    }
    if (code < 200 || code >= 300) throw errorFromResponse(code, text, what);
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new KubeApiError(code, 'InvalidResponse', `${what}: response is not JSON`, undefined, { cause: err });
    }
  }

  /**
   * Streams a watch: calls `onEvent` for every event until the server ends the response (resolves)
   * or the connection fails, the server refuses the watch, or `signal` aborts (rejects with a
   * KubeApiError). `query` is sent as given plus `watch=true`.
   */
  // eslint-disable-next-line max-lines-per-function -- older than the budget; the stream's line framing and its teardown belong together
  async watch(path: string, query: Query, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new KubeApiError(NO_RESPONSE, 'Aborted', `watch ${path}: aborted`);
    const url = new URL(this.server + path);
    url.searchParams.set('watch', 'true');
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const options: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(options);
    // applyToHTTPSOptions fills `headers` as an object (Authorization for token auth).
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json' };
    if (options.headers && !Array.isArray(options.headers)) Object.assign(headers, options.headers);
    const info = describeRequest('GET', url.href);
    const what = `watch ${path}`;
    const started = performance.now();
    const observe = (code: string) => {
      try {
        this.onRequest?.({ ...info, code, durationSeconds: (performance.now() - started) / 1000 });
      } catch {
        // Metrics only.
      }
    };

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let responded = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        if (!responded) observe('error');
        reject(signal.aborted ? new KubeApiError(NO_RESPONSE, 'Aborted', `${what}: aborted`, undefined, { cause: err }) : toKubeApiError(err, what));
        req.destroy();
      };
      const send = url.protocol === 'https:' ? https.request : http.request;
      const req = send(url, {
        method: 'GET',
        agent: options.agent,
        headers,
        ...(options.auth ? { auth: options.auth } : {}),
        signal,
      });
      req.on('socket', (socket) => {
        socket.setKeepAlive(true, WATCH_KEEPALIVE_MS);
      });
      req.on('error', fail);
      req.on('response', (res) => {
        responded = true;
        observe(String(res.statusCode ?? 0));
        res.on('error', fail);
        if (res.statusCode !== 200) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => {
            fail(errorFromResponse(res.statusCode ?? 0, body, what));
          });
          return;
        }
        let ended = false;
        res.on('end', () => {
          ended = true;
        });
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        // readline re-emits the stream's errors on itself; unhandled, they would crash the process.
        lines.on('error', fail);
        lines.on('line', (line) => {
          if (settled || line.trim() === '') return;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch (err) {
            fail(new KubeApiError(200, 'InvalidResponse', `${what}: malformed event`, undefined, { cause: err }));
            return;
          }
          try {
            onEvent(event);
          } catch (err) {
            fail(err);
          }
        });
        res.on('close', () => {
          if (ended && !settled) {
            settled = true;
            resolve();
          } else {
            fail(new Error('connection closed before the watch response ended'));
          }
        });
      });
      req.end();
    });
  }
}
