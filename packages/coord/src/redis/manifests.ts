// The Redis engine's manifest of remote segments: a list per partition beside its state, committed
// by commit-segment.lua (fenced, contiguous) and trimmed by the log start.

import type { CallOptions, LogStartAdvance, PartitionManifest, RemoteSegment, SegmentCommit } from '../coordinator.js';
import { decodeSegment, encodeSegment, int } from './codec.js';
import type { RedisConnection } from './connection.js';
import { updatePartition } from './partitions.js';

export async function loadManifest(c: RedisConnection, topic: string, partition: number, options?: CallOptions): Promise<PartitionManifest> {
  c.args.loadManifest(topic, partition);
  return c.call(`loadManifest ${topic}/${partition}`, { topic, partition }, options, async () => {
    const reply = (await c.eval('load-manifest', [c.keys.partitionState(topic, partition), c.keys.partitionSegments(topic, partition)], [])) as unknown[];
    return {
      epoch: int(reply[0], 'manifest epoch'),
      logStartOffset: int(reply[1], 'log start offset'),
      segments: reply.slice(2).map((m) => decodeSegment(String(m))),
    };
  });
}

export async function commitSegment(c: RedisConnection, topic: string, partition: number, segment: RemoteSegment, options?: CallOptions): Promise<SegmentCommit> {
  c.args.commitSegment(topic, partition, segment);
  const context = { topic, partition, epoch: segment.epoch };
  return c.call(`commitSegment ${topic}/${partition} ${segment.baseOffset}-${segment.lastOffset}`, context, options, async () => {
    const reply = (await c.eval(
      'commit-segment',
      [c.keys.partitionState(topic, partition), c.keys.partitionSegments(topic, partition)],
      [segment.epoch, segment.baseOffset, segment.lastOffset, encodeSegment(segment)],
    )) as unknown[];
    return { logStartOffset: int(reply[0], 'log start offset'), endOffset: int(reply[1], 'manifest end') };
  });
}

export async function advanceLogStart(c: RedisConnection, topic: string, partition: number, leaderEpoch: number, offset: number, options?: CallOptions): Promise<LogStartAdvance> {
  c.args.advanceLogStart(topic, partition, leaderEpoch, offset);
  return c.call(`advanceLogStart ${topic}/${partition}`, { topic, partition, epoch: leaderEpoch }, options, async () => {
    const update = await updatePartition(c, topic, partition, leaderEpoch, { logStartOffset: offset });
    return { logStartOffset: update.logStartOffset, removed: update.removed };
  });
}
