/**
 * One error type for everything that can go wrong talking to the API server, whichever path the
 * request took (our raw JSON requests, client-node's generated clients, the watch stream).
 * client-node throws `ApiException` whose `body` is the response text (a JSON Status as a
 * string); callers should not each have to parse it to tell NotFound from Conflict.
 */
import { ApiException } from '@kubernetes/client-node';

/** `code` when no HTTP response was received at all. */
export const NO_RESPONSE = 0;

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';

  constructor(
    /** HTTP status, or NO_RESPONSE (0) for timeouts and network failures. */
    readonly code: number,
    /** The Status reason (NotFound, Conflict, AlreadyExists, Invalid, Expired, ...), or Timeout / NetworkError. */
    readonly reason: string,
    message: string,
    /** The Status `details` when the server sent them (e.g. the invalid fields). */
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface StatusBody {
  kind?: unknown;
  reason?: unknown;
  message?: unknown;
  code?: unknown;
  details?: unknown;
}

/** Reason the API server uses for a status code when the body does not say. */
const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body === 'object' && body !== null) return body;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the error for an HTTP response that was not 2xx. `context` names the request, e.g. "PATCH /apis/...". */
export function errorFromResponse(code: number, body: unknown, context?: string): KubeApiError {
  const status = parseStatus(body);
  const reason = typeof status?.reason === 'string' && status.reason !== '' ? status.reason : (REASON_BY_CODE[code] ?? 'Unknown');
  let message: string;
  if (typeof status?.message === 'string' && status.message !== '') message = status.message;
  else if (typeof body === 'string' && body.trim() !== '') message = body.trim().slice(0, 500);
  else message = `HTTP ${code}`;
  const full = context ? `${context}: ${message}` : message;
  return new KubeApiError(code, reason, full, status?.details);
}

/** Normalizes anything thrown by a Kubernetes call into a KubeApiError (idempotent). */
export function toKubeApiError(err: unknown, context?: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const e = errorFromResponse(err.code, err.body, context);
    return new KubeApiError(e.code, e.reason, e.message, e.details, { cause: err });
  }
  // A watch event of type ERROR carries a Status object instead of an HTTP error.
  const status = parseStatus(err);
  if (status?.kind === 'Status' && typeof status.code === 'number') return errorFromResponse(status.code, status, context);
  const message = err instanceof Error ? err.message : String(err);
  const prefix = context ? `${context}: ` : '';
  return new KubeApiError(NO_RESPONSE, 'NetworkError', `${prefix}${message}`, undefined, { cause: err });
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409;
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists';
/** 410: the resourceVersion a watch asked for has been compacted away; re-list. */
export const isGone = (err: unknown): boolean => err instanceof KubeApiError && err.code === 410;
/**
 * The request itself is wrong and retrying cannot help: validation failures (422, 400), and
 * server-side apply of a field outside the kind's schema, which the API server reports as a 500.
 */
export const isInvalid = (err: unknown): boolean =>
  err instanceof KubeApiError &&
  (err.code === 422 || err.code === 400 || (err.code === 500 && err.message.includes('field not declared in schema')));
export const isTimeout = (err: unknown): boolean => err instanceof KubeApiError && err.reason === 'Timeout';
