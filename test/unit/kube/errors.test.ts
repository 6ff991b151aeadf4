import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from '@jest/globals';
import {
  KubeApiError,
  errorFromResponse,
  isAlreadyExists,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
  isTimeout,
  toKubeApiError,
} from '../../../operator/kube/errors.js';

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, details: { name: 'x' } });

describe('errorFromResponse', () => {
  it('takes reason, message and details from a JSON Status body', () => {
    const err = errorFromResponse(409, status(409, 'Conflict', 'the object has been modified'), 'PUT /apis/x');
    expect(err).toBeInstanceOf(KubeApiError);
    expect([err.code, err.reason, err.message, err.details]).toEqual([409, 'Conflict', 'PUT /apis/x: the object has been modified', { name: 'x' }]);
  });

  it('falls back to the status code and raw text for non-JSON bodies', () => {
    const err = errorFromResponse(503, 'upstream connect error');
    expect([err.code, err.reason, err.message]).toEqual([503, 'ServiceUnavailable', 'upstream connect error']);
    expect(errorFromResponse(418, '').message).toBe('HTTP 418');
    expect(errorFromResponse(418, '').reason).toBe('Unknown');
  });
});

describe('toKubeApiError', () => {
  it('parses the JSON string body of client-node ApiException', () => {
    const api = new ApiException(404, 'HTTP-Code: 404', status(404, 'NotFound', 'configmaps "x" not found'), {});
    const err = toKubeApiError(api);
    expect([err.code, err.reason, err.message]).toEqual([404, 'NotFound', 'configmaps "x" not found']);
    expect(err.cause).toBe(api);
    expect(isNotFound(err)).toBe(true);
  });

  it('understands the Status object of a watch ERROR event', () => {
    const err = toKubeApiError({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' });
    expect([err.code, err.reason]).toEqual([410, 'Expired']);
    expect(isGone(err)).toBe(true);
  });

  it('turns other failures into NetworkError with code 0', () => {
    const err = toKubeApiError(new Error('connect ECONNREFUSED 127.0.0.1:6443'), 'GET /api');
    expect([err.code, err.reason, err.message]).toEqual([0, 'NetworkError', 'GET /api: connect ECONNREFUSED 127.0.0.1:6443']);
  });

  it('is idempotent', () => {
    const err = new KubeApiError(409, 'AlreadyExists', 'exists');
    expect(toKubeApiError(err)).toBe(err);
  });
});

describe('predicates', () => {
  it('classify by code and reason', () => {
    expect(isConflict(new KubeApiError(409, 'Conflict', ''))).toBe(true);
    expect(isAlreadyExists(new KubeApiError(409, 'Conflict', ''))).toBe(false);
    expect(isAlreadyExists(new KubeApiError(409, 'AlreadyExists', ''))).toBe(true);
    expect(isTimeout(new KubeApiError(0, 'Timeout', ''))).toBe(true);
    expect(isNotFound(new Error('404'))).toBe(false);
    expect(isInvalid(new KubeApiError(422, 'Invalid', 'spec.replicas: Invalid value'))).toBe(true);
    expect(isInvalid(new KubeApiError(500, 'InternalError', 'failed to create typed patch object (a/b): .spec.x: field not declared in schema'))).toBe(true);
    expect(isInvalid(new KubeApiError(500, 'InternalError', 'etcdserver: request timed out'))).toBe(false);
  });
});
