// The broker's tiered storage: one ObjectStore, the manifests, the remote read
// cache, and the background loop that uploads sealed segments, applies remote
// retention and collects garbage. The topic registry opens partitions through
// it, so every partition log is gated by what its manifest holds.

import { setTimeout as sleep } from 'node:timers/promises';
import { PartitionLog, type FileHandleCache, type LogConfig, type ProducerStateLimits } from '@strata/log';
import {
  ALL_MANIFESTS_PREFIX,
  manifestSnapshotKey,
  manifestsPrefix,
  topicConfigKey,
  topicOfManifestKey,
  topicPrefix,
  SegmentScanner,
  type ObjectStore,
} from '@strata/storage';
import type { Registry } from 'prom-client';
import { StrataError } from '@strata/protocol';
import type { TieringConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { MetadataStore, TopicMetadata } from '../topics/metadata-store.js';
import { ChunkCachingStore } from './chunk-cache.js';
import { emptyManifest, parseManifest, type ManifestStore, type PartitionManifest } from './manifest.js';
import { ReaderCache } from './reader-cache.js';
import { TierMetrics } from './tier-metrics.js';
import { TieredPartition, type RetentionLimits } from './tiered-partition.js';
import type { EventLog } from '../events/event-log.js';

/** The tuning comes from the broker config (STRATA_TIER_*, STRATA_REMOTE_*). */
export interface TieringOptions extends TieringConfig {
  store: ObjectStore;
  dataDir: string;
  logger: Logger;
  registry: Registry;
  now: () => number;
  /** The manifests, in the coordinator: a partition uploads only while this broker leads it. */
  manifests: ManifestStore;
  /** A manifest write was refused by leader epoch: a newer leader exists. */
  onFenced: (tier: TieredPartition) => void;
  /** Where uploads and failed uploads are recorded (GET /v1/events); absent: nowhere. */
  events?: EventLog;
  /** Every partition log's segment file descriptors come from this one bounded cache. */
  segmentFiles: FileHandleCache;
  /** Asked before every append: the broker refuses appends while the data disk is full. */
  appendRefusal: () => StrataError | null;
  /** Idempotent producers' state in each log (default: the log's defaults). */
  producerStateLimits?: ProducerStateLimits;
}

export class Tiering {
  readonly store: ObjectStore;
  readonly metrics: TierMetrics;
  readonly #options: TieringOptions;
  readonly #manifests: ManifestStore;
  readonly #cache: ChunkCachingStore;
  readonly #readers: ReaderCache;
  readonly #partitions = new Set<TieredPartition>();
  readonly #abort = new AbortController();
  #retentionOf: (topic: string) => RetentionLimits | null = () => null;
  #timer: NodeJS.Timeout | null = null;
  #passing: Promise<void> | null = null;
  readonly #uploads = new Set<Promise<void>>();
  /** One worker thread checks and indexes every segment uploaded (segment-scanner.ts). */
  readonly #scanner = new SegmentScanner();
  #lastGcMs = 0;
  #stopped = false;

  constructor(options: TieringOptions) {
    this.#options = options;
    this.store = options.store;
    this.metrics = new TierMetrics(options.registry);
    this.#manifests = options.manifests;
    this.#cache = new ChunkCachingStore(options.store, {
      chunkBytes: options.chunkBytes,
      capacityBytes: options.cacheBytes,
      readAheadChunks: options.readAheadChunks,
      fetchConcurrency: options.fetchConcurrency,
      onHit: () => this.metrics.cacheHits.inc(),
      onMiss: (bytes) => {
        this.metrics.cacheMisses.inc();
        this.metrics.cacheFetchedBytes.inc(bytes);
      },
    });
    this.#readers = new ReaderCache(this.#cache, options.maxOpenReaders);
  }

  /** Remote retention needs each topic's limits; the registry supplies them once it exists. */
  setRetentionSource(retentionOf: (topic: string) => RetentionLimits | null): void {
    this.#retentionOf = retentionOf;
  }

  /**
   * Opens a partition's log behind its remote tier. A partition the disk does not hold but the
   * bucket does (an empty disk, a replaced broker) starts its local log where the bucket ends.
   */
  async openPartition(
    topic: string,
    partition: number,
    dir: string,
    config: LogConfig,
  ): Promise<{ log: PartitionLog; tier: TieredPartition }> {
    const { logger } = this.#options;
    // A topic created now has an empty manifest in the coordinator (a recreated name starts afresh there).
    const manifest = await this.#manifests.load(topic, partition);
    const tier = new TieredPartition(topic, partition, manifest ?? emptyManifest(), false, {
      store: this.store,
      scanner: this.#scanner,
      readers: this.#readers,
      manifests: this.#manifests,
      metrics: this.metrics,
      logger,
      now: this.#options.now,
      onFenced: this.#options.onFenced,
      ...(this.#options.events === undefined ? {} : { events: this.#options.events }),
    });
    // Leadership, and with it uploads, comes from the partition's lease (cluster/leadership.ts).
    const remoteEnd = tier.remoteEndOffset;
    const open = () =>
      PartitionLog.open({
        dir,
        config,
        now: this.#options.now,
        initialOffset: remoteEnd,
        deletableBelow: () => tier.deletableBelow(),
        onSegmentSealed: () => this.kick(),
        onSealFailed: (err, segment) => logger.warn('sealing a rolled segment failed; retried at the next maintenance pass', { topic, partition, baseOffset: segment.baseOffset, err }),
        fileCache: this.#options.segmentFiles,
        appendRefusal: this.#options.appendRefusal,
        ...(this.#options.producerStateLimits !== undefined ? { producerStateLimits: this.#options.producerStateLimits } : {}),
        appendGroupBytesMax: this.#options.appendGroupBytesMax,
      });
    let log = await open();
    if (log.logEndOffset < remoteEnd) {
      // The bucket is ahead of this disk (an old disk came back): the bucket is the system of record.
      logger.warn('local log ends before the bucket does; starting the local log at the bucket end', {
        topic,
        partition,
        localEnd: log.logEndOffset,
        remoteEnd,
      });
      await log.destroy();
      log = await open();
    }
    if (remoteEnd > 0 && log.logStartOffset === remoteEnd && log.logEndOffset === remoteEnd) {
      // An empty log starting at the bucket end: the producers' state comes from the bucket too.
      const producers = await tier.producerSnapshot(remoteEnd);
      if (producers !== null) await log.resetTo(remoteEnd, producers);
    }
    if (tier.manifest.segments.length > 0 && log.logStartOffset > remoteEnd) {
      logger.error('offsets between the bucket end and the local log start are missing', { topic, partition, remoteEnd, localStart: log.logStartOffset });
    }
    tier.bind(log);
    this.#partitions.add(tier);
    return { log, tier };
  }

  /** The partition is no longer served (topic deleted, broker closing). */
  removePartition(tier: TieredPartition): void {
    tier.close();
    this.#partitions.delete(tier);
  }

  /** Deletes everything the bucket holds for a topic: segment objects, manifests, configs. */
  async deleteTopic(name: string): Promise<void> {
    // Whatever the bucket does next, nothing of this topic may be served from memory again.
    this.#readers.forgetPrefix(topicPrefix(name));
    const keys: string[] = [];
    for (const prefix of [topicPrefix(name), manifestsPrefix(name)]) {
      for await (const object of this.store.listAll(prefix, { signal: this.#abort.signal })) keys.push(object.key);
    }
    const result = keys.length > 0 ? await this.store.deleteMany(keys, { signal: this.#abort.signal }) : { deleted: [], errors: [] };
    if (result.errors.length > 0) {
      this.#options.logger.warn('some objects of a deleted topic could not be removed', { topic: name, errors: result.errors.slice(0, 5), count: result.errors.length });
    }
  }

  /**
   * Topic metadata that also lands in the bucket, from which an empty coordinator can be filled
   * again (startup/restore-from-bucket.ts).
   */
  bucketBackedMetadata(inner: MetadataStore): MetadataStore {
    return {
      load: () => inner.load(),
      // The bucket first: if it fails, nothing changed anywhere and the caller gets a retriable
      // error; the other order would leave a topic on disk that the caller was told failed.
      put: async (meta) => {
        await this.store.put(topicConfigKey(meta.name), Buffer.from(JSON.stringify(meta)), { signal: this.#abort.signal });
        await inner.put(meta);
      },
      // The bucket first here too: once its manifests and configs are gone, no restore can bring
      // the topic back; the segment objects follow in deleteTopic.
      remove: async (name) => {
        const keys = [topicConfigKey(name)];
        for await (const object of this.store.listAll(manifestsPrefix(name), { signal: this.#abort.signal })) keys.push(object.key);
        const result = await this.store.deleteMany(keys, { signal: this.#abort.signal });
        if (result.errors.length > 0) {
          throw new StrataError('STORAGE_ERROR', `cannot delete topic "${name}" from the object store: ${result.errors[0]!.message}`, {
            details: { topic: name, errors: result.errors.slice(0, 5) },
          });
        }
        await inner.remove(name);
      },
    };
  }

  start(): void {
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        this.#pass().finally(() => {
          if (!this.#stopped) tick();
        });
      }, this.#options.loopIntervalMs);
      this.#timer.unref();
    };
    tick();
  }

  /** Something to upload: run a pass soon rather than at the next tick. */
  kick(): void {
    if (this.#stopped || this.#passing !== null) return;
    setImmediate(() => void this.#pass());
  }

  /** Stops the loop; uploads in flight get `timeoutMs` to finish, then are aborted. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const inFlight = [this.#passing, ...this.#uploads].filter((p): p is Promise<void> => p !== null);
    if (inFlight.length > 0) await Promise.race([Promise.allSettled(inFlight), sleep(timeoutMs, undefined, { ref: false })]);
    this.#abort.abort(new Error('broker shutting down'));
    for (const tier of this.#partitions) tier.close();
    await Promise.allSettled([...this.#partitions].map((tier) => tier.idle()));
    await this.#scanner.close();
    await this.store.close();
  }

  #pass(): Promise<void> {
    if (this.#passing !== null) return this.#passing;
    this.#passing = this.#runPass().finally(() => {
      this.#passing = null;
    });
    return this.#passing;
  }

  async #runPass(): Promise<void> {
    const signal = this.#abort.signal;
    const now = this.#options.now();
    // Uploads run as their own tasks (at most uploadConcurrency): one that hangs on a slow store
    // must not hold up other partitions' uploads, retention or garbage collection.
    for (const tier of this.#partitions) {
      if (this.#uploads.size >= this.#options.uploadConcurrency || signal.aborted) break;
      if (!tier.needsWork(now)) continue;
      const upload: Promise<void> = tier.upload(signal).finally(() => {
        this.#uploads.delete(upload);
        this.kick();
      });
      this.#uploads.add(upload);
    }

    for (const tier of this.#partitions) {
      if (signal.aborted) return;
      const limits = this.#retentionOf(tier.topic);
      if (!limits || !tier.leading) continue;
      await tier.enforceRetention(limits, signal).catch((e: unknown) => {
        this.#options.logger.warn('remote retention failed; will retry', { topic: tier.topic, partition: tier.partition, err: e });
      });
    }

    if (now - this.#lastGcMs >= this.#options.gcIntervalMs) {
      this.#lastGcMs = now;
      for (const tier of this.#partitions) {
        if (signal.aborted) return;
        if (!tier.leading) continue;
        await tier.collectGarbage(this.#options.orphanGraceMs, signal).catch((e: unknown) => {
          this.#options.logger.warn('garbage collection of segment objects failed; will retry', { topic: tier.topic, partition: tier.partition, err: e });
        });
      }
    }
  }

  /** The partition's manifest as last snapshotted to the bucket; null: none there. */
  async loadSnapshot(topic: string, partition: number): Promise<PartitionManifest | null> {
    const key = manifestSnapshotKey(topic, partition);
    const bytes = await this.store.get(key, { signal: this.#abort.signal });
    if (bytes === null) return null;
    const snapshot = parseManifest(bytes.toString('utf8'), key);
    return { epoch: snapshot.epoch, logStartOffset: snapshot.logStartOffset, segments: snapshot.segments };
  }

  /** The topics the bucket holds manifests and configs of. */
  async restorableTopics(): Promise<TopicMetadata[]> {
    const names = new Set<string>();
    for await (const object of this.store.listAll(ALL_MANIFESTS_PREFIX, { signal: this.#abort.signal })) {
      const topic = topicOfManifestKey(object.key);
      if (topic !== null) names.add(topic);
    }
    const metas: TopicMetadata[] = [];
    for (const name of names) {
      const bytes = await this.store.get(topicConfigKey(name), { signal: this.#abort.signal });
      if (bytes === null) {
        this.#options.logger.warn('the bucket holds manifests of a topic without its configs; not restored', { topic: name });
        continue;
      }
      const meta = JSON.parse(bytes.toString('utf8')) as TopicMetadata;
      if (meta.name !== name || !Number.isSafeInteger(meta.partitions) || meta.partitions < 1 || typeof meta.configs !== 'object') {
        this.#options.logger.warn('the topic configs in the bucket are malformed; not restored', { topic: name });
        continue;
      }
      metas.push(meta);
    }
    return metas;
  }
}
