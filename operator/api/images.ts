/**
 * The image catalog: every container image the operator deploys, in one place. The operator's
 * configuration (runtime/config.ts: flags, environment, the chart's `images` values) may replace
 * any entry or move them all to a mirror, and render receives the result as a fact
 * (RenderFacts.images), so an air-gapped or local cluster can run a stack without any image
 * from the internet. The per-stack fields (spec.loadBalancer.image, spec.web.image,
 * spec.database.image, spec.app.image) still win over the catalog for their own stack.
 */

/** One key per image; the MySQL image depends on spec.database.version, so each version has its own. */
export const IMAGE_KEYS = ['haproxy', 'nginx', 'nginxExporter', 'mysql80', 'mysql84', 'mysql97', 'mariadb1011', 'mariadb114', 'mariadb118', 'mysqldExporter', 'logAgent'] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];
export type ImageCatalog = Readonly<Record<ImageKey, string>>;

/** Today's defaults, all from Docker Hub. */
export const DEFAULT_IMAGES: ImageCatalog = {
  haproxy: 'haproxy:3.2-alpine',
  nginx: 'nginxinc/nginx-unprivileged:1.29-alpine',
  nginxExporter: 'nginx/nginx-prometheus-exporter:1.4.2',
  mysql80: 'mysql:8.0',
  mysql84: 'mysql:8.4',
  mysql97: 'mysql:9.7',
  mariadb1011: 'mariadb:10.11',
  mariadb114: 'mariadb:11.4',
  mariadb118: 'mariadb:11.8',
  mysqldExporter: 'prom/mysqld-exporter:v0.17.2',
  logAgent: 'otel/opentelemetry-collector-contrib:0.165.0',
};

/** What each entry is for (flag help, docs). */
export const IMAGE_PURPOSE: Readonly<Record<ImageKey, string>> = {
  haproxy: 'HAProxy, the load balancer (spec.loadBalancer.image wins)',
  nginx: 'Nginx, the web tier; must run as non-root (spec.web.image wins)',
  nginxExporter: 'the Nginx Prometheus exporter sidecar',
  mysql80: 'MySQL for spec.database.version 8.0, also its init container (spec.database.image wins)',
  mysql84: 'MySQL for spec.database.version 8.4, also its init container (spec.database.image wins)',
  mysql97: 'MySQL for spec.database.version 9.7, also its init container (spec.database.image wins)',
  mariadb1011: 'MariaDB for spec.database.engine mariadb, version 10.11, also its init container (spec.database.image wins)',
  mariadb114: 'MariaDB for spec.database.engine mariadb, version 11.4, also its init container (spec.database.image wins)',
  mariadb118: 'MariaDB for spec.database.engine mariadb, version 11.8, also its init container (spec.database.image wins)',
  mysqldExporter: 'the mysqld_exporter sidecar',
  logAgent: 'the log agent, an OpenTelemetry Collector (contrib) DaemonSet',
};

/** The versions spec.database.version accepts, by engine. */
export const MYSQL_VERSIONS: readonly string[] = ['8.0', '8.4', '9.7'];
export const MARIADB_VERSIONS: readonly string[] = ['10.11', '11.4', '11.8'];
/** The versions this project's tests run against real servers (the others share their statements). */
export const VERSIONS_RUN_HERE: readonly string[] = ['MySQL 9.7', 'MariaDB 10.11', 'MariaDB 11.8'];

const DATABASE_IMAGE_KEYS: Readonly<Record<string, ImageKey>> = { '8.0': 'mysql80', '8.4': 'mysql84', '9.7': 'mysql97', '10.11': 'mariadb1011', '11.4': 'mariadb114', '11.8': 'mariadb118' };

/** The catalog entry of the database image for a version (each version belongs to one engine: the CRD enforces it). */
export function mysqlImageKey(version: string): ImageKey {
  return DATABASE_IMAGE_KEYS[version] ?? 'mysql97';
}

/**
 * A loose check of an image reference: `[registry[:port]/]path[:tag][@digest]`, lower-case path,
 * no spaces. Enough to refuse typos and stray quotes (at start-up for the catalog, at admission for a
 * stack's images: Kubernetes admits any image without surrounding spaces, and one the runtime cannot
 * parse only shows as a pod that never starts); the registry has the last word.
 */
export const IMAGE_REFERENCE_PATTERN = '^([a-z0-9.-]+(:\\d+)?\\/)?[a-z0-9]+([._-]+[a-z0-9]+)*(\\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\\w][\\w.-]{0,127})?(@[a-z0-9]+:[a-f0-9]{32,})?$';
const REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

export function isImageReference(text: string): boolean {
  return text.length <= 512 && REFERENCE.test(text);
}

/** A registry host with an optional port and path, e.g. `mirror.local:5000` or `harbor.corp/dockerhub`. */
const REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/;

export function isRegistry(text: string): boolean {
  return text.length <= 255 && REGISTRY.test(text);
}

/**
 * Moves an image to another registry, keeping its repository path as Docker Hub names it:
 * `haproxy:3.2-alpine` -> `mirror.local/library/haproxy:3.2-alpine`,
 * `quay.io/org/x:1` -> `mirror.local/org/x:1`. The first path component is a registry when it has
 * a dot or a port or is `localhost` (the rule docker and containerd use).
 */
export function inRegistry(image: string, registry: string): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const path = hasRegistry ? image.slice(slash + 1) : slash < 0 ? `library/${image}` : image;
  return `${registry.replace(/\/+$/, '')}/${path}`;
}

/**
 * The operator's catalog: each default moved to `registry` when one is given, then the explicit
 * per-image overrides, which are taken as written (they name their own registry).
 */
export function imageCatalog(overrides: Partial<Record<ImageKey, string>> = {}, registry?: string): ImageCatalog {
  const entries = IMAGE_KEYS.map((key) => {
    const fallback = registry ? inRegistry(DEFAULT_IMAGES[key], registry) : DEFAULT_IMAGES[key];
    return [key, overrides[key] ?? fallback] as const;
  });
  return Object.fromEntries(entries) as Record<ImageKey, string>;
}
