/**
 * hack/'s settings as TypeScript reads them: the variables of hack/lib.sh (the cache layout, and
 * the pinned versions it sources from versions.env), read by sourcing it in bash. The one way the
 * tests, benchmarks and hack's own TypeScript read them, so a path or a version cannot drift.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib.sh');
const cache = new Map<string, string>();

/** The values of these variables of hack/lib.sh, in one bash run. */
export function hackSettings<K extends string>(names: readonly K[]): Record<K, string> {
  const missing = names.filter((n) => !cache.has(n));
  if (missing.length > 0) {
    const script = `source "${LIB}" && printf '%s\\0' ${missing.map((n) => `"\${${n}-}"`).join(' ')}`;
    const values = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\0');
    missing.forEach((n, i) => cache.set(n, values[i] ?? ''));
  }
  return Object.fromEntries(names.map((n) => [n, cache.get(n) ?? ''])) as Record<K, string>;
}

/** One variable of hack/lib.sh; an unset one is an error naming it. */
export function hackSetting(name: string): string {
  const value = hackSettings([name])[name];
  if (!value) throw new Error(`hack/lib.sh does not set ${name}`);
  return value;
}
