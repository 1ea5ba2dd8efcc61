// The log's leader-epoch cache (Kafka's leader-epoch-checkpoint, LeaderEpochFileCache): which
// leader epoch wrote from which offset on, oldest first, epochs and start offsets strictly
// increasing. Kept in one checkpoint file beside the segments, rewritten atomically before a new
// epoch's first batch is written; rebuilt from the batch headers when the file is missing or bad.

import { join } from 'node:path';
import { EPOCH_CHECKPOINT_FILE } from './file-names.js';
import type { FileHandleCache } from './file-cache.js';
import type { Segment } from './segment.js';

/** One entry of the log's leader-epoch cache (Kafka's leader-epoch-checkpoint): batches of `epoch` begin at startOffset. */
export interface LogEpochEntry {
  epoch: number;
  startOffset: number;
}

/** Kafka's OffsetForLeaderEpoch answer: the largest epoch <= the one asked that this log holds, and where it ends. */
export interface EpochEnd {
  /** -1: the log holds no batch of that epoch or an earlier one. */
  epoch: number;
  /** The start of the next epoch in this log, or the log end; -1 with epoch -1. */
  endOffset: number;
}

/** Bytes read at a time while rebuilding the cache from batch headers. */
const REBUILD_READ_BYTES = 1024 * 1024;

export class LeaderEpochCache {
  readonly #file: string;
  readonly #files: FileHandleCache;
  #entries: LogEpochEntry[] = [];

  constructor(dir: string, files: FileHandleCache) {
    this.#file = join(dir, EPOCH_CHECKPOINT_FILE);
    this.#files = files;
  }

  /** The leader epoch of the last batch, or null for an empty log. */
  get latest(): number | null {
    return this.#entries.at(-1)?.epoch ?? null;
  }

  /** The entries, oldest first (a copy). */
  entries(): LogEpochEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  /** The largest epoch <= `epoch` this log holds and where it ends (the next epoch's start, or `logEndOffset`). */
  endOffsetFor(epoch: number, logEndOffset: number): EpochEnd {
    let found = -1;
    for (let i = 0; i < this.#entries.length; i++) if (this.#entries[i]!.epoch <= epoch) found = i;
    if (found < 0) return { epoch: -1, endOffset: -1 };
    const next = this.#entries[found + 1];
    return { epoch: this.#entries[found]!.epoch, endOffset: next !== undefined ? next.startOffset : logEndOffset };
  }

  /**
   * The checkpoint, with entries at or past `logEndOffset` dropped; rebuilt from the batch headers
   * of `segments` when missing. `unlessDiskFull` wraps the rewrites (their loss costs a rebuild).
   */
  async load(logStartOffset: number, logEndOffset: number, segments: readonly Segment[], unlessDiskFull: (write: () => Promise<void>) => Promise<void>): Promise<void> {
    const text = await this.#files.readFile(this.#file, 'utf8').catch(() => null);
    const entries: LogEpochEntry[] = [];
    let valid = text !== null;
    for (const line of (text ?? '').split('\n')) {
      if (line.trim() === '') continue;
      const [epoch, start] = line.trim().split(' ').map(Number);
      const last = entries.at(-1);
      if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(start) || (last && (epoch! <= last.epoch || start! < last.startOffset))) valid = false;
      else entries.push({ epoch: epoch!, startOffset: start! });
    }
    const empty = logEndOffset === logStartOffset;
    if (valid && (entries.length > 0 || empty)) {
      this.#entries = entries.filter((e) => e.startOffset < logEndOffset);
      if (this.#entries.length !== entries.length) await unlessDiskFull(() => this.#write());
      return;
    }
    // No (usable) checkpoint: an older data dir, or a crash during a reset. Walk the batch headers once.
    this.#entries = [];
    for (const segment of [...segments]) {
      segment.acquire();
      try {
        await segment.withCursor(0, segment.size, REBUILD_READ_BYTES, async (cursor) => {
          while (await cursor.next()) {
            const last = this.#entries.at(-1);
            if (last === undefined || cursor.batch.leaderEpoch > last.epoch) this.#entries.push({ epoch: cursor.batch.leaderEpoch, startOffset: cursor.batch.baseOffset });
          }
        });
      } finally {
        segment.release();
      }
    }
    await unlessDiskFull(() => this.#write());
  }

  /** A batch of `epoch` is about to be appended at `offset`: a new epoch is checkpointed before its first batch is written. */
  async note(epoch: number, offset: number): Promise<void> {
    const last = this.#entries.at(-1);
    if (last !== undefined && last.epoch >= epoch) return;
    this.#entries.push({ epoch, startOffset: offset });
    await this.#write();
  }

  /** Drops the entries at or past `logEndOffset` (after a truncation). */
  async truncateFrom(logEndOffset: number): Promise<void> {
    const kept = this.#entries.filter((e) => e.startOffset < logEndOffset);
    if (kept.length === this.#entries.length) return;
    this.#entries = kept;
    await this.#write();
  }

  /** Forgets every entry (a reset), durably. */
  async clear(): Promise<void> {
    this.#entries = [];
    await this.#write();
  }

  async #write(): Promise<void> {
    const text = this.#entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('');
    await this.#files.writeAtomically(this.#file, Buffer.from(text));
  }
}
