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
  type ObjectStore,
} from '@strata/storage';
import type { Registry } from 'prom-client';
import { StrataError } from '@strata/protocol';
import type { TieringConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { MetadataStore, TopicMetadata } from '../topics/metadata-store.js';
import { ChunkCachingStore } from './chunk-cache.js';
import { LocalManifestStore, emptyManifest, parseManifest, type ManifestStore, type PartitionManifest } from './manifest.js';
import { ReaderCache } from './reader-cache.js';
import { TierMetrics } from './tier-metrics.js';
import { TieredPartition, type RetentionLimits } from './tiered-partition.js';

/** The tuning comes from the broker config (STRATA_TIER_*, STRATA_REMOTE_*). */
export interface TieringOptions extends TieringConfig {
  store: ObjectStore;
  dataDir: string;
  logger: Logger;
  registry: Registry;
  now: () => number;
  /**
   * The clustered build's manifests (the coordinator): then no manifest is restored from the
   * bucket's snapshots, and a partition uploads only while this broker leads it.
   */
  manifests?: ManifestStore;
  /** A manifest write was refused by leader epoch: a newer leader exists. */
  onFenced?: (tier: TieredPartition) => void;
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
  readonly #localManifests: LocalManifestStore | null;
  readonly #cache: ChunkCachingStore;
  readonly #readers: ReaderCache;
  readonly #partitions = new Set<TieredPartition>();
  readonly #abort = new AbortController();
  #retentionOf: (topic: string) => RetentionLimits | null = () => null;
  #timer: NodeJS.Timeout | null = null;
  #passing: Promise<void> | null = null;
  readonly #uploads = new Set<Promise<void>>();
  #lastGcMs = 0;
  #stopped = false;

  constructor(options: TieringOptions) {
    this.#options = options;
    this.store = options.store;
    this.metrics = new TierMetrics(options.registry);
    this.#localManifests = options.manifests ? null : new LocalManifestStore(options.dataDir);
    this.#manifests = options.manifests ?? this.#localManifests!;
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
    mode: 'create' | 'recover',
  ): Promise<{ log: PartitionLog; tier: TieredPartition }> {
    const { logger } = this.#options;
    let manifest: PartitionManifest | null = null;
    let snapshotted = false;
    const local = this.#localManifests;
    if (mode === 'create' && local !== null) {
      await local.remove(topic, partition);
    } else {
      manifest = await this.#manifests.load(topic, partition);
      if (manifest === null && local !== null) {
        manifest = await this.#loadSnapshot(topic, partition);
        if (manifest !== null) {
          snapshotted = true;
          await local.save(topic, partition, manifest).catch((e: unknown) => {
            // A full disk (the broker starts read-only): the manifest is in memory; the next start restores it again.
            const code = (e as NodeJS.ErrnoException).code;
            if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
            logger.warn('no space to keep the restored manifest on disk; serving it from memory', { topic, partition });
          });
          logger.info('partition manifest restored from the bucket', { topic, partition, segments: manifest.segments.length });
        }
      }
    }
    const tier = new TieredPartition(topic, partition, manifest ?? emptyManifest(), snapshotted, {
      store: this.store,
      readers: this.#readers,
      manifests: this.#manifests,
      metrics: this.metrics,
      logger,
      now: this.#options.now,
      onFenced: this.#options.onFenced,
    });
    // A single node leads everything in epoch 0; in a cluster, leadership is acquired later.
    if (local !== null) tier.lead(0, tier.manifest);
    const remoteEnd = tier.remoteEndOffset;
    const open = () =>
      PartitionLog.open({
        dir,
        config,
        now: this.#options.now,
        initialOffset: remoteEnd,
        deletableBelow: () => tier.deletableBelow(),
        onSegmentSealed: () => this.kick(),
        fileCache: this.#options.segmentFiles,
        appendRefusal: this.#options.appendRefusal,
        ...(this.#options.producerStateLimits !== undefined ? { producerStateLimits: this.#options.producerStateLimits } : {}),
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
  async deleteTopic(name: string, partitions: number): Promise<void> {
    // Whatever the bucket does next, nothing of this topic may be served from memory again.
    this.#readers.forgetPrefix(topicPrefix(name));
    const keys: string[] = [];
    for (const prefix of [topicPrefix(name), manifestsPrefix(name)]) {
      for await (const object of this.store.listAll(prefix, { signal: this.#abort.signal })) keys.push(object.key);
    }
    const result = keys.length > 0 ? await this.store.deleteMany(keys, { signal: this.#abort.signal }) : { deleted: [], errors: [] };
    for (let p = 0; p < partitions; p++) await this.#manifests.remove(name, p);
    if (result.errors.length > 0) {
      this.#options.logger.warn('some objects of a deleted topic could not be removed', { topic: name, errors: result.errors.slice(0, 5), count: result.errors.length });
    }
  }

  /**
   * Topic metadata that also lands in the bucket, and comes back from it onto an empty disk.
   * `isFreshDisk` says whether this data dir never held topic metadata: only then is the bucket
   * asked, so that a topic deleted here can never come back from leftovers in the bucket.
   */
  bucketBackedMetadata(inner: MetadataStore, isFreshDisk: () => Promise<boolean>): MetadataStore {
    return {
      load: async () => {
        const fresh = await isFreshDisk();
        const local = await inner.load();
        if (local.length > 0 || !fresh) return local;
        const restored = await this.#restorableTopics();
        for (const meta of restored) await inner.put(meta);
        if (restored.length > 0) this.#options.logger.info('topics restored from the bucket onto an empty data dir', { topics: restored.map((t) => t.name) });
        return restored;
      },
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

  async #loadSnapshot(topic: string, partition: number): Promise<PartitionManifest | null> {
    const key = manifestSnapshotKey(topic, partition);
    const bytes = await this.store.get(key, { signal: this.#abort.signal });
    if (bytes === null) return null;
    const snapshot = parseManifest(bytes.toString('utf8'), key);
    return { epoch: snapshot.epoch, logStartOffset: snapshot.logStartOffset, segments: snapshot.segments };
  }

  async #restorableTopics(): Promise<TopicMetadata[]> {
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
