import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, reconcileLogger, redactSecrets, REDACTED } from '../../../operator/runtime/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

const secret = () => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'c2VjcmV0' }, stringData: { token: 'hunter2' } });

describe('logger', () => {
  it('never writes Secret data, wherever the Secret sits in the log object', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.info({ object: secret() }, 'one');
    log.info({ objects: [secret(), { kind: 'ConfigMap', data: { a: 'b' } }] }, 'two');
    log.info({ deep: { list: { items: [{ nested: [secret()] }] } } }, 'three');
    log.info(secret(), 'four');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('c2VjcmV0');
    expect(text).not.toContain('hunter2');
    expect(lines[0]?.object).toMatchObject({ kind: 'Secret', metadata: { name: 's' }, data: REDACTED, stringData: REDACTED });
    expect(lines).toHaveLength(4);
  });

  it('does not modify the logged object', () => {
    const s = secret();
    const { destination } = capture();
    createLogger({ level: 'info', destination }).info({ s }, 'x');
    expect(s.data.password).toBe('c2VjcmV0');
  });

  it('honours the level and prints level names', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'warn', destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['warn', 'shown']]);
  });

  it('gives reconcile loggers the stack and a reconcile id', () => {
    const { lines, destination } = capture();
    const log = reconcileLogger(createLogger({ level: 'info', destination }), { namespace: 'shop', name: 'foobar' });
    log.info('reconciling');
    reconcileLogger(createLogger({ level: 'info', destination }), { namespace: 'shop', name: 'foobar' }, 'abc').info('again');
    expect(lines[0]).toMatchObject({ webstack: 'shop/foobar', reconcileId: expect.stringMatching(/^[0-9a-f]{8}$/) as unknown, msg: 'reconciling' });
    expect(lines[1]).toMatchObject({ reconcileId: 'abc' });
  });

  it('serializes errors', () => {
    const { lines, destination } = capture();
    createLogger({ level: 'info', destination }).error({ err: new Error('boom') }, 'failed');
    expect(lines[0]?.err).toMatchObject({ message: 'boom', type: 'Error' });
  });
});

describe('redactSecrets', () => {
  it('returns the same object when there is nothing to redact', () => {
    const value = { a: [1, { b: 'c' }], d: null };
    expect(redactSecrets(value)).toBe(value);
  });

  it('leaves class instances alone', () => {
    const err = Object.assign(new Error('x'), { data: 'kept for the error serializer' });
    expect(redactSecrets(err)).toBe(err);
  });
});
