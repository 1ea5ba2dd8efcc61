// The data disk's free space, measured every diskCheckIntervalMs. Below the floor
// (STRATA_MIN_FREE_DISK_BYTES) the broker is read-only: every append is refused with
// STORAGE_FULL (retriable) before it writes a byte, /readyz answers 503 with the reason,
// and the metrics say so. Reads, group reads and commits go on. When space returns
// (retention, uploads that free local segments, an operator) the next measurement
// lifts it: nothing to restart.
//
// Why a floor and not ENOSPC alone: a write that meets ENOSPC fails part-way, at a
// random point (an append, a segment roll, an index, a checkpoint); refusing appends
// while there is still room keeps that room for what must still be written (indexes,
// checkpoints, the clean-shutdown marker), so the broker stays coherent and restartable.
//
// A reserve file (STRATA_DISK_RESERVE_BYTES) is kept beside the data while there is room, and
// deleted when the disk is full: even at 0 bytes free, a (re)started broker can then write what
// leading its partitions takes (the coordinator's files, the reign marker in each log), and so
// serve reads. It is made again once there is room well above the floor.

import { rm, stat, statfs, writeFile } from 'node:fs/promises';
import { StrataError } from '@strata/protocol';
import type { Logger } from './logger.js';

export interface DiskMonitorOptions {
  dir: string;
  minFreeBytes: number;
  intervalMs: number;
  logger: Logger;
  /** The reserve file and its size in bytes (0: none). */
  reserve: { file: string; bytes: number };
}

export class DiskMonitor {
  readonly #options: DiskMonitorOptions;
  #freeBytes = -1;
  #totalBytes = -1;
  #full = false;
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> | null = null;
  /** Whether the reserve file is there (null: not looked yet). */
  #reserved: boolean | null = null;

  constructor(options: DiskMonitorOptions) {
    this.#options = options;
  }

  /** Bytes available to this process on the data disk (-1 before the first measurement). */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  get minFreeBytes(): number {
    return this.#options.minFreeBytes;
  }

  /** True while free space is below the floor: the broker is read-only. */
  get full(): boolean {
    return this.#full;
  }

  /** Why the broker is read-only, for /readyz and logs; null when it is not. */
  reason(): string | null {
    if (!this.#full) return null;
    return `the data disk has ${this.#freeBytes} bytes free, below the floor of ${this.#options.minFreeBytes} (STRATA_MIN_FREE_DISK_BYTES): produce is refused until space returns`;
  }

  /** The error appends are refused with while the disk is full (PartitionLog's appendRefusal). */
  appendRefusal(): StrataError | null {
    if (!this.#full) return null;
    return new StrataError('STORAGE_FULL', `the broker is read-only: ${this.reason()!}`, {
      details: { freeBytes: this.#freeBytes, minFreeBytes: this.#options.minFreeBytes },
    });
  }

  /** Measures now (once at a time). A failed measurement keeps the last state and is logged. */
  check(): Promise<void> {
    this.#checking ??= this.#measure().finally(() => (this.#checking = null));
    return this.#checking;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.check(), this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#checking;
  }

  async #measure(): Promise<void> {
    const { dir, minFreeBytes, logger } = this.#options;
    let stats;
    try {
      stats = await statfs(dir);
    } catch (e) {
      logger.warn('cannot measure the data disk\'s free space', { err: e });
      return;
    }
    // bavail: the blocks an unprivileged process may use (root's reserve is not ours to take).
    this.#freeBytes = stats.bavail * stats.bsize;
    this.#totalBytes = stats.blocks * stats.bsize;
    const full = this.#freeBytes < minFreeBytes;
    if (full !== this.#full) {
      this.#full = full;
      if (full) logger.error('data disk full: the broker is read-only (produce refused with STORAGE_FULL)', { freeBytes: this.#freeBytes, minFreeBytes });
      else logger.info('data disk has room again: produce accepted', { freeBytes: this.#freeBytes, minFreeBytes });
    }
    await this.#keepReserve().catch((e: unknown) => logger.warn('cannot keep the disk reserve file', { err: e }));
  }

  /** Full: the reserve goes (its room is for coordination writes). Room well above the floor: it comes back. */
  async #keepReserve(): Promise<void> {
    const { file, bytes } = this.#options.reserve;
    if (bytes <= 0) return;
    this.#reserved ??= await stat(file).then(
      (s) => s.size === bytes,
      () => false,
    );
    if (this.#full && this.#reserved) {
      await rm(file, { force: true });
      this.#reserved = false;
      this.#options.logger.warn('data disk full: released the disk reserve for coordination writes', { bytes });
    } else if (!this.#full && !this.#reserved && this.#freeBytes > this.#options.minFreeBytes + 2 * bytes) {
      await writeFile(file, Buffer.alloc(bytes));
      this.#reserved = true;
    }
  }
}
