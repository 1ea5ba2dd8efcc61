// The cluster as a client sees it, without HTTP: this broker, the controller, and every broker with
// the partitions it leads. A single node answers as a cluster of one that leads every partition.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../context.js';

export type ClusterView = ReplyBody<'describeCluster'>;

export function describeCluster(ctx: BrokerContext): ClusterView {
  const { node } = ctx.cluster;
  const brokers = node.brokers();
  // The mode a client reads falls out of the live set: a cluster of one is a single node.
  const mode = brokers.filter((b) => b.live).length > 1 ? 'cluster' : 'single-node';
  return { clusterId: ctx.clusterId, mode, self: ctx.config.brokerId, controller: node.controller, brokers };
}
