// The in-process engine of the Coordinator: the single-node embedded default. The same
// semantics as the Redis engine (the conformance suite holds both to them), the state in memory,
// persisted under a directory as JSON files, one per unit that Redis keeps in one slot:
//
//   <dir>/cluster.json                   topics, controller lease and epoch, boot id
//   <dir>/partitions/<topic>-<p>.json    one partition: assignment, lease, epochs, HW, manifest
//   <dir>/groups/<group>.json            one group: epochs, members, assignments, committed offsets
//   (names that would pass 255 bytes are bounded by protocol's fileNameFor: prefix + hash)
//
// Each change rewrites its file atomically (tmp + fsync + rename + fsync dir) before it is
// applied in memory and before the call resolves, so an acknowledged change survives a crash
// and a failed write changes nothing. Not persisted, on purpose: broker registrations and the
// extension of a lease by a renewal (a restarted process is a new process: its predecessor's
// heartbeats and leases mean nothing, and the epochs, which do matter, are persisted).
// Group members are persisted with everything else, but their sessions restart when the state is
// loaded (as Kafka's coordinator does after a failover): the time the process was down does not
// count against them. Changes run one at a time.

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, fileNameFor } from '@strata/protocol';
import type {
  BrokerRegistration,
  CallOptions,
  CommittedOffset,
  ControllerAcquireRequest,
  ControllerLease,
  Coordinator,
  CoordinatorListener,
  CoordinatorStatus,
  EpochEntry,
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
  TopicConfigValue,
  TopicMetadata,
} from '../coordinator.js';
import { COORDINATOR_DEFAULTS, GROUP_LIMIT_DEFAULTS, type GroupLimits } from '../defaults.js';
import { coordError, throwIfAborted } from '../errors.js';
import { Listeners } from '../events.js';
import {
  Checks,
  LIMITS,
  checkTtl,
  collisionKey,
  groupLimitsFrom,
  metadataBytes,
} from '../validate.js';
import { CoordinatorArguments } from '../arguments.js';
import { describeCore, emptyGroupCore, groupHeartbeat, leaveGroup, sweepGroup, type GroupCore } from '../groups.js';
import { dict, dictFrom, own, setOwn } from '../dict.js';
import { listJson, readJson, removeFile, writeJsonAtomic } from './files.js';

export interface MemoryCoordinatorOptions {
  /** Where the state persists (the broker uses <dataDir>/__strata/coord). Created if missing. */
  dir: string;
  /** Milliseconds since the epoch (default Date.now): tests inject a clock to expire leases at will. */
  clock?: () => number;
  /** Longest lease TTL granted (default 60 s). */
  leaseTtlMaxMs?: number;
  /** What groups may store (default GROUP_LIMIT_DEFAULTS). */
  groupLimits?: Partial<GroupLimits>;
}

const FORMAT_VERSION = 1;

interface ControllerDoc {
  holder: string;
  epoch: number;
  expiresAtMs: number;
}

interface ClusterDoc {
  version: number;
  bootId: string;
  topics: TopicMetadata[];
  controller: ControllerDoc;
}

interface LeaseDoc {
  holder: string;
  expiresAtMs: number;
}

interface PartitionDoc {
  version: number;
  topic: string;
  partition: number;
  topicId: string;
  replicas: string[];
  controllerEpoch: number;
  leaderEpoch: number;
  /** The leader of leaderEpoch; "" when none (never led, or an epoch remembered from a forgotten grant). */
  leader: string;
  lease: LeaseDoc | null;
  isr: string[];
  highWatermark: number;
  logStartOffset: number;
  epochHistory: EpochEntry[];
  manifestEpoch: number;
  segments: RemoteSegment[];
}

interface StoredOffset {
  offset: number;
  metadata: string;
  committedAtMs: number;
}

/** Version 2: the group protocol. Version 1 (minimal membership) loads with its members dropped. */
const GROUP_FORMAT_VERSION = 2;

interface GroupDoc extends GroupCore {
  version: number;
  group: string;
  offsets: Record<string, StoredOffset>;
  /** When an expiry pass first saw the group without members (absent while it has members). */
  emptySinceMs?: number;
}

function emptyGroup(group: string): GroupDoc {
  return { version: GROUP_FORMAT_VERSION, group, ...emptyGroupCore(), offsets: dict() };
}

/** What a change produced: the value to return or the error to throw, and the new document (undefined: unchanged). */
interface Outcome<D, T> {
  next?: D | null;
  value?: T;
  error?: StrataError;
}

function emptyPartition(topic: string, partition: number): PartitionDoc {
  return {
    version: FORMAT_VERSION,
    topic,
    partition,
    topicId: '',
    replicas: [],
    controllerEpoch: 0,
    leaderEpoch: 0,
    leader: '',
    lease: null,
    isr: [],
    highWatermark: 0,
    logStartOffset: 0,
    epochHistory: [],
    manifestEpoch: 0,
    segments: [],
  };
}

