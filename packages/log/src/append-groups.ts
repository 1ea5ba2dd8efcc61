// Group commit of a partition's leader appends (issue #16): requests that arrive while the
// partition's serial queue is busy wait together in one open group, and when the queue reaches it
// their batches go to the segment in one positional write (writev), with one fsync when
// flush.messages asks for it. Each request keeps its own answer (its own base offset), its own
// checks (an idempotent producer's sequence, the size bound) and its own failure; a failed write
// fails exactly the requests in it. PartitionLog (#writeGroup) does the writing; this file holds the
// queueing and the per-request steps that need none of the log's state.

import { StrataError, type BatchFrame } from '@strata/protocol';
import { pickBatches, stampBatches } from './log-helpers.js';
import type { SerialQueue } from './mutex.js';
import { producerFields, type DuplicateOf, type StagedProducers } from './producer-state.js';
import type { AppendedBatch } from './segment.js';
import type { AppendOptions, AppendResult } from './types.js';

/** Default bound on the bytes of one group's write (PartitionLogOptions.appendGroupBytesMax). */
export const DEFAULT_APPEND_GROUP_BYTES_MAX = 4 * 1024 * 1024;

/** One leader append waiting for its group's write. */
export interface PendingAppend {
  batches: Buffer;
  frames: readonly BatchFrame[];
  options: AppendOptions;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The open group and the queue it runs on. A group closes when its task starts, when it holds
 * `groupBytesMax`, or when any other operation (a roll, a truncation, a follower's append, a close)
 * is queued after it: every operation still takes effect in call order.
 */
export class AppendGroups {
  readonly #queue: SerialQueue;
  readonly #groupBytesMax: number;
  readonly #log: GroupTarget;
  #open: PendingAppend[] | null = null;
  #openBytes = 0;

  constructor(queue: SerialQueue, groupBytesMax: number, log: GroupTarget) {
    if (!Number.isSafeInteger(groupBytesMax) || groupBytesMax < 0) throw new Error(`appendGroupBytesMax must be a non-negative integer, got ${groupBytesMax}`);
    this.#queue = queue;
    this.#groupBytesMax = groupBytesMax;
    this.#log = log;
  }

  add(batches: Buffer, frames: readonly BatchFrame[], options: AppendOptions): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const pending: PendingAppend = { batches, frames, options, resolve, reject };
      const open = this.#open;
      if (open !== null && this.#openBytes + batches.length <= this.#groupBytesMax) {
        open.push(pending);
        this.#openBytes += batches.length;
        return;
      }
      const group = [pending];
      this.#open = group;
      this.#openBytes = batches.length;
      void this.#queue.run(async () => {
        if (this.#open === group) this.#open = null;
        try {
          for (let next = 0; next < group.length; ) {
            const write = await nextWrite(group, next, this.#log);
            next = write.next;
            if (write.prepared.length > 0) await this.#log.write(write.prepared, write.bytes, write.records);
          }
        } catch (e) {
          // Every request is answered on the way; this only catches a bug (a settled promise ignores it).
          for (const p of group) p.reject(e);
        }
      });
    });
  }

  /** Any other serialized operation: appends called after it wait for it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.#open = null;
    return this.#queue.run(task);
  }
}

/** What nextWrite needs of the log (partition-log.ts). */
export interface GroupTarget {
  assertWritable(): void;
  /** The idempotent producers' verdicts after the `staged` batches (producer-state.ts); throws when a batch is refused. */
  check(batches: Buffer, frames: readonly BatchFrame[], staged: StagedProducers | null): DuplicateOf[] | null;
  segmentBytes(): number;
  /** Whether the active segment must roll before `bytes` and `records` more (`afterOthers`: of a write's requests). */
  needsRoll(bytes: number, records: number, afterOthers: boolean): boolean;
  roll(): Promise<void>;
  /** The active segment's next offset. */
  nextOffset(): number;
  /** Writes the stamped requests with one write and answers each (partition-log.ts). */
  write(prepared: PreparedAppend[], bytes: number, records: number): Promise<void>;
}

/**
 * The next write of a group, from `group[from]` on: each request is checked on its own (a refused
 * one is answered, alone, at once, as is one whose batches are all duplicates), then as many as fit
 * in the active segment are stamped for one write, which will succeed or fail for all of them. A
 * request that needs a roll or has another leader epoch starts the next write (rolling first when
 * it must). An idempotent producer's batches are checked after its batches already in the write
 * (as they would be once those are recorded); a request that fails that check starts the next write,
 * where it is checked again against what was recorded: a retry of a batch in this write is then
 * answered as a duplicate, as it would be one request at a time, and a refusal is the same.
 */
