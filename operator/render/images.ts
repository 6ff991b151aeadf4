/**
 * The image of every container render writes, resolved once per stack: the stack's own field when
 * it sets one, else the operator's catalog (RenderFacts.images). Renderers take images from here
 * only, so a catalog override reaches every pod.
 */
import type { DefaultedSpec } from '../api/defaults.js';
import { mysqlImageKey, type ImageCatalog } from '../api/images.js';

export interface StackImages {
  haproxy: string;
  nginx: string;
  nginxExporter: string;
  /** The MySQL server and its init container. */
  mysql: string;
  mysqldExporter: string;
  logAgent: string;
}

export function stackImages(spec: DefaultedSpec, catalog: ImageCatalog): StackImages {
  return {
    haproxy: spec.loadBalancer.image ?? catalog.haproxy,
    nginx: spec.web.image ?? catalog.nginx,
    nginxExporter: catalog.nginxExporter,
    mysql: spec.database.image ?? catalog[mysqlImageKey(spec.database.version)],
    mysqldExporter: catalog.mysqldExporter,
    logAgent: catalog.logAgent,
  };
}