export class MemoryCoordinator implements Coordinator {
  readonly description: string;
  readonly #dir: string;
  readonly #now: () => number;
  readonly #leaseTtlMaxMs: number;
  readonly #groupLimits: GroupLimits;
  /** The argument checks both engines share (arguments.ts). */
  readonly #args: CoordinatorArguments;
  readonly #runId = randomUUID();
  readonly #openedAtMs: number;
  readonly #events = new Listeners();
  #cluster: ClusterDoc;
  readonly #partitions = new Map<string, PartitionDoc>();
  readonly #groups = new Map<string, GroupDoc>();
  readonly #brokers = new Map<string, { registration: BrokerRegistration; expiresAtMs: number }>();
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: MemoryCoordinatorOptions, cluster: ClusterDoc) {
    this.#dir = options.dir;
    this.#now = options.clock ?? Date.now;
    this.#leaseTtlMaxMs = options.leaseTtlMaxMs ?? COORDINATOR_DEFAULTS.leaseTtlMaxMs;
    this.#groupLimits = groupLimitsFrom(options.groupLimits, GROUP_LIMIT_DEFAULTS);
    this.#args = new CoordinatorArguments({ leaseTtlMaxMs: this.#leaseTtlMaxMs, groupLimits: this.#groupLimits });
    this.#cluster = cluster;
    this.#openedAtMs = this.#now();
    this.description = `memory(${options.dir})`;
  }

  /** Loads the state persisted under `options.dir` (or starts empty). */
  static async open(options: MemoryCoordinatorOptions): Promise<MemoryCoordinator> {
    const c = new Checks('MemoryCoordinator options');
    if (typeof options?.dir !== 'string' || options.dir === '') c.add('INVALID_CONFIG', 'dir', 'dir must be a directory path');
    if (options?.leaseTtlMaxMs !== undefined) checkTtl(c, 'leaseTtlMaxMs', options.leaseTtlMaxMs, LIMITS.leaseTtlMaxMsCeiling);
    c.done();
    groupLimitsFrom(options.groupLimits, GROUP_LIMIT_DEFAULTS);
    try {
      await mkdir(join(options.dir, 'partitions'), { recursive: true });
      await mkdir(join(options.dir, 'groups'), { recursive: true });
    } catch (e) {
      throw new StrataError('STORAGE_ERROR', `cannot create ${options.dir}`, { cause: e });
    }
    const clusterFile = join(options.dir, 'cluster.json');
    let cluster = (await readJson(clusterFile)) as ClusterDoc | null;
    if (cluster === null) {
      cluster = { version: FORMAT_VERSION, bootId: randomUUID(), topics: [], controller: { holder: '', epoch: 0, expiresAtMs: 0 } };
      await writeJsonAtomic(clusterFile, cluster);
    }
    checkDoc(cluster, clusterFile, (d) => typeof d.bootId === 'string' && Array.isArray(d.topics) && typeof d.controller === 'object');
    const coordinator = new MemoryCoordinator(options, cluster);
    for (const name of await listJson(join(options.dir, 'partitions'))) {
      const file = join(options.dir, 'partitions', name);
      const doc = (await readJson(file)) as PartitionDoc;
      checkDoc(doc, file, (d) => typeof d.topic === 'string' && Number.isSafeInteger(d.partition) && Array.isArray(d.segments));
      coordinator.#partitions.set(partitionId(doc.topic, doc.partition), doc);
    }
    for (const name of await listJson(join(options.dir, 'groups'))) {
      const file = join(options.dir, 'groups', name);
      let doc = (await readJson(file)) as GroupDoc;
      if ((doc as { version?: unknown } | null)?.version === FORMAT_VERSION && typeof doc.group === 'string' && typeof doc.offsets === 'object') {
        doc = { ...emptyGroup(doc.group), offsets: doc.offsets };
      }
      checkDoc(
        doc,
        file,
        (d) => typeof d.group === 'string' && typeof d.members === 'object' && typeof d.offsets === 'object' && Number.isSafeInteger(d.groupEpoch),
        GROUP_FORMAT_VERSION,
      );
      for (const m of Object.values(doc.members)) m.lastHeartbeatAtMs = coordinator.#openedAtMs;
      coordinator.#groups.set(doc.group, doc);
    }
    return coordinator;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** One change at a time, each durable before it is applied and the call resolves. */
  #serialize<T>(what: string, options: CallOptions | undefined, task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StrataError('INTERNAL_ERROR', `${what}: the coordinator is closed`));
    const run = this.#tail.then(() => {
      throwIfAborted(what, options?.signal);
      return task();
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #read<T>(what: string, options: CallOptions | undefined, task: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StrataError('INTERNAL_ERROR', `${what}: the coordinator is closed`));
    try {
      throwIfAborted(what, options?.signal);
      return Promise.resolve(structuredClone(task()));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #changeCluster<T>(fn: (draft: ClusterDoc) => Outcome<ClusterDoc, T>): Promise<T> {
    const outcome = fn(structuredClone(this.#cluster));
    if (outcome.next !== undefined && outcome.next !== null) {
      await writeJsonAtomic(join(this.#dir, 'cluster.json'), outcome.next);
      this.#cluster = outcome.next;
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  /** `persist: false` applies the change in memory only (a lease extension). */
  async #changePartition<T>(
    topic: string,
    partition: number,
    fn: (draft: PartitionDoc | null) => Outcome<PartitionDoc, T>,
    persist = true,
  ): Promise<T> {
    const id = partitionId(topic, partition);
    const current = this.#partitions.get(id);
    const outcome = fn(current === undefined ? null : structuredClone(current));
    if (outcome.next !== undefined) {
      const file = join(this.#dir, 'partitions', partitionFileName(topic, partition));
      if (outcome.next === null) {
        await removeFile(file);
        this.#partitions.delete(id);
      } else {
        if (persist) await writeJsonAtomic(file, outcome.next);
        this.#partitions.set(id, outcome.next);
      }
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  async #changeGroup<T>(group: string, fn: (draft: GroupDoc) => Outcome<GroupDoc, T>): Promise<T> {
    const current = this.#groups.get(group);
    const outcome = fn(current === undefined ? emptyGroup(group) : structuredClone(current));
    if (outcome.next !== undefined && outcome.next !== null) {
      // A group with members is not empty: its offsets' retention clock starts again when it empties.
      if (Object.keys(outcome.next.members).length > 0) delete outcome.next.emptySinceMs;
      await writeJsonAtomic(join(this.#dir, 'groups', groupFileName(group)), outcome.next);
      this.#groups.set(group, outcome.next);
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  #liveLease(doc: PartitionDoc | null | undefined): LeaseDoc | null {
    return doc?.lease !== null && doc?.lease !== undefined && doc.lease.expiresAtMs > this.#now() ? doc.lease : null;
  }

  /**
   * The fencing rule of every leader write (lua/_prelude.lua fence_leader_epoch): the epoch must be
   * the current one and have a leader. A newer epoch is remembered without a leader (a backend that
   * forgot a grant must not grant it again) and refused: the refusal then still persists that.
   */
  #fence(doc: PartitionDoc | null, topic: string, partition: number, epoch: number): Outcome<PartitionDoc, never> | null {
    const current = doc?.leaderEpoch ?? 0;
    const details = { topic, partition, epoch, currentEpoch: current };
    if (epoch > current) {
      const next = doc ?? emptyPartition(topic, partition);
      next.leaderEpoch = epoch;
      next.leader = '';
      return { next, error: coordError('FORGOTTEN_LEADER_EPOCH', details) };
    }
    if (epoch < current) return { error: coordError('STALE_LEADER_EPOCH', details) };
    if (doc === null || doc.leader === '') return { error: coordError('FORGOTTEN_LEADER_EPOCH', details) };
    return null;
  }

  // ---- brokers -------------------------------------------------------------------------------

  async registerBroker(broker: BrokerRegistration, ttlMs: number, options?: CallOptions): Promise<void> {
    this.#args.registerBroker(broker, ttlMs);
    return this.#serialize('registerBroker', options, async () => {
      const registration: BrokerRegistration = {
        id: broker.id,
        url: broker.url,
        internalUrl: broker.internalUrl,
        rack: broker.rack,
        startedAtMs: broker.startedAtMs,
      };
      this.#brokers.set(broker.id, { registration, expiresAtMs: this.#now() + ttlMs });
    });
  }

  async heartbeatBroker(brokerId: string, ttlMs: number, options?: CallOptions): Promise<boolean> {
    this.#args.heartbeatBroker(brokerId, ttlMs);
    return this.#serialize('heartbeatBroker', options, async () => {
      const entry = this.#brokers.get(brokerId);
      const now = this.#now();
      if (entry === undefined || entry.expiresAtMs <= now) {
        this.#brokers.delete(brokerId);
        return false;
      }
      entry.expiresAtMs = now + ttlMs;
      return true;
    });
  }

  async deregisterBroker(brokerId: string, options?: CallOptions): Promise<boolean> {
    this.#args.deregisterBroker(brokerId);
    return this.#serialize('deregisterBroker', options, async () => {
      const entry = this.#brokers.get(brokerId);
      this.#brokers.delete(brokerId);
      return entry !== undefined && entry.expiresAtMs > this.#now();
    });
  }

  async listBrokers(options?: CallOptions): Promise<LiveBroker[]> {
    return this.#read('listBrokers', options, () => {
      const now = this.#now();
      const out: LiveBroker[] = [];
      for (const [id, entry] of this.#brokers) {
        if (entry.expiresAtMs <= now) this.#brokers.delete(id);
        else out.push({ ...entry.registration, expiresInMs: entry.expiresAtMs - now });
      }
      return out.sort((a, b) => compare(a.id, b.id));
    });
  }

  // ---- topics --------------------------------------------------------------------------------

  async createTopic(topic: TopicMetadata, options?: CallOptions): Promise<void> {
    this.#args.createTopic(topic);
    return this.#serialize('createTopic', options, () =>
      this.#changeCluster((draft) => {
        const key = collisionKey(topic.name);
        const clash = draft.topics.find((t) => collisionKey(t.name) === key);
        if (clash?.name === topic.name) return { error: coordError('TOPIC_EXISTS', { topic: topic.name }) };
        if (clash !== undefined) return { error: coordError('TOPIC_COLLISION', { topic: topic.name, existing: clash.name }) };
        draft.topics.push({
          name: topic.name,
          topicId: topic.topicId,
          partitions: topic.partitions,
          replicationFactor: topic.replicationFactor,
          configs: sortedConfigs(topic.configs),
          createdAtMs: topic.createdAtMs,
        });
        draft.topics.sort((a, b) => compare(a.name, b.name));
        return { next: draft, value: undefined };
      }),
    );
  }

  async getTopic(name: string, options?: CallOptions): Promise<TopicMetadata | null> {
    this.#args.getTopic(name);
    return this.#read('getTopic', options, () => this.#cluster.topics.find((t) => t.name === name) ?? null);
  }

  async listTopics(options?: CallOptions): Promise<TopicMetadata[]> {
    return this.#read('listTopics', options, () => this.#cluster.topics);
  }

  async updateTopicConfigs(name: string, change: TopicConfigChange, options?: CallOptions): Promise<TopicMetadata> {
    this.#args.updateTopicConfigs(name, change);
    return this.#serialize('updateTopicConfigs', options, () =>
      this.#changeCluster((draft) => {
        const topic = draft.topics.find((t) => t.name === name);
        if (topic === undefined) return { error: coordError('UNKNOWN_TOPIC', { topic: name }) };
        const configs = dictFrom<TopicConfigValue>(topic.configs);
        for (const key of change.remove ?? []) delete configs[key];
        Object.assign(configs, change.set ?? {});
        const count = Object.keys(configs).length;
        if (count > LIMITS.configsMax) return { error: coordError('TOO_MANY_CONFIGS', { topic: name, count, max: LIMITS.configsMax }) };
        topic.configs = sortedConfigs(configs);
        return { next: draft, value: structuredClone(topic) };
      }),
    );
  }

  async deleteTopic(name: string, options?: CallOptions): Promise<boolean> {
    this.#args.deleteTopic(name);
    return this.#serialize('deleteTopic', options, async () => {
      const topic = this.#cluster.topics.find((t) => t.name === name);
      if (topic === undefined) return false;
      await this.#changeCluster((draft) => ({ next: { ...draft, topics: draft.topics.filter((t) => t.name !== name) }, value: undefined }));
      for (const doc of [...this.#partitions.values()]) {
        // A tombstone keeps the leader epoch: a recreated topic continues the count (see the Redis engine).
        const tombstone: PartitionDoc = {
          ...doc,
          topicId: '',
          replicas: [],
          leader: '',
          lease: null,
          isr: [],
          highWatermark: 0,
          logStartOffset: 0,
          epochHistory: [],
          manifestEpoch: 0,
          segments: [],
        };
        if (doc.topic === name) await this.#changePartition(name, doc.partition, () => ({ next: tombstone, value: undefined }));
      }
      return true;
    });
  }

  // ---- controller ----------------------------------------------------------------------------

  async acquireController(request: ControllerAcquireRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    this.#args.acquireController(request);
    return this.#serialize('acquireController', options, () =>
      this.#changeCluster<LeaseAcquisition>((draft) => {
        const now = this.#now();
        const lease = draft.controller;
        const holder = lease.expiresAtMs > now ? lease.holder : '';
        if (holder !== '' && holder !== request.brokerId) {
          return { value: { acquired: false, reason: 'held', holder, epoch: lease.epoch, retryAfterMs: lease.expiresAtMs - now } };
        }
        const epoch = Math.max(lease.epoch, request.knownEpoch ?? 0) + 1;
        if (epoch > LIMITS.epochMax) return { error: coordError('EPOCH_EXHAUSTED', { topic: '', partition: 'controller' }) };
        draft.controller = { holder: request.brokerId, epoch, expiresAtMs: now + request.ttlMs };
        return { next: draft, value: { acquired: true, epoch } };
      }),
    );
  }

  async renewController(brokerId: string, epoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    this.#args.renewController(brokerId, epoch, ttlMs);
    return this.#serialize('renewController', options, async () => {
      const lease = this.#cluster.controller;
      if (epoch > lease.epoch) return this.#rememberControllerEpoch(epoch);
      const now = this.#now();
      if (epoch !== lease.epoch || lease.holder !== brokerId || lease.expiresAtMs <= now) return false;
      lease.expiresAtMs = now + ttlMs; // in memory only: a restarted process is a new holder anyway
      return true;
    });
  }

  async releaseController(brokerId: string, epoch: number, options?: CallOptions): Promise<boolean> {
    this.#args.releaseController(brokerId, epoch);
    return this.#serialize('releaseController', options, async () => {
      const lease = this.#cluster.controller;
      if (epoch > lease.epoch) return this.#rememberControllerEpoch(epoch);
      if (epoch !== lease.epoch || lease.holder !== brokerId || lease.expiresAtMs <= this.#now()) return false;
      return this.#changeCluster((draft) => {
        draft.controller = { holder: '', epoch: draft.controller.epoch, expiresAtMs: 0 };
        return { next: draft, value: true };
      });
    });
  }

  /** A controller epoch never granted here (a caller bug, or a backend that forgot): remember it, refuse. */
  #rememberControllerEpoch(epoch: number): Promise<boolean> {
    return this.#changeCluster((draft) => {
      draft.controller = { holder: '', epoch, expiresAtMs: 0 };
      return { next: draft, value: false };
    });
  }

  async getController(options?: CallOptions): Promise<ControllerLease> {
    return this.#read('getController', options, () => {
      const lease = this.#cluster.controller;
      const now = this.#now();
      const live = lease.holder !== '' && lease.expiresAtMs > now;
      return { holder: live ? lease.holder : null, epoch: lease.epoch, remainingMs: live ? lease.expiresAtMs - now : 0 };
    });
  }

  // ---- partitions ----------------------------------------------------------------------------

  async setReplicas(topic: string, partition: number, assignment: PartitionAssignment, options?: CallOptions): Promise<void> {
    this.#args.setReplicas(topic, partition, assignment);
    return this.#serialize('setReplicas', options, () =>
      this.#changePartition(topic, partition, (doc) => {
        const stored = doc?.controllerEpoch ?? 0;
        if (assignment.controllerEpoch < stored) {
          return { error: coordError('STALE_CONTROLLER_EPOCH', { topic, partition, epoch: assignment.controllerEpoch, currentEpoch: stored }) };
        }
        if (doc !== null && doc.topicId === assignment.topicId) {
          doc.replicas = [...assignment.replicas];
          doc.controllerEpoch = assignment.controllerEpoch;
          return { next: doc, value: undefined };
        }
        // Another topic of the same name left this state: start afresh, keeping the epoch counter.
        const next = emptyPartition(topic, partition);
        next.topicId = assignment.topicId;
        next.replicas = [...assignment.replicas];
        next.controllerEpoch = assignment.controllerEpoch;
        next.leaderEpoch = doc?.leaderEpoch ?? 0;
        return { next, value: undefined };
      }),
    );
  }

  async acquireLeadership(topic: string, partition: number, request: LeadershipRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    this.#args.acquireLeadership(topic, partition, request);
    return this.#serialize('acquireLeadership', options, () =>
      this.#changePartition<LeaseAcquisition>(topic, partition, (doc) => {
        const lease = this.#liveLease(doc);
        const holder = lease?.holder ?? null;
        const epoch = doc?.leaderEpoch ?? 0;
        if (doc === null || doc.topicId !== request.topicId || doc.replicas[0] !== request.brokerId) {
          return { value: { acquired: false, reason: 'not-assigned', holder, epoch, retryAfterMs: 0 } };
        }
        if (lease !== null && lease.holder !== request.brokerId) {
          return { value: { acquired: false, reason: 'held', holder, epoch, retryAfterMs: lease.expiresAtMs - this.#now() } };
        }
        if (request.startOffset < doc.logStartOffset) {
          const details = { topic, partition, what: 'startOffset', offset: request.startOffset, logStartOffset: doc.logStartOffset };
          return { error: coordError('BELOW_LOG_START', details) };
        }
        if (request.clean === true && ((doc.isr.length > 0 && !doc.isr.includes(request.brokerId)) || request.startOffset < doc.highWatermark)) {
          return { value: { acquired: false, reason: 'not-in-isr', holder, epoch, retryAfterMs: 0 } };
        }
        const next = Math.max(epoch, request.knownEpoch) + 1;
        if (next > LIMITS.epochMax) return { error: coordError('EPOCH_EXHAUSTED', { topic, partition }) };
        doc.epochHistory = historyWithReign(doc, { epoch: next, startOffset: request.startOffset, leader: request.brokerId });
        doc.leaderEpoch = next;
        doc.leader = request.brokerId;
        doc.lease = { holder: request.brokerId, expiresAtMs: this.#now() + request.ttlMs };
        if (request.clean === true && epoch === 0 && doc.isr.length === 0) doc.isr = [...doc.replicas];
        else if (!doc.isr.includes(request.brokerId)) doc.isr = [request.brokerId];
        return { next: doc, value: { acquired: true, epoch: next } };
      }),
    );
  }

  async renewLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    this.#args.renewLeadership(topic, partition, brokerId, leaderEpoch, ttlMs);
    return this.#serialize('renewLeadership', options, () =>
      this.#leaseChange(topic, partition, leaderEpoch, brokerId, (doc) => {
        doc.lease = { holder: brokerId, expiresAtMs: this.#now() + ttlMs };
      }, false),
    );
  }

  async releaseLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, options?: CallOptions): Promise<boolean> {
    this.#args.releaseLeadership(topic, partition, brokerId, leaderEpoch);
    return this.#serialize('releaseLeadership', options, () =>
      this.#leaseChange(topic, partition, leaderEpoch, brokerId, (doc) => {
        doc.lease = null;
      }, true),
    );
  }

  async transferLeadership(topic: string, partition: number, request: LeadershipTransfer, options?: CallOptions): Promise<LeadershipTransferResult> {
    this.#args.transferLeadership(topic, partition, request);
    return this.#serialize('transferLeadership', options, async () => {
      let outcome: LeadershipTransferResult = { transferred: false, reason: 'fenced' };
      const held = await this.#leaseChange(topic, partition, request.leaderEpoch, request.brokerId, () => undefined, false);
      if (!held) return outcome;
      await this.#changePartition<void>(topic, partition, (doc) => {
        const successor = doc!.replicas[0];
        if (successor === undefined || successor === request.brokerId) {
          outcome = { transferred: false, reason: 'no-successor' };
          return { value: undefined };
        }
        if (request.successor !== undefined && request.successor !== successor) {
          outcome = { transferred: false, reason: 'successor-moved' };
          return { value: undefined };
        }
        if (request.startOffset < doc!.logStartOffset) {
          const details = { topic, partition, what: 'startOffset', offset: request.startOffset, logStartOffset: doc!.logStartOffset };
          return { error: coordError('BELOW_LOG_START', details) };
        }
        const next = doc!.leaderEpoch + 1;
        if (next > LIMITS.epochMax) return { error: coordError('EPOCH_EXHAUSTED', { topic, partition }) };
        doc!.epochHistory = historyWithReign(doc!, { epoch: next, startOffset: request.startOffset, leader: successor });
        doc!.leaderEpoch = next;
        doc!.leader = successor;
        doc!.isr = [successor];
        doc!.lease = { holder: successor, expiresAtMs: this.#now() + request.ttlMs };
        outcome = { transferred: true, epoch: next, successor };
        return { next: doc, value: undefined };
      });
      return outcome;
    });
  }

  /** Renew and release: false (with a forgotten epoch remembered) unless the caller holds the live lease at this epoch. */
  async #leaseChange(topic: string, partition: number, epoch: number, brokerId: string, apply: (doc: PartitionDoc) => void, persist: boolean): Promise<boolean> {
    const current = this.#partitions.get(partitionId(topic, partition)) ?? null;
    const refusal = this.#fence(current === null ? null : structuredClone(current), topic, partition, epoch);
    if (refusal !== null) {
      if (refusal.next !== undefined) await this.#changePartition(topic, partition, () => ({ next: refusal.next!, value: undefined }));
      return false;
    }
    if (this.#liveLease(current)?.holder !== brokerId) return false;
    return this.#changePartition(
      topic,
      partition,
      (doc) => {
        apply(doc!);
        return { next: doc, value: true };
      },
      persist,
    );
  }

  async updatePartitionState(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange, options?: CallOptions): Promise<PartitionStateUpdate> {
    this.#args.updatePartitionState(topic, partition, leaderEpoch, change);
    return this.#serialize('updatePartitionState', options, () => this.#updatePartition(topic, partition, leaderEpoch, change));
  }

  #updatePartition(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange): Promise<PartitionStateUpdate> {
    return this.#changePartition<PartitionStateUpdate>(topic, partition, (doc) => {
      const refusal = this.#fence(doc, topic, partition, leaderEpoch);
      if (refusal !== null) return refusal;
      const d = doc!;
      let isr = d.isr;
      if (change.isr !== undefined) {
        const ok = change.isr.includes(d.leader) && change.isr.every((id) => d.replicas.includes(id));
        if (!ok) {
          const details = { topic, partition, isr: change.isr.join(','), replicas: d.replicas.join(','), leader: d.leader };
          return { error: coordError('INVALID_ISR', details) };
        }
        isr = [...change.isr];
      }
      const lso = Math.max(d.logStartOffset, change.logStartOffset ?? 0);
      let hw = d.highWatermark;
      if (change.highWatermark !== undefined) {
        hw = change.highWatermark;
        if (hw < lso) return { error: coordError('BELOW_LOG_START', { topic, partition, what: 'highWatermark', offset: hw, logStartOffset: lso }) };
      }
      hw = Math.max(hw, lso);
      const removed = d.segments.filter((s) => s.lastOffset < lso);
      d.segments = d.segments.filter((s) => s.lastOffset >= lso);
      d.isr = isr;
      d.highWatermark = hw;
      d.logStartOffset = lso;
      d.epochHistory = trimHistory(d.epochHistory, lso);
      return { next: d, value: { isr: [...isr], highWatermark: hw, logStartOffset: lso, removed } };
    });
  }

  async getPartitionState(topic: string, partition: number, options?: CallOptions): Promise<PartitionState | null> {
    this.#args.getPartitionState(topic, partition);
    return this.#read('getPartitionState', options, () => {
      const doc = this.#partitions.get(partitionId(topic, partition));
      if (doc === undefined || doc.topicId === '') return null;
      const lease = this.#liveLease(doc);
      return {
        topic,
        partition,
        topicId: doc.topicId,
        replicas: doc.replicas,
        controllerEpoch: doc.controllerEpoch,
        leader: lease?.holder ?? null,
        leaseRemainingMs: lease === null ? 0 : lease.expiresAtMs - this.#now(),
        leaderEpoch: doc.leaderEpoch,
        isr: doc.isr,
        highWatermark: doc.highWatermark,
        logStartOffset: doc.logStartOffset,
        epochHistory: doc.epochHistory,
      };
    });
  }

  // ---- manifest ------------------------------------------------------------------------------

  async loadManifest(topic: string, partition: number, options?: CallOptions): Promise<PartitionManifest> {
    this.#args.loadManifest(topic, partition);
    return this.#read('loadManifest', options, () => {
      const doc = this.#partitions.get(partitionId(topic, partition));
      return { epoch: doc?.manifestEpoch ?? 0, logStartOffset: doc?.logStartOffset ?? 0, segments: doc?.segments ?? [] };
    });
  }

  async commitSegment(topic: string, partition: number, segment: RemoteSegment, options?: CallOptions): Promise<SegmentCommit> {
    this.#args.commitSegment(topic, partition, segment);
    const s: RemoteSegment = {
      key: segment.key,
      baseOffset: segment.baseOffset,
      lastOffset: segment.lastOffset,
      objectBytes: segment.objectBytes,
      dataBytes: segment.dataBytes,
      maxTimestamp: segment.maxTimestamp,
      epoch: segment.epoch,
      uploadedAtMs: segment.uploadedAtMs,
    };
    return this.#serialize('commitSegment', options, () =>
      this.#changePartition<SegmentCommit>(topic, partition, (doc) => {
        const refusal = this.#fence(doc, topic, partition, s.epoch);
        if (refusal !== null) return refusal;
        const d = doc!;
        const tail = d.segments[d.segments.length - 1];
        const end = tail === undefined ? d.logStartOffset : tail.lastOffset + 1;
        if (d.segments.some((x) => sameSegment(x, s))) return { value: { logStartOffset: d.logStartOffset, endOffset: end } };
        if ((tail !== undefined && s.baseOffset !== end) || (tail === undefined && s.baseOffset < d.logStartOffset)) {
          return { error: coordError('NOT_CONTIGUOUS', { topic, partition, baseOffset: s.baseOffset, lastOffset: s.lastOffset, endOffset: end }) };
        }
        if (tail === undefined) d.logStartOffset = s.baseOffset;
        d.highWatermark = Math.max(d.highWatermark, d.logStartOffset);
        d.manifestEpoch = Math.max(d.manifestEpoch, s.epoch);
        d.segments.push(s);
        return { next: d, value: { logStartOffset: d.logStartOffset, endOffset: s.lastOffset + 1 } };
      }),
    );
  }

  async advanceLogStart(topic: string, partition: number, leaderEpoch: number, offset: number, options?: CallOptions): Promise<LogStartAdvance> {
    this.#args.advanceLogStart(topic, partition, leaderEpoch, offset);
    return this.#serialize('advanceLogStart', options, async () => {
      const update = await this.#updatePartition(topic, partition, leaderEpoch, { logStartOffset: offset });
      return { logStartOffset: update.logStartOffset, removed: update.removed };
    });
  }

  // ---- groups --------------------------------------------------------------------------------

  async groupHeartbeat(group: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatResponse> {
    this.#args.groupHeartbeat(group, request);
    const r = structuredClone(request);
    return this.#serialize('groupHeartbeat', options, () =>
      this.#changeGroup<GroupHeartbeatResponse>(group, (draft) => {
        const full = r.memberEpoch === 0 ? this.#groupLimitRefusal(group) : null;
        if (full !== null) return { error: full };
        const before = JSON.stringify(draft);
        const result = groupHeartbeat(draft, r, this.#now(), this.#groupLimits.groupMembersMax);
        const next = JSON.stringify(draft) === before ? undefined : draft;
        if ('refusal' in result) return { next, error: coordError(result.refusal.kind, { group, ...result.refusal.details }) };
        return { next, value: result.response };
      }),
    );
  }

  async leaveGroup(group: string, memberId: string, options?: CallOptions): Promise<boolean> {
    this.#args.leaveGroup(group, memberId);
    return this.#serialize('leaveGroup', options, () =>
      this.#changeGroup(group, (draft) => {
        if (!this.#groups.has(group)) return { value: false };
        const swept = sweepGroup(draft, this.#now()).length > 0;
        const left = leaveGroup(draft, memberId, this.#now());
        return { next: swept || left ? draft : undefined, value: left };
      }),
    );
  }

  async describeGroup(group: string, options?: CallOptions): Promise<GroupDescription | null> {
    this.#args.describeGroup(group);
    return this.#serialize('describeGroup', options, () => this.#describe(group));
  }

  /** Sweeps (a change, persisted) and describes; null when the group has no document. */
  async #describe(group: string): Promise<GroupDescription | null> {
    if (!this.#groups.has(group)) return null;
    return this.#changeGroup(group, (draft) => {
      const swept = sweepGroup(draft, this.#now()).length > 0;
      return { next: swept ? draft : undefined, value: describeCore(group, draft) };
    });
  }

  async listGroups(options?: CallOptions): Promise<GroupListing[]> {
    return this.#serialize('listGroups', options, async () => {
      const out: GroupListing[] = [];
      for (const group of [...this.#groups.keys()].sort(compare)) {
        const d = await this.#describe(group);
        if (d !== null) out.push({ group, members: d.members.length, state: d.state });
      }
      return out;
    });
  }

  async deleteGroup(group: string, options?: CallOptions): Promise<boolean> {
    this.#args.deleteGroup(group);
    return this.#serialize('deleteGroup', options, async () => {
      if (!this.#groups.has(group)) return false;
      await this.#changeGroup(group, (draft) => {
        const swept = sweepGroup(draft, this.#now()).length > 0;
        const members = Object.keys(draft.members).length;
        if (members > 0) return { next: swept ? draft : undefined, error: coordError('NON_EMPTY_GROUP', { group, members, what: 'it can be deleted' }) };
        return { value: undefined };
      });
      await removeFile(join(this.#dir, 'groups', groupFileName(group)));
      this.#groups.delete(group);
      return true;
    });
  }

  async commitOffsets(group: string, member: GroupMember | null, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    this.#args.commitOffsets(group, member, offsets);
    return this.#serialize('commitOffsets', options, () =>
      this.#changeGroup(group, (draft) => {
        const full = member === null ? this.#groupLimitRefusal(group) : null;
        if (full !== null) return { error: full };
        const swept = sweepGroup(draft, this.#now()).length > 0;
        const refusal = memberRefusal(draft, group, member, 'standalone offset commits are allowed') ?? this.#writeOffsets(group, draft, offsets);
        if (refusal !== null) return { next: swept ? draft : undefined, error: refusal };
        return { next: draft, value: undefined };
      }),
    );
  }

  async fetchOffsets(group: string, options?: CallOptions & { topic?: string }): Promise<CommittedOffset[]> {
    this.#args.fetchOffsets(group, options?.topic);
    return this.#read('fetchOffsets', options, () => {
      const out: CommittedOffset[] = [];
      for (const [field, o] of Object.entries(this.#groups.get(group)?.offsets ?? {})) {
        const slash = field.lastIndexOf('/');
        const topic = field.slice(0, slash);
        if (options?.topic !== undefined && topic !== options.topic) continue;
        out.push({ topic, partition: Number(field.slice(slash + 1)), offset: o.offset, metadata: o.metadata, committedAtMs: o.committedAtMs });
      }
      return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    });
  }

  async resetOffsets(group: string, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    this.#args.resetOffsets(group, offsets);
    return this.#serialize('resetOffsets', options, () =>
      this.#changeGroup(group, (draft) => {
        const full = this.#groupLimitRefusal(group);
        if (full !== null) return { error: full };
        const swept = sweepGroup(draft, this.#now()).length > 0;
        const members = Object.keys(draft.members).length;
        if (members > 0) return { next: swept ? draft : undefined, error: coordError('NON_EMPTY_GROUP', { group, members, what: 'offsets can be reset' }) };
        const refusal = this.#writeOffsets(group, draft, offsets);
        if (refusal !== null) return { next: swept ? draft : undefined, error: refusal };
        return { next: draft, value: undefined };
      }),
    );
  }

  /** Writes the offsets into the draft, or refuses (the draft's offsets unchanged) when the group would store too much metadata. */
  #writeOffsets(group: string, draft: GroupDoc, offsets: readonly OffsetCommit[]): StrataError | null {
    const now = this.#now();
    const before = draft.offsets;
    draft.offsets = dictFrom(before);
    for (const o of offsets) setOwn(draft.offsets, `${o.topic}/${o.partition}`, { offset: o.offset, metadata: o.metadata ?? '', committedAtMs: now });
    // Counted only when this write carries metadata: without any, the group's total cannot grow.
    if (offsets.some((o) => metadataBytes(o.metadata) > 0)) {
      let bytes = 0;
      for (const o of Object.values(draft.offsets)) bytes += metadataBytes(o.metadata);
      if (bytes > this.#groupLimits.groupMetadataMaxBytes) {
        draft.offsets = before;
        return coordError('GROUP_METADATA_TOO_LARGE', { group, bytes, max: this.#groupLimits.groupMetadataMaxBytes });
      }
    }
    return null;
  }

  /** GROUP_LIMIT_REACHED when `group` does not exist and groupsMax do. */
  #groupLimitRefusal(group: string): StrataError | null {
    if (this.#groups.has(group) || this.#groups.size < this.#groupLimits.groupsMax) return null;
    return coordError('GROUP_LIMIT', { group, groups: this.#groups.size, max: this.#groupLimits.groupsMax });
  }

  async expireGroups(request: GroupExpiryRequest, options?: CallOptions): Promise<GroupExpiry> {
    this.#args.expireGroups(request);
    const { offsetsRetentionMs: retentionMs, groupsMax } = request;
    const after = request.cursor ?? '';
    return this.#serialize('expireGroups', options, async () => {
      // Groups in name order after the cursor: a bounded slice per pass, resumed by the next.
      const names = [...this.#groups.keys()].filter((g) => g > after).sort(compare);
      const slice = names.slice(0, groupsMax);
      const out: GroupExpiry = { cursor: slice.length < names.length ? slice[slice.length - 1]! : '', groupsVisited: slice.length, offsetsExpired: 0, groupsDeleted: 0 };
      for (const group of slice) {
        const now = this.#now();
        const gone = await this.#changeGroup<boolean>(group, (draft) => {
          const swept = sweepGroup(draft, now).length > 0;
          if (Object.keys(draft.members).length > 0) return { next: swept ? draft : undefined, value: false };
          const marked = draft.emptySinceMs === undefined;
          if (marked) draft.emptySinceMs = now;
          let expired = 0;
          if (now - draft.emptySinceMs! >= retentionMs) {
            for (const [field, o] of Object.entries(draft.offsets)) {
              if (now - o.committedAtMs < retentionMs) continue;
              delete draft.offsets[field];
              expired++;
            }
          }
          out.offsetsExpired += expired;
          if (Object.keys(draft.offsets).length === 0) return { value: true };
          return { next: swept || marked || expired > 0 ? draft : undefined, value: false };
        });
        if (gone) {
          await removeFile(join(this.#dir, 'groups', groupFileName(group)));
          this.#groups.delete(group);
          out.groupsDeleted++;
        }
      }
      return out;
    });
  }

  // ---- identity, lifecycle -------------------------------------------------------------------

  async status(options?: CallOptions): Promise<CoordinatorStatus> {
    return this.#read('status', options, () => ({
      engine: 'memory' as const,
      serverRunId: this.#runId,
      bootId: this.#cluster.bootId,
      serverFirstSeenAtMs: this.#openedAtMs,
      quarantineRemainingMs: 0,
      restartsSeen: 0,
    }));
  }

  onEvent(listener: CoordinatorListener): () => void {
    return this.#events.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#tail;
    this.#closed = true;
  }
}

