// The remote manifest of one partition: which segment objects hold which offsets. Its commit is
// the moment an upload becomes visible (docs/architecture.md#upload). The coordinator owns it:
// each engine commits it (fenced by leader epoch, contiguous) in one atomic step, and the broker
// reaches it through ManifestStore (cluster/coordinator-stores.ts). What stays here: the seam, and
// the parse of a manifest read from outside the coordinator (the bucket's snapshots, an older
// release's files).

import { StrataError } from '@strata/protocol';
import type { PartitionManifest, RemoteSegment } from '@strata/coord';

export type { PartitionManifest, RemoteSegment } from '@strata/coord';
export { manifestEndOffset } from '@strata/coord';

export function emptyManifest(): PartitionManifest {
  return { epoch: 0, logStartOffset: 0, segments: [] };
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
  return { epoch: value.epoch, logStartOffset: value.logStartOffset, segments: value.segments };
}

/** Where manifests live: the coordinator. Every change is an operation fenced by leader epoch, applied atomically. */
export interface ManifestStore {
  /** null: nothing was ever committed here. */
  load(topic: string, partition: number): Promise<PartitionManifest | null>;
  /** Appends `segment` (fenced by segment.epoch, contiguous); returns the manifest after. */
  commit(topic: string, partition: number, segment: RemoteSegment): Promise<PartitionManifest>;
  /** Moves the log start forward (fenced by epoch); returns the manifest after and the segments it dropped. */
  advanceStart(topic: string, partition: number, epoch: number, offset: number): Promise<{ manifest: PartitionManifest; removed: RemoteSegment[] }>;
}
