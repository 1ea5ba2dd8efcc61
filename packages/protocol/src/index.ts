// @strata/protocol: RecordBatch v2 codec, CRC-32C, varints and Kafka's
// partitioner, the bounded file names derived from user names, the name rule of
// topics and groups, and the backoff formula. Bytes in, bytes out: no I/O.

export { ERROR_CATALOGUE, StrataError, isStrataError } from './errors.js';
export type { ErrorCode, ErrorInfo } from './errors.js';

export { readInt64, writeInt64 } from './int64.js';

export {
  ByteCursor,
  VARINT_MAX_BYTES,
  VARLONG_MAX_BYTES,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from './varint.js';

export { crc32c, crc32cCombine, crc32cJs, crc32cNative, crc32cEngine } from './crc32c.js';
export type { Crc32cFunction } from './crc32c.js';

export { murmur2, partitionForKey, toPositive } from './murmur2.js';
export { SEQUENCE_MAX, incrementSequence } from './sequence.js';

export {
  Compression,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DecompressionSlots,
  compressRecords,
  compressionCode,
  compressionName,
  compressionUnavailable,
  decompressRecords,
  decompressRecordsAsync,
} from './compression.js';
export { ZSTD_ENGINE } from './codecs/zstd.js';
export type { ZstdEngine } from './codecs/zstd.js';
export { Semaphore } from './semaphore.js';
export type { CompressionCode, CompressionName } from './compression.js';

export {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchAttribute,
  BatchField,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
  readBatchHeader,
  scanValidPrefix,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatches,
  validateBatchesAsync,
  validateBatchesEager,
  visitRecords,
  visitRecordsAsync,
} from './batch.js';
export type { BatchFrame, BatchHeader, RecordVisitor, ValidateOptions, VisitOptions } from './batch.js';

export type { DecodedRecord, RecordHeader, RecordInput } from './record-section.js';

export { decodeRecordBatch, decodeRecordBatches, encodeRecordBatch } from './records.js';
export type { DecodeLimits, EncodeBatchOptions } from './records.js';

export {
  FILE_NAME_HASH_HEX,
  MAX_FILE_NAME_BYTES,
  MAX_TEMP_SUFFIX_BYTES,
  PERMANENT_FS_ERRNO,
  fileNameFor,
  isPermanentFsError,
  isTempFileName,
  tempFileNameFor,
} from './file-names.js';

export { GROUP_ID_LENGTH_MAX, TOPIC_NAME_LENGTH_MAX, collisionKey, describeValue, groupIdProblem, isValidTopicName, topicNameProblem } from './names.js';

export { EQUAL_JITTER, FULL_JITTER, KAFKA_JITTER, backoffMs } from './backoff.js';
export type { BackoffPolicy, JitterRange } from './backoff.js';

export {
  ACL_FIELD_LENGTH_MAX,
  ACL_OPERATIONS,
  ACL_PATTERN_TYPES,
  ACL_PERMISSIONS,
  ACL_RESOURCE_TYPES,
  ACL_WILDCARD,
  ACL_WILDCARD_PRINCIPAL,
  ANONYMOUS_PRINCIPAL,
  CLUSTER_RESOURCE_NAME,
  aclBindingFromKey,
  aclBindingKey,
  aclBindingProblems,
  aclFilterMatches,
  aclHostProblem,
  aclPrincipalProblem,
  checkAclBinding,
} from './acls.js';
export type { AclBinding, AclFilter, AclOperation, AclPatternType, AclPermission, AclResourceType } from './acls.js';