function memberRefusal(draft: GroupDoc, group: string, member: GroupMember | null, what: string): StrataError | null {
  if (member === null) {
    const members = Object.keys(draft.members).length;
    return members > 0 ? coordError('NON_EMPTY_GROUP', { group, members, what }) : null;
  }
  if (!Object.prototype.hasOwnProperty.call(draft.members, member.memberId)) return coordError('UNKNOWN_MEMBER', { group, memberId: member.memberId });
  const current = own(draft.members, member.memberId)!.memberEpoch;
  if (current !== member.memberEpoch) {
    return coordError('FENCED_MEMBER', { group, memberId: member.memberId, memberEpoch: member.memberEpoch, currentEpoch: current });
  }
  return null;
}

/** As lua/_prelude.lua history_with_reign: entries at or past the new reign's start go, the reign joins, then trimHistory. */
function historyWithReign(doc: PartitionDoc, reign: EpochEntry): EpochEntry[] {
  const history = doc.epochHistory.filter((e) => e.startOffset < reign.startOffset);
  history.push(reign);
  return trimHistory(history, doc.logStartOffset);
}

/** As lua/_prelude.lua trim_history: drop entries wholly below the log start, then the oldest past the cap. */
function trimHistory(entries: EpochEntry[], logStartOffset: number): EpochEntry[] {
  let first = 0;
  while (first < entries.length - 1 && entries[first + 1]!.startOffset <= logStartOffset) first++;
  first = Math.max(first, entries.length - LIMITS.epochHistoryMax);
  return entries.slice(first);
}

