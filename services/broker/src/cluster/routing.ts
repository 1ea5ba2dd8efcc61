// Where a partition's reads and writes go: this broker (in which leader epoch)
// or the leader elsewhere. The HTTP handlers ask; a single node answers "here,
// epoch 0" for everything, a cluster node answers from its leases.

import { StrataError } from '@strata/protocol';
import type { PartitionHandle } from '../topics/topic-registry.js';

export type PartitionRoute =
  /** This broker leads the partition in `epoch` and its lease is live. */
  | { kind: 'local'; epoch: number }
  /** Another broker leads it. */
  | { kind: 'remote'; leaderId: string; url: string }
  /** No broker can take it now (no leader yet, or a hand-over in progress): retriable. */
  | { kind: 'unavailable'; reason: string };

export interface PartitionRouter {
  readonly clustered: boolean;
  route(handle: PartitionHandle): PartitionRoute;
  /**
   * After a local append: whether this broker still led in `epoch` with a live lease when the
   * append finished. If not, a newer leader may have started at these offsets: the append must
   * not be acknowledged.
   */
  confirm(handle: PartitionHandle, epoch: number): boolean;
  /** A forward to the leader failed to connect: look again before the next one. */
  leaderUnreachable(handle: PartitionHandle, leaderId: string): void;
  /** Consumers read below this (DESIGN.md §1 invariant 2): the log end on a single node, min log end over the ISR in a cluster. */
  highWatermark(handle: PartitionHandle): number;
  /** acks=all, before appending: NOT_ENOUGH_REPLICAS when the ISR is smaller than `minInsync`. */
  checkInSync(handle: PartitionHandle, epoch: number, minInsync: number): void;
  /** After a local append in `epoch` (followers are woken; a lone leader's HW moves). */
  appended(handle: PartitionHandle, epoch: number): void;
  /** acks=all, after the append: resolves once the HW reaches `endOffset` with the ISR still at least `minInsync`. */
  awaitReplicated(handle: PartitionHandle, epoch: number, endOffset: number, minInsync: number, signal: AbortSignal): Promise<void>;
}

/** A single node leads every partition, in epoch 0, for as long as it runs. */
export const SINGLE_NODE_ROUTER: PartitionRouter = {
  clustered: false,
  route: () => ({ kind: 'local', epoch: 0 }),
  confirm: () => true,
  leaderUnreachable: () => undefined,
  highWatermark: (handle) => handle.log.logEndOffset,
  checkInSync: () => undefined,
  appended: () => undefined,
  awaitReplicated: () => Promise.resolve(),
};

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
