// The in-process engine's partitions: the assignment, the leadership lease (acquire, renew,
// release, hand over) fenced by the leader epoch, and the replication state (ISR, high watermark,
// log start) a leader publishes. The fencing rule is the same as lua/_prelude.lua's (state.ts fence).

import type {
  CallOptions,
  LeadershipRequest,
  LeadershipTransfer,
  LeadershipTransferResult,
  LeaseAcquisition,
  PartitionAssignment,
  PartitionState,
  PartitionStateChange,
  PartitionStateUpdate,
} from '../coordinator.js';
import { coordError } from '../errors.js';
import { LIMITS } from '../validate.js';
import { emptyPartition, historyWithReign, partitionId, trimHistory, type PartitionDoc } from './documents.js';
import type { MemoryState } from './state.js';

export async function setReplicas(s: MemoryState, topic: string, partition: number, assignment: PartitionAssignment, options?: CallOptions): Promise<void> {
  s.args.setReplicas(topic, partition, assignment);
  return s.serialize('setReplicas', options, () =>
    s.changePartition(topic, partition, (doc) => {
      const stored = doc?.controllerEpoch ?? 0;
      if (assignment.controllerEpoch < stored) {
        return { error: coordError('STALE_CONTROLLER_EPOCH', { topic, partition, epoch: assignment.controllerEpoch, currentEpoch: stored }) };
      }
      if (doc !== null && doc.topicId === assignment.topicId) {
        doc.replicas = [...assignment.replicas];
        doc.controllerEpoch = assignment.controllerEpoch;
        return { next: doc, value: undefined };
      }
      // Another topic of the same name left this state: start afresh, keeping the epoch counter.
      const next = emptyPartition(topic, partition);
      next.topicId = assignment.topicId;
      next.replicas = [...assignment.replicas];
      next.controllerEpoch = assignment.controllerEpoch;
      next.leaderEpoch = doc?.leaderEpoch ?? 0;
      return { next, value: undefined };
    }),
  );
}

export async function acquireLeadership(s: MemoryState, topic: string, partition: number, request: LeadershipRequest, options?: CallOptions): Promise<LeaseAcquisition> {
  s.args.acquireLeadership(topic, partition, request);
  return s.serialize('acquireLeadership', options, () =>
    s.changePartition<LeaseAcquisition>(topic, partition, (doc) => {
      const lease = s.liveLease(doc);
      const holder = lease?.holder ?? null;
      const epoch = doc?.leaderEpoch ?? 0;
      if (doc === null || doc.topicId !== request.topicId || doc.replicas[0] !== request.brokerId) {
        return { value: { acquired: false, reason: 'not-assigned', holder, epoch, retryAfterMs: 0 } };
      }
      if (lease !== null && lease.holder !== request.brokerId) {
        return { value: { acquired: false, reason: 'held', holder, epoch, retryAfterMs: lease.expiresAtMs - s.now() } };
      }
      if (request.startOffset < doc.logStartOffset) {
        const details = { topic, partition, what: 'startOffset', offset: request.startOffset, logStartOffset: doc.logStartOffset };
        return { error: coordError('BELOW_LOG_START', details) };
      }
      if (request.clean === true && ((doc.isr.length > 0 && !doc.isr.includes(request.brokerId)) || request.startOffset < doc.highWatermark)) {
        return { value: { acquired: false, reason: 'not-in-isr', holder, epoch, retryAfterMs: 0 } };
      }
      const next = Math.max(epoch, request.knownEpoch) + 1;
      if (next > LIMITS.epochMax) return { error: coordError('EPOCH_EXHAUSTED', { topic, partition }) };
      doc.epochHistory = historyWithReign(doc, { epoch: next, startOffset: request.startOffset, leader: request.brokerId });
      doc.leaderEpoch = next;
      doc.leader = request.brokerId;
      doc.lease = { holder: request.brokerId, expiresAtMs: s.now() + request.ttlMs };
      if (request.clean === true && epoch === 0 && doc.isr.length === 0) doc.isr = [...doc.replicas];
      else if (!doc.isr.includes(request.brokerId)) doc.isr = [request.brokerId];
      return { next: doc, value: { acquired: true, epoch: next } };
    }),
  );
}

