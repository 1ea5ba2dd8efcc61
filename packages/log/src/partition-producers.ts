// One partition's producer state (producer-state.ts) together with its files: the `<offset>.snapshot`
// files (producer-snapshot.ts) written at each roll and at a clean close, and the recovery when the
// log opens or is cut: the newest usable snapshot at or below the log end, then the batches after
// it, replayed from the segments' headers (no record is decoded). Without a usable snapshot the
// whole local log is replayed. Snapshots past the log end (a truncation, or a torn tail cut them
// off) and unreadable ones are deleted. PartitionLog calls all of it inside its serial queue.

import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { incrementSequence, type BatchFrame } from '@strata/protocol';
import type { FileHandleCache } from './file-cache.js';
import { parseSnapshotFileName, snapshotFileName } from './file-names.js';
import { decodeProducerSnapshot, encodeProducerSnapshot, type ProducerSnapshot } from './producer-snapshot.js';
import { ProducerStates, producerFields, type DuplicateOf, type ProducerEntry, type ProducerStateLimits, type StagedProducers } from './producer-state.js';
import type { AppendedBatch, Segment } from './segment.js';

/** Bytes read at a time while replaying batch headers. */
const REPLAY_READ_BYTES = 1024 * 1024;

export class PartitionProducers {
  readonly #dir: string;
  readonly #files: FileHandleCache;
  readonly #now: () => number;
  readonly #states: ProducerStates;

  constructor(dir: string, files: FileHandleCache, now: () => number, limits: ProducerStateLimits) {
    this.#dir = dir;
    this.#files = files;
    this.#now = now;
    this.#states = new ProducerStates(limits);
  }

  get(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.#states.get(producerId);
  }

  /** Each client batch's verdict (null: write it), or null when none is a duplicate; throws when one is refused (producer-state.ts). */
  check(batches: Buffer, frames: readonly BatchFrame[], where: string, staged: StagedProducers | null = null): DuplicateOf[] | null {
    return this.#states.check(batches, frames, where, staged);
  }

  /** The producers of the batches just written (at their assigned offsets) join the state. */
  record(batches: Buffer, frames: readonly BatchFrame[], appended: readonly AppendedBatch[]): void {
    const now = this.#now();
    for (let i = 0; i < frames.length; i++) {
      const fields = producerFields(batches, frames[i]!);
      if (fields !== null) this.#states.record(fields, appended[i]!.baseOffset, appended[i]!.lastOffset, appended[i]!.maxTimestamp, now);
    }
  }

  expire(): number {
    return this.#states.expire(this.#now());
  }

  /** Writes the state as of `offset` (every batch below it), atomically. */
  async snapshot(offset: number): Promise<void> {
    await this.writeSnapshot(offset, this.encodeSnapshot(offset));
  }

  /** The state now, as the snapshot at `offset` (a roll encodes it at once and writes it in the background). */
  encodeSnapshot(offset: number): Buffer {
    return encodeProducerSnapshot(offset, this.#states);
  }

  async writeSnapshot(offset: number, bytes: Buffer): Promise<void> {
    await this.#files.writeAtomically(join(this.#dir, snapshotFileName(offset)), bytes);
  }

  /** The bytes of the snapshot at `offset`, or null. */
  readSnapshot(offset: number): Promise<Buffer | null> {
    return this.#files.readFile(join(this.#dir, snapshotFileName(offset))).catch(() => null);
  }

  /** Snapshots below the log start go with the segments retention deleted (the one at the start stays). */
  async dropBelow(logStartOffset: number): Promise<void> {
    await this.#delete((offset) => offset < logStartOffset);
  }

  /**
   * Forgets everything (a log reset to `offset`); `snapshot`, the state as of `offset` from the
   * bucket, is taken when it is usable (else the producers go on as unknown ones, as Kafka accepts).
   */
  async reset(offset: number, snapshot: Buffer | null): Promise<void> {
    await this.#delete(() => true);
    this.#states.clear();
    const decoded = snapshot === null ? null : safeDecode(snapshot);
    if (decoded === null || decoded.offset !== offset) return;
    this.#states.replace(decoded.entries);
    await this.snapshot(offset);
  }

  /** Rebuilds the state for a log of `segments` ending at `logEndOffset`; returns the batches replayed. */
  async recover(segments: readonly Segment[], logEndOffset: number): Promise<number> {
    const offsets = await this.#offsets();
    let from = segments[0]!.baseOffset;
    this.#states.clear();
    for (let i = offsets.length - 1; i >= 0; i--) {
      const offset = offsets[i]!;
      const path = join(this.#dir, snapshotFileName(offset));
      const snapshot = offset > logEndOffset ? null : safeDecode(await this.#files.readFile(path).catch(() => Buffer.alloc(0)));
      if (snapshot === null || snapshot.offset !== offset) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      this.#states.replace(snapshot.entries);
      // A snapshot below the local log start (a log restored from the bucket) still holds the
      // producers written before it; the batches between are gone, so the replay starts at the log start.
      from = Math.max(offset, from);
      break;
    }
    return this.#replay(segments, from);
  }

  /** Records every batch at or past `from` (Kafka's replication origin: no checks, the leader made them). */
  async #replay(segments: readonly Segment[], from: number): Promise<number> {
    let replayed = 0;
    const now = this.#now();
    for (const segment of [...segments]) {
      if (segment.nextOffset <= from || segment.size === 0) continue;
      segment.acquire();
      try {
        await segment.withCursor(0, segment.size, REPLAY_READ_BYTES, async (cursor) => {
          while (await cursor.next()) {
            const b = cursor.batch;
            if (b.baseOffset < from || b.producerId < 0) continue;
            const lastSeq = incrementSequence(b.baseSequence, b.lastOffset - b.baseOffset);
            this.#states.record({ producerId: b.producerId, epoch: b.producerEpoch, firstSeq: b.baseSequence, lastSeq }, b.baseOffset, b.lastOffset, b.maxTimestamp, now);
            replayed++;
          }
        });
      } finally {
        segment.release();
      }
    }
    return replayed;
  }

  async #offsets(): Promise<number[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return names.map(parseSnapshotFileName).filter((o): o is number => o !== null).sort((a, b) => a - b);
  }

  async #delete(drop: (offset: number) => boolean): Promise<void> {
    for (const offset of await this.#offsets()) {
      if (drop(offset)) await unlink(join(this.#dir, snapshotFileName(offset))).catch(() => undefined);
    }
  }
}

function safeDecode(bytes: Buffer): ProducerSnapshot | null {
  try {
    return decodeProducerSnapshot(bytes);
  } catch {
    return null;
  }
}
