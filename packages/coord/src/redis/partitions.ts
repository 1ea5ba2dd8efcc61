// The Redis engine's partitions: the assignment, the leadership lease (acquire, renew, release,
// hand over) fenced by the leader epoch in lua/_prelude.lua, and the replication state (ISR, high
// watermark, log start) a leader publishes.

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
import { LIMITS } from '../validate.js';
import { decodePartitionState, decodeSegment, int, list } from './codec.js';
import type { RedisConnection } from './connection.js';

export async function setReplicas(c: RedisConnection, topic: string, partition: number, assignment: PartitionAssignment, options?: CallOptions): Promise<void> {
  c.args.setReplicas(topic, partition, assignment);
  return c.call(`setReplicas ${topic}/${partition}`, { topic, partition }, options, async () => {
    await c.eval(
      'set-replicas',
      [c.keys.partitionLease(topic, partition), c.keys.partitionState(topic, partition), c.keys.partitionSegments(topic, partition)],
      [assignment.topicId, assignment.replicas.join(','), assignment.controllerEpoch],
    );
  });
}

export async function acquireLeadership(c: RedisConnection, topic: string, partition: number, request: LeadershipRequest, options?: CallOptions): Promise<LeaseAcquisition> {
  c.args.acquireLeadership(topic, partition, request);
  return c.call(`acquireLeadership ${topic}/${partition}`, { topic, partition, brokerId: request.brokerId }, options, () =>
    c.acquire(
      'acquire-leadership',
      [c.keys.partitionLease(topic, partition), c.keys.partitionState(topic, partition)],
      (s) => [
        request.brokerId,
        request.ttlMs,
        request.startOffset,
        request.knownEpoch,
        request.topicId,
        s.runId,
        s.untilMs,
        LIMITS.epochMax,
        LIMITS.epochHistoryMax,
        request.clean === true ? 1 : 0,
      ],
      options?.signal,
    ),
  );
}

export async function renewLeadership(c: RedisConnection, topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
  c.args.renewLeadership(topic, partition, brokerId, leaderEpoch, ttlMs);
  return c.call(`renewLeadership ${topic}/${partition}`, { topic, partition, brokerId }, options, async () => {
    const keys = [c.keys.partitionLease(topic, partition), c.keys.partitionState(topic, partition)];
    return (await c.eval('renew-leadership', keys, [brokerId, leaderEpoch, ttlMs])) === 1;
  });
}

export async function releaseLeadership(c: RedisConnection, topic: string, partition: number, brokerId: string, leaderEpoch: number, options?: CallOptions): Promise<boolean> {
  c.args.releaseLeadership(topic, partition, brokerId, leaderEpoch);
  return c.call(`releaseLeadership ${topic}/${partition}`, { topic, partition, brokerId }, options, async () => {
    const keys = [c.keys.partitionLease(topic, partition), c.keys.partitionState(topic, partition)];
    return (await c.eval('release-leadership', keys, [brokerId, leaderEpoch])) === 1;
  });
}

export async function transferLeadership(c: RedisConnection, topic: string, partition: number, request: LeadershipTransfer, options?: CallOptions): Promise<LeadershipTransferResult> {
  c.args.transferLeadership(topic, partition, request);
  return c.call(`transferLeadership ${topic}/${partition}`, { topic, partition, brokerId: request.brokerId }, options, async () => {
    const keys = [c.keys.partitionLease(topic, partition), c.keys.partitionState(topic, partition)];
    const reply = (await c.eval('transfer-leadership', keys, [
      request.brokerId,
      request.leaderEpoch,
      request.ttlMs,
      request.startOffset,
      LIMITS.epochMax,
      LIMITS.epochHistoryMax,
      request.successor ?? '',
    ])) as [number, string, string, string];
    if (Number(reply[0]) === 1) return { transferred: true, epoch: Number(reply[1]), successor: String(reply[2]) };
    return { transferred: false, reason: reply[1] === 'no-successor' || reply[1] === 'successor-moved' ? reply[1] : 'fenced' };
  });
}

export async function updatePartitionState(c: RedisConnection, topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange, options?: CallOptions): Promise<PartitionStateUpdate> {
  c.args.updatePartitionState(topic, partition, leaderEpoch, change);
  return c.call(`updatePartitionState ${topic}/${partition}`, { topic, partition, epoch: leaderEpoch }, options, () =>
    updatePartition(c, topic, partition, leaderEpoch, change),
  );
}

export async function updatePartition(c: RedisConnection, topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange): Promise<PartitionStateUpdate> {
  const reply = (await c.eval(
    'update-partition',
    [c.keys.partitionState(topic, partition), c.keys.partitionSegments(topic, partition)],
    [
      leaderEpoch,
      change.isr === undefined ? '0' : '1',
      (change.isr ?? []).join(','),
      change.highWatermark === undefined ? '0' : '1',
      change.highWatermark ?? 0,
      change.logStartOffset === undefined ? '0' : '1',
      change.logStartOffset ?? 0,
      LIMITS.epochHistoryMax,
    ],
  )) as unknown[];
  return {
    isr: list(String(reply[0])),
    highWatermark: int(reply[1], 'high watermark'),
    logStartOffset: int(reply[2], 'log start offset'),
    removed: reply.slice(3).map((m) => decodeSegment(String(m))),
  };
}

export async function getPartitionState(c: RedisConnection, topic: string, partition: number, options?: CallOptions): Promise<PartitionState | null> {
  c.args.getPartitionState(topic, partition);
  return c.call(`getPartitionState ${topic}/${partition}`, { topic, partition }, options, async () => {
    const reply = (await c.eval('read-partition', [c.keys.partitionLease(topic, partition), c.keys.partitionState(topic, partition)], [])) as unknown[];
    return decodePartitionState(topic, partition, reply);
  });
}
