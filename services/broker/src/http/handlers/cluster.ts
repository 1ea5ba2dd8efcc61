// GET /v1/cluster (the view is core/cluster.ts), the cluster's ACLs (/v1/acls) and the operational routes.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../../context.js';
import { checkCluster, describeCluster } from '../../core/cluster.js';
import { listEvents } from '../../core/events.js';
import { eventQueryOf } from '../../events/event-log.js';
import { aclHandlers } from './acls.js';
import type { Handler } from '../router.js';

export function clusterHandlers(
  ctx: BrokerContext,
  openapi: () => unknown,
): Record<'describeCluster' | 'listEvents' | 'openapi' | 'metrics' | 'healthz' | 'readyz' | 'createAcls' | 'listAcls' | 'deleteAcls', Handler> {
  return {
    // The cluster's ACLs (Kafka's cluster-level administration).
    ...aclHandlers(ctx),
    describeCluster: ({ origin }) => ({ status: 200, json: describeCluster(ctx, origin) satisfies ReplyBody<'describeCluster'> }),
    listEvents: async ({ query, origin, signal }) => ({ status: 200, json: (await listEvents(ctx, origin, eventQueryOf(query), signal)) satisfies ReplyBody<'listEvents'> }),
    openapi: () => ({ status: 200, json: openapi() }),
    metrics: async ({ origin }) => {
      if (!ctx.config.auth.metricsPublic) checkCluster(ctx, origin, 'describe');
      return { status: 200, body: await ctx.metrics.registry.metrics(), contentType: ctx.metrics.registry.contentType };
    },
    healthz: () => ({ status: 200, json: { status: 'ok' } satisfies ReplyBody<'healthz'> }),
    readyz: () => {
      const state = ctx.state();
      if (state !== 'ready') return { status: 503, json: { status: state } satisfies ReplyBody<'readyz'> };
      // A full disk is not ready: a load balancer sends producers elsewhere (reads still work here).
      const diskFull = ctx.disk.reason();
      if (diskFull !== null) return { status: 503, json: { status: 'read-only', reason: diskFull, freeBytes: ctx.disk.freeBytes } satisfies ReplyBody<'readyz'> };
      return { status: 200, json: { status: state } satisfies ReplyBody<'readyz'> };
    },
  };
}
