// The Redis engine of the Coordinator (docs/architecture.md#coordination): every multi-key change is one Lua script
// (../../lua/), loaded once per connection and called by SHA; every key comes from CoordKeys;
// every error goes through redis/errors.ts. See README.md for the fencing design, in particular
// how a restart or failover that loses recent writes can never produce two leaders of one epoch.

import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { KAFKA_JITTER, StrataError, backoffMs, type BackoffPolicy } from '@strata/protocol';
import type {
  BrokerRegistration,
  CallOptions,
  CommittedOffset,
  ControllerAcquireRequest,
  ControllerLease,
  Coordinator,
  CoordinatorListener,
  CoordinatorStatus,
  GroupDescription,
  GroupExpiry,
  GroupExpiryRequest,
  GroupHeartbeatRequest,
  GroupHeartbeatResponse,
  GroupListing,
  GroupMember,
  LeadershipRequest,
  LeadershipTransfer,
  LeadershipTransferResult,
  LeaseAcquisition,
  LeaseRefusal,
  LiveBroker,
  LogStartAdvance,
  OffsetCommit,
  PartitionAssignment,
  PartitionManifest,
  PartitionState,
  PartitionStateChange,
  PartitionStateUpdate,
  RemoteSegment,
  SegmentCommit,
  TopicConfigChange,
  TopicMetadata,
} from '../coordinator.js';
import { assert } from '../assert.js';
import { withDeadline } from '../deadline.js';
import { unavailable } from '../errors.js';
import { Listeners } from '../events.js';
import {
  Checks,
  LIMITS,
  checkGroupId,
  checkTtl,
  collisionKey,
  groupLimitsFrom,
} from '../validate.js';
import { CoordinatorArguments } from '../arguments.js';
import { COORDINATOR_DEFAULTS, GROUP_LIMIT_DEFAULTS, type GroupLimits } from '../defaults.js';
import { describeCore, heartbeatIntervalMs, toTopicPartitions, type GroupCore } from '../groups.js';
import {
  configField,
  configFields,
  decodeCounts,
  decodeMember,
  decodePartitionMap,
  decodeOffset,
  decodePartitionState,
  decodeSegment,
  decodeTopic,
  encodeOffset,
  encodeSegment,
  int,
  list,
  offsetField,
  pairs,
  topicFields,
} from './codec.js';
import { fromRedisError, isNoScript } from './errors.js';
import { CoordKeys } from './keys.js';
import { loadScripts, type Script, type ScriptName } from './scripts.js';
import { dict } from '../dict.js';

export interface RedisCoordinatorOptions {
  /** redis://[user:password@]host:port[/db] (default redis://127.0.0.1:6379). */
  url?: string;
  /** Extra ioredis options (they win over the ones set here). */
  redis?: RedisOptions;
  /** Prefix of every key (default "strata:"): several clusters can share one Redis. */
  prefix?: string;
  /** Longest lease TTL granted (default 60 s); the quarantine must cover it. */
  leaseTtlMaxMs?: number;
  /**
   * How long after a restart or failover is first seen no lease is granted (default: leaseTtlMaxMs).
   * It must be at least the longest TTL any broker uses, or a forgotten leader may still be writing
   * when a new one is granted: lower it only in tests.
   */
  restartQuarantineMs?: number;
  /** Deadline of a call that has no signal of its own, or a longer one (default 5 s). */
  callTimeoutMs?: number;
  /** What groups may store (default GROUP_LIMIT_DEFAULTS). */
  groupLimits?: Partial<GroupLimits>;
}

/** What boot-1.lua answered: the server run the client talks to and its quarantine (server ms). */
interface Session {
  runId: string;
  bootId: string;
  sinceMs: number;
  untilMs: number;
  nowMs: number;
}

const SESSION_ATTEMPTS_MAX = 3;
/** Between reconnects to Redis (ioredis counts them from 1): 40 ms doubling to 1 s, ±20%. */
const RECONNECT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 40, maxMs: 1_000, jitter: KAFKA_JITTER });
const PIPELINE_CHUNK = 1000;

export class RedisCoordinator implements Coordinator {
  readonly description: string;
  readonly keys: CoordKeys;
  readonly #redis: Redis;
  readonly #scripts: ReadonlyMap<ScriptName, Script>;
  readonly #leaseTtlMaxMs: number;
  readonly #quarantineMs: number;
  readonly #callTimeoutMs: number;
  readonly #groupLimits: GroupLimits;
  /** The argument checks both engines share (arguments.ts). */
  readonly #args: CoordinatorArguments;
  readonly #events = new Listeners();
  #scriptsLoading: Promise<void> | undefined;
  #session: Promise<Session> | undefined;
  #lastRunId: string | undefined;
  #restartsSeen = 0;
  #closed = false;

