// The broker's topics: metadata (through a MetadataStore) and one open
// PartitionLog per partition. Admin changes (create, delete, configs) run one
// at a time; each validates everything before it changes anything, and
// creation is all-or-nothing.

import { randomUUID } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, collisionKey, isPermanentFsError, isStrataError, topicNameProblem } from '@strata/protocol';
import { partitionDirName, validateLogConfig, type PartitionLog } from '@strata/log';
import type { TopicDefaults } from '../config.js';
import { isErrno } from '../fs-util.js';
import type { Logger } from '../logger.js';
import { publicMessage } from '../redact.js';
import type { Tiering } from '../tiering/tiering.js';
import type { TieredPartition } from '../tiering/tiered-partition.js';
import type { MetadataStore, TopicMetadata } from './metadata-store.js';
import {
  checkEffectiveConfigs,
  describe,
  effectiveConfigs,
  isTopicConfigKey,
  parseTopicConfigOverrides,
  parseTopicConfigValue,
  throwProblems,
  toLogConfig,
  TOPIC_CONFIG_KEYS,
  type Problem,
  type TopicConfigOverrides,
  type TopicConfigs,
} from './topic-config.js';

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

export interface TopicRegistryOptions {
  dataDir: string;
  store: MetadataStore;
  defaults: TopicDefaults;
  maxPartitions: number;
  maxRequestBytes: number;
  /** The floor of segment.bytes (STRATA_MIN_SEGMENT_BYTES). */
  minSegmentBytes: number;
  /** The largest replication factor a topic may have now, and why (1 on a single node; the live brokers in a cluster). */
  replicationLimit: () => { max: number; why: string };
  logger: Logger;
  now: () => number;
  /** Called after a topic is removed from the registry (wake its waiters, drop its metrics). */
  onTopicRemoved?: (topic: Topic) => void;
  /** Logs opened (at start) or closed (at shutdown, after a failed create) at once (STRATA_LOG_OPEN_CLOSE_CONCURRENCY). */
  openCloseConcurrency: number;
  tiering: Tiering;
}

/** A topic to create: what a CreateTopics request carries, whatever the protocol (partitions and factor default from the broker). */
export interface TopicSpec {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs?: Readonly<Record<string, unknown>>;
  /** Check everything a create checks, create nothing (Kafka's validate_only): the topic returned has no partitions open. */
  validateOnly?: boolean;
}

export class TopicRegistry {
  readonly #opts: TopicRegistryOptions;
  readonly #topics = new Map<string, Topic>();
  #adminTail: Promise<unknown> = Promise.resolve();
  #partitionCount = 0;

  constructor(options: TopicRegistryOptions) {
    this.#opts = options;
  }

