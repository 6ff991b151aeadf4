/**
 * The HTTP layer under every non-streaming request: a request timeout and a per-request
 * observation (verb, resource, status code) for the API-requests metric.
 *
 * This wraps client-node's HttpLibrary instead of being a client-node middleware because
 * (1) a middleware's `post` hook gets the response without its request, so it cannot tell which
 *     verb/resource a status code belongs to, and it never sees requests that failed without a
 *     response (timeouts, refused connections), which are the ones that most need counting;
 * (2) the generated clients call `middleware.reverse()` on the shared configuration's array for
 *     every request, so the relative order of several middlewares flips from call to call.
 * One wrapper around `send` sees the request, its outcome and its duration, in one place.
 */
import { IsomorphicFetchHttpLibrary, wrapHttpLibrary, type HttpLibrary, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { KubeApiError, NO_RESPONSE } from './errors.js';

export interface RequestRecord {
  /** Kubernetes verb: get, list, watch, create, update, patch, apply, delete, deletecollection. */
  verb: string;
  /** `plural[.group][/subresource]`, e.g. `deployments.apps`, `webstacks.webstack.dev/status`; `discovery` for API metadata paths. */
  resource: string;
  /** HTTP status code, or `timeout` / `error` when no response arrived. */
  code: string;
  durationSeconds: number;
}

export type RequestObserver = (record: RequestRecord) => void;

export interface RequestInfo {
  verb: string;
  resource: string;
}

/** Subresources of a namespace itself (`/api/v1/namespaces/{name}/status`), as opposed to a resource in a namespace. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * Derives verb and resource from method and URL the way the API server's RequestInfo does, so the
 * metric's labels match the server's own apiserver_request_total.
 */
// eslint-disable-next-line complexity -- mirrors the API server's request-info parsing, one branch per URL shape
export function describeRequest(method: string, url: string, contentType?: string): RequestInfo {
  const parsed = new URL(url, 'http://placeholder');
  const parts = parsed.pathname.split('/').filter((p) => p !== '');
  let group = '';
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    return { verb: method.toLowerCase() === 'get' ? 'get' : method.toLowerCase(), resource: 'discovery' };
  }
  if (rest[0] === 'namespaces' && rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) {
    rest = rest.slice(2);
  }
  const [plural, name, subresource] = rest;
  if (plural === undefined) {
    return { verb: 'get', resource: 'discovery' };
  }
  const resource = `${plural}${group ? `.${group}` : ''}${subresource ? `/${subresource}` : ''}`;
  const hasName = name !== undefined;
  let verb: string;
  switch (method.toUpperCase()) {
    case 'GET':
      verb = hasName ? 'get' : parsed.searchParams.get('watch') === 'true' ? 'watch' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = contentType?.startsWith('application/apply-patch') ? 'apply' : 'patch';
      break;
    case 'DELETE':
      verb = hasName ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  return { verb, resource };
}

export interface TransportOptions {
  /** Abort a request (including reading its body) after this long. */
  timeoutMs: number;
  onRequest?: RequestObserver;
  /** The library that actually sends; client-node's fetch-based one by default. */
  inner?: HttpLibrary;
}

function contentTypeOf(request: RequestContext): string | undefined {
  const headers = request.getHeaders();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === 'content-type') return value;
  }
  return undefined;
}

export function instrumentedTransport(options: TransportOptions): HttpLibrary {
  const inner = options.inner ?? new IsomorphicFetchHttpLibrary();
  const observe = (record: RequestRecord) => {
    try {
      options.onRequest?.(record);
    } catch {
      // The observer feeds metrics; a fault there must not fail the request.
    }
  };
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const callerSignal = request.getSignal();
      request.setSignal(callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout);
      const info = describeRequest(request.getHttpMethod(), request.getUrl(), contentTypeOf(request));
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      const what = `${request.getHttpMethod()} ${new URL(request.getUrl()).pathname}`;
      try {
        const response = await inner.send(request).toPromise();
        observe({ ...info, code: String(response.httpStatusCode), durationSeconds: seconds() });
        return response;
      } catch (err) {
        if (timeout.aborted && !callerSignal?.aborted) {
          observe({ ...info, code: 'timeout', durationSeconds: seconds() });
          throw new KubeApiError(NO_RESPONSE, 'Timeout', `${what}: no response within ${options.timeoutMs}ms`, undefined, { cause: err });
        }
        observe({ ...info, code: 'error', durationSeconds: seconds() });
        throw err;
      }
    },
  });
}
