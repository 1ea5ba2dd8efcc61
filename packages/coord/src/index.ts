// @strata/coord: the Coordinator (docs/architecture.md#coordination, #cluster, #groups) and its two engines.
// Public surface: the interface and its types, the engines, the limits and validation a service
// may want to apply at its own edge, and the Redis key builder (for tooling and tests).

export type {
  BrokerRegistration,
  ClassicGroupMember,
  ClassicGroupState,
  ClassicMember,
  CallOptions,
  CommittedOffset,
  ControllerAcquireRequest,
  ControllerLease,
  Coordinator,
  CoordinatorEvent,
  CoordinatorListener,
  CoordinatorStatus,
  EpochEntry,
  GroupDescription,
  GroupExpiry,
  GroupExpiryRequest,
  GroupHeartbeatRequest,
  GroupHeartbeatResponse,
  GroupListing,
  GroupMember,
  GroupMemberDescription,
  GroupState,
  LeadershipRequest,
  LeadershipTransfer,
  LeadershipTransferResult,
  LeaseAcquisition,
  LeaseRefusal,
  LiveBroker,
  LogStartAdvance,
  OffsetCommit,
  PartitionAssignment,
  PartitionManifest,
  PartitionState,
  PartitionStateChange,
  PartitionStateUpdate,
  ProducerIdBlock,
  RemoteSegment,
  SegmentCommit,
  TopicConfigChange,
  TopicConfigMap,
  TopicConfigValue,
  TopicMetadata,
  TopicPartitions,
} from './coordinator.js';
export type { ApiTokenRecord, ScramCredential, ScramCredentialChange, ScramCredentialOutcome, ScramMechanism, UserRecord, UserStore } from './users.js';
export { SCRAM_MECHANISMS, TOKEN_ID_PATTERN, USER_LIMITS, USER_NAME_PATTERN } from './users.js';
export { PRODUCER_IDS_PER_MS } from './coordinator.js';
export { COORDINATOR_DEFAULTS, GROUP_LIMIT_DEFAULTS, OFFSETS_RETENTION_MS_DEFAULT, type GroupLimits } from './defaults.js';
export { FAILURES, coordError, type FailureKind } from './errors.js';
export { assignPartitions, type AssignorMember, type PartitionMap } from './groups.js';
export { Checks, LIMITS, checkGroupId, checkTopicName, collisionKey } from './validate.js';
export { metadataBytes } from './validate-groups.js';
export { MemoryCoordinator, type ImportedPartition, type ImportedState, type MemoryCoordinatorOptions } from './memory/memory-coordinator.js';
export { RedisCoordinator, type RedisCoordinatorOptions } from './redis/redis-coordinator.js';
export { CoordKeys, DEFAULT_KEY_PREFIX, hashTag } from './redis/keys.js';
export { LUA_DIR, SCRIPT_NAMES, loadScripts, type Script, type ScriptName } from './redis/scripts.js';

export {
  QUOTA_ENTITY_TYPES,
  QUOTA_KEYS,
  QUOTA_LIMITS,
  checkQuotaChanges,
  checkQuotaEntity,
  quotaEntityKey,
  quotaKeysFor,
  type QuotaChange,
  type QuotaEntity,
  type QuotaEntityType,
  type QuotaKey,
  type QuotaRecord,
  type QuotaValues,
} from './quotas.js';
export { manifestEndOffset } from './manifest.js';

export { ACLS_MAX, ACLS_PER_CALL_MAX } from './acls.js';
export type { AclChange, AclSnapshot } from './acls.js';
