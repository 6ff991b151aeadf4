/**
 * Structured logs (pino, JSON lines). One root logger per process; reconciles log through a child
 * carrying `webstack=<namespace>/<name>` and a `reconcileId`, so one reconcile's lines can be
 * pulled out of an interleaved stream.
 *
 * Secret values never reach the log: the values of every `data` and `stringData` key, at any
 * depth, are replaced before a line is written. A key-based rule at any depth, rather than
 * pino's path list, because a Secret can turn up anywhere: as the logged object, inside an error's
 * details, in a list of rendered objects. ConfigMap data is hidden too, which costs little: it is
 * bulky and the operator renders it, so it is reproducible anyway.
 */
import { stackKey, type StackRef } from '../api/keys.js';
import { randomUUID } from 'node:crypto';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

export type LogLevel = Level | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Keys whose values are always replaced in log output. */
export const REDACTED_KEYS: ReadonlySet<string> = new Set(['data', 'stringData']);
export const REDACTED = '[REDACTED]';

/** Deep enough for any object the operator logs; guards against cycles without tracking them. */
const MAX_DEPTH = 12;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Returns `value` with REDACTED_KEYS' values replaced in plain objects and arrays, copying only
 * the parts that change. Class instances (Errors, Dates, Buffers) are left to pino's serializers.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    const out = value.map((item: unknown) => redactSecrets(item, depth + 1));
    return out.some((r, i) => r !== value[i]) ? out : value;
  }
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const r = REDACTED_KEYS.has(key) && item !== undefined ? REDACTED : redactSecrets(item, depth + 1);
    if (r !== item) {
      out ??= { ...value };
      out[key] = r;
    }
  }
  return out ?? value;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { component: 'webstack-operator' },
      formatters: {
        // Print the level name: log collectors key on it and humans read it.
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object) as Record<string, unknown>,
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/** A short id that tells one reconcile's lines from another's. */
export function newReconcileId(): string {
  return randomUUID().slice(0, 8);
}

/** The logger for one reconcile of one WebStack. */
export function reconcileLogger(base: Logger, stack: StackRef, reconcileId: string = newReconcileId()): Logger {
  return base.child({ webstack: stackKey(stack), reconcileId });
}