export async function nextWrite(group: readonly PendingAppend[], from: number, log: GroupTarget): Promise<{ prepared: PreparedAppend[]; bytes: number; records: number; next: number }> {
  const write: PreparedAppend[] = [];
  let staged: StagedProducers | null = null;
  let bytes = 0;
  let records = 0;
  let next = from;
  for (; next < group.length; next++) {
    const pending = group[next]!;
    if (write.length > 0 && pending.options.leaderEpoch !== write[0]!.pending.options.leaderEpoch) break;
    const ids = producersOf(pending.batches, pending.frames);
    // A copy: a request refused part-way must leave nothing staged.
    const trial: StagedProducers | null = ids === null ? staged : new Map(staged ?? []);
    const afterStaged = ids !== null && staged !== null && ids.some((id) => staged!.has(id));
    let prepared: PreparedAppend | AppendResult;
    try {
      log.assertWritable();
      prepared = prepareAppend(pending, (batches, frames) => log.check(batches, frames, trial), log.segmentBytes());
      if (!('pending' in prepared)) {
        pending.resolve(prepared);
        continue;
      }
      const needsRoll = log.needsRoll(bytes + prepared.batches.length, records + prepared.writtenRecords, write.length > 0);
      if (needsRoll && write.length > 0) break;
      if (needsRoll) await log.roll();
    } catch (e) {
      if (afterStaged) break;
      pending.reject(e);
      continue;
    }
    stampPrepared(prepared, log.nextOffset() + records, bytes);
    staged = trial;
    write.push(prepared);
    bytes += prepared.batches.length;
    records += prepared.writtenRecords;
  }
  return { prepared: write, bytes, records, next };
}

/** A request's batches as they will be written (duplicates of earlier batches left out). */
export interface PreparedAppend {
  pending: PendingAppend;
  batches: Buffer;
  frames: readonly BatchFrame[];
  /** Records the request carries, duplicates included (the answer's recordCount). */
  records: number;
  /** Records written. */
  writtenRecords: number;
  duplicates: DuplicateOf[] | null;
  /** Set at stamping: the offsets and positions (in the group's write) of the written batches. */
  appended: AppendedBatch[];
}

/**
 * The checks of one request before anything is written: its frames cover its bytes, an idempotent
 * producer's batches are in sequence (`check` throws when one is refused), it fits in a segment.
 * Returns the answer at once when every batch is a duplicate of one written before.
 */
export function prepareAppend(pending: PendingAppend, check: (batches: Buffer, frames: readonly BatchFrame[]) => DuplicateOf[] | null, segmentBytes: number): PreparedAppend | AppendResult {
  const { batches, frames } = pending;
  let records = 0;
  let size = 0;
  for (const frame of frames) {
    size += frame.size;
    records += frame.lastOffsetDelta + 1;
  }
  if (size !== batches.length) throw new Error(`frames cover ${size} bytes of a ${batches.length}-byte buffer`);
  const duplicates = check(batches, frames);
  const written = duplicates === null ? { batches, frames } : duplicates.includes(null) ? pickBatches(batches, frames, (i) => duplicates[i] === null) : null;
  if (written === null) return { baseOffset: duplicates![0]!.baseOffset, lastOffset: duplicates!.at(-1)!.lastOffset, recordCount: records, duplicate: true };
  const writtenRecords = duplicates === null ? records : written.frames.reduce((n, f) => n + f.lastOffsetDelta + 1, 0);
  if (written.batches.length > segmentBytes) {
    throw new StrataError('MESSAGE_TOO_LARGE', `append of ${written.batches.length} bytes is larger than segment.bytes (${segmentBytes})`);
  }
  return { pending, batches: written.batches, frames: written.frames, records, writtenRecords, duplicates, appended: [] };
}

/** Gives the request its offsets from `baseOffset` and its place at `position` in the group's write. */
export function stampPrepared(prepared: PreparedAppend, baseOffset: number, position: number): void {
  prepared.appended = stampBatches(prepared.batches, prepared.frames, baseOffset, prepared.pending.options.leaderEpoch, position);
}

/**
 * The answer to a written request: its own range, or, for a retry mixing duplicates and new batches
 * (a torn write, a leader that failed over with part of them replicated), the range from the lowest
 * to the highest offset of its batches.
 */
export function answerOf(prepared: PreparedAppend): AppendResult {
  const baseOffset = prepared.appended[0]!.baseOffset;
  const lastOffset = prepared.appended.at(-1)!.lastOffset;
  if (prepared.duplicates === null) return { baseOffset, lastOffset, recordCount: prepared.records, duplicate: false };
  let low = baseOffset;
  let high = lastOffset;
  for (const d of prepared.duplicates) if (d !== null) [low, high] = [Math.min(low, d.baseOffset), Math.max(high, d.lastOffset)];
  return { baseOffset: low, lastOffset: high, recordCount: prepared.records, duplicate: false };
}

/** The idempotent producers of a request (null: none, nothing to check). */
export function producersOf(batches: Buffer, frames: readonly BatchFrame[]): number[] | null {
  let ids: number[] | null = null;
  for (const frame of frames) {
    const fields = producerFields(batches, frame);
    if (fields !== null) (ids ??= []).push(fields.producerId);
  }
  return ids;
}
