// One partition's remote tier: uploads its sealed segments (upload, then commit
// to the manifest, then snapshot the manifest to the bucket; only then may the
// local copy go), serves reads below the local log start from segment objects,
// applies retention to the remote segments, and removes uploads that never
// became visible.

import { EQUAL_JITTER, StrataError, backoffMs, isStrataError, type BackoffPolicy } from '@strata/protocol';
import type { PartitionLog, ReadResult, TimestampLookup } from '@strata/log';
import {
  manifestSnapshotKey,
  parseSegmentObjectKey,
  partitionSegmentsPrefix,
  segmentObjectKey,
  type ObjectStore,
  type SegmentScanner,
} from '@strata/storage';
import type { Logger } from '../logger.js';
import { manifestEndOffset, type ManifestStore, type PartitionManifest, type RemoteSegment } from './manifest.js';
import { downloadProducerSnapshot, uploadProducerSnapshot } from './producer-snapshots.js';
import type { ReaderCache } from './reader-cache.js';
import type { TierMetrics } from './tier-metrics.js';
import { publicMessage } from '../redact.js';
import type { EventLog } from '../events/event-log.js';

/** Between failed uploads of a partition: 500 ms doubling to 30 s, at least half of it. */
const UPLOAD_RETRY_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 500, maxMs: 30_000, jitter: EQUAL_JITTER });

export interface TierDeps {
  store: ObjectStore;
  /** Builds a segment object's indexes and footer off the main thread. */
  scanner: SegmentScanner;
  readers: ReaderCache;
  manifests: ManifestStore;
  metrics: TierMetrics;
  logger: Logger;
  now: () => number;
  /** A manifest write was refused by leader epoch: this broker no longer leads the partition. */
  onFenced?: (tier: TieredPartition) => void;
  /** Where uploads and failed uploads are recorded for the cluster events feed. */
  events?: EventLog;
}

export interface RetentionLimits {
  retentionMs: number;
  retentionBytes: number;
}

/** Running tier passes (uploads, retention; each bounded by its signal) a DeleteRecords waits out before REQUEST_TIMED_OUT. */
const DELETE_RECORDS_BUSY_WAITS_MAX = 8;

export class TieredPartition {
  readonly topic: string;
  readonly partition: number;
  readonly #deps: TierDeps;
  #manifest: PartitionManifest;
  /** End offset of the manifest as last snapshotted to the bucket: the local eviction gate. */
  #snapshotEnd: number;
  #snapshotDirty: boolean;
  /** Keys the bucket's snapshot names (as far as this broker knows). */
  #snapshotKeys: string[];
  #log: PartitionLog | null = null;
  #epoch = 0;
  /** Only the leader uploads, applies remote retention and collects garbage. */
  #leading = false;
  #busy: Promise<void> | null = null;
  #uploadingKey: string | null = null;
  #failures = 0;
  #retryAtMs = 0;
  #closed = false;
  lastError: string | null = null;

  constructor(topic: string, partition: number, manifest: PartitionManifest, snapshotted: boolean, deps: TierDeps) {
    this.topic = topic;
    this.partition = partition;
    this.#deps = deps;
    this.#manifest = manifest;
    // Until a snapshot is known to be in the bucket, nothing new may leave the disk.
    this.#snapshotEnd = snapshotted ? manifestEndOffset(manifest) : manifest.logStartOffset;
    this.#snapshotDirty = !snapshotted;
    this.#snapshotKeys = manifest.segments.map((s) => s.key);
  }

  bind(log: PartitionLog): void {
    this.#log = log;
  }

