/**
 * SQL string literals for the statements that take no placeholders (CHANGE MASTER TO, CLONE
 * INSTANCE, SET GLOBAL): the builders stay pure strings that tests can read, and a password
 * with a quote in it stays a password.
 */
const ESCAPES: Record<string, string> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  "'": "\\'",
  '"': '\\"',
  '\\': '\\\\',
};

export function sqlString(value: string): string {
  const escaped = value
    .replace(/[\b\t\n\r'"\\]/g, (c) => ESCAPES[c] ?? c)
    // NUL and Ctrl-Z apart: a regular expression with control characters is a lint error.
    .replaceAll('\0', '\\0')
    .replaceAll('\x1a', '\\Z');
  return `'${escaped}'`;
}

/** A port or count: refuses anything that is not a non-negative integer, so no text reaches SQL. */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a non-negative integer: ${value}`);
  return String(value);
}
