/**
 * Where the time of an `npm ci && npm test` run went, read off a log whose every line starts with
 * the seconds since the run began (hack/test-fresh.sh writes one):
 *
 *   tsx hack/test-timings.ts LOG
 *
 * Prints the phases (npm ci, then each npm script `npm test` runs), setup's steps (their own
 * "setup step NAME done (Ns)" lines, which overlap: they run side by side) and, for the tiers that
 * run one file at a time (integration, e2e), each test file: from the previous file's verdict to
 * its own, which includes the tier's global setup for the first file.
 */
import { readFileSync } from 'node:fs';

interface Line {
  at: number;
  text: string;
}

const file = process.argv[2];
if (!file) throw new Error('usage: tsx hack/test-timings.ts LOG');
const lines: Line[] = readFileSync(file, 'utf8')
  .split('\n')
  .map((l) => /^\s*(\d+) (.*)$/.exec(l))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => ({ at: Number(m[1]), text: m[2] ?? '' }));
const end = lines.at(-1)?.at ?? 0;
const minutes = (s: number) => `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
const row = (name: string, seconds: number) => console.log(`  ${name.padEnd(44)} ${minutes(seconds).padStart(7)}`);

// npm prints "> webstack-operator@0.1.0 SCRIPT" as each script starts; `test` only chains the others.
const starts = lines.flatMap((l) => {
  const script = /^> \S+@\S+ (\S+)$/.exec(l.text)?.[1];
  return script && script !== 'test' ? [{ script, at: l.at }] : [];
});
console.log('phases:');
row('npm ci', starts[0]?.at ?? end);
starts.forEach((s, i) => row(`npm run ${s.script}`, (starts[i + 1]?.at ?? end) - s.at));

console.log('setup steps (side by side):');
for (const l of lines) {
  const step = /setup step (\S+) done \((\d+)s\)/.exec(l.text);
  if (step?.[1] && step[2]) row(step[1], Number(step[2]));
}

for (const tier of ['test:integration', 'test:e2e']) {
  const i = starts.findIndex((s) => s.script === tier);
  const from = starts[i]?.at;
  if (from === undefined) continue;
  const to = starts[i + 1]?.at ?? end;
  console.log(`${tier} files (one after another):`);
  let previous = from;
  for (const l of lines.filter((x) => x.at >= from && x.at <= to)) {
    // Jest names the project ("integration", "e2e") before the file; the unit tier's last lines can share a second.
    const verdict = /^(PASS|FAIL)\s+(\S+)\s+(test\/\S+\.test\.ts)/.exec(l.text);
    if (!verdict?.[3] || `test:${verdict[2] ?? ''}` !== tier) continue;
    row(`${verdict[1] === 'FAIL' ? 'FAIL ' : ''}${verdict[3]}`, l.at - previous);
    previous = l.at;
  }
}
row('total', end);
