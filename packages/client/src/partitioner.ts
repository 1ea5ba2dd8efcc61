// Kafka's default partitioner for the producer (producer.ts): an explicit partition as given, a
// keyed record by murmur2 of its key's bytes, and keyless records on a sticky partition that moves
// when its batch closes.

import { partitionForKey, StrataError } from '@strata/protocol';
import type { ProducerTopics } from './producer-topics.js';
import type { TopicMetadata } from './producer-state.js';
import type { RecordParts } from './records.js';

export class Partitioner {
  readonly #topics: ProducerTopics;
  /** A string key is hashed from these bytes: no buffer per keyed send. */
  #keyScratch = Buffer.allocUnsafe(256);

  constructor(topics: ProducerTopics) {
    this.#topics = topics;
  }

  choose(record: RecordParts, metadata: TopicMetadata): number {
    const n = metadata.partitions;
    if (record.partition !== undefined) {
      if (record.partition >= n) {
        this.#topics.forget(record.topic); // the topic may have grown since the lookup: the next send looks again
        const details = { topic: record.topic, partition: record.partition, partitions: n };
        throw new StrataError('UNKNOWN_PARTITION', `topic "${record.topic}" has no partition ${record.partition} (it has ${n})`, { details });
      }
      return record.partition;
    }
    if (record.key !== null) return this.#forKey(record.key, record.keyBytes, n);
    const state = this.#topics.topic(record.topic);
    if (state.sticky < 0 || state.sticky >= n) state.sticky = Math.floor(Math.random() * n);
    return state.sticky;
  }

  /** Kafka's sticky partitioner: when the sticky partition's batch closes, keyless records move to another. */
  onBatchClosed(topic: string, partition: number): void {
    const state = this.#topics.get(topic);
    const n = state?.metadata?.partitions ?? 0;
    if (state === undefined || state.sticky !== partition || n < 2) return;
    const next = Math.floor(Math.random() * (n - 1));
    state.sticky = next >= partition ? next + 1 : next;
  }

  #forKey(key: Buffer | string, keyBytes: number, partitions: number): number {
    if (typeof key !== 'string') return partitionForKey(key, partitions);
    if (this.#keyScratch.length < keyBytes) this.#keyScratch = Buffer.allocUnsafe(Math.max(keyBytes, this.#keyScratch.length * 2));
    this.#keyScratch.write(key, 0, keyBytes, 'utf8');
    return partitionForKey(this.#keyScratch.subarray(0, keyBytes), partitions);
  }
}
