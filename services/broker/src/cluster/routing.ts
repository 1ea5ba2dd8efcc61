// Where a partition's reads and writes go: this broker (its leader object for
// the partition) or the leader elsewhere. The core asks; the cluster node answers
// from its leases (a single node is a cluster of one: it leads what it holds).

import { StrataError } from '@strata/protocol';
import type { PartitionHandle } from '../topics/topic-registry.js';
import type { PartitionLeader } from '../partition/partition-leader.js';

export type PartitionRoute =
  /** This broker leads the partition: its leader object (epoch, lease, append protocol) for the current reign. */
  | { kind: 'local'; leader: PartitionLeader }
  /** Another broker leads it. */
  | { kind: 'remote'; leaderId: string; url: string }
  /** No broker can take it now (no leader yet, or a hand-over in progress): retriable. */
  | { kind: 'unavailable'; reason: string };

export interface PartitionRouter {
  /** Where the partition's reads and writes go; a local route carries the leader a produce appends through. */
  route(handle: PartitionHandle): PartitionRoute;
  /** A forward to the leader failed to connect: look again before the next one. */
  leaderUnreachable(handle: PartitionHandle, leaderId: string): void;
  /** Consumers read below this (docs/architecture.md, invariant 2): min log end over the ISR (the log end when the ISR is this broker alone). */
  highWatermark(handle: PartitionHandle): number;
}

/** The retriable error for a partition this broker cannot serve; smart clients use the details to go direct. */
export function notLeader(handle: PartitionHandle, route: PartitionRoute, why?: string): StrataError {
  const where = `${handle.topic}/${handle.partition}`;
  if (route.kind === 'remote') {
    return new StrataError('NOT_LEADER', `this broker does not lead ${where}; its leader is ${route.leaderId} at ${route.url}${why ? ` (${why})` : ''}`, {
      details: { topic: handle.topic, partition: handle.partition, leader: route.leaderId, leaderUrl: route.url },
    });
  }
  const reason = route.kind === 'unavailable' ? route.reason : (why ?? 'leadership changed');
  return new StrataError('NOT_LEADER', `${where} has no leader that can take this now (${reason}); retry shortly`, {
    details: { topic: handle.topic, partition: handle.partition, leader: null },
  });
}
