/**
 * List and watch of one resource collection (in one namespace or across all), as raw JSON: the
 * informer's view of the API. Both calls take the label selector; client-node's ListWatch only
 * applies it to the watch, so its initial list would load (and its cache keep) every object.
 */
import type { KubeClient, WatchEvent } from './client.js';
import { resourcePath, type GroupVersion, type KubeObject } from './types.js';

export interface ListOptions {
  labelSelector?: string | undefined;
  limit?: number | undefined;
  continue?: string | undefined;
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  /** Token for the next page, when there is one. */
  continue?: string | undefined;
}

export interface WatchOptions {
  resourceVersion: string;
  labelSelector?: string | undefined;
  /** The server ends the watch after this long; the caller then resumes from its last resourceVersion. */
  timeoutSeconds: number;
}

export interface ListWatchSource<T extends KubeObject = KubeObject> {
  list(options: ListOptions): Promise<ListPage<T>>;
  /** Resolves when the server ends the watch cleanly; rejects on errors and on abort. */
  watch(options: WatchOptions, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export interface CollectionRef extends GroupVersion {
  /** Plural resource name, e.g. `configmaps`. */
  plural: string;
  kind: string;
  /** One namespace; all namespaces when undefined (or for cluster-scoped resources). */
  namespace?: string | undefined;
}

interface ListBody {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: Omit<KubeObject, 'apiVersion' | 'kind'>[];
}

export function kubeListWatch<T extends KubeObject>(client: Pick<KubeClient, 'request' | 'watch'>, ref: CollectionRef): ListWatchSource<T> {
  const path = resourcePath(ref, ref.plural, { namespace: ref.namespace });
  const apiVersion = ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
  return {
    async list(options) {
      const body = (await client.request({
        method: 'GET',
        path,
        query: { labelSelector: options.labelSelector, limit: options.limit, continue: options.continue },
      })) as ListBody;
      // Items of a list response carry no apiVersion/kind; restore them so cached objects look
      // the same whether they came from the list or from a watch event.
      const items = (body.items ?? []).map((item) => ({ apiVersion, kind: ref.kind, ...item }) as T);
      const next = body.metadata?.continue;
      return { items, resourceVersion: body.metadata?.resourceVersion ?? '', continue: next === '' ? undefined : next };
    },
    watch(options, onEvent, signal) {
      return client.watch(
        path,
        {
          resourceVersion: options.resourceVersion,
          labelSelector: options.labelSelector,
          timeoutSeconds: options.timeoutSeconds,
          // Bookmarks keep our resourceVersion fresh on quiet collections, so a resumed watch is
          // less likely to hit 410 Gone and force a full re-list.
          allowWatchBookmarks: true,
        },
        onEvent,
        signal,
      );
    },
  };
}
