import { fileNameFor } from '@strata/protocol';

export const LOG_SUFFIX = '.log';
export const OFFSET_INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
/** Files of a segment deleted while a reader held it; removed on release, or at the next open. */
export const DELETED_SUFFIX = '.deleted';
export const RECOVERY_POINT_FILE = '.recovery-point';
/** The log's leader-epoch cache: `<epoch> <startOffset>` per line (Kafka's leader-epoch-checkpoint). */
export const EPOCH_CHECKPOINT_FILE = '.leader-epoch-checkpoint';
/** Producer-state snapshots, `<offset, 20 digits>.snapshot` (Kafka's name): the state below that offset. */
export const SNAPSHOT_SUFFIX = '.snapshot';

/** `<baseOffset, 20 digits>`: lexical order is offset order (docs/architecture.md#local-log). */
export function segmentFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

export function parseSegmentFileName(name: string): number | null {
  const match = /^(\d{20})\.log$/.exec(name);
  if (!match) return null;
  const base = Number(match[1]);
  return Number.isSafeInteger(base) ? base : null;
}

export function snapshotFileName(offset: number): string {
  return segmentFileStem(offset) + SNAPSHOT_SUFFIX;
}

export function parseSnapshotFileName(name: string): number | null {
  const match = /^(\d{20})\.snapshot$/.exec(name);
  if (!match) return null;
  const offset = Number(match[1]);
  return Number.isSafeInteger(offset) ? offset : null;
}

/**
 * Kafka's partition directory name, `<topic>-<partition>`, bounded to one path component
 * (protocol's fileNameFor: a name that would not fit keeps its start and a hash of the topic).
 */
export function partitionDirName(topic: string, partition: number): string {
  return fileNameFor(topic, `-${partition}`);
}