export async function renewLeadership(s: MemoryState, topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
  s.args.renewLeadership(topic, partition, brokerId, leaderEpoch, ttlMs);
  const current = s.partitions.get(partitionId(topic, partition)) ?? null;
  const refusal = s.fence(current === null ? null : structuredClone(current), topic, partition, leaderEpoch);
  if (refusal?.next !== undefined) {
    // A forgotten epoch to remember: a durable change, in turn.
    return s.serialize('renewLeadership', options, () =>
      leaseChange(s, topic, partition, leaderEpoch, brokerId, (doc) => {
        doc.lease = { holder: brokerId, expiresAtMs: s.now() + ttlMs };
      }, false),
    );
  }
  // A renewal writes nothing to disk, so it is applied now rather than behind the durable changes
  // queued before it (a topic of thousands of partitions queues thousands of assignments: a leader
  // must not miss its renewal behind them). It overlaps those changes, so either order is a valid
  // one; a durable change being written meanwhile keeps the extension (state.ts changePartition).
  return s.applyNow('renewLeadership', options, () => {
    if (refusal !== null || current === null || s.liveLease(current)?.holder !== brokerId) return false;
    current.lease = { holder: brokerId, expiresAtMs: s.now() + ttlMs };
    return true;
  });
}

export async function releaseLeadership(s: MemoryState, topic: string, partition: number, brokerId: string, leaderEpoch: number, options?: CallOptions): Promise<boolean> {
  s.args.releaseLeadership(topic, partition, brokerId, leaderEpoch);
  return s.serialize('releaseLeadership', options, () =>
    leaseChange(s, topic, partition, leaderEpoch, brokerId, (doc) => {
      doc.lease = null;
    }, true),
  );
}

export async function transferLeadership(s: MemoryState, topic: string, partition: number, request: LeadershipTransfer, options?: CallOptions): Promise<LeadershipTransferResult> {
  s.args.transferLeadership(topic, partition, request);
  return s.serialize('transferLeadership', options, async () => {
    let outcome: LeadershipTransferResult = { transferred: false, reason: 'fenced' };
    const held = await leaseChange(s, topic, partition, request.leaderEpoch, request.brokerId, () => undefined, false);
    if (!held) return outcome;
    await s.changePartition<void>(topic, partition, (doc) => {
      const successor = doc!.replicas[0];
      if (successor === undefined || successor === request.brokerId) {
        outcome = { transferred: false, reason: 'no-successor' };
        return { value: undefined };
      }
      if (request.successor !== undefined && request.successor !== successor) {
        outcome = { transferred: false, reason: 'successor-moved' };
        return { value: undefined };
      }
      if (request.startOffset < doc!.logStartOffset) {
        const details = { topic, partition, what: 'startOffset', offset: request.startOffset, logStartOffset: doc!.logStartOffset };
        return { error: coordError('BELOW_LOG_START', details) };
      }
      const next = doc!.leaderEpoch + 1;
      if (next > LIMITS.epochMax) return { error: coordError('EPOCH_EXHAUSTED', { topic, partition }) };
      doc!.epochHistory = historyWithReign(doc!, { epoch: next, startOffset: request.startOffset, leader: successor });
      doc!.leaderEpoch = next;
      doc!.leader = successor;
      // The ISR is kept (as an acquisition keeps it), the successor added when it came from the
      // bucket: were it only the successor, a successor that never took the lease up (it was
      // stopping) would leave no replica electable once the lease expired.
      if (!doc!.isr.includes(successor)) doc!.isr = [successor, ...doc!.isr];
      doc!.lease = { holder: successor, expiresAtMs: s.now() + request.ttlMs };
      outcome = { transferred: true, epoch: next, successor };
      return { next: doc, value: undefined };
    });
    return outcome;
  });
}

