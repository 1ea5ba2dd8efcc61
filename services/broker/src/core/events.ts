// The cluster's events without HTTP (GET /v1/events): authorized like the cluster's description
// (describe on the cluster), then this broker's events merged with every other live broker's.

import type { EventList } from '@strata/api';
import type { BrokerContext } from '../context.js';
import type { EventQuery } from '../events/event-log.js';
import { checkCluster } from './cluster.js';
import type { RequestOrigin } from './leader-client.js';

/** CLUSTER_AUTHORIZATION_FAILED unless the principal may describe the cluster. */
export async function listEvents(ctx: BrokerContext, origin: RequestOrigin, q: EventQuery, signal: AbortSignal): Promise<EventList> {
  checkCluster(ctx, origin, 'describe');
  const { events, brokers } = await ctx.cluster.node.clusterEvents(q, signal);
  // With nothing new, the same `since` again: the next answer starts where this one would have.
  const next = events.length > 0 ? events[events.length - 1]!.atMs : (q.since ?? 0);
  return { events, brokers, next };
}
