/**
 * The images hack/images/build.ts builds for the real nodes, by the names they are imported
 * under, and the operator's image catalog pointed at them: the real nodes reach no registry.
 * Side-effect free, unlike build.ts, so `npm start` and the tests import it.
 */
import type { ImageKey } from '../../operator/api/images.js';

export const LOCAL_REGISTRY = 'webstack.local';

/** `name:tag` as imported into every real node. */
export const localImage = (nameAndTag: string): string => `${LOCAL_REGISTRY}/${nameAndTag}`;

/** The operator's images on the real nodes: MySQL 9.7 and MariaDB 10.11/11.8, Debian's Nginx and HAProxy. */
export const LOCAL_IMAGE_CATALOG: Readonly<Partial<Record<ImageKey, string>>> = {
  haproxy: localImage('haproxy:2.6'),
  nginx: localImage('nginx:1.22'),
  nginxExporter: localImage('nginx-exporter:0.11.0'),
  mysqldExporter: localImage('mysqld-exporter:0.14.0'),
  mysql97: localImage('mysql:9.7'),
  mariadb1011: localImage('mariadb:10.11'),
  mariadb118: localImage('mariadb:11.8'),
  logAgent: localImage('otelcol:0.165.0'),
};
