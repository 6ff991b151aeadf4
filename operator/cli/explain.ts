/**
 * What `kubectl webstack status` and `why` print, from a WebStack as the API server returns it and
 * the cert-manager Certificates of the stack. Pure: the plugin (kubectl-webstack.ts) fetches, this
 * formats. Every line comes from status the operator wrote or from a child object; nothing here
 * decides anything the operator did not.
 */
import type { Condition, WebStack } from '../api/types.js';

export interface CertificateLike {
  metadata: { name: string };
  status?: { notAfter?: string; conditions?: { type: string; status: string; message?: string }[] };
}

const CONCERNS = ['TLSReady', 'LoadBalancerReady', 'WebReady', 'AppReady', 'DatabaseReady', 'StorageReady', 'FirewallReady', 'LoggingReady', 'MonitoringReady'] as const;

const mark = (c: Condition | undefined): string => (c === undefined ? '?' : c.status === 'True' ? 'ok' : c.status === 'Unknown' ? '??' : '!!');

function condition(ws: WebStack, type: string): Condition | undefined {
  return ws.status?.conditions?.find((c) => c.type === type);
}

function days(ms: number): string {
  return `${String(Math.floor(ms / 86_400_000))} d`;
}

/** The stack as a tree: summary, one line per concern, the database and the certificates. */
export function statusTree(ws: WebStack, certificates: readonly CertificateLike[], now: Date): string {
  return `${[...summaryLines(ws), '  concerns:', ...CONCERNS.map((t) => concernLine(ws, t)), ...databaseLines(ws), ...certificateLines(certificates, now)].join('\n')}\n`;
}

function summaryLines(ws: WebStack): string[] {
  const s = ws.status ?? {};
  const ready = condition(ws, 'Ready');
  const address = s.loadBalancer?.address ? `  address: ${s.loadBalancer.address}` : '';
  return [
    `WebStack ${ws.metadata.namespace ?? ''}/${ws.metadata.name}: ${s.phase ?? 'no status yet'}${ready ? ` (Ready ${ready.status}: ${ready.reason})` : ''}`,
    `  url: ${s.url ?? `https://${ws.spec.domain}`}${address}`,
    ...(behind(ws) ? [`  (status is for generation ${String(s.observedGeneration)}; the spec is at ${String(ws.metadata.generation)}: the operator has not caught up)`] : []),
  ];
}

/** The status is older than the spec: the operator has not looked at the latest change yet. */
function behind(ws: WebStack): boolean {
  const seen = ws.status?.observedGeneration;
  const generation = ws.metadata.generation;
  return seen !== undefined && generation !== undefined && seen < generation;
}

function concernLine(ws: WebStack, type: string): string {
  const c = condition(ws, type);
  return `    ${mark(c).padEnd(2)} ${type.padEnd(18)} ${c ? `${c.reason}: ${c.message}` : 'not reported'}`;
}

function databaseLines(ws: WebStack): string[] {
  const db = ws.status?.database;
  if (!db) return [];
  const optional = (present: unknown, line: () => string): string[] => (present ? [line()] : []);
  return [
    `  database: ${db.state ?? '?'}, primary ${db.primary ?? 'none'}, ${String(db.replicas?.length ?? 0)} replicas in sync, durability ${ws.spec.database?.durability ?? 'default'}`,
    ...(db.instances ?? []).map((i) => `    ${i.name.padEnd(24)} ${i.role.padEnd(8)} ${i.healthy ? 'healthy' : 'unhealthy'}  ${i.reason}`),
    ...optional(db.acksReleased, () => `    commits without a replica's ack since ${db.acksReleased?.time ?? ''} (GTID ${db.acksReleased?.since ?? ''})`),
    ...optional(db.commitsWaitingForAck, () => `    ${String(db.commitsWaitingForAck)} commits wait for a replica's ack`),
    ...optional(db.seeding, () => `    seeding ${db.seeding?.instance ?? ''} from ${db.seeding?.donor ?? ''} (${db.seeding?.method ?? ''}), deadline ${db.seeding?.deadline ?? ''}`),
    ...(db.excluded ?? []).map((e) => `    excluded ${e.name}: ${e.reason}. Remedy: ${e.remedy}`),
    ...optional(db.lastFailover, () => `    last failover ${db.lastFailover?.time ?? ''}: ${db.lastFailover?.from ?? ''} -> ${db.lastFailover?.to ?? ''}`),
    ...optional(db.lastSwitchover, () => `    last switchover ${db.lastSwitchover?.time ?? ''}: ${db.lastSwitchover?.from ?? ''} -> ${db.lastSwitchover?.to ?? ''}`),
  ];
}

function certificateLines(certificates: readonly CertificateLike[], now: Date): string[] {
  if (certificates.length === 0) return [];
  return [
    '  certificates:',
    ...certificates.map((cert) => {
      const ready = cert.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      const notAfter = cert.status?.notAfter;
      const expiry = notAfter ? `expires ${notAfter} (in ${days(Date.parse(notAfter) - now.getTime())})` : 'not issued yet';
      return `    ${ready ? 'ok' : '!!'} ${cert.metadata.name.padEnd(28)} ${expiry}`;
    }),
  ];
}

/**
 * The one thing that keeps the stack from Ready (or from converging), in a sentence: a stalled
 * concern first (no wait fixes it), then the first serving concern not ready, else the auxiliary
 * ones; what the operator's conditions say, with where to look next.
 */
export function whyNotReady(ws: WebStack): string {
  const name = ws.metadata.name;
  if (!ws.status?.conditions?.length) return `${name} has no status yet: is the operator running and watching namespace ${ws.metadata.namespace ?? ''}?\n`;
  if (behind(ws)) return `${name}: the operator has not yet looked at generation ${String(ws.metadata.generation)} of the spec (status is for ${String(ws.status.observedGeneration)})\n`;
  const stalled = condition(ws, 'Stalled');
  if (stalled?.status === 'True') return `${name} is stalled, waiting will not fix it: ${stalled.message} (reason ${stalled.reason})\n`;
  const ready = condition(ws, 'Ready');
  if (ready?.status !== 'True') return `${name} is not Ready: ${ready?.message ?? 'no Ready condition'} (reason ${ready?.reason ?? '?'})\n`;
  const degraded = CONCERNS.map((t) => condition(ws, t)).find((c) => c !== undefined && c.status !== 'True');
  if (degraded) return `${name} serves, but ${degraded.type} is ${degraded.status}: ${degraded.message} (reason ${degraded.reason})\n`;
  return `${name} is Ready: ${ready.message}\n`;
}