  get leading(): boolean {
    return this.#leading;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /**
   * This broker now leads the partition in `epoch`, from `manifest` (as the coordinator holds it:
   * an earlier leader may have committed since this broker last looked). Until the manifest is
   * snapshotted to the bucket again, nothing new leaves the local disk.
   */
  lead(epoch: number, manifest: PartitionManifest): void {
    if (manifest !== this.#manifest) {
      this.#manifest = manifest;
      this.#snapshotEnd = Math.min(this.#snapshotEnd, manifest.logStartOffset);
      this.#snapshotDirty = true;
      this.#snapshotKeys = [...new Set([...this.#snapshotKeys, ...manifest.segments.map((s) => s.key)])];
    }
    this.#epoch = epoch;
    this.#leading = true;
    this.#failures = 0;
    this.#retryAtMs = 0;
  }

  /** Another broker leads: no uploads, retention or GC from here; reads below its tail still work. */
  follow(): void {
    this.#leading = false;
  }

  /**
   * A follower hears from its leader that everything below `offset` is in the bucket and in its
   * snapshot: its own copies below may leave the disk (local retention), as the leader's may.
   */
  uploadedElsewhere(offset: number): void {
    if (!this.#leading && offset > this.#snapshotEnd) this.#snapshotEnd = offset;
  }

  /** A follower's view of the manifest, for reads from the bucket (never while leading). */
  refresh(manifest: PartitionManifest): void {
    if (!this.#leading) this.#manifest = manifest;
  }

  /**
   * Hand-over: seals the active segment and uploads everything up to the log end, so the next
   * leader continues from the manifest with nothing lost. Throws when an upload fails (the
   * caller retries while it still holds the lease).
   */
  async drain(signal: AbortSignal): Promise<void> {
    const log = this.#requireLog();
    await log.roll();
    while (this.remoteEndOffset < log.logEndOffset) {
      if (!this.#leading) throw new StrataError('FENCED_LEADER_EPOCH', `${this.topic}/${this.partition}: leadership was lost while handing over`);
      signal.throwIfAborted();
      const before = this.remoteEndOffset;
      await this.upload(signal);
      if (this.remoteEndOffset === before) {
        throw new StrataError('STORAGE_ERROR', `${this.topic}/${this.partition}: upload of the tail failed: ${this.lastError ?? 'no progress'}`);
      }
    }
  }

  get manifest(): Readonly<PartitionManifest> {
    return this.#manifest;
  }

  /** Offset after the last uploaded record. */
  get remoteEndOffset(): number {
    return manifestEndOffset(this.#manifest);
  }

  /** The local log may delete a segment only when it ends at or below this. */
  deletableBelow(): number {
    return this.#snapshotEnd;
  }

  /** The partition's first retained offset, across both tiers. */
  logStartOffset(): number {
    const local = this.#requireLog().logStartOffset;
    const remoteFirst = this.#manifest.segments[0]?.baseOffset ?? Number.POSITIVE_INFINITY;
    return Math.max(this.#manifest.logStartOffset, Math.min(remoteFirst, local));
  }

  remoteBytes(): number {
    let total = 0;
    for (const segment of this.#manifest.segments) total += segment.objectBytes;
    return total;
  }

  /** Sealed local segments not yet in the bucket. */
  uploadLag(): { segments: number; bytes: number } {
    const end = this.remoteEndOffset;
    let segments = 0;
    let bytes = 0;
    for (const segment of this.#log?.sealedSegments() ?? []) {
      if (segment.nextOffset > end) {
        segments++;
        bytes += segment.sizeBytes;
      }
    }
    return { segments, bytes };
  }

  needsWork(nowMs: number): boolean {
    if (this.#closed || !this.#leading || this.#busy !== null || nowMs < this.#retryAtMs) return false;
    return this.#snapshotDirty || this.uploadLag().segments > 0;
  }

  /** Uploads every sealed segment not yet in the manifest, in offset order. One run at a time. */
  upload(signal: AbortSignal): Promise<void> {
    this.#busy ??= this.#uploadAll(signal).finally(() => {
      this.#busy = null;
    });
    return this.#busy;
  }

  /** Waits for a running upload to finish. */
  async idle(): Promise<void> {
    await this.#busy?.catch(() => undefined);
  }

  close(): void {
    this.#closed = true;
  }

  /** Whole batches from the segment object holding `offset` (below the local log start). */
  async read(offset: number, maxBytes: number, signal?: AbortSignal): Promise<ReadResult> {
    const segment = this.#segmentFor(offset);
    if (!segment) {
      throw new StrataError('OFFSET_OUT_OF_RANGE', `offset ${offset} is in no remote segment of ${this.topic}/${this.partition}`, {
        details: { offset, logStartOffset: this.logStartOffset() },
      });
    }
    const started = performance.now();
    try {
      const reader = await this.#deps.readers.open(segment, signal);
      const result = await reader.read(offset, maxBytes, { signal });
      this.#deps.metrics.remoteReads.inc({ result: 'ok' });
      this.#deps.metrics.remoteReadBytes.inc(result.data.length);
      this.#deps.metrics.remoteReadSeconds.observe((performance.now() - started) / 1000);
      // release: the chunk cache lent `data`'s memory; the caller gives it back once the answer is written.
      return { data: result.data, nextOffset: result.nextOffset, batchCount: result.batchCount, release: result.release };
    } catch (e) {
      throw this.#readFailure(segment, e);
    }
  }

  /** The first offset at or after `timestamp` among the remote segments, or null. */
  async offsetForTimestamp(timestamp: number, signal?: AbortSignal): Promise<TimestampLookup | null> {
    const start = this.logStartOffset();
    for (const segment of this.#manifest.segments) {
      if (segment.maxTimestamp < timestamp || segment.lastOffset < start) continue;
      try {
        const reader = await this.#deps.readers.open(segment, signal);
        const found = await reader.offsetForTimestamp(timestamp, { signal });
        if (found && found.offset >= start) return found;
      } catch (e) {
        throw this.#readFailure(segment, e);
      }
    }
    return null;
  }

  /**
   * Deletes the oldest remote segments past retention.ms / retention.bytes (the bytes of the
   * whole partition: remote plus what is only local). The manifest moves first, then the
   * objects go: a crash in between leaves garbage, never a manifest naming a missing object.
   */
  async enforceRetention(limits: RetentionLimits, signal: AbortSignal): Promise<void> {
    if (this.#busy !== null || this.#manifest.segments.length === 0) return;
    const now = this.#deps.now();
    let total = this.#localOnlyBytes();
    for (const segment of this.#manifest.segments) total += segment.dataBytes;
    let newStart = -1;
    for (const segment of this.#manifest.segments) {
      // Aged by its newest record, but never from after its upload: a record timestamped far in the
      // future must not keep the partition's history forever (the local log does the same).
      const expired = limits.retentionMs >= 0 && Math.min(segment.maxTimestamp, segment.uploadedAtMs) < now - limits.retentionMs;
      const oversized = limits.retentionBytes >= 0 && total - segment.dataBytes >= limits.retentionBytes;
      if (!expired && !oversized) break;
      total -= segment.dataBytes;
      newStart = segment.lastOffset + 1;
    }
    if (newStart < 0) return;
    await this.#advanceStart(newStart, 'remote retention', signal);
  }

  /**
   * Kafka's DeleteRecords on the leader (the caller checked `offset` against the high watermark):
   * the log start moves as remote retention moves it, so every broker and a leader starting from the
   * bucket respect it. Waits out a running upload or retention pass first. Returns the log start.
   */
  async deleteRecordsBefore(offset: number, signal: AbortSignal): Promise<number> {
    for (let waits = 0; this.#busy !== null; waits++) {
      if (waits >= DELETE_RECORDS_BUSY_WAITS_MAX) throw new StrataError('REQUEST_TIMED_OUT', `${this.topic}/${this.partition} is busy uploading; retry`);
      await this.#busy.catch(() => undefined);
    }
    if (!this.#leading) throw new StrataError('NOT_LEADER', `this broker no longer leads ${this.topic}/${this.partition}`, { details: { topic: this.topic, partition: this.partition } });
    if (offset > this.logStartOffset()) await this.#advanceStart(offset, 'delete records', signal);
    return this.logStartOffset();
  }

  /** The manifest moves first, then the objects go: a crash in between leaves garbage, never a manifest naming a missing object. */
  async #advanceStart(newStart: number, why: string, signal: AbortSignal): Promise<void> {
    this.#busy = (async () => {
      const { manifest, removed } = await this.#fenced(this.#deps.manifests.advanceStart(this.topic, this.partition, this.#epoch, newStart));
      this.#manifest = manifest;
      // Until the bucket's snapshot stops naming them, the removed objects must stay (see GC).
      this.#snapshotDirty = true;
      await this.#snapshot(signal);
      const keys = removed.map((s) => s.key);
      for (const key of keys) this.#deps.readers.forget(key);
      const result = await this.#deps.store.deleteMany(keys, { signal });
      this.#deps.metrics.retentionDeletedSegments.inc(result.deleted.length);
      if (result.errors.length > 0) {
        this.#deps.logger.warn(`${why} could not delete some objects; garbage collection will retry`, { topic: this.topic, partition: this.partition, errors: result.errors.slice(0, 5) });
      }
      this.#deps.logger.info(`${why} advanced the log start`, { topic: this.topic, partition: this.partition, logStartOffset: newStart, segments: removed.length });
    })().finally(() => {
      this.#busy = null;
    });
    await this.#busy;
  }

  /**
   * Removes this partition's objects that the manifest does not name: uploads whose commit never
   * happened (a crash in between) and segments whose deletion failed. Only objects older than
   * `graceMs`, so an upload in flight elsewhere is never taken for garbage.
   */
  async collectGarbage(graceMs: number, signal: AbortSignal): Promise<number> {
    // Named by the manifest, or by the last snapshot in the bucket (what a restore would read).
    const named = new Set([...this.#manifest.segments.map((s) => s.key), ...this.#snapshotKeys]);
    const cutoff = this.#deps.now() - graceMs;
    const garbage: string[] = [];
    for await (const object of this.#deps.store.listAll(partitionSegmentsPrefix(this.topic, this.partition), { signal })) {
      if (named.has(object.key) || object.key === this.#uploadingKey) continue;
      if (parseSegmentObjectKey(object.key) === null) continue;
      if (object.lastModified.getTime() <= cutoff) garbage.push(object.key);
    }
    // The manifest may have moved while we listed: never delete what it names now.
    const current = new Set([...this.#manifest.segments.map((s) => s.key), ...this.#snapshotKeys]);
    const doomed = garbage.filter((key) => !current.has(key));
    if (doomed.length === 0) return 0;
    const result = await this.#deps.store.deleteMany(doomed, { signal });
    this.#deps.metrics.garbageDeleted.inc(result.deleted.length);
    this.#deps.logger.info('removed uncommitted or superseded segment objects', { topic: this.topic, partition: this.partition, count: result.deleted.length });
    return result.deleted.length;
  }

  async #uploadAll(signal: AbortSignal): Promise<void> {
    try {
      if (this.#snapshotDirty) await this.#snapshot(signal);
      for (;;) {
        if (this.#closed || !this.#leading || signal.aborted) return;
        const end = this.remoteEndOffset;
        const next = this.#requireLog().sealedSegments().find((s) => s.nextOffset > end);
        if (!next) break;
        let baseOffset = next.baseOffset;
        let startPosition = 0;
        if (next.baseOffset < end && this.#manifest.segments.length > 0) {
          // A log replicated from another leader rolled its segments elsewhere: upload from the batch at the remote end.
          const at = await this.#requireLog().positionOf(next.baseOffset, end);
          if (at.baseOffset === end) {
            baseOffset = end;
            startPosition = at.position;
          }
        }
        if (baseOffset !== end && this.#manifest.segments.length > 0) {
          throw new StrataError('INTERNAL_ERROR', `local segment ${next.baseOffset} does not continue the remote log at ${end}`, {
            details: { topic: this.topic, partition: this.partition, baseOffset: next.baseOffset, remoteEnd: end },
          });
        }
        await this.#uploadSegment(baseOffset, next.nextOffset - 1, next.logPath, startPosition, next.sizeBytes, signal);
      }
      this.#failures = 0;
      this.lastError = null;
    } catch (e) {
      this.#failures++;
      // Capped exponential backoff with jitter before this partition tries again.
      const delayMs = backoffMs(this.#failures, UPLOAD_RETRY_BACKOFF);
      this.#retryAtMs = this.#deps.now() + delayMs;
      // Shown by describe (lastUploadError): without server paths; the log below has the whole error.
      this.lastError = publicMessage((e as Error).message);
      if (!this.#closed) {
        this.#deps.events?.record({ kind: 'upload-failed', topic: this.topic, partition: this.partition, message: `upload failed (${this.#failures} in a row; retry in ${Math.round(delayMs)} ms): ${this.lastError}` });
        this.#deps.logger.warn('tiered upload failed; will retry', { topic: this.topic, partition: this.partition, failures: this.#failures, retryInMs: Math.round(delayMs), err: e });
      }
    }
  }

  async #uploadSegment(baseOffset: number, lastOffset: number, path: string, startPosition: number, sizeBytes: number, signal: AbortSignal): Promise<void> {
    // The epoch of the reign that sealed the segment: a commit after leadership moved on is fenced by it,
    // never made under a later reign's epoch.
    const epoch = this.#epoch;
    const key = segmentObjectKey({ topic: this.topic, partition: this.partition, baseOffset, lastOffset, epoch });
    const started = performance.now();
    this.#uploadingKey = key;
    try {
      // Exactly the sealed bytes: nothing past the segment's size is ever part of the object. The
      // indexes and footer come from a scan in a worker thread that checks every batch (a corrupt
      // local segment is never uploaded); the store then streams the file with its known length.
      const range = { path, start: startPosition, end: sizeBytes };
      const { tail, footer } = await this.#deps.scanner.scan(range, { baseOffset, lastOffset });
      signal.throwIfAborted();
      await this.#deps.store.putFile(key, { ...range, tail }, { signal });
      const segment: RemoteSegment = {
        key,
        baseOffset,
        lastOffset,
        objectBytes: footer.objectBytes,
        dataBytes: footer.dataBytes,
        maxTimestamp: footer.maxTimestamp,
        epoch,
        uploadedAtMs: this.#deps.now(),
      };
      this.#manifest = await this.#fenced(this.#deps.manifests.commit(this.topic, this.partition, segment));
      this.#snapshotDirty = true;
      await this.#snapshot(signal);
      await uploadProducerSnapshot({ store: this.#deps.store, logger: this.#deps.logger, topic: this.topic, partition: this.partition }, this.#requireLog(), lastOffset + 1, signal);
      this.#deps.metrics.uploads.inc({ result: 'ok' });
      this.#deps.events?.record({ kind: 'segment-uploaded', topic: this.topic, partition: this.partition, message: `offsets ${baseOffset}..${lastOffset} uploaded (${footer.objectBytes} bytes, epoch ${epoch})` });
      this.#deps.metrics.uploadBytes.inc(footer.objectBytes);
      this.#deps.metrics.uploadSeconds.observe((performance.now() - started) / 1000);
    } catch (e) {
      this.#deps.metrics.uploads.inc({ result: 'error' });
      throw e;
    } finally {
      this.#uploadingKey = null;
    }
  }

  /** The idempotent producers' state as of `remoteEnd` from the bucket, or null (producer-snapshots.ts). */
  producerSnapshot(remoteEnd: number, signal?: AbortSignal): Promise<Buffer | null> {
    return downloadProducerSnapshot({ store: this.#deps.store, logger: this.#deps.logger, topic: this.topic, partition: this.partition }, remoteEnd, signal);
  }

  /** Writes the manifest to the bucket; then, and only then, the local copies it covers may go. */
  async #snapshot(signal: AbortSignal): Promise<void> {
    const manifest = this.#manifest;
    const body = Buffer.from(JSON.stringify({ topic: this.topic, partition: this.partition, ...manifest }));
    await this.#deps.store.put(manifestSnapshotKey(this.topic, this.partition), body, { signal });
    this.#snapshotEnd = manifestEndOffset(manifest);
    this.#snapshotKeys = manifest.segments.map((s) => s.key);
    if (this.#manifest === manifest) this.#snapshotDirty = false;
  }

  /** A refusal by leader epoch ends this broker's leadership of the partition. */
  async #fenced<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (e) {
      if (isStrataError(e) && e.code === 'FENCED_LEADER_EPOCH') {
        this.#leading = false;
        this.#deps.metrics.fencedWrites.inc();
        this.#deps.logger.warn('a manifest write was fenced: a newer leader exists', { topic: this.topic, partition: this.partition, epoch: this.#epoch });
        this.#deps.onFenced?.(this);
      }
      throw e;
    }
  }

  #localOnlyBytes(): number {
    const log = this.#requireLog();
    const end = this.remoteEndOffset;
    let uploaded = 0;
    for (const segment of log.sealedSegments()) if (segment.nextOffset <= end) uploaded += segment.sizeBytes;
    return log.stats().sizeBytes - uploaded;
  }

  #segmentFor(offset: number): RemoteSegment | undefined {
    const segments = this.#manifest.segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const segment = segments[mid]!;
      if (offset < segment.baseOffset) hi = mid - 1;
      else if (offset > segment.lastOffset) lo = mid + 1;
      else return segment;
    }
    return undefined;
  }

  #readFailure(segment: RemoteSegment, e: unknown): unknown {
    if (!this.#manifest.segments.includes(segment)) {
      // Retention removed the segment while this read was on its way: the offset is gone, not broken.
      return new StrataError('OFFSET_OUT_OF_RANGE', `offset is below the log start ${this.logStartOffset()} of ${this.topic}/${this.partition}`, {
        cause: e,
        details: { logStartOffset: this.logStartOffset() },
      });
    }
    if (isStrataError(e) && e.code === 'CORRUPT_MESSAGE') {
      this.#deps.metrics.corruptObjects.inc();
      this.#deps.metrics.remoteReads.inc({ result: 'corrupt' });
      this.#deps.readers.forget(segment.key);
      this.#deps.logger.error('corrupt segment object', { topic: this.topic, partition: this.partition, key: segment.key, err: e });
      return new StrataError('STORAGE_ERROR', `segment object ${segment.key} failed its checks: ${e.message}`, {
        cause: e,
        details: { key: segment.key, corrupt: true },
      });
    }
    this.#deps.metrics.remoteReads.inc({ result: 'error' });
    return e;
  }

  #requireLog(): PartitionLog {
    if (!this.#log) throw new Error(`tiered partition ${this.topic}/${this.partition} has no log bound`);
    return this.#log;
  }
}
