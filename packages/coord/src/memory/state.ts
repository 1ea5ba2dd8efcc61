// The state of the in-process engine and its plumbing: the documents in memory, the one-at-a-time
// queue of changes, and the rule that a change is durable (its file rewritten atomically) before
// it is applied and the call resolves. The operations (brokers.ts, topics.ts, controller.ts,
// partitions.ts, manifests.ts, groups.ts) read and change the state only through it.
//
// The one exception is an offset commit that changes nothing else in its group: it is appended to
// the offsets log (offsets-log.ts: in the page cache when the call resolves, fdatasync'd within
// offsetsFlushIntervalMs), as Kafka keeps its offsets. A group document written later holds those
// offsets too and records the last entry it holds (offsetsSeq), so recovery replays only what
// came after it. A full log file is rolled (and at a start, the files found are set aside) and
// its groups written out one queued change at a time, then it is removed.

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, aclBindingFromKey } from '@strata/protocol';
import type { BrokerRegistration, CallOptions } from '../coordinator.js';
import { CoordinatorArguments } from '../arguments.js';
import { COORDINATOR_DEFAULTS, GROUP_LIMIT_DEFAULTS, type GroupLimits } from '../defaults.js';
import { coordError, throwIfAborted } from '../errors.js';
import { Listeners } from '../events.js';
import { Checks, LIMITS, checkInt, checkTtl } from '../validate.js';
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
  type StoredOffset,
} from './documents.js';
import { listJson, readJson, removeFile, writeJsonAtomic } from './files.js';
import { OffsetsLog, readLog, replayEntries } from './offsets-log.js';

export interface MemoryCoordinatorOptions {
  /** Where the state persists (the broker uses <dataDir>/__strata/coord). Created if missing. */
  dir: string;
  /** Milliseconds since the epoch (default Date.now): tests inject a clock to expire leases at will. */
  clock?: () => number;
  /** Longest lease TTL granted (default 60 s). */
  leaseTtlMaxMs?: number;
  /** What groups may store (default GROUP_LIMIT_DEFAULTS). */
  groupLimits?: Partial<GroupLimits>;
  /** Longest time (ms) an appended offset commit waits for its fdatasync (default 1 s); 0: each commit waits for its own. */
  offsetsFlushIntervalMs?: number;
  /** Bytes of the offsets log file after which it is rolled and compacted (default 16 MiB). */
  offsetsLogRollBytes?: number;
}

