// Filling the in-process engine from outside, once: a data dir of the release before "one broker
// path" (topics, manifests and the cluster id in the broker's own files), or an empty data dir
// restored from the bucket's snapshots. Not part of the Coordinator interface: only this engine
// starts empty beside a broker that owns it; a Redis outlives its brokers.
//
// Idempotent, so an import interrupted halfway is simply run again: a topic already there with the
// same id is kept, a partition that already has a document is left alone.

import type { CallOptions, PartitionManifest, TopicMetadata } from '../coordinator.js';
import { coordError } from '../errors.js';
import { emptyPartition } from './documents.js';
import type { MemoryState } from './state.js';
import { createTopic } from './topics.js';

/** One partition led by `brokerId` alone, with what the bucket holds of it. */
export interface ImportedPartition {
  topic: string;
  partition: number;
  /** The only replica, in sync, and the leader of epoch `manifest.epoch` (its local tail is its own). */
  brokerId: string;
  manifest: PartitionManifest;
}

export interface ImportedState {
  /** Kept as this engine's id (status().bootId), the id a single node answers as its cluster id. */
  clusterId?: string;
  topics: readonly TopicMetadata[];
  partitions: readonly ImportedPartition[];
}

export async function importState(s: MemoryState, state: ImportedState, options?: CallOptions): Promise<void> {
  const clusterId = state.clusterId;
  if (clusterId !== undefined && clusterId !== '' && s.cluster.bootId !== clusterId) {
    await s.serialize('importState', options, () => s.changeCluster((draft) => ({ next: { ...draft, bootId: clusterId }, value: undefined })));
  }
  for (const topic of state.topics) {
    const stored = s.cluster.topics.find((t) => t.name === topic.name);
    if (stored === undefined) await createTopic(s, topic, options);
    else if (stored.topicId !== topic.topicId) throw coordError('TOPIC_EXISTS', { topic: topic.name });
  }
  for (const p of state.partitions) {
    const topic = s.cluster.topics.find((t) => t.name === p.topic);
    if (topic === undefined) throw coordError('UNKNOWN_TOPIC', { topic: p.topic });
    s.args.loadManifest(p.topic, p.partition);
    await s.serialize('importState', options, () =>
      s.changePartition<void>(p.topic, p.partition, (doc) => {
        if (doc !== null && doc.topicId !== '') return { value: undefined };
        const next = emptyPartition(p.topic, p.partition);
        const epoch = p.manifest.epoch;
        next.topicId = topic.topicId;
        next.replicas = [p.brokerId];
        next.isr = [p.brokerId];
        // A tombstone's epoch is kept: epochs are never reused for a partition name.
        next.leaderEpoch = Math.max(epoch, doc?.leaderEpoch ?? 0);
        next.epochHistory = [{ epoch: next.leaderEpoch, startOffset: p.manifest.logStartOffset, leader: p.brokerId }];
        next.logStartOffset = p.manifest.logStartOffset;
        next.highWatermark = p.manifest.logStartOffset;
        next.manifestEpoch = epoch;
        next.segments = p.manifest.segments.map((seg) => ({ ...seg }));
        return { next, value: undefined };
      }),
    );
  }
}
