// The cluster as a client sees it, without HTTP: this broker, the controller, and every broker with
// the partitions it leads. A single node answers as a cluster of one that leads every partition.

import type { ReplyBody } from '@strata/api';
import { CLUSTER_RESOURCE_NAME } from '@strata/protocol';
import type { BrokerContext } from '../context.js';
import type { RequestOrigin } from './leader-client.js';

export type ClusterView = ReplyBody<'describeCluster'>;

/** CLUSTER_AUTHORIZATION_FAILED unless the principal may describe the cluster. */
export function describeCluster(ctx: BrokerContext, origin: RequestOrigin): ClusterView {
  checkCluster(ctx, origin, 'describe');
  const { node } = ctx.cluster;
  const brokers = node.brokers();
  // The mode a client reads falls out of the live set: a cluster of one is a single node.
  const mode = brokers.filter((b) => b.live).length > 1 ? 'cluster' : 'single-node';
  return { clusterId: ctx.clusterId, mode, self: ctx.config.brokerId, controller: node.controller, brokers };
}

/** CLUSTER_AUTHORIZATION_FAILED unless the principal may do `operation` on the cluster (describe, describe-configs, alter). */
export function checkCluster(ctx: BrokerContext, origin: RequestOrigin, operation: 'describe' | 'describe-configs' | 'alter'): void {
  ctx.authorizer.check(origin, operation, { type: 'cluster', name: CLUSTER_RESOURCE_NAME });
}
