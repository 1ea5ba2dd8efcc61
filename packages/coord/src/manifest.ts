import type { PartitionManifest } from './coordinator.js';

/** The offset after the last remote record: where the next upload must begin. */
export function manifestEndOffset(manifest: PartitionManifest): number {
  const last = manifest.segments[manifest.segments.length - 1];
  return last ? last.lastOffset + 1 : manifest.logStartOffset;
}
