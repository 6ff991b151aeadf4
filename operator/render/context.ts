/**
 * What every tier renderer shares: the defaulted stack, the facts the controller learned from the
 * cluster, the stack's names, and one construct scope per apply phase.
 *
 * Construct level: built-in kinds use the L1 `Kube*` classes of cdk8s-plus-27 (`k8s.*`). They are
 * typed against the Kubernetes 1.27 OpenAPI (so a misspelt field fails to compile), take real
 * Quantity / IntOrString values, and emit exactly what we write. The L2 cdk8s-plus constructs were
 * rejected because they inject what we must control (1 CPU/512Mi requests, imagePullPolicy Always,
 * startup probes, replicas 2, a hash label in immutable selectors, an extra headless Service) and
 * lack PodDisruptionBudgets, topology spread, seccomp and volumeClaimTemplates. CRDs (cert-manager,
 * prometheus-operator) have no generated classes here, so they are plain `ApiObject`s with small
 * local interfaces.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { DefaultedSpec, DefaultedWebStack } from '../api/defaults.js';
import { DEFAULT_IMAGES, type ImageCatalog } from '../api/images.js';
import type { Peer } from '../api/types.js';
import { serviceHost, stackNamespace } from '../blueprint/layout.js';
import { stackImages, type StackImages } from './images.js';
import { commonLabels, names, type Component } from '../blueprint/names.js';
import { stackPlan, type StackPlan } from '../blueprint/plan.js';

/** What the controller learned from the cluster; render reads nothing else. */
export interface RenderFacts {
  /** cert-manager CRDs are installed; without them no TLS objects are rendered (the controller reports TLSReady=False). */
  certManager: boolean;
  /** prometheus-operator CRDs are installed; without them no ServiceMonitor/PodMonitor/PrometheusRule is rendered. */
  prometheusOperator: boolean;
  /** Namespace of the per-stack log agents (needs hostPath, so not the stack's namespace). Default DEFAULT_AGENT_NAMESPACE. */
  agentNamespace?: string;
  /** The operator's image catalog (its flags, environment or chart values). Default DEFAULT_IMAGES. */
  images?: ImageCatalog;
  /**
   * Secret name -> resourceVersion (or a hash of its data). Render cannot read Secrets, yet pods must
   * roll when a mounted certificate rotates, so the controller passes what it sees and the pod
   * templates' config hash covers it. Absent entries hash as "unknown".
   */
  secretVersions?: Readonly<Record<string, string>>;
  /** The operator as a peer: the database firewall admits its connections to port 3306 (the database controller). */
  operatorPeer?: Peer;
  /** Immutable fields of objects that already exist, kept as they are so server-side apply is not refused. */
  existing?: ExistingState;
  /**
   * The operator's database loop runs (default true) and rolls the MySQL pods itself, in role
   * order (OnDelete); without it the StatefulSet rolls them (RollingUpdate).
   */
  databaseController?: boolean;
}

export interface ExistingState {
  /**
   * volumeClaimTemplates of a StatefulSet cannot change. When the MySQL StatefulSet exists, the
   * controller passes its claim template here and render keeps it, even if spec.database.storage
   * changed (resizing is the controller's job, on the PVCs themselves).
   */
  mysqlStorage?: { size: string; storageClassName?: string };
  /** podManagementPolicy of the StatefulSet, immutable too (stacks created before 0.x used OrderedReady). */
  mysqlPodManagementPolicy?: 'OrderedReady' | 'Parallel';
}

/** A rendered object: plain JSON, ready for server-side apply. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/**
 * Render's phases, in output order. Each is a construct scope: cdk8s synthesizes a chart's objects
 * in pre-order of the construct tree, so objects come out phase by phase, and in creation order
 * within a phase, with no sorting step: a deterministic order for `webstack render` and the plan.
 * Apply keeps only one precedence of it, the policies first (reconcile/apply.ts, ADR 0014).
 */
export const PHASES = [
  'firewall',
  'tls',
  'config',
  'services',
  'statefulsets',
  'deployments',
  'daemonsets',
  'disruption',
  'monitoring',
] as const;
export type Phase = (typeof PHASES)[number];

export interface RenderContext {
  readonly stack: DefaultedWebStack;
  readonly spec: DefaultedSpec;
  readonly facts: RenderFacts;
  /** metadata.name of the WebStack. */
  readonly name: string;
  readonly namespace: string;
  readonly names: ReturnType<typeof names>;
  /** The stack's decisions every renderer shares (TLS per hop, ports), computed once. */
  readonly plan: StackPlan;
  /** The image of each container: the stack's field, else the catalog in facts.images. */
  readonly images: StackImages;
  /** The scope objects of a phase are created in. */
  scope(phase: Phase): Construct;
  /** Renders everything created so far. */
  synth(): KubeObject[];
}

export function newContext(stack: DefaultedWebStack, facts: RenderFacts): RenderContext {
  const name = stack.metadata.name;
  const namespace = stackNamespace(stack);
  const chart = new Chart(new App(), name, { namespace });
  // Created in PHASES order, which is what makes the output come out in that order.
  const scopes = Object.fromEntries(PHASES.map((phase) => [phase, new Construct(chart, phase)])) as Record<Phase, Construct>;
  return {
    stack,
    spec: stack.spec,
    facts,
    name,
    namespace,
    names: names(name),
    plan: stackPlan(stack),
    images: stackImages(stack.spec, facts.images ?? DEFAULT_IMAGES),
    scope: (phase) => scopes[phase],
    // toJson() is typed any[] by cdk8s; every element is an ApiObject's JSON, which KubeObject describes.
    synth: () => chart.toJson() as KubeObject[],
  };
}

/** Construct ids must be unique per scope; kinds can share a name (Issuer and Certificate `<stack>-ca`). */
export function id(kind: string, name: string): string {
  return `${kind}.${name}`;
}

/** metadata of a stack object in the stack's namespace (the chart supplies the namespace). */
export function meta(
  ctx: RenderContext,
  name: string,
  component: Component,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) {
  return {
    name,
    // Ours last: user labels (spec.monitoring.labels) must not change what the controller selects on.
    labels: { ...extra.labels, ...commonLabels(ctx.name, component) },
    ...(extra.annotations && Object.keys(extra.annotations).length > 0 ? { annotations: extra.annotations } : {}),
  };
}

/** A custom resource (no generated class): apiVersion/kind plus the given body. */
export function customResource(
  ctx: RenderContext,
  phase: Phase,
  gvk: { apiVersion: string; kind: string },
  metadata: KubeObject['metadata'],
  body: Record<string, unknown>,
): ApiObject {
  return new ApiObject(ctx.scope(phase), id(gvk.kind, `${metadata.namespace ?? ''}/${metadata.name}`), { ...gvk, metadata, ...body });
}

/** The service's in-cluster DNS names, short to fully qualified (certificate SANs). */
export function serviceDnsNames(ctx: RenderContext, service: string): string[] {
  const ns = ctx.namespace;
  // The configs dial and verify the fully qualified name (layout.serviceHost); the short forms serve other clients.
  return [service, `${service}.${ns}`, `${service}.${ns}.svc`, serviceHost(service, ns)];
}
