/**
 * Kubernetes Events (core/v1), the kind `kubectl describe` shows under an object. One Event per
 * call, never aggregated: the reconciler records only condition transitions, which are rare.
 */
import type { NewObject, ObjectApi } from './apply.js';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
}

export class EventRecorder {
  constructor(
    private readonly objects: Pick<ObjectApi, 'createObject'>,
    /** source.component and reportingComponent of every Event. */
    private readonly component: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(involved: InvolvedObject, event: EventSpec): Promise<void> {
    const at = this.now().toISOString();
    const body: NewObject = {
      apiVersion: 'v1',
      kind: 'Event',
      // `<name>.` and a suffix the server picks, as client-go's recorder names them.
      metadata: { generateName: `${involved.name}.`, ...(involved.namespace !== undefined ? { namespace: involved.namespace } : {}) },
      involvedObject: involved,
      type: event.type,
      reason: event.reason,
      message: event.message,
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
      source: { component: this.component },
      reportingComponent: this.component,
    };
    await this.objects.createObject(body);
  }
}
