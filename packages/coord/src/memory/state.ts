// The state of the in-process engine and its plumbing: the documents in memory, the one-at-a-time
// queue of changes, and the rule that a change is durable (its file rewritten atomically) before
// it is applied and the call resolves. The operations (brokers.ts, topics.ts, controller.ts,
// partitions.ts, manifests.ts, groups.ts) read and change the state only through it.

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, aclBindingFromKey } from '@strata/protocol';
import type { BrokerRegistration, CallOptions } from '../coordinator.js';
import { CoordinatorArguments } from '../arguments.js';
import { COORDINATOR_DEFAULTS, GROUP_LIMIT_DEFAULTS, type GroupLimits } from '../defaults.js';
import { coordError, throwIfAborted } from '../errors.js';
import { Listeners } from '../events.js';
import { Checks, LIMITS, checkTtl } from '../validate.js';
import { groupLimitsFrom } from '../validate-groups.js';
import {
  FORMAT_VERSION,
  GROUP_FORMAT_VERSION,
  checkDoc,
  emptyGroup,
  emptyPartition,
  groupFileName,
  partitionFileName,
  partitionId,
  type ClusterDoc,
  type GroupDoc,
  type LeaseDoc,
  type Outcome,
  type PartitionDoc,
} from './documents.js';
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

