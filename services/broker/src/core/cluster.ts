// The cluster as a client sees it, without HTTP: this broker, the controller, and every broker with
// the partitions it leads. A single node answers as a cluster of one that leads every partition.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../context.js';

export type ClusterView = ReplyBody<'describeCluster'>;

export function describeCluster(ctx: BrokerContext): ClusterView {
  const cluster = ctx.cluster;
  if (cluster !== null) {
    return { clusterId: ctx.clusterId, mode: 'cluster', self: ctx.config.brokerId, controller: cluster.node.controller, brokers: cluster.node.brokers() };
  }
  return {
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
  };
}
