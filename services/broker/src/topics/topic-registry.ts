// The broker's topics: metadata (through a MetadataStore) and one open
// PartitionLog per partition. Admin changes (create, delete, configs) run one
// at a time; each validates everything before it changes anything, and
// creation is all-or-nothing.

import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, collisionKey, isPermanentFsError, isStrataError, topicNameProblem } from '@strata/protocol';
import { partitionDirName } from '@strata/log';
import type { TopicDefaults } from '../config.js';
import { isErrno } from '../fs-util.js';
import type { Logger } from '../logger.js';
import type { Tiering } from '../tiering/tiering.js';
import type { MetadataStore, TopicMetadata } from './metadata-store.js';
import { errnoSummary, explainPartitionFailure, logConfigProblems, reportOrphans, settleLimited } from './registry-helpers.js';
import { checkGrowth, openNewPartitions } from './partition-growth.js';
import { recoverTopics } from './recover-topics.js';
import { Topic, type OfflinePartition, type PartitionHandle } from './topic.js';
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

export { Topic, type OfflinePartition, type PartitionHandle } from './topic.js';

export interface TopicRegistryOptions {
  dataDir: string;
  store: MetadataStore;
  defaults: TopicDefaults;
  maxPartitions: number;
  maxRequestBytes: number;
  /** The floor of segment.bytes (STRATA_MIN_SEGMENT_BYTES). */
  minSegmentBytes: number;
  /** The largest replication factor a topic may have now, and why: the live brokers (one on a single node), read now. */
  replicationLimit: () => Promise<{ max: number; why: string }>;
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
  #localChanges = 0;

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
    const { defaults, openCloseConcurrency, logger } = this.#opts;
    const open = (topic: string, p: number, configs: TopicConfigs): Promise<PartitionHandle> => this.#openPartition(topic, p, configs, 'recover');
    for (const topic of await recoverTopics(metas, defaults.configs, open, openCloseConcurrency, logger)) {
      this.#topics.set(topic.name, topic);
      this.#partitionCount += topic.partitionCount;
    }
    await reportOrphans(this.#opts.dataDir, this.#topics.values(), this.#opts.logger);
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

  /** A failure in words a client may see (registry-helpers.ts, explainPartitionFailure). */
  explainFailure(handle: PartitionHandle, error: unknown): unknown {
    return explainPartitionFailure(handle, error, this.isCurrent(handle));
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
    return this.#localChange(async () => {
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

      const limit = await this.#opts.replicationLimit();
      // An explicit factor must be placeable now (as in Kafka). The default falls out of the live
      // set: min(default, live brokers), so a single node makes topics of one replica, and a
      // cluster topics of the default factor once that many brokers are up.
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
    return this.#localChange(async () => {
      const topic = this.get(name);
      const current = topic.partitionCount;
      const wanted = checkGrowth(name, current, count, this.#opts.maxPartitions - this.#partitionCount, this.#opts.maxPartitions);
      if (validateOnly) return topic;
      const meta: TopicMetadata = { ...topic.meta, partitions: wanted };
      const added = await this.#openNew(name, current, wanted, topic.configs, () => this.#opts.store.put(meta));
      topic.grow(meta, added);
      this.#partitionCount += wanted - current;
      this.#opts.logger.info('topic partitions added', { topic: name, from: current, to: wanted });
      return topic;
    });
  }

  /** Opens partitions [from, to) empty, then runs `commit`: all or nothing (partition-growth.ts). */
  #openNew(name: string, from: number, to: number, configs: TopicConfigs, commit: () => Promise<void>): Promise<PartitionHandle[]> {
    const { tiering, openCloseConcurrency, logger } = this.#opts;
    return openNewPartitions({ open: (t, p, c) => this.#openPartition(t, p, c, 'create'), tiering, openCloseConcurrency, logger }, name, from, to, configs, commit);
  }

  /** Removes the topic from service, then its metadata, then its partition directories. */
  delete(name: string): Promise<void> {
    return this.#localChange(async () => {
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
      await this.#opts.tiering.deleteTopic(name).catch((e: unknown) => {
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
    return this.#localChange(async () => {
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
  sync(metas: readonly TopicMetadata[], changesSeen: number): Promise<void> {
    return this.#admin(async () => {
      // A create, delete or config change made here after the list was read: the list may not show
      // it (a slow create of many partitions would be dropped again). The next sync reads anew.
      if (changesSeen !== this.#localChanges) return;
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
    const { log, tier } = await this.#opts.tiering.openPartition(topic, partition, dir, toLogConfig(configs));
    if (mode === 'recover') {
      const report = log.recovery;
      const fields = { topic, partition, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, ...report };
      if (!report.cleanShutdown || report.bytesTruncated > 0) this.#opts.logger.warn('partition log recovered after an unclean shutdown', fields);
      else this.#opts.logger.debug('partition log opened', fields);
    }
    return { topic, partition, key, log, tier };
  }

  /** Partition directories no topic owns: reported, not deleted (they may be all that is left of data). */
  /** Counts the admin changes made through this broker: a sync applies a list read since the last one only. */
  get localChanges(): number {
    return this.#localChanges;
  }

  /** An admin change made through this broker (create, delete, configs): counted when it ends, done or failed. */
  #localChange<T>(task: () => Promise<T>): Promise<T> {
    return this.#admin(async () => {
      try {
        return await task();
      } finally {
        this.#localChanges++;
      }
    });
  }

  #admin<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#adminTail.then(task, task);
    this.#adminTail = run.catch(() => undefined);
    return run;
  }
}
