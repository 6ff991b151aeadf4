import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Manager } from '../../../operator/controller/manager.js';
import type { KubeClient } from '../../../operator/kube/client.js';
import { NONE, type Controller } from '../../../operator/runtime/controller.js';

// Registration never reaches the API: a client that refuses every call says so if it did.
const refusingClient = new Proxy({}, { get: () => () => Promise.reject(new Error('no API in this test')) }) as unknown as KubeClient;

const loop = (name: string, fieldManager: string): Controller => ({
  name,
  fieldManager,
  onStack: () => NONE,
  onObject: () => NONE,
  enqueue: () => undefined,
  start: () => undefined,
  stop: () => Promise.resolve(),
});

describe('Manager.register', () => {
  const manager = () =>
    new Manager({ client: refusingClient, discovery: { hasResource: () => Promise.resolve(false) }, namespaces: [], agentNamespace: 'agents', resyncPeriodMs: 0, logger: pino({ level: 'silent' }) });

  it('takes loops with their own names and field managers', () => {
    const m = manager();
    m.register(loop('objects', 'webstack-operator'));
    expect(() => m.register(loop('database', 'webstack-operator-database'))).not.toThrow();
  });

  it('refuses a second loop under a name or a field manager already taken', () => {
    const m = manager();
    m.register(loop('objects', 'webstack-operator'));
    expect(() => m.register(loop('backups', 'webstack-operator'))).toThrow(/backups \(webstack-operator\) clashes with objects/);
    expect(() => m.register(loop('objects', 'webstack-operator-other'))).toThrow(/clashes with objects/);
  });
});
