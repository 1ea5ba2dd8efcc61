// The in-process engine's manifest of remote segments: the list of a partition's uploaded
// segments, committed by its leader (fenced by epoch), contiguous, and trimmed by the log start.

import type { CallOptions, LogStartAdvance, PartitionManifest, RemoteSegment, SegmentCommit } from '../coordinator.js';
import { coordError } from '../errors.js';
import { manifestEndOffset } from '../manifest.js';
import { partitionId, sameSegment } from './documents.js';
import { updatePartition } from './partitions.js';
import type { MemoryState } from './state.js';

export async function loadManifest(s: MemoryState, topic: string, partition: number, options?: CallOptions): Promise<PartitionManifest> {
  s.args.loadManifest(topic, partition);
  return s.read('loadManifest', options, () => {
    const doc = s.partitions.get(partitionId(topic, partition));
    return { epoch: doc?.manifestEpoch ?? 0, logStartOffset: doc?.logStartOffset ?? 0, segments: doc?.segments ?? [] };
  });
}

export async function commitSegment(s: MemoryState, topic: string, partition: number, segment: RemoteSegment, options?: CallOptions): Promise<SegmentCommit> {
  s.args.commitSegment(topic, partition, segment);
  const seg: RemoteSegment = {
    key: segment.key,
    baseOffset: segment.baseOffset,
    lastOffset: segment.lastOffset,
    objectBytes: segment.objectBytes,
    dataBytes: segment.dataBytes,
    maxTimestamp: segment.maxTimestamp,
    epoch: segment.epoch,
    uploadedAtMs: segment.uploadedAtMs,
  };
  return s.serialize('commitSegment', options, () =>
    s.changePartition<SegmentCommit>(topic, partition, (doc) => {
      const refusal = s.fence(doc, topic, partition, seg.epoch);
      if (refusal !== null) return refusal;
      const d = doc!;
      const tail = d.segments[d.segments.length - 1];
      const end = manifestEndOffset({ epoch: d.manifestEpoch, logStartOffset: d.logStartOffset, segments: d.segments });
      if (d.segments.some((x) => sameSegment(x, seg))) return { value: { logStartOffset: d.logStartOffset, endOffset: end } };
      if ((tail !== undefined && seg.baseOffset !== end) || (tail === undefined && seg.baseOffset < d.logStartOffset)) {
        return { error: coordError('NOT_CONTIGUOUS', { topic, partition, baseOffset: seg.baseOffset, lastOffset: seg.lastOffset, endOffset: end }) };
      }
      if (tail === undefined) d.logStartOffset = seg.baseOffset;
      d.highWatermark = Math.max(d.highWatermark, d.logStartOffset);
      d.manifestEpoch = Math.max(d.manifestEpoch, seg.epoch);
      d.segments.push(seg);
      return { next: d, value: { logStartOffset: d.logStartOffset, endOffset: seg.lastOffset + 1 } };
    }),
  );
}

export async function advanceLogStart(s: MemoryState, topic: string, partition: number, leaderEpoch: number, offset: number, options?: CallOptions): Promise<LogStartAdvance> {
  s.args.advanceLogStart(topic, partition, leaderEpoch, offset);
  return s.serialize('advanceLogStart', options, async () => {
    const update = await updatePartition(s, topic, partition, leaderEpoch, { logStartOffset: offset });
    return { logStartOffset: update.logStartOffset, removed: update.removed };
  });
}
