// Small pieces of PartitionLog (partition-log.ts) that need none of its state: the offset-for-time
// search inside one segment, the batch stamping of a leader's append, the sealed-segment view and
// the retention clock, the checks of a follower's batches.

import { StrataError, setBaseOffset, setPartitionLeaderEpoch, visitRecordsAsync, type BatchFrame } from '@strata/protocol';
import type { LogEpochEntry } from './leader-epochs.js';
import type { Segment, AppendedBatch } from './segment.js';
import type { LogConfig, LogStats, SealedSegmentInfo, TimestampLookup } from './types.js';

/** The first record at or after `timestamp` in `segment`, or null. The caller pins the segment. */
export async function findInSegment(segment: Segment, timestamp: number, logStartOffset: number): Promise<TimestampLookup | null> {
  const start = await segment.scanStartFor(timestamp);
  return segment.withCursor(start, segment.size, 256 * 1024, async (cursor) => {
    while (await cursor.next()) {
      const batch = cursor.batch;
      if (batch.maxTimestamp < timestamp) continue;
      const bytes = await cursor.slice(batch.position, batch.position + batch.size);
      // Stops at the first match (a batch may hold hundreds of thousands of records), inflating off the loop.
      let found = null as TimestampLookup | null; // set by the visitor: `as` keeps TypeScript from narrowing it to null
      await visitRecordsAsync(
        bytes,
        (record) => {
          if (record.timestamp >= timestamp) found = { offset: record.offset, timestamp: record.timestamp };
          return found === null;
        },
        { fromOffset: logStartOffset },
      );
      if (found !== null) return found;
    }
    return null;
  });
}

/**
 * A leader's append: gives the batches offsets from `baseOffset` on by rewriting each baseOffset and
 * stamps the leader epoch (both outside the CRC, so it is not recomputed). Returns what the segment
 * indexes, positioned at `position` on in the write (a group's write holds several requests' batches).
 */
export function stampBatches(batches: Buffer, frames: readonly BatchFrame[], baseOffset: number, leaderEpoch: number, position = 0): AppendedBatch[] {
  let next = baseOffset;
  const appended: AppendedBatch[] = [];
  for (const frame of frames) {
    setBaseOffset(batches, frame.position, next);
    setPartitionLeaderEpoch(batches, frame.position, leaderEpoch);
    const lastOffset = next + frame.lastOffsetDelta;
    appended.push({ position: position + frame.position, size: frame.size, baseOffset: next, lastOffset, maxTimestamp: frame.maxTimestamp });
    next = lastOffset + 1;
  }
  return appended;
}

/**
 * The batches of `frames` picked by `keep`, as one buffer with frames positioned in it: a slice when
 * they are one run of the original, else a copy (only a request mixing duplicates and new batches).
 */
export function pickBatches(batches: Buffer, frames: readonly BatchFrame[], keep: (index: number) => boolean): { batches: Buffer; frames: BatchFrame[] } {
  const kept = frames.filter((_, i) => keep(i));
  if (kept.length === frames.length) return { batches, frames: kept };
  let contiguous = true;
  for (let i = 1; i < kept.length; i++) if (kept[i]!.position !== kept[i - 1]!.position + kept[i - 1]!.size) contiguous = false;
  const start = kept[0]!.position;
  if (contiguous) {
    const last = kept.at(-1)!;
    return { batches: batches.subarray(start, last.position + last.size), frames: kept.map((f) => ({ ...f, position: f.position - start })) };
  }
  const parts = kept.map((f) => batches.subarray(f.position, f.position + f.size));
  let position = 0;
  const moved = kept.map((f) => {
    const frame = { ...f, position };
    position += f.size;
    return frame;
  });
  return { batches: Buffer.concat(parts), frames: moved };
}

