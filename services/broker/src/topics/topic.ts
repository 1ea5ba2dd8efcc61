// A topic as this broker serves it: its metadata and configs, and one handle per partition (its
// local log and its remote tier), or the reason a partition is offline.

import type { PartitionLog } from '@strata/log';
import type { TieredPartition } from '../tiering/tiered-partition.js';
import type { TopicMetadata } from './metadata-store.js';
import type { TopicConfigs } from './topic-config.js';

export interface PartitionHandle {
  readonly topic: string;
  readonly partition: number;
  /** `<topic>-<partition>`: the key for waiters (the directory name is partitionDirName's bounded form). */
  readonly key: string;
  readonly log: PartitionLog;
  /** The remote tier: uploads, reads below the local log start, remote retention. */
  readonly tier: TieredPartition;
}

/** A partition whose log could not be opened at start: the broker serves the rest and reports this one. */
export interface OfflinePartition {
  readonly topic: string;
  readonly partition: number;
  /** What failed, without server paths (the broker log has the whole error). */
  readonly reason: string;
}

export class Topic {
  readonly name: string;
  /** The partitions served here, in partition order (an offline partition has no handle). */
  #partitions: readonly PartitionHandle[];
  #byPartition: ReadonlyArray<PartitionHandle | undefined>;
  readonly offline: ReadonlyMap<number, OfflinePartition>;
  #meta: TopicMetadata;
  #configs: TopicConfigs;
  #stickyCursor: number;

  constructor(meta: TopicMetadata, configs: TopicConfigs, partitions: ReadonlyArray<PartitionHandle | undefined>, offline: ReadonlyMap<number, OfflinePartition> = new Map()) {
    this.name = meta.name;
    this.#meta = meta;
    this.#configs = configs;
    this.#byPartition = Array.from({ length: meta.partitions }, (_, p) => partitions[p]);
    this.#partitions = this.#byPartition.filter((h): h is PartitionHandle => h !== undefined);
    this.offline = offline;
    // Start the null-key rotation at a random partition so restarts do not all pile onto partition 0.
    this.#stickyCursor = Math.floor(Math.random() * meta.partitions);
  }

  /** The partitions served here, in partition order (an offline partition has no handle). */
  get partitions(): readonly PartitionHandle[] {
    return this.#partitions;
  }

  /** The handle of partition `p`, or undefined when there is no such partition or it is offline. */
  handle(partition: number): PartitionHandle | undefined {
    return this.#byPartition[partition];
  }

  get meta(): Readonly<TopicMetadata> {
    return this.#meta;
  }
  /** Effective configs: the topic's overrides over the broker defaults. */
  get configs(): Readonly<TopicConfigs> {
    return this.#configs;
  }
  get partitionCount(): number {
    return this.#byPartition.length;
  }

  /** The partition for one request's null-key records: round-robin across requests (skipping offline ones). */
  nextStickyPartition(): number {
    const count = this.#byPartition.length;
    let partition = this.#stickyCursor % count;
    for (let tries = 0; tries < count && this.#byPartition[partition] === undefined; tries++) partition = (partition + 1) % count;
    this.#stickyCursor = (partition + 1) % count;
    return partition;
  }

  /** @internal the registry grows a topic under its admin lock: `added` are partitions partitionCount.. in order. */
  grow(meta: TopicMetadata, added: readonly PartitionHandle[]): void {
    if (meta.partitions !== this.#byPartition.length + added.length) throw new Error(`growing ${this.name} to ${meta.partitions} with ${added.length} new partitions`);
    this.#byPartition = [...this.#byPartition, ...added];
    this.#partitions = [...this.#partitions, ...added];
    this.#meta = meta;
  }

  /** @internal the registry swaps these under its admin lock. */
  setMeta(meta: TopicMetadata, configs: TopicConfigs): void {
    this.#meta = meta;
    this.#configs = configs;
  }
}
