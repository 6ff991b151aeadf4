/**
 * Events: a condition's transition becomes an Event on the WebStack, so `kubectl describe` tells
 * the story. Best effort: losing an Event must not fail the reconcile.
 */
import type { Logger } from 'pino';
import { API_VERSION, KIND } from '../api/identity.js';
import type { Condition, WebStack } from '../api/types.js';
import { KubeApiError } from '../kube/errors.js';
import type { EventRecorder, EventSpec } from '../kube/events.js';

/**
 * Events for conditions whose status changed: Ready either way (Normal: waiting is normal; what
 * needs a person is Stalled), Stalled turning True, and a concern that was True turning False.
 */
export function transitions(before: Condition[] | undefined, after: Condition[]): EventSpec[] {
  const events: EventSpec[] = [];
  for (const c of after) {
    const old = before?.find((b) => b.type === c.type);
    if (old?.status === c.status) continue;
    if (c.type === 'Ready') {
      events.push({ type: 'Normal', reason: c.status === 'True' ? 'Ready' : c.reason, message: c.message });
    } else if (c.type === 'Stalled' && c.status === 'True') {
      events.push({ type: 'Warning', reason: c.reason, message: c.message });
    } else if (c.type.endsWith('Ready') && c.status === 'False' && old !== undefined) {
      events.push({ type: 'Warning', reason: c.reason, message: `${c.type}: ${c.message}` });
    }
  }
  return events;
}

export async function recordEvents(recorder: Pick<EventRecorder, 'record'>, raw: WebStack, events: EventSpec[], log: Logger): Promise<void> {
  const { name, namespace, uid } = raw.metadata;
  for (const event of events) {
    try {
      await recorder.record({ apiVersion: API_VERSION, kind: KIND, name, namespace, uid }, event);
    } catch (err) {
      log.warn({ err: err instanceof KubeApiError ? err.message : String(err) }, 'could not record event');
    }
  }
}
