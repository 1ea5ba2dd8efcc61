// The remote manifest of one partition: which segment objects hold which
// offsets. Its commit is the moment an upload becomes visible (docs/architecture.md#upload).
// ManifestStore is the seam the Redis coordinator implements in the clustered
// build; LocalManifestStore keeps one JSON file per partition under the data dir.

import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, fileNameFor } from '@strata/protocol';
import { manifestEndOffset, type PartitionManifest, type RemoteSegment } from '@strata/coord';
import { writeFileAtomic } from '../fs-util.js';
import { META_DIR } from '../topics/metadata-store.js';

// The shapes are the coordinator's: the Redis coordinator will hold this manifest in the clustered build.
export type { PartitionManifest, RemoteSegment } from '@strata/coord';
export { manifestEndOffset } from '@strata/coord';

export function emptyManifest(): PartitionManifest {
  return { epoch: 0, logStartOffset: 0, segments: [] };
}


/**
 * Appends an uploaded segment, or explains why not. Fenced by epoch; contiguous by
 * offset (invariant 4 of docs/architecture.md#invariants: no gap, no overlap).
 */
export function commitSegment(manifest: PartitionManifest, segment: RemoteSegment): PartitionManifest {
  if (segment.epoch < manifest.epoch) {
    throw new StrataError('FENCED_LEADER_EPOCH', `upload of epoch ${segment.epoch} is fenced: the manifest is at epoch ${manifest.epoch}`, {
      details: { epoch: segment.epoch, manifestEpoch: manifest.epoch },
    });
  }
  const end = manifestEndOffset(manifest);
  if (segment.baseOffset !== end && !(manifest.segments.length === 0 && segment.baseOffset > end)) {
    throw new StrataError('INVALID_REQUEST', `segment ${segment.baseOffset}-${segment.lastOffset} does not continue the manifest at ${end}`, {
      details: { baseOffset: segment.baseOffset, manifestEnd: end },
    });
  }
  const logStartOffset = manifest.segments.length === 0 ? segment.baseOffset : manifest.logStartOffset;
  return { epoch: segment.epoch, logStartOffset, segments: [...manifest.segments, segment] };
}

/** Drops the segments wholly below `offset` and moves the log start there; returns both parts. */
export function advanceStart(manifest: PartitionManifest, offset: number): { manifest: PartitionManifest; removed: RemoteSegment[] } {
  const removed = manifest.segments.filter((s) => s.lastOffset < offset);
  const kept = manifest.segments.filter((s) => s.lastOffset >= offset);
  return { manifest: { ...manifest, logStartOffset: Math.max(manifest.logStartOffset, offset), segments: kept }, removed };
}

export function parseManifest(text: string, where: string): PartitionManifest {
  const value = JSON.parse(text) as PartitionManifest;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    Number.isSafeInteger(value.epoch) &&
    Number.isSafeInteger(value.logStartOffset) &&
    Array.isArray(value.segments) &&
    value.segments.every((s, i, all) => typeof s.key === 'string' && Number.isSafeInteger(s.baseOffset) && s.lastOffset >= s.baseOffset && (i === 0 || all[i - 1]!.lastOffset + 1 === s.baseOffset));
  if (!ok) throw new StrataError('CORRUPT_MESSAGE', `manifest ${where} is malformed or not contiguous`);
  return value;
}

/**
 * Where manifests live: a local file per partition on a single node, the coordinator in a
 * cluster. Every change is an operation (not a blind overwrite) so the clustered store can fence
 * it by leader epoch and apply it atomically.
 */
export interface ManifestStore {
  /** null: nothing was ever committed here. */
  load(topic: string, partition: number): Promise<PartitionManifest | null>;
  /** Appends `segment` to `current` (fenced by segment.epoch, contiguous); returns the manifest after. */
  commit(topic: string, partition: number, current: PartitionManifest, segment: RemoteSegment): Promise<PartitionManifest>;
  /** Moves the log start forward (fenced by epoch); returns the manifest after and the segments it dropped. */
  advanceStart(topic: string, partition: number, current: PartitionManifest, epoch: number, offset: number): Promise<{ manifest: PartitionManifest; removed: RemoteSegment[] }>;
  remove(topic: string, partition: number): Promise<void>;
}

/** `<dataDir>/__strata/manifests/<topic>-<partition>.json` (bounded: fileNameFor), each rewritten atomically. */
export class LocalManifestStore implements ManifestStore {
  readonly #dir: string;

  constructor(dataDir: string) {
    this.#dir = join(dataDir, META_DIR, 'manifests');
  }

  async load(topic: string, partition: number): Promise<PartitionManifest | null> {
    const path = this.#path(topic, partition);
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    return text === null ? null : parseManifest(text, path);
  }

  async commit(topic: string, partition: number, current: PartitionManifest, segment: RemoteSegment): Promise<PartitionManifest> {
    const manifest = commitSegment(current, segment);
    await this.save(topic, partition, manifest);
    return manifest;
  }

  async advanceStart(topic: string, partition: number, current: PartitionManifest, _epoch: number, offset: number): Promise<{ manifest: PartitionManifest; removed: RemoteSegment[] }> {
    const next = advanceStart(current, offset);
    await this.save(topic, partition, next.manifest);
    return next;
  }

  /** Adopts a manifest restored from the bucket's snapshot. */
  async save(topic: string, partition: number, manifest: PartitionManifest): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await writeFileAtomic(this.#path(topic, partition), JSON.stringify(manifest));
  }

  async remove(topic: string, partition: number): Promise<void> {
    await rm(this.#path(topic, partition), { force: true });
  }

  #path(topic: string, partition: number): string {
    return join(this.#dir, fileNameFor(`${topic}-${partition}`, '.json'));
  }
}