/** Closes every segment (each descriptor goes even when another's close fails), then throws the first failure. */
export async function closeAll(segments: readonly Segment[], options: { persistIndexes?: boolean }): Promise<void> {
  let failure: unknown = null;
  for (const segment of segments) {
    try {
      await segment.close(options);
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== null) throw failure;
}

export function sealedInfo(segment: Segment): SealedSegmentInfo {
  return { baseOffset: segment.baseOffset, nextOffset: segment.nextOffset, sizeBytes: segment.size, maxTimestamp: segment.maxTimestamp, logPath: segment.logPath };
}

/** The segments whose seal completed, oldest first, up to the first one still sealing (background-seals.ts). */
export function sealedPrefix(segments: readonly Segment[]): SealedSegmentInfo[] {
  const sealed: SealedSegmentInfo[] = [];
  for (const segment of segments) {
    if (!segment.sealCompleted) break;
    sealed.push(sealedInfo(segment));
  }
  return sealed;
}

export function logStats(segments: readonly Segment[], flushedOffset: number): LogStats {
  let sizeBytes = 0;
  let maxTimestamp = -1;
  for (const segment of segments) {
    sizeBytes += segment.size;
    maxTimestamp = Math.max(maxTimestamp, segment.maxTimestamp);
  }
  const logStartOffset = segments[0]!.baseOffset;
  const logEndOffset = segments.at(-1)!.nextOffset;
  return { logStartOffset, logEndOffset, segmentCount: segments.length, sizeBytes, flushedOffset, maxTimestamp };
}

/**
 * The time retention.ms ages a segment by: its newest record's timestamp (as Kafka), but never a
 * later time than its last append. A record timestamped far in the future (written before the
 * topic bounded message.timestamp.after.max.ms, or by a topic that allows it) would otherwise keep
 * its segment, and every later one, forever.
 */
export function retentionTimestamp(segment: Segment): number {
  return Math.min(segment.maxTimestamp, segment.appendedAtMs);
}

export function assertSafeOffset(offset: number): void {
  if (!Number.isSafeInteger(offset)) throw new Error(`offset ${offset} is not a safe integer`);
}

/**
 * A follower's batches, exactly as the leader wrote them: they must continue the log at `logEnd`,
 * be contiguous, and never go back in leader epoch. Returns what the segment indexes and where
 * each new epoch starts.
 */
export function replicaBatches(
  batches: Buffer,
  frames: readonly BatchFrame[],
  logEnd: number,
  latestEpoch: number,
): { appended: AppendedBatch[]; epochStarts: LogEpochEntry[]; size: number; next: number } {
  let size = 0;
  let next = logEnd;
  let lastEpoch = latestEpoch;
  const appended: AppendedBatch[] = [];
  const epochStarts: LogEpochEntry[] = [];
  for (const frame of frames) {
    if (frame.baseOffset !== next) {
      throw new StrataError('INVALID_RECORD', `replicated batch at ${frame.baseOffset} does not continue the log at ${next}`, {
        details: { baseOffset: frame.baseOffset, expected: next },
      });
    }
    const epoch = batches.readInt32BE(frame.position + 12);
    if (epoch < lastEpoch) throw new StrataError('INVALID_RECORD', `replicated batch at ${frame.baseOffset} has leader epoch ${epoch}, below ${lastEpoch} before it`);
    if (epoch > lastEpoch) epochStarts.push({ epoch, startOffset: next });
    lastEpoch = epoch;
    const lastOffset = next + frame.lastOffsetDelta;
    appended.push({ position: frame.position, size: frame.size, baseOffset: next, lastOffset, maxTimestamp: frame.maxTimestamp });
    next = lastOffset + 1;
    size += frame.size;
  }
  return { appended, epochStarts, size, next };
}

/**
 * How many of the oldest segments retention deletes now: each must end at or below `gate` (the
 * bucket holds it), be past retention.ms or leave the log at least retention.bytes without it; the
 * active segment always stays.
 */
export function retainedFrom(segments: readonly Segment[], config: LogConfig, gate: number, now: number): number {
  const { retentionMs, retentionBytes } = config;
  let total = 0;
  for (const segment of segments) total += segment.size;
  let n = 0;
  while (n < segments.length - 1) {
    const oldest = segments[n]!;
    if (oldest.nextOffset > gate) break;
    const expired = retentionMs >= 0 && retentionTimestamp(oldest) < now - retentionMs;
    const oversized = retentionBytes >= 0 && total - oldest.size >= retentionBytes;
    if (!expired && !oversized) break;
    total -= oldest.size;
    n++;
  }
  return n;
}

/** The index of the segment holding `offset` (the last whose base is at or below it). */
export function segmentIndexFor(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (segments[mid]!.baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function checkOffset(offset: number, logStartOffset: number, logEndOffset: number): void {
  if (!Number.isSafeInteger(offset) || offset < logStartOffset || offset > logEndOffset) {
    throw new StrataError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`, {
      details: { logStartOffset, logEndOffset },
    });
  }
}

/** Keeps at most `max` sealed segments' indexes in memory, besides the one just used. */
export function boundLoadedIndexes(segments: readonly Segment[], justUsed: Segment, max: number): void {
  let loaded = 0;
  for (let i = segments.length - 2; i >= 0; i--) {
    const segment = segments[i]!;
    if (segment === justUsed || !segment.indexesLoaded) continue;
    if (++loaded > max) segment.unloadIndexes();
  }
}