export class MemoryState {
  readonly dir: string;
  readonly now: () => number;
  readonly leaseTtlMaxMs: number;
  readonly groupLimits: GroupLimits;
  /** The argument checks both engines share (arguments.ts). */
  readonly args: CoordinatorArguments;
  readonly runId = randomUUID();
  readonly openedAtMs: number;
  readonly events = new Listeners();
  cluster: ClusterDoc;
  readonly partitions = new Map<string, PartitionDoc>();
  readonly groups = new Map<string, GroupDoc>();
  /** Not persisted: a restarted process is a new process, its predecessor's registrations mean nothing. */
  readonly brokers = new Map<string, { registration: BrokerRegistration; expiresAtMs: number }>();
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: MemoryCoordinatorOptions, cluster: ClusterDoc) {
    this.dir = options.dir;
    this.now = options.clock ?? Date.now;
    this.leaseTtlMaxMs = options.leaseTtlMaxMs ?? COORDINATOR_DEFAULTS.leaseTtlMaxMs;
    this.groupLimits = groupLimitsFrom(options.groupLimits, GROUP_LIMIT_DEFAULTS);
    this.args = new CoordinatorArguments({ leaseTtlMaxMs: this.leaseTtlMaxMs, groupLimits: this.groupLimits });
    this.cluster = cluster;
    this.openedAtMs = this.now();
  }

  /** Loads the state persisted under `options.dir` (or starts empty). */
  static async load(options: MemoryCoordinatorOptions): Promise<MemoryState> {
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
    checkDoc(
      cluster,
      clusterFile,
      (d) =>
        typeof d.bootId === 'string' &&
        Array.isArray(d.topics) &&
        typeof d.controller === 'object' &&
        (d.acls === undefined || (Array.isArray(d.acls) && d.acls.every((k) => typeof k === 'string' && aclBindingFromKey(k) !== null))),
    );
    const state = new MemoryState(options, cluster);
    for (const name of await listJson(join(options.dir, 'partitions'))) {
      const file = join(options.dir, 'partitions', name);
      const doc = (await readJson(file)) as PartitionDoc;
      checkDoc(doc, file, (d) => typeof d.topic === 'string' && Number.isSafeInteger(d.partition) && Array.isArray(d.segments));
      state.partitions.set(partitionId(doc.topic, doc.partition), doc);
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
      for (const m of Object.values(doc.members)) m.lastHeartbeatAtMs = state.openedAtMs;
      state.groups.set(doc.group, doc);
    }
    return state;
  }


  /** One change at a time, each durable before it is applied and the call resolves. */
  serialize<T>(what: string, options: CallOptions | undefined, task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StrataError('INTERNAL_ERROR', `${what}: the coordinator is closed`));
    const run = this.#tail.then(() => {
      throwIfAborted(what, options?.signal);
      return task();
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  read<T>(what: string, options: CallOptions | undefined, task: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StrataError('INTERNAL_ERROR', `${what}: the coordinator is closed`));
    try {
      throwIfAborted(what, options?.signal);
      return Promise.resolve(structuredClone(task()));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** A change of memory only (a lease renewal): applied at once, outside the queue of durable changes. */
  applyNow<T>(what: string, options: CallOptions | undefined, task: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StrataError('INTERNAL_ERROR', `${what}: the coordinator is closed`));
    try {
      throwIfAborted(what, options?.signal);
      return Promise.resolve(task());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async changeCluster<T>(fn: (draft: ClusterDoc) => Outcome<ClusterDoc, T>): Promise<T> {
    const outcome = fn(structuredClone(this.cluster));
    if (outcome.next !== undefined && outcome.next !== null) {
      await writeJsonAtomic(join(this.dir, 'cluster.json'), outcome.next);
      this.cluster = outcome.next;
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  /** `persist: false` applies the change in memory only (a lease extension). */
  async changePartition<T>(
    topic: string,
    partition: number,
    fn: (draft: PartitionDoc | null) => Outcome<PartitionDoc, T>,
    persist = true,
  ): Promise<T> {
    const id = partitionId(topic, partition);
    const current = this.partitions.get(id);
    const outcome = fn(current === undefined ? null : structuredClone(current));
    if (outcome.next !== undefined) {
      const file = join(this.dir, 'partitions', partitionFileName(topic, partition));
      if (outcome.next === null) {
        await removeFile(file);
        this.partitions.delete(id);
      } else {
        if (persist) await writeJsonAtomic(file, outcome.next);
        // A renewal applied while this was written (applyNow) extended the same reign's lease: keep it.
        const latest = this.partitions.get(id);
        const lease = outcome.next.lease;
        if (lease !== null && latest?.lease && latest.lease.holder === lease.holder && latest.leaderEpoch === outcome.next.leaderEpoch) {
          lease.expiresAtMs = Math.max(lease.expiresAtMs, latest.lease.expiresAtMs);
        }
        this.partitions.set(id, outcome.next);
      }
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  async changeGroup<T>(group: string, fn: (draft: GroupDoc) => Outcome<GroupDoc, T>): Promise<T> {
    const current = this.groups.get(group);
    const outcome = fn(current === undefined ? emptyGroup(group) : structuredClone(current));
    if (outcome.next !== undefined && outcome.next !== null) {
      // A group with members is not empty: its offsets' retention clock starts again when it empties.
      if (Object.keys(outcome.next.members).length + (outcome.next.classic?.members.length ?? 0) > 0) delete outcome.next.emptySinceMs;
      await writeJsonAtomic(join(this.dir, 'groups', groupFileName(group)), outcome.next);
      this.groups.set(group, outcome.next);
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  liveLease(doc: PartitionDoc | null | undefined): LeaseDoc | null {
    return doc?.lease !== null && doc?.lease !== undefined && doc.lease.expiresAtMs > this.now() ? doc.lease : null;
  }

  /**
   * The fencing rule of every leader write (lua/_prelude.lua fence_leader_epoch): the epoch must be
   * the current one and have a leader. A newer epoch is remembered without a leader (a backend that
   * forgot a grant must not grant it again) and refused: the refusal then still persists that.
   */
  fence(doc: PartitionDoc | null, topic: string, partition: number, epoch: number): Outcome<PartitionDoc, never> | null {
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

  /** Removes a document's file and forgets it (a deleted or expired group). */
  async removeGroup(group: string): Promise<void> {
    await removeFile(join(this.dir, 'groups', groupFileName(group)));
    this.groups.delete(group);
  }

  /** Waits for the changes in flight, then refuses every call. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#tail;
    this.#closed = true;
  }
}