  /**
   * Loads the metadata and opens (recovers) every partition log. A partition that cannot be opened
   * does not stop the broker: it is logged, counted (offlinePartitions) and answers a clear,
   * non-retriable STORAGE_ERROR, while every other partition is served.
   */
  async start(): Promise<void> {
    const metas = await this.#opts.store.load();
    const jobs: Array<() => Promise<void>> = [];
    const opened = new Map<string, PartitionHandle[]>();
    const offline = new Map<string, Map<number, OfflinePartition>>();
    for (const meta of metas) {
      const handles: PartitionHandle[] = new Array(meta.partitions);
      opened.set(meta.name, handles);
      const configs = effectiveConfigs(this.#opts.defaults.configs, meta.configs);
      for (let p = 0; p < meta.partitions; p++) {
        jobs.push(async () => {
          try {
            handles[p] = await this.#openPartition(meta.name, p, configs, 'recover');
          } catch (e) {
            const reason = publicMessage(isStrataError(e) ? e.message : errnoSummary(e));
            this.#opts.logger.error('partition log could not be opened; the broker starts without it', { topic: meta.name, partition: p, err: e });
            let topicOffline = offline.get(meta.name);
            if (topicOffline === undefined) offline.set(meta.name, (topicOffline = new Map()));
            topicOffline.set(p, { topic: meta.name, partition: p, reason });
          }
        });
      }
    }
    await runLimited(jobs, this.#opts.openCloseConcurrency);
    for (const meta of metas) {
      const configs = effectiveConfigs(this.#opts.defaults.configs, meta.configs);
      this.#topics.set(meta.name, new Topic(meta, configs, opened.get(meta.name)!, offline.get(meta.name)));
      this.#partitionCount += meta.partitions;
    }
    await this.#reportOrphans();
  }

  /** Partitions of served topics whose log could not be opened at start. */
  offlinePartitions(): OfflinePartition[] {
    const out: OfflinePartition[] = [];
    for (const topic of this.#topics.values()) out.push(...topic.offline.values());
    return out;
  }

  list(): Topic[] {
    return [...this.#topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get partitionCount(): number {
    return this.#partitionCount;
  }

  *allPartitions(): IterableIterator<PartitionHandle> {
    for (const topic of this.#topics.values()) yield* topic.partitions;
  }

  get(name: string): Topic {
    const topic = this.#topics.get(name);
    if (!topic) throw new StrataError('UNKNOWN_TOPIC', `topic "${name}" does not exist`, { details: { topic: name } });
    return topic;
  }

  has(name: string): boolean {
    return this.#topics.has(name);
  }

  /** Whether `handle` is still served (its topic was not deleted, or deleted and recreated). */
  isCurrent(handle: PartitionHandle): boolean {
    return this.#topics.get(handle.topic)?.handle(handle.partition) === handle;
  }

  /**
   * A failure on a partition deleted meanwhile is reported as the topic being gone, not as a storage
   * fault; a file-system failure names the partition and what failed, never the file's path (the
   * cause, which only the broker log shows, keeps it).
   */
  explainFailure(handle: PartitionHandle, error: unknown): unknown {
    if (!this.isCurrent(handle)) {
      return new StrataError('UNKNOWN_TOPIC', `topic "${handle.topic}" was deleted`, { cause: error, details: { topic: handle.topic } });
    }
    const errno = error as NodeJS.ErrnoException | null;
    if (isStrataError(error) || typeof errno?.code !== 'string' || typeof errno.syscall !== 'string') return error;
    return new StrataError('STORAGE_ERROR', `partition ${handle.partition} of topic "${handle.topic}": storage failure: ${errnoSummary(error)}`, {
      cause: error,
      details: { topic: handle.topic, partition: handle.partition },
      retriable: !isPermanentFsError(error),
    });
  }

  partition(name: string, partition: number): PartitionHandle {
    const topic = this.get(name);
    const handle = topic.handle(partition);
    const offline = topic.offline.get(partition);
    if (offline !== undefined) {
      throw new StrataError('STORAGE_ERROR', `partition ${partition} of topic "${name}" could not be opened when the broker started (${offline.reason}); see the broker log`, {
        details: { topic: name, partition, offline: true },
        retriable: false,
      });
    }
    if (!handle) {
      throw new StrataError('UNKNOWN_PARTITION', `topic "${name}" has no partition ${partition} (it has ${topic.partitionCount})`, {
        details: { topic: name, partition, partitions: topic.partitionCount },
      });
    }
    return handle;
  }

  /**
   * Checks the domain rules of `spec` (the name rule, the partition room, a placeable replication
   * factor, the configs) and creates the topic, all or nothing. The request's shape (fields, JSON
   * types) is the caller's to check: @strata/api's schemas do it for HTTP.
   */
  create(spec: TopicSpec): Promise<Topic> {
    return this.#admin(async () => {
      const problems: Problem[] = [];
      const nameProblem = topicNameProblem(spec.name);
      if (nameProblem !== null) problems.push({ code: 'INVALID_TOPIC', field: 'name', message: `topic name ${nameProblem}` });
      const name = spec.name as string;

      const partitions = spec.partitions ?? this.#opts.defaults.partitions;
      const room = this.#opts.maxPartitions - this.#partitionCount;
      if (!Number.isSafeInteger(partitions) || (partitions as number) < 1) {
        problems.push({ code: 'INVALID_PARTITIONS', field: 'partitions', message: `partitions must be an integer >= 1, got ${describe(partitions)}` });
      } else if ((partitions as number) > room) {
        problems.push({
          code: 'INVALID_PARTITIONS',
          field: 'partitions',
          message: `partitions (${partitions as number}) exceeds the room left on this broker (${room} of ${this.#opts.maxPartitions}, STRATA_MAX_PARTITIONS)`,
        });
      }

      const limit = this.#opts.replicationLimit();
      // An explicit factor must be placeable now (as in Kafka). The default is kept as it is: the
      // controller places min(factor, live brokers) replicas and adds the rest as brokers join.
      const explicit = spec.replicationFactor !== undefined;
      const replicationFactor = spec.replicationFactor ?? this.#opts.defaults.replicationFactor;
      let rfOk = false;
      if (!Number.isSafeInteger(replicationFactor) || (replicationFactor as number) < 1) {
        problems.push({ code: 'INVALID_CONFIG', field: 'replicationFactor', message: `replicationFactor must be an integer >= 1, got ${describe(replicationFactor)}` });
      } else if (explicit && (replicationFactor as number) > limit.max) {
        problems.push({
          code: 'INVALID_CONFIG',
          field: 'replicationFactor',
          message: `replicationFactor (${replicationFactor as number}) exceeds ${limit.max}: ${limit.why}`,
        });
      } else rfOk = true;

      const overrides = parseTopicConfigOverrides(spec.configs, 'configs', problems);
      const configs = effectiveConfigs(this.#opts.defaults.configs, overrides);
      if (rfOk) checkEffectiveConfigs(configs, replicationFactor as number, this.#opts, 'configs', problems);
      logConfigProblems(configs, problems);
      throwProblems(problems, 'invalid topic');

      if (this.#topics.has(name)) {
        throw new StrataError('TOPIC_ALREADY_EXISTS', `topic "${name}" already exists`, { details: { topic: name } });
      }
      for (const other of this.#topics.keys()) {
        if (collisionKey(other) === collisionKey(name)) {
          throw new StrataError('INVALID_TOPIC', `topic "${name}" collides with existing topic "${other}" ("." and "_" are interchangeable in metric names)`, {
            details: { topic: name, collidesWith: other },
          });
        }
      }

      const meta: TopicMetadata = {
        name,
        topicId: randomUUID(),
        partitions: partitions as number,
        replicationFactor: replicationFactor as number,
        configs: overrides,
        createdAtMs: this.#opts.now(),
      };
      if (spec.validateOnly === true) return new Topic(meta, configs, []);
      const handles: PartitionHandle[] = [];
      try {
        for (let p = 0; p < meta.partitions; p++) handles.push(await this.#openPartition(name, p, configs, 'create'));
        await this.#opts.store.put(meta);
      } catch (e) {
        // All or nothing: close every log this attempt opened, then remove every directory it made
        // (or found stale). Bounded parallelism: a failure from EMFILE must not meet EMFILE again here.
        for (const h of handles) this.#opts.tiering.removePartition(h.tier);
        const limit = this.#opts.openCloseConcurrency;
        await settleLimited(handles, limit, (h) => h.log.destroy());
        const dirs = Array.from({ length: meta.partitions }, (_, p) => join(this.#opts.dataDir, partitionDirName(name, p)));
        const left = (await settleLimited(dirs, limit, (dir) => rm(dir, { recursive: true, force: true }))).filter((r) => r.status === 'rejected');
        if (left.length > 0) this.#opts.logger.error('a failed topic creation left directories behind; a later create of the name removes them', { topic: name, count: left.length });
        this.#opts.logger.error('topic creation failed; rolled back', { topic: name, err: e });
        if (isStrataError(e)) throw e;
        const errno = (e as NodeJS.ErrnoException).code;
        if (errno === 'ENOSPC' || errno === 'EDQUOT') {
          throw new StrataError('STORAGE_FULL', `cannot create topic "${name}": no space left on the data disk (${errno}); nothing of it was kept`, { cause: e });
        }
        throw new StrataError('STORAGE_ERROR', `cannot create topic "${name}": ${errnoSummary(e)}`, { cause: e, retriable: !isPermanentFsError(e) });
      }
      const topic = new Topic(meta, configs, handles);
      this.#topics.set(name, topic);
      this.#partitionCount += meta.partitions;
      this.#opts.logger.info('topic created', { topic: name, partitions: meta.partitions, replicationFactor: meta.replicationFactor, configs: overrides });
      return topic;
    });
  }

  /**
   * Grows the topic to `count` partitions (Kafka's CreatePartitions): the existing partitions and
   * their data are untouched; the new ones are opened empty, then the metadata names them (in a
   * cluster the controller then assigns them as any other). Never shrinks: a count not above the
   * current one is INVALID_PARTITIONS, as in Kafka. All or nothing.
   */
  addPartitions(name: string, count: unknown, validateOnly = false): Promise<Topic> {
    return this.#admin(async () => {
      const topic = this.get(name);
      const current = topic.partitionCount;
      const room = this.#opts.maxPartitions - this.#partitionCount;
      if (!Number.isSafeInteger(count) || (count as number) <= current) {
        throw new StrataError('INVALID_PARTITIONS', `topic "${name}" has ${current} partitions: the new count must be an integer above it (a topic never shrinks), got ${describe(count)}`, {
          details: { topic: name, partitions: current, requested: count },
        });
      }
      const wanted = count as number;
      if (wanted - current > room) {
        throw new StrataError('INVALID_PARTITIONS', `${wanted - current} new partitions exceed the room left on this broker (${room} of ${this.#opts.maxPartitions}, STRATA_MAX_PARTITIONS)`, {
          details: { topic: name, partitions: current, requested: wanted, room },
        });
      }
      if (validateOnly) return topic;
      const meta: TopicMetadata = { ...topic.meta, partitions: wanted };
      const added = await this.#openNew(name, current, wanted, topic.configs, () => this.#opts.store.put(meta));
      topic.grow(meta, added);
      this.#partitionCount += wanted - current;
      this.#opts.logger.info('topic partitions added', { topic: name, from: current, to: wanted });
      return topic;
    });
  }

  /** Opens partitions [from, to) empty, then runs `commit`; on any failure closes and removes them all, and throws. */
  async #openNew(name: string, from: number, to: number, configs: TopicConfigs, commit: () => Promise<void>): Promise<PartitionHandle[]> {
    const handles: PartitionHandle[] = [];
    try {
      for (let p = from; p < to; p++) handles.push(await this.#openPartition(name, p, configs, 'create'));
      await commit();
      return handles;
    } catch (e) {
      for (const h of handles) this.#opts.tiering.removePartition(h.tier);
      await settleLimited(handles, this.#opts.openCloseConcurrency, (h) => h.log.destroy());
      this.#opts.logger.error('adding partitions failed; rolled back', { topic: name, from, to, err: e });
      if (isStrataError(e)) throw e;
      throw new StrataError('STORAGE_ERROR', `cannot add partitions to topic "${name}": ${errnoSummary(e)}`, { cause: e, retriable: !isPermanentFsError(e) });
    }
  }

  /** Removes the topic from service, then its metadata, then its partition directories. */
  delete(name: string): Promise<void> {
    return this.#admin(async () => {
      const topic = this.get(name);
      this.#topics.delete(name);
      try {
        await this.#opts.store.remove(name);
      } catch (e) {
        this.#topics.set(name, topic);
        throw e;
      }
      this.#partitionCount -= topic.partitionCount;
      this.#opts.onTopicRemoved?.(topic);
      for (const handle of topic.partitions) this.#opts.tiering.removePartition(handle.tier);
      const removed = [...topic.partitions.map((h) => h.partition), ...topic.offline.keys()];
      const results = [
        ...(await settleLimited(topic.partitions, this.#opts.openCloseConcurrency, async (h) => {
          await h.tier.idle();
          await h.log.destroy();
        })),
        // A partition that could not be opened at start has no log to destroy: remove what is on disk.
        ...(await settleLimited([...topic.offline.keys()], this.#opts.openCloseConcurrency, (p) =>
          rm(join(this.#opts.dataDir, partitionDirName(name, p)), { recursive: true, force: true }),
        )),
      ];
      await this.#opts.tiering.deleteTopic(name, topic.partitionCount).catch((e: unknown) => {
        // The topic is gone from service; objects left behind are garbage, reported here.
        this.#opts.logger.error('could not remove a deleted topic\'s objects from the bucket', { topic: name, err: e });
      });
      for (const [i, r] of results.entries()) {
        if (r.status === 'rejected') {
          const p = removed[i];
          // The metadata is gone, so the topic is deleted; the directory is an orphan that a
          // later create of the same name removes.
          this.#opts.logger.error('could not remove a deleted partition directory', { topic: name, partition: p, err: r.reason });
        }
      }
      this.#opts.logger.info('topic deleted', { topic: name, partitions: topic.partitionCount });
    });
  }

  /**
   * PATCH semantics: `{key: value | null}`; a value sets the override, null resets the key
   * to the broker default. Everything is validated before anything changes; validateOnly (Kafka's
   * validate_only) stops there.
   */
  updateConfigs(name: string, changes: Readonly<Record<string, unknown>>, validateOnly = false): Promise<Topic> {
    return this.#admin(async () => {
      const topic = this.get(name);
      const problems: Problem[] = [];
      const overrides: Record<string, unknown> = { ...topic.meta.configs };
      for (const [key, raw] of Object.entries(changes)) {
        const where = `configs.${key}`;
        if (!isTopicConfigKey(key)) {
          problems.push({ code: 'INVALID_CONFIG', field: where, message: `unknown config "${key}" (known: ${TOPIC_CONFIG_KEYS.join(', ')})` });
          continue;
        }
        if (raw === null) {
          delete overrides[key];
          continue;
        }
        const value = parseTopicConfigValue(key, raw, where, problems);
        if (value !== undefined) overrides[key] = value;
      }
      const configs = effectiveConfigs(this.#opts.defaults.configs, overrides as TopicConfigOverrides);
      checkEffectiveConfigs(configs, topic.meta.replicationFactor, this.#opts, 'configs', problems);
      logConfigProblems(configs, problems);
      throwProblems(problems, 'invalid configs');
      if (validateOnly) return topic;

      const meta: TopicMetadata = { ...topic.meta, configs: overrides as TopicConfigOverrides };
      await this.#opts.store.put(meta);
      topic.setMeta(meta, configs);
      const logConfig = toLogConfig(configs);
      for (const handle of topic.partitions) handle.log.updateConfig(logConfig);
      this.#opts.logger.info('topic configs updated', { topic: name, configs: meta.configs });
      return topic;
    });
  }

  /**
   * Clustered: applies the coordinator's topic list, so topics created, reconfigured or deleted
   * through another broker are served here too. A topic deleted elsewhere only leaves this broker's
   * disk: the broker that deleted it removes its objects from the bucket.
   */
  sync(metas: readonly TopicMetadata[]): Promise<void> {
    return this.#admin(async () => {
      const wanted = new Map(metas.map((m) => [m.name, m]));
      for (const topic of [...this.#topics.values()]) {
        const meta = wanted.get(topic.name);
        if (meta === undefined || meta.topicId !== topic.meta.topicId || meta.partitions < topic.partitionCount) {
          await this.#dropLocal(topic);
          this.#opts.logger.info('topic removed by another broker', { topic: topic.name });
          continue;
        }
        if (meta.partitions > topic.partitionCount && this.#partitionCount + meta.partitions - topic.partitionCount > this.#opts.maxPartitions) {
          this.#opts.logger.error('partitions added by another broker do not fit under STRATA_MAX_PARTITIONS here; not served by this broker', { topic: topic.name, partitions: meta.partitions });
        } else if (meta.partitions > topic.partitionCount) {
          const from = topic.partitionCount;
          try {
            topic.grow({ ...topic.meta, partitions: meta.partitions }, await this.#openNew(topic.name, from, meta.partitions, topic.configs, async () => {}));
            this.#partitionCount += meta.partitions - from;
            this.#opts.logger.info('topic partitions added by another broker', { topic: topic.name, from, to: meta.partitions });
          } catch (e) {
            this.#opts.logger.error('could not open partitions added by another broker; will retry', { topic: topic.name, err: e });
          }
        }
        if (JSON.stringify(meta.configs) !== JSON.stringify(topic.meta.configs)) {
          const configs = effectiveConfigs(this.#opts.defaults.configs, meta.configs);
          topic.setMeta({ ...meta, partitions: topic.partitionCount }, configs);
          const logConfig = toLogConfig(configs);
          for (const handle of topic.partitions) handle.log.updateConfig(logConfig);
          this.#opts.logger.info('topic configs changed by another broker', { topic: topic.name, configs: meta.configs });
        }
      }
      for (const meta of metas) {
        if (this.#topics.has(meta.name)) continue;
        if (this.#partitionCount + meta.partitions > this.#opts.maxPartitions) {
          // The bound holds on this path too: a broker never opens more partitions than it may hold.
          this.#opts.logger.error('a topic created by another broker does not fit under STRATA_MAX_PARTITIONS here; not served by this broker', {
            topic: meta.name,
            partitions: meta.partitions,
            held: this.#partitionCount,
            maxPartitions: this.#opts.maxPartitions,
          });
          continue;
        }
        const configs = effectiveConfigs(this.#opts.defaults.configs, meta.configs);
        const handles: PartitionHandle[] = [];
        try {
          for (let p = 0; p < meta.partitions; p++) handles.push(await this.#openPartition(meta.name, p, configs, 'create'));
        } catch (e) {
          for (const h of handles) this.#opts.tiering.removePartition(h.tier);
          await settleLimited(handles, this.#opts.openCloseConcurrency, (h) => h.log.close());
          this.#opts.logger.error('could not open a topic created by another broker; will retry', { topic: meta.name, err: e });
          continue;
        }
        this.#topics.set(meta.name, new Topic(meta, configs, handles));
        this.#partitionCount += meta.partitions;
        this.#opts.logger.info('topic created by another broker', { topic: meta.name, partitions: meta.partitions });
      }
    });
  }

  async #dropLocal(topic: Topic): Promise<void> {
    this.#topics.delete(topic.name);
    this.#partitionCount -= topic.partitionCount;
    this.#opts.onTopicRemoved?.(topic);
    for (const handle of topic.partitions) this.#opts.tiering.removePartition(handle.tier);
    await settleLimited(topic.partitions, this.#opts.openCloseConcurrency, async (h) => {
      await h.tier.idle();
      await h.log.destroy();
    });
  }

  /**
   * Closes every log (flushing it, writing its clean-shutdown marker), a bounded number at once:
   * each close needs a few descriptors for a moment, and 10,000 at once meet EMFILE, so that
   * some logs would recover as unclean at the next start.
   */
  async close(): Promise<void> {
    const handles = [...this.allPartitions()];
    for (const handle of handles) this.#opts.tiering.removePartition(handle.tier);
    const results = await settleLimited(handles, this.#opts.openCloseConcurrency, (h) => h.log.close());
    let failed = 0;
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') continue;
      failed++;
      this.#opts.logger.error('closing a partition log failed', { topic: handles[i]!.topic, partition: handles[i]!.partition, err: r.reason });
    }
    if (failed > 0) throw new StrataError('STORAGE_ERROR', `${failed} partition log(s) failed to close`);
  }

  async #openPartition(topic: string, partition: number, configs: TopicConfigs, mode: 'create' | 'recover'): Promise<PartitionHandle> {
    const key = `${topic}-${partition}`;
    const dir = join(this.#opts.dataDir, partitionDirName(topic, partition));
    const exists = await stat(dir).then(
      () => true,
      (e: unknown) => {
        if (isErrno(e, 'ENOENT')) return false;
        throw e;
      },
    );
    if (mode === 'create' && exists) {
      // Left by a create or delete that crashed half-way: no topic owns it.
      this.#opts.logger.warn('removing a stale partition directory before creating the topic', { topic, partition, dir });
      await rm(dir, { recursive: true, force: true });
    }
    if (mode === 'recover' && !exists) {
      this.#opts.logger.warn('partition directory is missing; starting the partition empty', { topic, partition, dir });
    }
    const { log, tier } = await this.#opts.tiering.openPartition(topic, partition, dir, toLogConfig(configs), mode);
    if (mode === 'recover') {
      const report = log.recovery;
      const fields = { topic, partition, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, ...report };
      if (!report.cleanShutdown || report.bytesTruncated > 0) this.#opts.logger.warn('partition log recovered after an unclean shutdown', fields);
      else this.#opts.logger.debug('partition log opened', fields);
    }
    return { topic, partition, key, log, tier };
  }

  /** Partition directories no topic owns: reported, not deleted (they may be all that is left of data). */
  async #reportOrphans(): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.#opts.dataDir);
    } catch {
      return;
    }
    // Compared with the names the topics own, not parsed: a long topic's directory is a bounded form.
    const owned = new Set<string>();
    for (const topic of this.#topics.values()) for (let p = 0; p < topic.partitionCount; p++) owned.add(partitionDirName(topic.name, p));
    for (const entry of entries) {
      if (!/-\d+$/.test(entry) || owned.has(entry)) continue;
      this.#opts.logger.warn('partition directory belongs to no topic; it is removed if a topic of that name is created', {
        dir: join(this.#opts.dataDir, entry),
      });
    }
  }

  #admin<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#adminTail.then(task, task);
    this.#adminTail = run.catch(() => undefined);
    return run;
  }
}

/** The log's own checks, so a value it would refuse is a 400 here rather than a 500 later. */
function logConfigProblems(configs: TopicConfigs, problems: Problem[]): void {
  if (problems.length > 0) return;
  try {
    validateLogConfig(toLogConfig(configs));
  } catch (e) {
    problems.push({ code: 'INVALID_CONFIG', field: 'configs', message: (e as Error).message });
  }
}

/** An I/O failure in words, without the path it carries (the path stays in the broker log). */
function errnoSummary(e: unknown): string {
  const errno = e as NodeJS.ErrnoException | null;
  if (errno !== null && typeof errno === 'object' && typeof errno.code === 'string') return `${errno.code}${errno.syscall ? ` (${errno.syscall})` : ''}`;
  return 'unexpected error';
}

/** Runs `task` on every item, at most `limit` at once, and reports every outcome in item order. */
async function settleLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>): Promise<PromiseSettledResult<unknown>[]> {
  const results: PromiseSettledResult<unknown>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await task(items[i]!) };
      } catch (e) {
        results[i] = { status: 'rejected', reason: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function runLimited(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failure !== null) throw failure;
}