function sameSegment(a: RemoteSegment, b: RemoteSegment): boolean {
  return (
    a.key === b.key &&
    a.baseOffset === b.baseOffset &&
    a.lastOffset === b.lastOffset &&
    a.objectBytes === b.objectBytes &&
    a.dataBytes === b.dataBytes &&
    a.maxTimestamp === b.maxTimestamp &&
    a.epoch === b.epoch &&
    a.uploadedAtMs === b.uploadedAtMs
  );
}

function sortedConfigs(configs: Readonly<Record<string, TopicConfigValue>>): Record<string, TopicConfigValue> {
  const out = dict<TopicConfigValue>();
  for (const key of Object.keys(configs).sort()) out[key] = configs[key]!;
  return out;
}

/**
 * `<topic>-<partition>.json` and `<group>.json`, bounded to one path component (fileNameFor): a
 * 249-character group id plus `.json` and a temp suffix would not fit. The documents carry their
 * own topic and group, so the name is never parsed back.
 */
function partitionFileName(topic: string, partition: number): string {
  return fileNameFor(`${topic}-${partition}`, '.json');
}

function groupFileName(group: string): string {
  return fileNameFor(group, '.json');
}

function partitionId(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkDoc<T>(doc: T | null, file: string, ok: (d: T) => boolean, expected = FORMAT_VERSION): asserts doc is T {
  const version = (doc as { version?: unknown } | null)?.version;
  if (doc === null || typeof doc !== 'object' || version !== expected || !ok(doc)) {
    throw new StrataError('STORAGE_ERROR', `${file} is not a valid coordinator file (version ${expected}): refusing to start rather than lose coordination state`);
  }
}

