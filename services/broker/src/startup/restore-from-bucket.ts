// A single node's restore from the bucket, in one step: an in-process coordinator created now, on
// an empty data dir, is filled from the bucket's snapshots (each topic's configs and each
// partition's manifest) before the topics open. Only a coordinator created now: one that ever held
// topics never asks the bucket again, so a topic deleted here cannot come back from leftovers.
// (A Redis outlives its brokers and is shared by them: filling an empty one is not done here.)

import type { ImportedPartition, MemoryCoordinator } from '@strata/coord';
import type { Logger } from '../logger.js';
import type { Tiering } from '../tiering/tiering.js';

export interface BucketRestore {
  tiering: Tiering;
  coordinator: MemoryCoordinator;
  brokerId: string;
  logger: Logger;
}

/** Returns the names of the topics restored (none when the bucket holds none). */
export async function restoreFromBucket({ tiering, coordinator, brokerId, logger }: BucketRestore): Promise<string[]> {
  const started = performance.now();
  const topics = await tiering.restorableTopics();
  if (topics.length === 0) return [];
  const partitions: ImportedPartition[] = [];
  for (const topic of topics) {
    for (let p = 0; p < topic.partitions; p++) {
      const manifest = await tiering.loadSnapshot(topic.name, p);
      if (manifest !== null) partitions.push({ topic: topic.name, partition: p, brokerId, manifest });
    }
  }
  await coordinator.importState({ topics, partitions });
  logger.info('topics restored from the bucket onto an empty data dir', {
    topics: topics.map((t) => t.name),
    partitions: partitions.length,
    segments: partitions.reduce((n, p) => n + p.manifest.segments.length, 0),
    ms: Math.round(performance.now() - started),
  });
  return topics.map((t) => t.name);
}
