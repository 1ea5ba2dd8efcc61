export type { AppendOptions, AppendResult, LogConfig, LogStats, ReadOptions, ReadResult, TimestampLookup } from './types.js';
export { DEFAULT_LOG_CONFIG, SEGMENT_BYTES_MAX } from './config.js';
export { DEFAULT_APPEND_GROUP_BYTES_MAX } from './append-groups.js';
export { PartitionLog, validateLogConfig, type EpochEnd, type LogEpochEntry, type PartitionLogOptions, type RecoveryReport, type SealedSegmentInfo } from './partition-log.js';
export { partitionDirName } from './file-names.js';
export { ReadBufferPool, sharedReadBufferPool } from './buffer-pool.js';
export { CachedFile, DEFAULT_MAX_OPEN_SEGMENT_FILES, FileHandleCache, sharedFileHandleCache, type FileHandleCacheStats } from './file-cache.js';
export {
  DEFAULT_PRODUCER_STATE_LIMITS,
  PRODUCER_BATCHES_RETAINED,
  ProducerStates,
  type DuplicateOf,
  type ProducerBatch,
  type ProducerEntry,
  type ProducerStateLimits,
} from './producer-state.js';
export { decodeProducerSnapshot, encodeProducerSnapshot, type ProducerSnapshot } from './producer-snapshot.js';
