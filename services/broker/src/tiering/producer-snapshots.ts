// The idempotent producers' state in the bucket: one object per partition (storage's
// producerSnapshotKey), the log's `<remote end>.snapshot` put after each segment commit, and read by a
// log that starts over at the bucket end (a new leader, an empty disk), which keeps it only when it
// names that very offset. Both are best effort: without it, producers go on as unknown ones (Kafka
// accepts them), so only a retry in flight at that moment could be written twice.

import { decodeProducerSnapshot, type PartitionLog } from '@strata/log';
import { producerSnapshotKey, type ObjectStore } from '@strata/storage';
import type { Logger } from '../logger.js';

export interface SnapshotPlace {
  store: ObjectStore;
  logger: Logger;
  topic: string;
  partition: number;
}

/** Puts the log's snapshot at `remoteEnd` (written when the segment ending there rolled), if it has one. */
export async function uploadProducerSnapshot(place: SnapshotPlace, log: PartitionLog, remoteEnd: number, signal: AbortSignal): Promise<void> {
  const { store, logger, topic, partition } = place;
  try {
    const bytes = await log.producerSnapshot(remoteEnd);
    if (bytes !== null) await store.put(producerSnapshotKey(topic, partition), bytes, { signal });
  } catch (e) {
    logger.warn('cannot upload the producer-state snapshot', { topic, partition, remoteEnd, err: e });
  }
}

/** The bucket's snapshot when it is the state as of `remoteEnd`, else null. */
export async function downloadProducerSnapshot(place: SnapshotPlace, remoteEnd: number, signal?: AbortSignal): Promise<Buffer | null> {
  const { store, logger, topic, partition } = place;
  try {
    const bytes = await store.get(producerSnapshotKey(topic, partition), signal === undefined ? {} : { signal });
    return bytes !== null && snapshotOffset(bytes) === remoteEnd ? bytes : null;
  } catch (e) {
    logger.warn('cannot read the producer-state snapshot from the bucket', { topic, partition, err: e });
    return null;
  }
}

function snapshotOffset(bytes: Buffer): number {
  try {
    return decodeProducerSnapshot(bytes).offset;
  } catch {
    return -1;
  }
}
