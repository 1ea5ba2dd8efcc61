// @strata/storage: the object-store layer of tiered storage (docs/architecture.md#object-storage).
// Layers, Redpanda's way: object-store client (ObjectStore and its engines) →
// remote I/O with retries and deadlines (retry.ts) → the tiering logic (next).
// The segment object format and the key builder are shared by all of them.

export { StorageError, abortedError, raceAbort } from './errors.js';
export type { StorageErrorOptions } from './errors.js';

export {
  DEFAULT_PART_SIZE_BYTES,
  MAX_DELETE_BATCH,
  MAX_LIST_KEYS,
  MAX_PART_SIZE_BYTES,
  MIN_PART_SIZE_BYTES,
  compareKeys,
  getTail,
  isLendingObjectStore,
} from './object-store.js';
export type {
  ByteRange,
  DeleteManyResult,
  GetOptions,
  LendingObjectStore,
  LentBytes,
  ListOptions,
  ListPage,
  ListedObject,
  ObjectInfo,
  ObjectStore,
  OperationOptions,
  PutBody,
  PutResult,
  PutStreamOptions,
} from './object-store.js';

export { FILE_BODY_CHUNK_BYTES, fileBody, type FileRange } from './file-body.js';
export { SEGMENT_SCAN_CHUNK_BYTES, scanSegmentFileTail, type SegmentFileRange } from './segment-file-scan.js';
export { SegmentScanner } from './segment-scanner.js';

export { LOCAL_TMP_DIR, LocalDirObjectStore } from './local-dir-store.js';
export type { LocalDirObjectStoreOptions } from './local-dir-store.js';
export { LEFTOVER_GRACE_MS, type LeftoverSweep, type LeftoverSweepOptions } from './local-leftovers.js';
export { S3ObjectStore } from './s3-store.js';
export type { S3ObjectStoreOptions, S3RequestInfo } from './s3-store.js';

export {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  classifyStorageFailure,
  resolveRetryPolicy,
  systemClock,
  withRetries,
} from './retry.js';
export type { AttemptContext, RetryClock, RetryDecision, RetryInfo, RetryOptions, RetryPolicy } from './retry.js';

export {
  MAX_KEY_BYTES,
  MAX_RELATIVE_KEY_BYTES,
  MAX_STORE_PREFIX_BYTES,
  OFFSET_DIGITS,
  SEGMENT_OBJECT_SUFFIX,
  manifestSnapshotKey,
  manifestsPrefix,
  producerSnapshotKey,
  ALL_MANIFESTS_PREFIX,
  topicOfManifestKey,
  normalizeStorePrefix,
  objectKeyProblem,
  parseSegmentObjectKey,
  partitionSegmentsPrefix,
  segmentObjectKey,
  stripStorePrefix,
  topicConfigKey,
  topicPrefix,
  validateObjectKey,
  validateTopicName,
  withStorePrefix,
} from './keys.js';
export type { SegmentObjectId } from './keys.js';

export {
  DEFAULT_INDEX_INTERVAL_BYTES,
  DEFAULT_TAIL_WINDOW_BYTES,
  MAX_SEGMENT_DATA_BYTES,
  OFFSET_INDEX_ENTRY_BYTES,
  SEGMENT_FOOTER_BYTES,
  SEGMENT_OBJECT_MAGIC,
  SEGMENT_OBJECT_VERSION,
  SegmentObjectReader,
  SegmentObjectStream,
  SegmentObjectWriter,
  TIME_INDEX_ENTRY_BYTES,
  buildSegmentObject,
  parseSegmentObject,
  segmentObjectParts,
} from './segment-object.js';
export type {
  SegmentFooter,
  SegmentObjectInfo,
  SegmentObjectOpenOptions,
  SegmentReadResult,
  SegmentTimestampLookup,
} from './segment-object.js';