/** A group change that is an offset commit alone: `offsets` (offsetField -> stored) may be appended to the offsets log. */
export type GroupOutcome<T> = Outcome<GroupDoc, T> & { appendOffsets?: Record<string, StoredOffset> };

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
  #offsetsLog!: OffsetsLog;
  /** Groups with entries in the active offsets log file that no document written since holds. */
  #offsetsDirty = new Set<string>();
  /** The same for the rolled file, until each is written out (then the file is removed). */
  #offsetsCompacting = new Set<string>();
  #compaction: Promise<void> | null = null;

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
    if (options?.offsetsFlushIntervalMs !== undefined) checkInt(c, 'offsetsFlushIntervalMs', options.offsetsFlushIntervalMs, 0, LIMITS.offsetsFlushIntervalMsCeiling, 'INVALID_CONFIG');
    if (options?.offsetsLogRollBytes !== undefined) {
      checkInt(c, 'offsetsLogRollBytes', options.offsetsLogRollBytes, LIMITS.offsetsLogRollBytesFloor, LIMITS.offsetsLogRollBytesCeiling, 'INVALID_CONFIG');
    }
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
        (d) =>
          typeof d.group === 'string' &&
          typeof d.members === 'object' &&
          typeof d.offsets === 'object' &&
          Number.isSafeInteger(d.groupEpoch) &&
          (d.offsetsSeq === undefined || (Number.isSafeInteger(d.offsetsSeq) && d.offsetsSeq >= 0)),
        GROUP_FORMAT_VERSION,
      );
      for (const m of Object.values(doc.members)) m.lastHeartbeatAtMs = state.openedAtMs;
      state.groups.set(doc.group, doc);
    }
    await state.#recoverOffsets(options);
    return state;
  }

  /**
   * Replays the offsets log over the documents, removes the files of groups whose deletion it
   * replayed, and starts a new active file after the last seq; the files read are compacted as
   * rolled ones (in the background: a start does not wait for every touched group). A crash
   * before that ends replays the same entries again; documents written already skip them.
   */
  async #recoverOffsets(options: MemoryCoordinatorOptions): Promise<void> {
    const dir = join(this.dir, 'offsets');
    const { entries, files } = await readLog(dir);
    const { touched, removed, lastSeq } = replayEntries(this.groups, entries);
    for (const group of removed) await removeFile(join(this.dir, 'groups', groupFileName(group)));
    this.#offsetsLog = await OffsetsLog.create(dir, lastSeq, files, {
      flushIntervalMs: options.offsetsFlushIntervalMs ?? COORDINATOR_DEFAULTS.offsetsFlushIntervalMs,
      rollBytes: options.offsetsLogRollBytes ?? COORDINATOR_DEFAULTS.offsetsLogRollBytes,
    });
    this.#offsetsCompacting = touched;
    if (this.#offsetsLog.rolled) this.#startCompaction();
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

  async changeGroup<T>(group: string, fn: (draft: GroupDoc) => GroupOutcome<T>): Promise<T> {
    const current = this.groups.get(group);
    const outcome = fn(current === undefined ? emptyGroup(group) : structuredClone(current));
    if (outcome.next !== undefined && outcome.next !== null) {
      // A group with members is not empty: its offsets' retention clock starts again when it empties.
      if (Object.keys(outcome.next.members).length + (outcome.next.classic?.members.length ?? 0) > 0) delete outcome.next.emptySinceMs;
      if (outcome.appendOffsets !== undefined && !this.#offsetsLog.failed) await this.#appendOffsets(group, outcome.next, outcome.appendOffsets);
      else await this.#writeGroup(group, outcome.next);
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }

  /** The whole document, atomically and fsynced: it holds every offsets log entry so far. */
  async #writeGroup(group: string, doc: GroupDoc): Promise<void> {
    doc.offsetsSeq = this.#offsetsLog.lastSeq;
    await writeJsonAtomic(join(this.dir, 'groups', groupFileName(group)), doc);
    this.groups.set(group, doc);
    this.#offsetsDirty.delete(group);
    this.#offsetsCompacting.delete(group);
  }

  async #appendOffsets(group: string, doc: GroupDoc, offsets: Record<string, StoredOffset>): Promise<void> {
    await this.#offsetsLog.append({ group, offsets });
    this.groups.set(group, doc);
    this.#offsetsDirty.add(group);
    if (this.#offsetsLog.shouldRoll) {
      await this.#offsetsLog.roll();
      this.#offsetsCompacting = this.#offsetsDirty;
      this.#offsetsDirty = new Set();
    }
    if (this.#offsetsLog.rolled && this.#compaction === null) this.#startCompaction();
  }

  #startCompaction(): void {
    this.#compaction = this.#compactRolled().finally(() => (this.#compaction = null));
  }

  /**
   * Writes out, one queued change each (commits keep flowing between them), every group with
   * entries in the rolled files, then removes them. A failure leaves the files for the next
   * commit's attempt, or for recovery.
   */
  async #compactRolled(): Promise<void> {
    try {
      for (const group of [...this.#offsetsCompacting]) {
        await this.serialize('compactOffsets', undefined, async () => {
          const doc = this.groups.get(group);
          if (doc !== undefined && this.#offsetsCompacting.has(group)) await this.#writeGroup(group, doc);
          this.#offsetsCompacting.delete(group);
        });
      }
      await this.serialize('compactOffsets', undefined, () => this.#offsetsLog.removeRolled());
    } catch {
      // Retried after the next appended commit; until then the rolled file only costs disk.
    }
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

  /**
   * Removes a document's file and forgets it (a deleted or expired group). The deletion is logged
   * and synced first: without it, the group's earlier entries in the offsets log would bring it back.
   */
  async removeGroup(group: string): Promise<void> {
    await this.#offsetsLog.append({ group, deleted: true }, true);
    await removeFile(join(this.dir, 'groups', groupFileName(group)));
    this.groups.delete(group);
    this.#offsetsDirty.delete(group);
    this.#offsetsCompacting.delete(group);
  }

  /** Waits for the changes in flight, then refuses every call; what the offsets log holds is synced. */
  async close(): Promise<void> {
    if (this.#closed) return;
    // A compaction in progress queues its writes one at a time: let it finish while the queue is open.
    await this.#compaction;
    await this.#tail;
    this.#closed = true;
    await this.#compaction;
    await this.#offsetsLog.close();
  }
}
