/**
 * The generated part of BENCHMARKS.md: the machine, then one table per benchmark with its target.
 */
import type { ConvergenceResult, DriftResult } from './convergence.js';
import type { DataplaneResult } from './dataplane.js';
import type { Machine } from './lib.js';
import type { ScaleResult } from './scale.js';

export interface RenderResult {
  runs: number;
  stacks: Record<string, { objects: number; medianMs: number; p95Ms: number }>;
}

export interface Results {
  machine?: Machine;
  /** Section -> when it was last measured. */
  updated?: Record<string, string>;
  render?: RenderResult;
  convergence?: ConvergenceResult;
  drift?: DriftResult;
  scale?: ScaleResult[];
  dataplane?: DataplaneResult;
  /** Scale runs of other builds (--operator-entry), by --label. */
  scaleVariants?: Record<string, ScaleResult[]>;
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const table = (header: string[], rows: (string | number)[][]) => [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const seconds = (s: number | null, cap: number) => (s === null ? `not within the ${cap / 60} min cap` : `${s} s`);
const when = (r: Results, section: string) => (r.updated?.[section] ? ` (measured ${r.updated[section].slice(0, 16).replace('T', ' ')} UTC)` : '');

function scaleTable(runs: ScaleResult[]): string[] {
  return [
    table(
      ['stacks', 'all reconciled', 'all Ready', 'Ready at end', 'requests / stack', 'writes / stack', 'peak RSS', 'CPU (after startup)', 'idle writes', 'targets'],
      runs.map((s) => [
        s.stacks,
        seconds(s.allReconciledSeconds, s.capSeconds),
        seconds(s.allReadySeconds, s.capSeconds),
        `${s.readyAtEnd}/${s.stacks}`,
        s.requestsPerStack,
        s.writesPerStack,
        `${s.peakRssMiB} MiB (startup ${s.startupRssMiB})`,
        `${s.cpuSeconds} s (startup ${s.startupCpuSeconds} s)`,
        s.idle
          ? `${s.idle.writes} in ${s.idle.seconds} s` + (s.allConvergedSeconds !== undefined ? ` (from ${s.allConvergedSeconds === null ? 'the 5 min cap' : `${s.allConvergedSeconds} s`}: all converged, queue empty)` : '')
          : '-',
        [s.stacks >= 300 ? `RSS <= 300 MB: ${verdict(s.peakRssMiB * 1.048576 <= 300)}` : '', s.idle ? `0 idle writes: ${verdict(s.idle.writes === 0)}` : '']
          .filter(Boolean)
          .join('; '),
      ]),
    ),
    '',
    ...runs.map(
      (s) =>
        `- ${s.stacks} stacks: node flags \`${s.nodeArgs?.length ? s.nodeArgs.join(' ') : 'none'}\`; longest event-loop stall ${s.maxEventLoopLagMs ?? '?'} ms; requests per stack by verb ${JSON.stringify(s.requestsPerStackByVerb)}; reconciles ${JSON.stringify(s.reconciles)}` +
        (Object.keys(s.notReadyBy).length > 0 ? `; not Ready at the end: ${JSON.stringify(s.notReadyBy)}` : '') +
        (s.idle && s.idle.writes > 0 ? `; idle writes: ${JSON.stringify(s.idle.writesBy)}` : ''),
    ),
    '',
  ];
}

export function renderMarkdown(r: Results): string {
  const out: string[] = [];
  if (r.machine) {
    const m = r.machine;
    out.push(
      '## Machine',
      '',
      `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB memory, Node.js ${m.node}; Kubernetes ${m.kubernetes}, etcd ${m.etcd}, KWOK ${m.kwok} ` +
        `(hack/versions.env), all on the same machine as the operator. Load average at the last run: ${m.loadAverage}.`,
      '',
    );
  }
  if (r.convergence) {
    const c = r.convergence;
    out.push(
      `## Convergence of one full WebStack vs kubectl${when(r, 'convergence')}`,
      '',
      `manifests/examples/full.yaml (${c.objects} objects), ${c.trials} trials each, taking turns (the order rotates each round), fresh namespace per trial; operator in-process, started before the trials; the warm client is this process applying the same objects all at once, timed by the same watch.`,
      '',
      table(
        ['', 'median', 'min', 'max', 'target'],
        [
          ['operator: create -> all objects exist', `${c.medianOperatorMs} ms`, `${Math.min(...c.operatorMs)} ms`, `${Math.max(...c.operatorMs)} ms`, ''],
          ['kubectl apply --server-side (wall time)', `${c.medianKubectlMs} ms`, `${Math.min(...c.kubectlMs)} ms`, `${Math.max(...c.kubectlMs)} ms`, ''],
          ['ratio operator / kubectl', `${c.ratio}x`, '', '', `<= 1.2x: ${verdict(c.ratio <= 1.2)}`],
          ...(c.warmClientMs === undefined
            ? []
            : [
                ['warm client: concurrent server-side apply, same watch', `${c.medianWarmClientMs} ms`, `${Math.min(...c.warmClientMs)} ms`, `${Math.max(...c.warmClientMs)} ms`, ''],
                ['ratio operator / warm client (the API server\'s pace)', `${c.warmClientRatio ?? ''}x`, '', '', `<= 1.1x: ${verdict((c.warmClientRatio ?? Infinity) <= 1.1)}`],
              ]),
        ],
      ),
      '',
      `Operator requests per trial (median; create until 5 s after all objects exist): ${Object.entries(c.operatorRequests)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
      '',
    );
  }
  if (r.drift) {
    const d = r.drift;
    out.push(
      `## Drift repair${when(r, 'convergence')}`,
      '',
      `A child of a converged full stack is deleted; time until it exists again. ${d.trials} trials, alternating the web Service and the web ConfigMap.`,
      '',
      table(
        ['child', 'trials', 'p50', 'p99'],
        [
          ...Object.entries(d.byTarget).map(([k, v]) => [k, v.trials, `${v.p50Ms} ms`, `${v.p99Ms} ms`]),
          ['all', d.trials, `${d.p50Ms} ms`, `${d.p99Ms} ms`],
        ],
      ),
      '',
    );
  }
  if (r.scale && r.scale.length > 0) {
    out.push(
      `## Scale${when(r, 'scale')}`,
      '',
      'manifests/examples/minimal.yaml with unique names, all created at once (8 parallel creates) over a few namespaces; the operator as a child process ' +
        '(compiled JavaScript, default concurrency, the Node.js flags of the Helm chart). "Reconciled" = every stack has status.observedGeneration (all its children applied); ' +
        '"Ready" = Ready=True for its generation (pods Ready on KWOK, certificates issued and volumes bound by hack/fake-cloud.ts).',
      '',
      ...scaleTable(r.scale),
    );
  }
  for (const [label, runs] of Object.entries(r.scaleVariants ?? {})) {
    out.push(`### Scale, ${label}`, '', ...scaleTable(runs));
  }
  if (r.dataplane) {
    const d = r.dataplane;
    out.push(
      `## Data plane: the whole stack vs straight to the app pod${when(r, 'dataplane')}`,
      '',
      `A reencrypt WebStack on 3 real nodes (local images, MariaDB, certificates from the real cert-manager), \`GET /\` (the app writes and reads a row) by ` +
        `hack/images/loadgen from a pod of the cluster: ${d.concurrency} workers on kept-alive connections, ${d.rounds} rounds of ${d.secondsPerRound} s per path, alternating; medians of the rounds. ` +
        'Whole stack: the LB Service, the public certificate verified, HAProxy -> Nginx -> the app TLS proxy -> the app. Straight: the app pod\'s TLS port with the web tier\'s client certificate.',
      '',
      table(
        ['path', 'requests/s', 'p50', 'p99', 'errors'],
        [
          ['whole stack', d.stack.medianRps, `${d.stack.medianP50Ms} ms`, `${d.stack.medianP99Ms} ms`, d.stack.rounds.reduce((n, x) => n + x.errors, 0)],
          ['straight to the app pod', d.app.medianRps, `${d.app.medianP50Ms} ms`, `${d.app.medianP99Ms} ms`, d.app.rounds.reduce((n, x) => n + x.errors, 0)],
          ['ratio stack / app', `${d.ratio.rps}x`, `${d.ratio.p50}x`, `${d.ratio.p99}x`, ''],
        ],
      ),
      '',
    );
  }
  if (r.render) {
    out.push(
      `## Render${when(r, 'render')}`,
      '',
      `render() of the examples, ${r.render.runs} runs after warm-up (test/bench/render.bench.ts).`,
      '',
      table(
        ['stack', 'objects', 'median', 'p95'],
        Object.entries(r.render.stacks).map(([k, v]) => [k, v.objects, `${v.medianMs} ms`, `${v.p95Ms} ms`]),
      ),
      '',
    );
  }
  return out.join('\n').trimEnd();
}
