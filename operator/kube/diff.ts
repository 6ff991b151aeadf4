import { parseQuantity } from '../support/quantity.js';
/**
 * Decides whether applying a desired object would change anything, so the steady state makes no
 * write requests. The live object satisfies the desired one when every field the operator sets is
 * present with the same value; fields the server defaults or other managers add are ignored, just
 * as server-side apply would leave them alone.
 */


function isEmpty(value: unknown): boolean {
  return Array.isArray(value) ? value.length === 0 : isRecord(value) && Object.keys(value).length === 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lists of named elements (containers, ports, env, volumes) are matched by name, as SSA merges them. */
function keyOf(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const name = value.name;
  return typeof name === 'string' ? name : undefined;
}

function arraySatisfied(desired: unknown[], live: unknown[]): boolean {
  const keyed = desired.every((d) => keyOf(d) !== undefined);
  if (keyed) {
    return desired.every((d) => {
      const match = live.find((l) => keyOf(l) === keyOf(d));
      return match !== undefined && satisfies(d, match);
    });
  }
  return desired.length === live.length && desired.every((d, i) => satisfies(d, live[i]));
}

/**
 * The API server stores quantities in canonical form ("1000m" becomes "1", "1024Mi" "1Gi"), so
 * two different strings can be the same quantity.
 */
function sameQuantity(desired: string, live: string): boolean {
  const a = parseQuantity(desired);
  const b = parseQuantity(live);
  return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-9;
}

/** True when `live` already holds every field of `desired` with an equal value. */
export function satisfies(desired: unknown, live: unknown): boolean {
  // The server omits empty maps and lists (`matchLabels: {}`, `args: []`): absent is the same value.
  if (live === undefined && isEmpty(desired)) return true;
  if (Array.isArray(desired)) return Array.isArray(live) && arraySatisfied(desired, live);
  if (isRecord(desired)) {
    if (!isRecord(live)) return false;
    return Object.entries(desired).every(([key, value]) => satisfies(value, live[key]));
  }
  // Numbers the API server keeps as strings (and the reverse) compare by value.
  if (typeof desired === 'number' && typeof live === 'string') return String(desired) === live;
  if (typeof desired === 'string' && typeof live === 'string' && desired !== live) return sameQuantity(desired, live);
  return desired === live;
}

