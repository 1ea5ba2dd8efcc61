// GET /v1/cluster and the operational routes.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../../context.js';
import type { Handler, Reply } from '../router.js';

export function clusterHandlers(
  ctx: BrokerContext,
  openapi: () => unknown,
): Record<'describeCluster' | 'openapi' | 'metrics' | 'healthz' | 'readyz', Handler> {
  const describeCluster = (): Reply => {
    const cluster = ctx.cluster;
    if (cluster !== null) {
      return {
        status: 200,
        json: {
          clusterId: ctx.clusterId,
          mode: 'cluster',
          self: ctx.config.brokerId,
          controller: cluster.node.controller,
          brokers: cluster.node.brokers(),
        } satisfies ReplyBody<'describeCluster'>,
      };
    }
    return {
      status: 200,
      json: {
        clusterId: ctx.clusterId,
        mode: 'single-node',
        self: ctx.config.brokerId,
        controller: ctx.config.brokerId,
        brokers: [
          {
            id: ctx.config.brokerId,
            url: ctx.url(),
            live: true,
            self: true,
            // Single node: this broker leads every partition.
            leaderOf: ctx.registry.list().map((t) => ({ topic: t.name, partitions: t.partitions.map((h) => h.partition) })),
          },
        ],
      } satisfies ReplyBody<'describeCluster'>,
    };
  };
  return {
    describeCluster,
    openapi: () => ({ status: 200, json: openapi() }),
    metrics: async () => ({ status: 200, body: await ctx.metrics.registry.metrics(), contentType: ctx.metrics.registry.contentType }),
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