/** Renew and release: false (with a forgotten epoch remembered) unless the caller holds the live lease at this epoch. */
async function leaseChange(s: MemoryState, topic: string, partition: number, epoch: number, brokerId: string, apply: (doc: PartitionDoc) => void, persist: boolean): Promise<boolean> {
  const current = s.partitions.get(partitionId(topic, partition)) ?? null;
  const refusal = s.fence(current === null ? null : structuredClone(current), topic, partition, epoch);
  if (refusal !== null) {
    if (refusal.next !== undefined) await s.changePartition(topic, partition, () => ({ next: refusal.next!, value: undefined }));
    return false;
  }
  if (s.liveLease(current)?.holder !== brokerId) return false;
  return s.changePartition(
    topic,
    partition,
    (doc) => {
      apply(doc!);
      return { next: doc, value: true };
    },
    persist,
  );
}

export async function updatePartitionState(s: MemoryState, topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange, options?: CallOptions): Promise<PartitionStateUpdate> {
  s.args.updatePartitionState(topic, partition, leaderEpoch, change);
  return s.serialize('updatePartitionState', options, () => updatePartition(s, topic, partition, leaderEpoch, change));
}

export function updatePartition(s: MemoryState, topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange): Promise<PartitionStateUpdate> {
  // A high watermark alone is published every cluster tick by each leader: kept in memory, written
  // with the partition's next durable change. A stale one on disk is only lower, and a leader
  // recomputes it from its replicas; an fsync per partition per tick competed with the log's writes.
  const durable = change.isr !== undefined || change.logStartOffset !== undefined;
  return s.changePartition<PartitionStateUpdate>(topic, partition, (doc) => {
    const refusal = s.fence(doc, topic, partition, leaderEpoch);
    if (refusal !== null) return refusal;
    const d = doc!;
    let isr = d.isr;
    if (change.isr !== undefined) {
      const ok = change.isr.includes(d.leader) && change.isr.every((id) => d.replicas.includes(id));
      if (!ok) {
        const details = { topic, partition, isr: change.isr.join(','), replicas: d.replicas.join(','), leader: d.leader };
        return { error: coordError('INVALID_ISR', details) };
      }
      isr = [...change.isr];
    }
    const lso = Math.max(d.logStartOffset, change.logStartOffset ?? 0);
    let hw = d.highWatermark;
    if (change.highWatermark !== undefined) {
      hw = change.highWatermark;
      if (hw < lso) return { error: coordError('BELOW_LOG_START', { topic, partition, what: 'highWatermark', offset: hw, logStartOffset: lso }) };
    }
    hw = Math.max(hw, lso);
    const removed = d.segments.filter((s) => s.lastOffset < lso);
    d.segments = d.segments.filter((s) => s.lastOffset >= lso);
    d.isr = isr;
    d.highWatermark = hw;
    d.logStartOffset = lso;
    d.epochHistory = trimHistory(d.epochHistory, lso);
    return { next: d, value: { isr: [...isr], highWatermark: hw, logStartOffset: lso, removed } };
  }, durable);
}

export async function getPartitionState(s: MemoryState, topic: string, partition: number, options?: CallOptions): Promise<PartitionState | null> {
  s.args.getPartitionState(topic, partition);
  return s.read('getPartitionState', options, () => {
    const doc = s.partitions.get(partitionId(topic, partition));
    if (doc === undefined || doc.topicId === '') return null;
    const lease = s.liveLease(doc);
    return {
      topic,
      partition,
      topicId: doc.topicId,
      replicas: doc.replicas,
      controllerEpoch: doc.controllerEpoch,
      leader: lease?.holder ?? null,
      leaseRemainingMs: lease === null ? 0 : lease.expiresAtMs - s.now(),
      leaderEpoch: doc.leaderEpoch,
      isr: doc.isr,
      highWatermark: doc.highWatermark,
      logStartOffset: doc.logStartOffset,
      epochHistory: doc.epochHistory,
    };
  });
}
