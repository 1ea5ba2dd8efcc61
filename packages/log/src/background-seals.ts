// The second half of a roll, off the append path (docs/architecture.md#local-log). A roll only
// marks the active segment sealed (no more appends into it) and opens the next one; the slow part
// (the indexes written atomically, the 128 MiB datasync, the recovery point, the producer
// snapshot) runs here, one segment at a time and oldest first, while appends go on into the new
// segment. Until its seal completes a segment is not handed to the uploader, not counted below
// the recovery point and not deleted by retention; reads of it use the indexes still in memory.
// A crash part-way leaves the recovery point below the segment, so the next open rescans and
// seals it (log-loader.ts), exactly as a crash inside a synchronous seal did.

import type { Segment } from './segment.js';

export interface PendingSeal {
  segment: Segment;
  /**
   * The producer state as of the segment's end, encoded when it rolled (the state moves on after);
   * null for a segment found unsealed at open, whose state at its end is not known any more.
   */
  producerSnapshot: Buffer | null;
}

export interface BackgroundSealsDeps {
  /** Everything below `offset` is sealed and fsynced. */
  writeRecoveryPoint: (offset: number) => Promise<void>;
  writeProducerSnapshot: (offset: number, bytes: Buffer) => Promise<void>;
  onSealed: (segment: Segment) => void;
  onFailed: (error: unknown, segment: Segment) => void;
  /** A named probe for tests: awaited before a seal writes anything (a slow disk, a seal held open). */
  beforeSeal: ((baseOffset: number) => Promise<void>) | undefined;
}

export class BackgroundSeals {
  readonly #deps: BackgroundSealsDeps;
  /** Oldest first; the head is the one being sealed. */
  #pending: PendingSeal[] = [];
  #running: Promise<void> | null = null;
  #lastError: unknown = null;

  constructor(deps: BackgroundSealsDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#pending.length;
  }

  /** The base offset of the oldest segment whose seal has not completed, or Infinity. */
  get oldestPendingBase(): number {
    return this.#pending[0]?.segment.baseOffset ?? Infinity;
  }

  add(seal: PendingSeal): void {
    this.#pending.push(seal);
    this.#kick();
  }

  /** After a failure, the periodic maintenance tries again from the same segment. */
  retry(): void {
    this.#kick();
  }

  /** Resolves once every seal handed over so far has completed; throws the error of one that could not. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0) {
      this.#kick();
      await this.#running;
      if (this.#pending.length > 0 && this.#lastError !== null) throw this.#lastError;
    }
  }

  /** Forgets every pending seal once the running one stops (the segments are about to be deleted). */
  async abandon(): Promise<void> {
    this.#pending = [];
    await this.#running;
  }

  #kick(): void {
    if (this.#running !== null || this.#pending.length === 0) return;
    this.#running = this.#run().finally(() => {
      this.#running = null;
    });
  }

  async #run(): Promise<void> {
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!;
      const { segment } = head;
      try {
        await this.#deps.beforeSeal?.(segment.baseOffset);
        await segment.completeSeal();
        // Only after the fsync: recovery trusts every segment below this point without a rescan.
        await this.#deps.writeRecoveryPoint(segment.nextOffset);
        if (head.producerSnapshot !== null) await this.#deps.writeProducerSnapshot(segment.nextOffset, head.producerSnapshot);
      } catch (e) {
        this.#lastError = e;
        this.#deps.onFailed(e, segment);
        return;
      }
      this.#lastError = null;
      // abandon() may have dropped it meanwhile: a segment about to be deleted is never announced.
      if (this.#pending[0] !== head) continue;
      this.#pending.shift();
      this.#deps.onSealed(segment);
    }
  }
}