  private constructor(options: RedisCoordinatorOptions) {
    this.keys = new CoordKeys(options.prefix);
    this.#scripts = loadScripts();
    this.#leaseTtlMaxMs = options.leaseTtlMaxMs ?? COORDINATOR_DEFAULTS.leaseTtlMaxMs;
    this.#quarantineMs = options.restartQuarantineMs ?? this.#leaseTtlMaxMs;
    this.#callTimeoutMs = options.callTimeoutMs ?? COORDINATOR_DEFAULTS.callTimeoutMs;
    this.#groupLimits = groupLimitsFrom(options.groupLimits, GROUP_LIMIT_DEFAULTS);
    this.#args = new CoordinatorArguments({ leaseTtlMaxMs: this.#leaseTtlMaxMs, groupLimits: this.#groupLimits });
    const c = new Checks('RedisCoordinator options');
    checkTtl(c, 'leaseTtlMaxMs', this.#leaseTtlMaxMs, LIMITS.leaseTtlMaxMsCeiling);
    if (typeof this.#quarantineMs !== 'number' || !Number.isSafeInteger(this.#quarantineMs) || this.#quarantineMs < 0) {
      c.add('INVALID_CONFIG', 'restartQuarantineMs', `restartQuarantineMs must be an integer >= 0, got ${String(this.#quarantineMs)}`);
    }
    checkTtl(c, 'callTimeoutMs', this.#callTimeoutMs, 600_000);
    if (options.redis?.keyPrefix !== undefined) c.add('INVALID_CONFIG', 'redis.keyPrefix', 'set `prefix`, not ioredis\' keyPrefix: every key comes from CoordKeys');
    c.done();
    const url = options.url ?? 'redis://127.0.0.1:6379';
    this.#redis = new Redis(url, {
      lazyConnect: true,
      // Commands wait through a reconnect; each call's own deadline bounds the wait (withDeadline).
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      // After a restart, wait until the AOF is replayed before anything runs.
      enableReadyCheck: true,
      retryStrategy: (attempt) => backoffMs(attempt, RECONNECT_BACKOFF),
      ...options.redis,
    });
    const where = redactUrl(url);
    this.description = `redis(${where}, prefix ${JSON.stringify(this.keys.prefix)})`;
    this.#redis.on('error', () => {
      // Connection errors surface on the calls (STORAGE_ERROR) and as 'disconnected' events.
    });
    this.#redis.on('close', () => {
      // A restart or failover always closes the connection: the next acquisition asks again.
      this.#session = undefined;
      if (!this.#closed) this.#events.emit({ type: 'disconnected' });
    });
    this.#redis.on('ready', () => {
      // Scripts are not persisted by Redis: load them on every connection (NOSCRIPT is the backstop).
      void this.#loadScripts('connect').catch(() => undefined);
      void this.#ensureSession(undefined)
        .then((s) => this.#events.emit({ type: 'connected', serverRunId: s.runId }))
        .catch(() => undefined);
    });
  }

  /** Connects, loads the scripts and reads the boot record; rejects (STORAGE_ERROR) if Redis is unreachable. */
  static async connect(options: RedisCoordinatorOptions = {}, callOptions: CallOptions = {}): Promise<RedisCoordinator> {
    const coordinator = new RedisCoordinator(options);
    try {
      await withDeadline('connect to Redis', callOptions.signal, coordinator.#callTimeoutMs, () => coordinator.#redis.connect());
      await coordinator.#loadScripts('connect');
      await coordinator.#ensureSession(callOptions.signal);
    } catch (e) {
      coordinator.#closed = true;
      coordinator.#redis.disconnect();
      throw fromRedisError(e, `connect to ${coordinator.description}`);
    }
    return coordinator;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** Any call: the deadline, and every failure as a StrataError. */
  async #call<T>(what: string, context: Record<string, unknown>, options: CallOptions | undefined, task: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StrataError('INTERNAL_ERROR', `${what}: the coordinator is closed`);
    try {
      return await withDeadline(what, options?.signal, this.#callTimeoutMs, task);
    } catch (e) {
      throw fromRedisError(e, what, context);
    }
  }

  /** One script by SHA; after NOSCRIPT (a restarted server forgot its scripts), load them and retry once. */
  async #eval(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const script = this.#scripts.get(name);
    assert(script !== undefined && script.numKeys === keys.length, `script ${name} takes ${script?.numKeys} keys, got ${keys.length}`);
    const argv = args.map((a) => (typeof a === 'number' ? numberArg(a) : a));
    try {
      return await this.#redis.evalsha(script.sha, keys.length, ...keys, ...argv);
    } catch (e) {
      if (!isNoScript(e)) throw e;
      await this.#loadScripts('noscript');
      return await this.#redis.evalsha(script.sha, keys.length, ...keys, ...argv);
    }
  }

  #loadScripts(reason: 'connect' | 'noscript'): Promise<void> {
    this.#scriptsLoading ??= (async () => {
      try {
        for (const script of this.#scripts.values()) {
          const sha = (await this.#redis.script('LOAD', script.source)) as string;
          assert(sha === script.sha, `Redis computed SHA ${sha} for ${script.file}, expected ${script.sha}`);
        }
        this.#events.emit({ type: 'scripts-loaded', count: this.#scripts.size, reason });
      } finally {
        this.#scriptsLoading = undefined;
      }
    })();
    return this.#scriptsLoading;
  }

  /** The server run this client talks to, read once per connection (or when forced). */
  #ensureSession(signal: AbortSignal | undefined, force = false): Promise<Session> {
    if (force || this.#session === undefined) {
      const session = this.#readBoot();
      this.#session = session;
      session.catch(() => {
        if (this.#session === session) this.#session = undefined;
      });
    }
    const current = this.#session!;
    return withDeadline('read the coordinator boot record', signal, this.#callTimeoutMs, () => current);
  }

  async #readBoot(): Promise<Session> {
    const reply = (await this.#eval('boot', [this.keys.boot()], [randomUUID(), this.#quarantineMs])) as unknown[];
    const session: Session = {
      runId: String(reply[0]),
      bootId: String(reply[1]),
      sinceMs: int(reply[2], 'boot since'),
      untilMs: int(reply[3], 'boot until'),
      nowMs: int(reply[4], 'server time'),
    };
    const previousRunId = this.#lastRunId ?? String(reply[5]);
    const changed = reply[6] === 1;
    const created = reply[7] === 1;
    const restart = (this.#lastRunId !== undefined && this.#lastRunId !== session.runId) || (this.#lastRunId === undefined && changed);
    if (this.#lastRunId !== undefined && this.#lastRunId !== session.runId) this.#restartsSeen++;
    this.#lastRunId = session.runId;
    if (restart) {
      this.#events.emit({
        type: 'restart-detected',
        previousRunId,
        serverRunId: session.runId,
        stateLost: created,
        quarantineRemainingMs: Math.max(0, session.untilMs - session.nowMs),
      });
    }
    return session;
  }

  /** Runs an acquisition script with the session's run id and quarantine; re-reads the session if the server changed. */
  async #acquire(
    name: 'acquire-controller' | 'acquire-leadership',
    keys: string[],
    args: (session: Session) => (string | number)[],
    signal: AbortSignal | undefined,
  ): Promise<LeaseAcquisition> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.#ensureSession(signal);
      const reply = (await this.#eval(name, keys, args(session))) as unknown[];
      if (reply[0] === 1) return { acquired: true, epoch: int(reply[1], 'epoch') };
      const reason = String(reply[1]);
      if (reason === 'session') {
        // The server changed between our boot check and this call: the run id in the script did not match.
        if (attempt >= SESSION_ATTEMPTS_MAX) throw unavailable(`${name}: the Redis server changed ${attempt} times during the call`);
        await this.#ensureSession(signal, true);
        continue;
      }
      assert(reason === 'held' || reason === 'quarantine' || reason === 'not-assigned' || reason === 'not-in-isr', `${name} answered reason ${reason}`);
      const holder = String(reply[2]);
      return {
        acquired: false,
        reason: reason as LeaseRefusal,
        holder: holder === '' ? null : holder,
        epoch: int(reply[3], 'epoch'),
        retryAfterMs: int(reply[4], 'retryAfterMs'),
      };
    }
  }

  #pipelineExec(build: (p: ReturnType<Redis['pipeline']>) => void): Promise<unknown[]> {
    const p = this.#redis.pipeline();
    build(p);
    return p.exec().then((results) => {
      assert(results !== null, 'pipeline was discarded');
      return results.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
    });
  }

  // ---- brokers -------------------------------------------------------------------------------

  async registerBroker(broker: BrokerRegistration, ttlMs: number, options?: CallOptions): Promise<void> {
    this.#args.registerBroker(broker, ttlMs);
    return this.#call(`registerBroker ${broker.id}`, { brokerId: broker.id }, options, async () => {
      await this.#eval(
        'register-broker',
        [this.keys.brokers(), this.keys.broker(broker.id)],
        [broker.id, ttlMs, broker.url, broker.internalUrl, broker.rack ?? '', broker.startedAtMs],
      );
    });
  }

  async heartbeatBroker(brokerId: string, ttlMs: number, options?: CallOptions): Promise<boolean> {
    this.#args.heartbeatBroker(brokerId, ttlMs);
    return this.#call(`heartbeatBroker ${brokerId}`, { brokerId }, options, async () => {
      return (await this.#eval('heartbeat-broker', [this.keys.brokers(), this.keys.broker(brokerId)], [brokerId, ttlMs])) === 1;
    });
  }

  async deregisterBroker(brokerId: string, options?: CallOptions): Promise<boolean> {
    this.#args.deregisterBroker(brokerId);
    return this.#call(`deregisterBroker ${brokerId}`, { brokerId }, options, async () => {
      return (await this.#eval('deregister-broker', [this.keys.brokers(), this.keys.broker(brokerId)], [brokerId])) === 1;
    });
  }

  async listBrokers(options?: CallOptions): Promise<LiveBroker[]> {
    return this.#call('listBrokers', {}, options, async () => {
      const reply = (await this.#eval('list-brokers', [this.keys.brokers()], [])) as unknown[];
      const nowMs = int(reply[0], 'server time');
      const live: { id: string; expiresAtMs: number }[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2) live.push({ id: String(reply[i]), expiresAtMs: int(reply[i + 1], 'broker expiry') });
      const out: LiveBroker[] = [];
      for (let at = 0; at < live.length; at += PIPELINE_CHUNK) {
        const chunk = live.slice(at, at + PIPELINE_CHUNK);
        const hashes = await this.#pipelineExec((p) => chunk.forEach((b) => p.hgetall(this.keys.broker(b.id))));
        chunk.forEach((b, i) => {
          const h = hashes[i] as Record<string, string>;
          if (h['url'] === undefined) return; // expired between the two reads
          out.push({
            id: b.id,
            url: h['url'],
            internalUrl: h['internal'] ?? '',
            rack: h['rack'] === undefined || h['rack'] === '' ? null : h['rack'],
            startedAtMs: int(h['started'], 'broker startedAtMs'),
            expiresInMs: Math.max(0, b.expiresAtMs - nowMs),
          });
        });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }

  // ---- topics --------------------------------------------------------------------------------

  async createTopic(topic: TopicMetadata, options?: CallOptions): Promise<void> {
    this.#args.createTopic(topic);
    return this.#call(`createTopic ${topic.name}`, { topic: topic.name }, options, async () => {
      await this.#eval('create-topic', [this.keys.topics(), this.keys.topic(topic.name)], [topic.name, collisionKey(topic.name), ...topicFields(topic)]);
    });
  }

  async getTopic(name: string, options?: CallOptions): Promise<TopicMetadata | null> {
    this.#args.getTopic(name);
    return this.#call(`getTopic ${name}`, { topic: name }, options, async () => {
      const h = await this.#redis.hgetall(this.keys.topic(name));
      return Object.keys(h).length === 0 ? null : decodeTopic(h);
    });
  }

  async listTopics(options?: CallOptions): Promise<TopicMetadata[]> {
    return this.#call('listTopics', {}, options, async () => {
      const names = (await this.#redis.hvals(this.keys.topics())).sort();
      const out: TopicMetadata[] = [];
      for (let at = 0; at < names.length; at += PIPELINE_CHUNK) {
        const chunk = names.slice(at, at + PIPELINE_CHUNK);
        const hashes = await this.#pipelineExec((p) => chunk.forEach((n) => p.hgetall(this.keys.topic(n))));
        for (const h of hashes as Record<string, string>[]) if (Object.keys(h).length > 0) out.push(decodeTopic(h));
      }
      return out;
    });
  }

  async updateTopicConfigs(name: string, change: TopicConfigChange, options?: CallOptions): Promise<TopicMetadata> {
    this.#args.updateTopicConfigs(name, change);
    const remove = (change.remove ?? []).map(configField);
    const set = configFields(change.set ?? {});
    return this.#call(`updateTopicConfigs ${name}`, { topic: name }, options, async () => {
      const reply = (await this.#eval('update-topic-configs', [this.keys.topic(name)], [LIMITS.configsMax, remove.length, ...remove, ...set])) as unknown[];
      return decodeTopic(pairs(reply));
    });
  }

  async deleteTopic(name: string, options?: CallOptions): Promise<boolean> {
    this.#args.deleteTopic(name);
    return this.#call(`deleteTopic ${name}`, { topic: name }, options, async () => {
      const partitions = int(await this.#eval('delete-topic', [this.keys.topics(), this.keys.topic(name)], [name, collisionKey(name)]), 'partitions');
      // Each partition is its own slot: plain commands (each atomic by itself) per partition. A crash
      // halfway leaves states that set-replicas and acquire-leadership refuse by topic id. The state
      // stays as a tombstone holding only the leader epoch: a topic recreated under the same name
      // continues the count, so a late write of the deleted topic's leader is fenced, never accepted.
      for (let at = 0; at < partitions; at += PIPELINE_CHUNK) {
        const end = Math.min(partitions, at + PIPELINE_CHUNK);
        await this.#pipelineExec((p) => {
          for (let i = at; i < end; i++) {
            p.del(this.keys.partitionLease(name, i), this.keys.partitionSegments(name, i));
            p.hdel(this.keys.partitionState(name, i), 'replicas', 'leader', 'isr', 'hw', 'lso', 'hist', 'mepoch');
            p.hset(this.keys.partitionState(name, i), 'tid', '');
          }
        });
      }
      return partitions > 0;
    });
  }

  // ---- controller ----------------------------------------------------------------------------

  async acquireController(request: ControllerAcquireRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    this.#args.acquireController(request);
    return this.#call(`acquireController ${request.brokerId}`, { brokerId: request.brokerId }, options, () =>
      this.#acquire(
        'acquire-controller',
        [this.keys.controller()],
        (s) => [request.brokerId, request.ttlMs, request.knownEpoch ?? 0, s.runId, s.untilMs, LIMITS.epochMax],
        options?.signal,
      ),
    );
  }

  async renewController(brokerId: string, epoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    this.#args.renewController(brokerId, epoch, ttlMs);
    return this.#call(`renewController ${brokerId}`, { brokerId }, options, async () => {
      return (await this.#eval('renew-controller', [this.keys.controller()], [brokerId, epoch, ttlMs])) === 1;
    });
  }

  async releaseController(brokerId: string, epoch: number, options?: CallOptions): Promise<boolean> {
    this.#args.releaseController(brokerId, epoch);
    return this.#call(`releaseController ${brokerId}`, { brokerId }, options, async () => {
      return (await this.#eval('release-controller', [this.keys.controller()], [brokerId, epoch])) === 1;
    });
  }

  async getController(options?: CallOptions): Promise<ControllerLease> {
    return this.#call('getController', {}, options, async () => {
      const reply = (await this.#eval('read-controller', [this.keys.controller()], [])) as unknown[];
      const holder = String(reply[0]);
      return { holder: holder === '' ? null : holder, epoch: int(reply[1], 'controller epoch'), remainingMs: int(reply[2], 'controller TTL') };
    });
  }

  // ---- partitions ----------------------------------------------------------------------------

  async setReplicas(topic: string, partition: number, assignment: PartitionAssignment, options?: CallOptions): Promise<void> {
    this.#args.setReplicas(topic, partition, assignment);
    return this.#call(`setReplicas ${topic}/${partition}`, { topic, partition }, options, async () => {
      await this.#eval(
        'set-replicas',
        [this.keys.partitionLease(topic, partition), this.keys.partitionState(topic, partition), this.keys.partitionSegments(topic, partition)],
        [assignment.topicId, assignment.replicas.join(','), assignment.controllerEpoch],
      );
    });
  }

  async acquireLeadership(topic: string, partition: number, request: LeadershipRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    this.#args.acquireLeadership(topic, partition, request);
    return this.#call(`acquireLeadership ${topic}/${partition}`, { topic, partition, brokerId: request.brokerId }, options, () =>
      this.#acquire(
        'acquire-leadership',
        [this.keys.partitionLease(topic, partition), this.keys.partitionState(topic, partition)],
        (s) => [
          request.brokerId,
          request.ttlMs,
          request.startOffset,
          request.knownEpoch,
          request.topicId,
          s.runId,
          s.untilMs,
          LIMITS.epochMax,
          LIMITS.epochHistoryMax,
          request.clean === true ? 1 : 0,
        ],
        options?.signal,
      ),
    );
  }

  async renewLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    this.#args.renewLeadership(topic, partition, brokerId, leaderEpoch, ttlMs);
    return this.#call(`renewLeadership ${topic}/${partition}`, { topic, partition, brokerId }, options, async () => {
      const keys = [this.keys.partitionLease(topic, partition), this.keys.partitionState(topic, partition)];
      return (await this.#eval('renew-leadership', keys, [brokerId, leaderEpoch, ttlMs])) === 1;
    });
  }

  async releaseLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, options?: CallOptions): Promise<boolean> {
    this.#args.releaseLeadership(topic, partition, brokerId, leaderEpoch);
    return this.#call(`releaseLeadership ${topic}/${partition}`, { topic, partition, brokerId }, options, async () => {
      const keys = [this.keys.partitionLease(topic, partition), this.keys.partitionState(topic, partition)];
      return (await this.#eval('release-leadership', keys, [brokerId, leaderEpoch])) === 1;
    });
  }

  async transferLeadership(topic: string, partition: number, request: LeadershipTransfer, options?: CallOptions): Promise<LeadershipTransferResult> {
    this.#args.transferLeadership(topic, partition, request);
    return this.#call(`transferLeadership ${topic}/${partition}`, { topic, partition, brokerId: request.brokerId }, options, async () => {
      const keys = [this.keys.partitionLease(topic, partition), this.keys.partitionState(topic, partition)];
      const reply = (await this.#eval('transfer-leadership', keys, [
        request.brokerId,
        request.leaderEpoch,
        request.ttlMs,
        request.startOffset,
        LIMITS.epochMax,
        LIMITS.epochHistoryMax,
        request.successor ?? '',
      ])) as [number, string, string, string];
      if (Number(reply[0]) === 1) return { transferred: true, epoch: Number(reply[1]), successor: String(reply[2]) };
      return { transferred: false, reason: reply[1] === 'no-successor' || reply[1] === 'successor-moved' ? reply[1] : 'fenced' };
    });
  }

  async updatePartitionState(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange, options?: CallOptions): Promise<PartitionStateUpdate> {
    this.#args.updatePartitionState(topic, partition, leaderEpoch, change);
    return this.#call(`updatePartitionState ${topic}/${partition}`, { topic, partition, epoch: leaderEpoch }, options, () =>
      this.#updatePartition(topic, partition, leaderEpoch, change),
    );
  }

  async #updatePartition(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange): Promise<PartitionStateUpdate> {
    const reply = (await this.#eval(
      'update-partition',
      [this.keys.partitionState(topic, partition), this.keys.partitionSegments(topic, partition)],
      [
        leaderEpoch,
        change.isr === undefined ? '0' : '1',
        (change.isr ?? []).join(','),
        change.highWatermark === undefined ? '0' : '1',
        change.highWatermark ?? 0,
        change.logStartOffset === undefined ? '0' : '1',
        change.logStartOffset ?? 0,
        LIMITS.epochHistoryMax,
      ],
    )) as unknown[];
    return {
      isr: list(String(reply[0])),
      highWatermark: int(reply[1], 'high watermark'),
      logStartOffset: int(reply[2], 'log start offset'),
      removed: reply.slice(3).map((m) => decodeSegment(String(m))),
    };
  }

  async getPartitionState(topic: string, partition: number, options?: CallOptions): Promise<PartitionState | null> {
    this.#args.getPartitionState(topic, partition);
    return this.#call(`getPartitionState ${topic}/${partition}`, { topic, partition }, options, async () => {
      const reply = (await this.#eval('read-partition', [this.keys.partitionLease(topic, partition), this.keys.partitionState(topic, partition)], [])) as unknown[];
      return decodePartitionState(topic, partition, reply);
    });
  }

  // ---- manifest ------------------------------------------------------------------------------

  async loadManifest(topic: string, partition: number, options?: CallOptions): Promise<PartitionManifest> {
    this.#args.loadManifest(topic, partition);
    return this.#call(`loadManifest ${topic}/${partition}`, { topic, partition }, options, async () => {
      const reply = (await this.#eval('load-manifest', [this.keys.partitionState(topic, partition), this.keys.partitionSegments(topic, partition)], [])) as unknown[];
      return {
        epoch: int(reply[0], 'manifest epoch'),
        logStartOffset: int(reply[1], 'log start offset'),
        segments: reply.slice(2).map((m) => decodeSegment(String(m))),
      };
    });
  }

  async commitSegment(topic: string, partition: number, segment: RemoteSegment, options?: CallOptions): Promise<SegmentCommit> {
    this.#args.commitSegment(topic, partition, segment);
    const context = { topic, partition, epoch: segment.epoch };
    return this.#call(`commitSegment ${topic}/${partition} ${segment.baseOffset}-${segment.lastOffset}`, context, options, async () => {
      const reply = (await this.#eval(
        'commit-segment',
        [this.keys.partitionState(topic, partition), this.keys.partitionSegments(topic, partition)],
        [segment.epoch, segment.baseOffset, segment.lastOffset, encodeSegment(segment)],
      )) as unknown[];
      return { logStartOffset: int(reply[0], 'log start offset'), endOffset: int(reply[1], 'manifest end') };
    });
  }

  async advanceLogStart(topic: string, partition: number, leaderEpoch: number, offset: number, options?: CallOptions): Promise<LogStartAdvance> {
    this.#args.advanceLogStart(topic, partition, leaderEpoch, offset);
    return this.#call(`advanceLogStart ${topic}/${partition}`, { topic, partition, epoch: leaderEpoch }, options, async () => {
      const update = await this.#updatePartition(topic, partition, leaderEpoch, { logStartOffset: offset });
      return { logStartOffset: update.logStartOffset, removed: update.removed };
    });
  }

  // ---- groups --------------------------------------------------------------------------------

  async groupHeartbeat(group: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatResponse> {
    this.#args.groupHeartbeat(group, request);
    const r = request;
    return this.#call(`groupHeartbeat ${group}`, { group, memberId: r.memberId }, options, async () => {
      // The index first: it may name a group that does not exist (listGroups skips it), never miss one.
      if (r.memberEpoch === 0) await this.#admitGroup(group);
      const reply = (await this.#eval(
        'group-heartbeat',
        [this.keys.groupMeta(group), this.keys.groupMembers(group)],
        [
          r.memberId,
          r.memberEpoch,
          r.subscribedTopics === undefined ? '' : JSON.stringify(r.subscribedTopics),
          r.ownedPartitions === undefined || r.ownedPartitions === null
            ? ''
            : JSON.stringify(r.ownedPartitions.map((tp) => ({ topic: tp.topic, partitions: tp.partitions }))),
          r.sessionTimeoutMs ?? '',
          r.rebalanceTimeoutMs ?? '',
          r.clientId === undefined ? '0' : '1',
          r.clientId ?? '',
          JSON.stringify(r.topicPartitions),
          COORDINATOR_DEFAULTS.groupRebalanceTimeoutMs,
          this.#groupLimits.groupMembersMax,
          LIMITS.groupPartitionsMax,
          COORDINATOR_DEFAULTS.groupSessionTimeoutMs,
        ],
      )) as unknown[];
      return {
        memberId: r.memberId,
        memberEpoch: int(reply[0], 'member epoch'),
        groupEpoch: int(reply[1], 'group epoch'),
        assignment: toTopicPartitions(decodePartitionMap(String(reply[2]))),
        // The member's stored timeout: the request may have left it out (unchanged).
        heartbeatIntervalMs: heartbeatIntervalMs(int(reply[3], 'session timeout')),
      };
    });
  }

  async leaveGroup(group: string, memberId: string, options?: CallOptions): Promise<boolean> {
    this.#args.leaveGroup(group, memberId);
    return this.#call(`leaveGroup ${group}`, { group, memberId }, options, async () => {
      return (await this.#eval('group-leave', [this.keys.groupMeta(group), this.keys.groupMembers(group)], [memberId])) === 1;
    });
  }

  async describeGroup(group: string, options?: CallOptions): Promise<GroupDescription | null> {
    this.#args.describeGroup(group);
    return this.#call(`describeGroup ${group}`, { group }, options, () => this.#describe(group));
  }

  async #describe(group: string): Promise<GroupDescription | null> {
    const keys = [this.keys.groupMeta(group), this.keys.groupMembers(group), this.keys.groupOffsets(group)];
    const reply = (await this.#eval('group-describe', keys, [])) as unknown[];
    if (reply.length === 0) return null;
    const core: GroupCore = {
      groupEpoch: int(reply[0], 'group epoch'),
      assignmentEpoch: int(reply[1], 'assignment epoch'),
      topics: decodeCounts(String(reply[2])),
      members: dict(),
    };
    for (let i = 3; i + 1 < reply.length; i += 2) core.members[String(reply[i])] = decodeMember(String(reply[i + 1]));
    return describeCore(group, core);
  }

  async listGroups(options?: CallOptions): Promise<GroupListing[]> {
    return this.#call('listGroups', {}, options, async () => {
      const names = (await this.#redis.smembers(this.keys.groups())).sort();
      const out: GroupListing[] = [];
      // Names were validated when they were added; the index is ours, but check again before use.
      for (const group of names.filter((g) => checkGroupId(new Checks('listGroups'), 'group', g))) {
        const d = await this.#describe(group);
        if (d !== null) out.push({ group, members: d.members.length, state: d.state });
      }
      return out;
    });
  }

  async deleteGroup(group: string, options?: CallOptions): Promise<boolean> {
    this.#args.deleteGroup(group);
    return this.#call(`deleteGroup ${group}`, { group }, options, async () => {
      const keys = [this.keys.groupMeta(group), this.keys.groupMembers(group), this.keys.groupOffsets(group)];
      const deleted = (await this.#eval('group-delete', keys, [])) === 1;
      await this.#redis.srem(this.keys.groups(), group);
      // A join that raced the delete may have re-created the group after its SADD: put it back.
      if ((await this.#redis.exists(...keys)) > 0) await this.#redis.sadd(this.keys.groups(), group);
      return deleted;
    });
  }

  async commitOffsets(group: string, member: GroupMember | null, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    this.#args.commitOffsets(group, member, offsets);
    return this.#call(`commitOffsets ${group}`, { group }, options, async () => {
      if (member === null) await this.#admitGroup(group);
      await this.#eval(
        'commit-offsets',
        [this.keys.groupMeta(group), this.keys.groupMembers(group), this.keys.groupOffsets(group)],
        [member?.memberId ?? '', member?.memberEpoch ?? 0, this.#groupLimits.groupMetadataMaxBytes, ...offsetPairs(offsets)],
      );
    });
  }

  async fetchOffsets(group: string, options?: CallOptions & { topic?: string }): Promise<CommittedOffset[]> {
    this.#args.fetchOffsets(group, options?.topic);
    return this.#call(`fetchOffsets ${group}`, { group }, options, async () => {
      const h = await this.#redis.hgetall(this.keys.groupOffsets(group));
      return sortOffsets(
        Object.entries(h)
          .map(([field, value]) => decodeOffset(field, value))
          .filter((o) => options?.topic === undefined || o.topic === options.topic),
      );
    });
  }

  async resetOffsets(group: string, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    this.#args.resetOffsets(group, offsets);
    return this.#call(`resetOffsets ${group}`, { group }, options, async () => {
      await this.#admitGroup(group);
      await this.#eval(
        'reset-offsets',
        [this.keys.groupMeta(group), this.keys.groupMembers(group), this.keys.groupOffsets(group)],
        [this.#groupLimits.groupMetadataMaxBytes, ...offsetPairs(offsets)],
      );
    });
  }

  /** Lists the group in the index unless that would pass groupsMax (GROUP_LIMIT_REACHED): before any script that may create it. */
  async #admitGroup(group: string): Promise<void> {
    await this.#eval('group-admit', [this.keys.groups()], [group, this.#groupLimits.groupsMax]);
  }

  async expireGroups(request: GroupExpiryRequest, options?: CallOptions): Promise<GroupExpiry> {
    this.#args.expireGroups(request);
    // The engine's own part: its cursor is a SCAN cursor.
    const c = new Checks('expireGroups');
    if (request.cursor !== undefined && request.cursor !== '' && !/^\d{1,20}$/.test(request.cursor)) c.add('INVALID_REQUEST', 'cursor', 'cursor must be the string a previous pass returned');
    c.done();
    return this.#call('expireGroups', {}, options, async () => {
      // SSCAN's COUNT is a hint: a small set (a listpack, up to 128 entries by default) comes back whole.
      const [next, names] = await this.#redis.sscan(this.keys.groups(), request.cursor === undefined || request.cursor === '' ? '0' : request.cursor, 'COUNT', request.groupsMax);
      const out: GroupExpiry = { cursor: next === '0' ? '' : next, groupsVisited: 0, offsetsExpired: 0, groupsDeleted: 0 };
      for (const group of new Set(names)) {
        if (!checkGroupId(new Checks('expireGroups'), 'group', group)) continue;
        out.groupsVisited++;
        const keys = [this.keys.groupMeta(group), this.keys.groupMembers(group), this.keys.groupOffsets(group)];
        const reply = (await this.#eval('group-expire', keys, [request.offsetsRetentionMs])) as unknown[];
        out.offsetsExpired += int(reply[1], 'offsets expired');
        if (int(reply[0], 'group deleted') !== 1) continue;
        out.groupsDeleted++;
        await this.#redis.srem(this.keys.groups(), group);
        // A join that raced the pass may have re-created the group after its admission: put it back.
        if ((await this.#redis.exists(...keys)) > 0) await this.#redis.sadd(this.keys.groups(), group);
      }
      return out;
    });
  }

  // ---- identity, lifecycle -------------------------------------------------------------------

  async status(options?: CallOptions): Promise<CoordinatorStatus> {
    return this.#call('status', {}, options, async () => {
      const s = await this.#ensureSession(options?.signal, true);
      return {
        engine: 'redis',
        serverRunId: s.runId,
        bootId: s.bootId,
        serverFirstSeenAtMs: s.sinceMs,
        quarantineRemainingMs: Math.max(0, s.untilMs - s.nowMs),
        restartsSeen: this.#restartsSeen,
      };
    });
  }

  onEvent(listener: CoordinatorListener): () => void {
    return this.#events.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await withDeadline('close the Redis connection', undefined, 1000, () => this.#redis.quit());
    } catch {
      this.#redis.disconnect();
    }
  }
}

/** Numbers reach Redis as exact decimal strings (ioredis would do the same; this says so). */
function numberArg(n: number): string {
  assert(Number.isSafeInteger(n), `not a safe integer: ${n}`);
  return String(n);
}

function offsetPairs(offsets: readonly OffsetCommit[]): string[] {
  const out: string[] = [];
  for (const o of offsets) out.push(offsetField(o.topic, o.partition), encodeOffset(o.offset, o.metadata ?? ''));
  return out;
}

export function sortOffsets(offsets: CommittedOffset[]): CommittedOffset[] {
  return offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'redis';
  }
}
