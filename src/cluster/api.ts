/**
 * Glue between client-node's generated API clients and the reflector: a
 * list call that can be aborted, and a list response read as a page.
 */
import { Observable, type ConfigurationOptions, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import type { ListPage, ObjectMeta } from './reflector.ts';

/** Request options that make a generated API call abort with `signal`. */
export function abortable(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (request: RequestContext) => {
          request.setSignal(signal);
          return new Observable(Promise.resolve(request));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    // Keep the client's own middleware (authentication) and add this one.
    middlewareMergeStrategy: 'append',
  };
}

/** A generated `V1…List` as the reflector's page. */
export function pageOf(list: { items: readonly ObjectMeta[]; metadata?: { resourceVersion?: string; _continue?: string } }): ListPage {
  const page: ListPage = { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  if (list.metadata?._continue) page.continue = list.metadata._continue;
  return page;
}
