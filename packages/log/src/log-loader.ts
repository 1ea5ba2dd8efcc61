// What PartitionLog.open() does with a partition's directory before the log serves anything: the
// clean-shutdown marker (trusted only if the active segment is as close() left it), the recovery
// point (segments wholly below it were fsynced when they sealed), the rescan of the rest (recovery.ts),
// and the truncation at the first bad frame, later segments included, so offsets stay contiguous.

import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempFileName } from '@strata/protocol';
import type { FileHandleCache } from './file-cache.js';
import { CLEAN_SHUTDOWN_FILE, DELETED_SUFFIX, LOG_SUFFIX, RECOVERY_POINT_FILE, parseSegmentFileName, segmentFileStem } from './file-names.js';
import { Segment } from './segment.js';
import type { RecoveryReport } from './types.js';

export interface LoadOptions {
  dir: string;
  files: FileHandleCache;
  nowMs: number;
  indexIntervalBytes: number;
  /** Where an empty log starts. */
  initialOffset: number;
}

/**
 * Opens (and where needed recovers) the segments under `o.dir` into `segments`, sorted by base
 * offset, the last one active (created if there is none or the last is sealed). Each is pushed as
 * soon as it is open, so that the caller closes every one if a later step fails. What it found and
 * did goes into `recovery`.
 */
export async function loadSegments(o: LoadOptions, recovery: RecoveryReport, segments: Segment[]): Promise<void> {
  // Not recursive first: a recursive mkdir reports a full disk (ENOSPC) as ENOENT.
  await mkdir(o.dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') return;
    if (e.code === 'ENOENT') return mkdir(o.dir, { recursive: true });
    throw e;
  });
  const names = await readdir(o.dir);
  const bases = names.map(parseSegmentFileName).filter((b): b is number => b !== null).sort((a, b) => a - b);
  for (const name of names) {
    // `.tmp`: a leftover of a release before @strata/files' bounded temp names.
    if (isTempFileName(name) || name.endsWith('.tmp') || name.endsWith(DELETED_SUFFIX)) await unlink(join(o.dir, name)).catch(() => undefined);
  }
  const cleanMarker = join(o.dir, CLEAN_SHUTDOWN_FILE);
  const clean = names.includes(CLEAN_SHUTDOWN_FILE) && (await markerMatches(o, cleanMarker, bases));
  // Remove the marker before anything else: a crash from here on must look unclean next time.
  await unlink(cleanMarker).catch(() => undefined);
  const recoveryPoint = clean ? Infinity : await readRecoveryPoint(o.files, o.dir);
  recovery.cleanShutdown = clean || bases.length === 0;

  const now = o.nowMs;
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const isLast = i === bases.length - 1;
    const nextBase = isLast ? null : bases[i + 1]!;
    // Segments wholly below the recovery point were fsynced when they sealed; the rest are rescanned.
    const recover = !clean && (nextBase === null || nextBase > recoveryPoint);
    const { segment, scan, truncatedBytes } = await Segment.openExisting(o.dir, base, {
      recover,
      knownNextOffset: recover ? null : nextBase,
      nowMs: now,
      indexIntervalBytes: o.indexIntervalBytes,
      files: o.files,
    });
    segments.push(segment);
    if (scan) {
      recovery.segmentsScanned++;
      const expectedEnd = nextBase ?? scan.nextOffset;
      if (scan.stopReason !== null || scan.nextOffset !== expectedEnd) {
        // Offsets must stay contiguous: everything after a bad frame goes, later segments too.
        recovery.stopReason = scan.stopReason ?? `segment ${base} ends at ${scan.nextOffset}, next begins at ${expectedEnd}`;
        recovery.bytesTruncated += truncatedBytes;
        for (const laterBase of bases.slice(i + 1)) {
          const { segment: later } = await Segment.openExisting(o.dir, laterBase, {
            recover: false,
            knownNextOffset: laterBase,
            nowMs: now,
            indexIntervalBytes: o.indexIntervalBytes,
            files: o.files,
          });
          recovery.bytesTruncated += later.size;
          recovery.segmentsDeleted++;
          await later.delete();
        }
        break;
      }
      if (!isLast) await unlessDiskFull(recovery, () => segment.seal());
    }
  }
  if (segments.length === 0) {
    segments.push(await Segment.create(o.dir, o.initialOffset, now, o.files));
  } else if (segments.at(-1)!.sealed) {
    segments.push(await Segment.create(o.dir, segments.at(-1)!.nextOffset, now, o.files));
  }
}

/**
 * At open only: a write whose loss costs a rescan at the next open (never a record) is skipped
 * when the disk is full, so that a broker with no space left starts (read-only) instead of failing.
 */
export async function unlessDiskFull(recovery: RecoveryReport, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'STORAGE_FULL') throw e;
    recovery.writesSkippedDiskFull++;
  }
}

/** The marker is trusted only if the active segment is exactly as close() left it. */
async function markerMatches(o: LoadOptions, marker: string, bases: number[]): Promise<boolean> {
  const [baseText, sizeText] = (await o.files.readFile(marker, 'utf8').catch(() => '')).trim().split(' ');
  const last = bases[bases.length - 1];
  if (last === undefined) return true;
  if (Number(baseText) !== last) return false;
  const size = await stat(join(o.dir, `${segmentFileStem(last)}${LOG_SUFFIX}`)).then((s) => s.size, () => -1);
  return size === Number(sizeText);
}

export async function readRecoveryPoint(files: FileHandleCache, dir: string): Promise<number> {
  const text = await files.readFile(join(dir, RECOVERY_POINT_FILE), 'utf8').catch(() => '0');
  const value = Number(text.trim());
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/** Everything below `offset` is fsynced and sealed. Written atomically. */
export async function writeRecoveryPoint(files: FileHandleCache, dir: string, offset: number): Promise<void> {
  await files.writeAtomically(join(dir, RECOVERY_POINT_FILE), Buffer.from(String(offset)));
}

/**
 * Removes every record at or after `offset` from `segments` (the first segment always stays);
 * `setSegments` takes the kept list as soon as it is decided.
 */
export async function truncateSegments(
  segments: readonly Segment[],
  offset: number,
  o: { files: FileHandleCache; dir: string; indexIntervalBytes: number },
  setSegments: (keep: Segment[]) => void,
): Promise<void> {
  const keep = segments.filter((s, i) => i === 0 || s.baseOffset < offset);
  const dropped = segments.slice(keep.length);
  // Crash-safe order: lower the recovery point so everything from the kept tail on is rescanned;
  // cut the kept tail (fsynced); then drop later segments oldest first, so that a crash part-way
  // leaves a gap that recovery removes, never a contiguous suffix bringing records back.
  await writeRecoveryPoint(o.files, o.dir, Math.min(await readRecoveryPoint(o.files, o.dir), keep[keep.length - 1]!.baseOffset));
  setSegments(keep);
  await keep[keep.length - 1]!.truncateTo(offset, o.indexIntervalBytes);
  for (const segment of dropped) await segment.delete();
}
