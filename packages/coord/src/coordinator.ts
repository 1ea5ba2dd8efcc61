// The Coordinator: the small, hot, shared state of a Strata cluster (docs/architecture.md#coordination, #cluster, #groups).
// One interface, two engines (Redis, in-process), one conformance suite
// (test/conformance.ts) that every engine passes.
//
// Conventions, for every method:
// - `options.signal` aborts the call: it rejects with REQUEST_TIMED_OUT. An aborted (or
//   timed-out) write may or may not have been applied, as with any remote call: every write
//   here is either idempotent or fenced, so the caller can read back or retry.
// - Expected outcomes are return values: a lease that is held by someone else, a renewal of a
//   lease that is gone, a topic or partition that does not exist.
// - Failures are StrataErrors from @strata/protocol's catalogue: FENCED_LEADER_EPOCH (a stale
//   leader or controller epoch), INVALID_TOPIC / INVALID_CONFIG / INVALID_REQUEST (bad input,
//   rejected before anything reaches the backend), TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC,
//   STORAGE_ERROR (retriable: the backend is unreachable or failed), REQUEST_TIMED_OUT.
//   `details.reason` names the precise cause where the catalogue has no code of its own yet
//   (README.md lists the codes this package wants added).
// - Offsets are safe integers; epochs are int32 (they are stamped into RecordBatch headers).

import type { UserStore } from './users.js';

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (REQUEST_TIMED_OUT); the write may or may not have been applied. */
  signal?: AbortSignal;
}

import type { QuotaChange, QuotaRecord } from './quotas.js';

// ---- brokers -----------------------------------------------------------------------------------

export interface BrokerRegistration {
  /** [A-Za-z0-9._-]{1,64}; unique among live broker processes (see README: leases). */
  id: string;
  /** Client-facing base URL (http/https). */
  url: string;
  /** Broker-to-broker base URL (http/https). */
  internalUrl: string;
  /** host:port Kafka clients reach this broker at; absent or null when its Kafka listener is off. */
  kafkaAddress?: string | null;
  /** Failure domain for replica placement, or null. */
  rack: string | null;
  /** When this broker process started (ms since the epoch): tells incarnations apart. */
  startedAtMs: number;
}

export interface LiveBroker extends BrokerRegistration {
  /** How long the registration lives without another heartbeat. */
  expiresInMs: number;
}

// ---- topics ------------------------------------------------------------------------------------

/** A topic config value as Kafka configs travel: a number or a string. */
export type TopicConfigValue = string | number;
/** Only the configs set on the topic (the broker owns defaults and the meaning of each key). */
export type TopicConfigMap = Readonly<Record<string, TopicConfigValue>>;

/** The same shape as the broker's TopicMetadata (services/broker/src/topics/metadata-store.ts). */
export interface TopicMetadata {
  name: string;
  /** Distinguishes a topic from an earlier one of the same name. */
  topicId: string;
  partitions: number;
  replicationFactor: number;
  configs: TopicConfigMap;
  createdAtMs: number;
}

export interface TopicConfigChange {
  /** Keys to set (or replace). */
  set?: TopicConfigMap;
  /** Keys to remove (back to the broker default). A key may not be both set and removed. */
  remove?: readonly string[];
}

// ---- leases --------------------------------------------------------------------------------------

/** Why an acquisition did not happen. */
export type LeaseRefusal =
  /** Another broker holds a live lease: retry after `retryAfterMs` (its remaining TTL). */
  | 'held'
  /**
   * The backend restarted or failed over recently and may have forgotten grants: no lease is
   * granted until every lease granted before could have expired (README: fencing). Retry after
   * `retryAfterMs`.
   */
  | 'quarantine'
  /** Partition leases only: the caller is not the assigned leader (replicas[0]) of this topicId. */
  | 'not-assigned'
  /**
   * Partition leases with `clean` only: the caller is outside the (non-empty) ISR, or its log ends
   * below the high watermark (it lost records the ISR had): electing it would lose acknowledged records.
   */
  | 'not-in-isr';

export type LeaseAcquisition =
  | { acquired: true; epoch: number }
  | { acquired: false; reason: LeaseRefusal; holder: string | null; epoch: number; retryAfterMs: number };

export interface ControllerAcquireRequest {
  brokerId: string;
  ttlMs: number;
  /** The highest controller epoch the caller has seen anywhere (default 0): the new epoch exceeds it. */
  knownEpoch?: number;
}

export interface ControllerLease {
  /** The broker holding a live controller lease, or null. */
  holder: string | null;
  /** The latest controller epoch (it stays when the lease lapses). */
  epoch: number;
  /** Remaining TTL of the live lease (0 when there is none). */
  remainingMs: number;
}

// ---- partitions ----------------------------------------------------------------------------------

/** One entry of a partition's leader-epoch history: the epoch's leader wrote from startOffset on. */
export interface EpochEntry {
  epoch: number;
  startOffset: number;
  /** Who led in this epoch: tells two reigns apart if a backend ever forgot one (README). */
  leader: string;
}

export interface PartitionAssignment {
  /** The topic incarnation: a leftover state of an earlier topic of the same name is reset. */
  topicId: string;
  /** Replica broker ids, distinct; replicas[0] is the assigned leader. */
  replicas: readonly string[];
  /** The writing controller's epoch: a write with an older one than the partition has seen is fenced. */
  controllerEpoch: number;
}

export interface LeadershipRequest {
  topicId: string;
  brokerId: string;
  ttlMs: number;
  /** The caller's log end offset: where the new epoch starts in the epoch history. */
  startOffset: number;
  /**
   * The highest leader epoch the caller knows for this partition, from its own log's epoch
   * history and the bucket's manifest snapshot (0 if none). The new epoch is
   * max(stored, knownEpoch) + 1, so an epoch never repeats even if the backend lost writes.
   */
  knownEpoch: number;
  /**
   * Clean election (Kafka's default, unclean.leader.election.enable=false): grant only to a member
   * of the ISR (when it is non-empty) whose startOffset reaches the stored high watermark. Default
   * false (any assigned leader; its ISR becomes itself). A partition's first grant with `clean`
   * makes every assigned replica a member of the ISR (all are empty: Kafka's initial ISR).
   */
  clean?: boolean;
}

export interface LeadershipTransfer {
  brokerId: string;
  leaderEpoch: number;
  ttlMs: number;
  /** The caller's log end offset: where the successor's epoch starts. */
  startOffset: number;
  /**
   * Only to this broker: refused (reason 'successor-moved') if the assigned leader is another one
   * by now. A leader that handed over without uploading its tail (its successor, an in-sync
   * follower, already has every record) must not hand over to a broker that has not.
   */
  successor?: string;
}

export type LeadershipTransferResult =
  | { transferred: true; epoch: number; successor: string }
  /** fenced: the lease is not the caller's at this epoch; no-successor: replicas[0] is the caller; successor-moved: it is not `successor`. */
  | { transferred: false; reason: 'fenced' | 'no-successor' | 'successor-moved' };

export interface PartitionState {
  topic: string;
  partition: number;
  topicId: string;
  /** Assigned replicas; replicas[0] is the assigned leader. Empty before an assignment. */
  replicas: string[];
  /** Epoch of the controller that last assigned the replicas (0: never). */
  controllerEpoch: number;
  /** The live lease holder, or null (no leader now). */
  leader: string | null;
  /** Remaining TTL of the live lease (0 when there is none). */
  leaseRemainingMs: number;
  /** The latest leader epoch (0: never led). */
  leaderEpoch: number;
  isr: string[];
  highWatermark: number;
  logStartOffset: number;
  /** Oldest first, epochs strictly increasing, start offsets non-decreasing. */
  epochHistory: EpochEntry[];
}

export interface PartitionStateChange {
  /** Non-empty, distinct, a subset of the replicas, containing the leader. */
  isr?: readonly string[];
  /** >= logStartOffset. */
  highWatermark?: number;
  /** Moves forward only (a lower value is ignored); drops the remote segments wholly below it. */
  logStartOffset?: number;
}

export interface PartitionStateUpdate {
  isr: string[];
  highWatermark: number;
  logStartOffset: number;
  /** Remote segments that the new log start removed from the manifest (their objects are garbage). */
  removed: RemoteSegment[];
}

// ---- remote manifest (the broker's tiering/manifest.ts types, now owned here) ----------------

export interface RemoteSegment {
  /** Store-relative object key (storage's segmentObjectKey). */
  key: string;
  baseOffset: number;
  lastOffset: number;
  /** Size of the whole object (lets a reader skip the HEAD). */
  objectBytes: number;
  /** Bytes of record batches in it (what retention.bytes counts). */
  dataBytes: number;
  maxTimestamp: number;
  /** Leader epoch of the uploader: the commit is fenced by it. */
  epoch: number;
  uploadedAtMs: number;
}

export interface PartitionManifest {
  /** Highest epoch that has committed. */
  epoch: number;
  /** First retained offset of the partition; advanced by retention. */
  logStartOffset: number;
  /** Sorted by baseOffset, contiguous. */
  segments: RemoteSegment[];
}

export interface SegmentCommit {
  logStartOffset: number;
  /** The offset after the last remote record: where the next upload must begin. */
  endOffset: number;
}

export interface LogStartAdvance {
  logStartOffset: number;
  removed: RemoteSegment[];
}

// ---- idempotent producers -----------------------------------------------------------------------

/** A block of producer ids: [firstId, firstId + size), handed out once across the cluster and its restarts. */
export interface ProducerIdBlock {
  firstId: number;
  size: number;
}

/**
 * Ids grow at least as fast as the backend's clock: the next block starts at or above
 * `backend ms x PRODUCER_IDS_PER_MS`, so a backend that lost its last writes (Redis restarted with
 * `appendfsync everysec`, a failover to a lagging replica) still never hands out an id again as long
 * as it was away longer than it takes to allocate that many ids. Ids stay below 2^53 until the year 2255.
 */
export const PRODUCER_IDS_PER_MS = 1000;

// ---- groups (types in group-types.ts) ------------------------------------------------------------

import type { AclBinding } from '@strata/protocol';
import type { AclChange, AclSnapshot } from './acls.js';
import type {
  GroupMember,
  GroupHeartbeatRequest,
  GroupHeartbeatResponse,
  GroupDescription,
  GroupListing,
  OffsetCommit,
  CommittedOffset,
  GroupExpiryRequest,
  GroupExpiry,
  ClassicGroupMember,
  ClassicGroupState,
} from './group-types.js';

export type {
  GroupMember,
  TopicPartitions,
  GroupHeartbeatRequest,
  GroupHeartbeatResponse,
  GroupState,
  GroupMemberDescription,
  GroupDescription,
  GroupListing,
  OffsetCommit,
  CommittedOffset,
  GroupExpiryRequest,
  GroupExpiry,
  ClassicGroupMember,
  ClassicGroupState,
  ClassicMember,
} from './group-types.js';


// ---- backend identity and events -------------------------------------------------------------------

export interface CoordinatorStatus {
  engine: 'redis' | 'memory';
  /** The backend server's identity (Redis INFO run_id); it changes on every restart or failover. */
  serverRunId: string;
  /** A random id stored in the backend; it changes only when the backend lost all its state. */
  bootId: string;
  /** Backend time at which the current server run was first seen (a restart, a failover or a first start). */
  serverFirstSeenAtMs: number;
  /** How long lease acquisitions stay refused after that (0: none). */
  quarantineRemainingMs: number;
  /** Restarts this client has seen since it was created. */
  restartsSeen: number;
}

export type CoordinatorEvent =
  | { type: 'connected'; serverRunId: string }
  | { type: 'disconnected'; error?: Error }
  /**
   * The backend restarted or failed over (or lost everything: `stateLost`). Leases granted
   * before may be forgotten: see README (fencing) for what a broker does now.
   */
  | { type: 'restart-detected'; previousRunId: string; serverRunId: string; stateLost: boolean; quarantineRemainingMs: number }
  | { type: 'scripts-loaded'; count: number; reason: 'connect' | 'noscript' };

export type CoordinatorListener = (event: CoordinatorEvent) => void;

// ---- the interface ---------------------------------------------------------------------------------

export interface Coordinator extends UserStore {
  /** "redis(127.0.0.1:6379, prefix strata:)" or "memory(/data/__strata/coord)": for logs. */
  readonly description: string;

  // brokers (the live set: a registration lives ttlMs past its last heartbeat)
  registerBroker(broker: BrokerRegistration, ttlMs: number, options?: CallOptions): Promise<void>;
  /** false: the registration expired or never existed: register again. */
  heartbeatBroker(brokerId: string, ttlMs: number, options?: CallOptions): Promise<boolean>;
  /** false: it was not registered. */
  deregisterBroker(brokerId: string, options?: CallOptions): Promise<boolean>;
  /** Live brokers, sorted by id. */
  listBrokers(options?: CallOptions): Promise<LiveBroker[]>;

  // topics
  /** Atomic: TOPIC_ALREADY_EXISTS, or INVALID_TOPIC when the name collides with another after "." -> "_". */
  createTopic(topic: TopicMetadata, options?: CallOptions): Promise<void>;
  getTopic(name: string, options?: CallOptions): Promise<TopicMetadata | null>;
  /** Sorted by name. */
  listTopics(options?: CallOptions): Promise<TopicMetadata[]>;
  /** Atomic patch of the overrides; UNKNOWN_TOPIC if absent. Returns the topic as it now is. */
  updateTopicConfigs(name: string, change: TopicConfigChange, options?: CallOptions): Promise<TopicMetadata>;
  /**
   * Grows the topic (incarnation `topicId`) to `partitions`, atomically; the same count again is a
   * no-op. UNKNOWN_TOPIC if absent or another incarnation; INVALID_PARTITIONS (reason
   * PARTITIONS_SHRINK) below the current count: a topic never shrinks. Returns the topic as it now is.
   */
  growTopicPartitions(name: string, topicId: string, partitions: number, options?: CallOptions): Promise<TopicMetadata>;
  /** Removes the topic and its partitions' state and manifests; false if it did not exist. */
  deleteTopic(name: string, options?: CallOptions): Promise<boolean>;

  // the controller lease
  /** Granted when free, expired or held by the caller; every grant bumps the controller epoch. */
  acquireController(request: ControllerAcquireRequest, options?: CallOptions): Promise<LeaseAcquisition>;
  /** false: the lease is no longer the caller's at this epoch: stop acting as controller. */
  renewController(brokerId: string, epoch: number, ttlMs: number, options?: CallOptions): Promise<boolean>;
  releaseController(brokerId: string, epoch: number, options?: CallOptions): Promise<boolean>;
  getController(options?: CallOptions): Promise<ControllerLease>;

  // partition state
  /** Written by the controller only; FENCED_LEADER_EPOCH (reason STALE_CONTROLLER_EPOCH) when an older controller's. */
  setReplicas(topic: string, partition: number, assignment: PartitionAssignment, options?: CallOptions): Promise<void>;
  /**
   * The assigned leader (replicas[0]) takes the lease when it is free, expired or already its own;
   * the leader epoch becomes max(stored, knownEpoch) + 1 and {epoch, startOffset, leader} joins the history.
   */
  acquireLeadership(topic: string, partition: number, request: LeadershipRequest, options?: CallOptions): Promise<LeaseAcquisition>;
  /** false: the lease is no longer the caller's at this epoch: stop writing now. */
  renewLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number, options?: CallOptions): Promise<boolean>;
  releaseLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, options?: CallOptions): Promise<boolean>;
  /**
   * Graceful hand-over: the caller, holding the lease at `leaderEpoch`, gives it straight to the
   * assigned leader (replicas[0]) for `request.ttlMs`, bumping the epoch, with {epoch, startOffset,
   * successor} in the history. The partition is never without a holder; the successor then takes
   * the lease as its own with acquireLeadership.
   */
  transferLeadership(topic: string, partition: number, request: LeadershipTransfer, options?: CallOptions): Promise<LeadershipTransferResult>;
  /** Fenced by leader epoch (FENCED_LEADER_EPOCH). */
  updatePartitionState(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange, options?: CallOptions): Promise<PartitionStateUpdate>;
  /** null: the partition has no state (never assigned). */
  getPartitionState(topic: string, partition: number, options?: CallOptions): Promise<PartitionState | null>;

  // the remote segment manifest
  /** An empty manifest when nothing was ever committed. */
  loadManifest(topic: string, partition: number, options?: CallOptions): Promise<PartitionManifest>;
  /**
   * Fenced by segment.epoch (it must be the current leader epoch); contiguous: baseOffset must be the
   * manifest's end, except for the first segment, which may start anywhere at or past the log start.
   * Committing the same segment again is a no-op (a retry after a lost reply).
   */
  commitSegment(topic: string, partition: number, segment: RemoteSegment, options?: CallOptions): Promise<SegmentCommit>;
  /** Fenced; moves the log start forward (never back) and removes the segments wholly below it. */
  advanceLogStart(topic: string, partition: number, leaderEpoch: number, offset: number, options?: CallOptions): Promise<LogStartAdvance>;

  // idempotent producers
  /**
   * Kafka's AllocateProducerIds (KIP-730): a block of `blockSize` producer ids no one got before
   * (monotonic, disjoint across callers and restarts; see PRODUCER_IDS_PER_MS). A broker hands them
   * to its producers one by one and asks again when the block is used up.
   */
  allocateProducerIds(brokerId: string, blockSize: number, options?: CallOptions): Promise<ProducerIdBlock>;

  // client quotas (quotas.ts; Kafka's DescribeClientQuotas/AlterClientQuotas)
  /**
   * Applies every change at once, or none: INVALID_REQUEST / INVALID_CONFIG for bad input,
   * INVALID_REQUEST reason QUOTA_LIMIT_REACHED past QUOTA_LIMITS.valuesMax. Removing an absent key is a no-op.
   */
  alterQuotas(changes: readonly QuotaChange[], options?: CallOptions): Promise<void>;
  /** Every stored quota, sorted by entity key (at most QUOTA_LIMITS.valuesMax values). */
  listQuotas(options?: CallOptions): Promise<QuotaRecord[]>;
  // ACL bindings (Kafka's ACL model: @strata/protocol acls.ts; acls.ts here)
  /**
   * Stores the bindings not stored yet, all or nothing: INVALID_REQUEST (reason INVALID_ACL) for a bad
   * binding or more than ACLS_PER_CALL_MAX, (reason ACL_LIMIT_REACHED) past ACLS_MAX stored. The version
   * moves when anything was added.
   */
  createAcls(bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange>;
  /** Removes the given bindings (exactly equal ones); those not stored are ignored. The version moves when anything was removed. */
  deleteAcls(bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange>;
  /** Every binding with the version of that moment. */
  listAcls(options?: CallOptions): Promise<AclSnapshot>;
  /** The version alone (cheap: what a cache polls). */
  aclsVersion(options?: CallOptions): Promise<number>;

  // consumer groups (KIP-848): every call touching a group first removes the members whose session
  // (or rebalance timeout while giving up partitions) has expired, by the backend's clock.
  /**
   * Join (memberEpoch 0) or heartbeat. Refusals: UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH
   * (rejoin with epoch 0), GROUP_MAX_SIZE_REACHED (groupMembersMax), GROUP_LIMIT_REACHED (a join that would
   * create a group past groupsMax), INVALID_REQUEST (reason GROUP_PARTITIONS_EXCEEDED).
   */
  groupHeartbeat(group: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatResponse>;
  /** false: no such member. Its partitions are free for their new owners at once. */
  leaveGroup(group: string, memberId: string, options?: CallOptions): Promise<boolean>;
  /** null: the group has neither group state nor offsets. */
  describeGroup(group: string, options?: CallOptions): Promise<GroupDescription | null>;
  /** Sorted by group id. */
  listGroups(options?: CallOptions): Promise<GroupListing[]>;
  /** Removes the group's state and offsets, only while it has no members (NON_EMPTY_GROUP); false if it did not exist. */
  deleteGroup(group: string, options?: CallOptions): Promise<boolean>;
  /**
   * Bounded (GroupLimits): offsetsPerCommitMax offsets, offsetMetadataMaxBytes each and
   * groupMetadataMaxBytes over all the group stores (OFFSET_METADATA_TOO_LARGE); a standalone commit
   * that would create a group past groupsMax is refused (GROUP_LIMIT_REACHED).
   * Fenced by member: `member` must be a live member at exactly this epoch (reasons UNKNOWN_MEMBER_ID,
   * FENCED_MEMBER_EPOCH); a member whose session expired is unknown. Partitions are not checked against its
   * assignment (Kafka does not either).
   * A ClassicGroupMember must be a member of the stored classic generation, at exactly that generation
   * (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION).
   * null commits as a standalone consumer, only while the group has no members of either protocol (NON_EMPTY_GROUP). All or nothing.
   */
  commitOffsets(group: string, member: GroupMember | ClassicGroupMember | null, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void>;
  /** Sorted by topic, then partition. */
  fetchOffsets(group: string, options?: CallOptions & { topic?: string }): Promise<CommittedOffset[]>;
  /**
   * One bounded pass of expiry (Kafka's offsets.retention.minutes, after KIP-211) over at most about
   * `groupsMax` groups from `cursor`: expired members are removed; in a group without members, an
   * offset goes once it was committed `offsetsRetentionMs` ago AND the group has been empty that
   * long (counted from the first pass that saw it empty, so never early); a group left with neither
   * members nor offsets is deleted, which frees its place under the group limit. One broker runs it
   * (the controller in a cluster; a single node's own), every so often, continuing from the cursor.
   */
  expireGroups(request: GroupExpiryRequest, options?: CallOptions): Promise<GroupExpiry>;
  /** Sets the given offsets, only while the group has no members (NON_EMPTY_GROUP). All or nothing. */
  resetOffsets(group: string, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void>;
  /** Removes the given partitions' committed offsets (Kafka's OffsetDelete); answers how many existed. */
  deleteOffsets(group: string, partitions: readonly { topic: string; partition: number }[], options?: CallOptions): Promise<number>;

  // classic groups (Kafka's JoinGroup/SyncGroup; group-types.ts)
  /** The stored classic generation of the group, or null when none was stored. */
  loadClassicGroup(group: string, options?: CallOptions): Promise<ClassicGroupState | null>;
  /**
   * Stores a classic generation. Refusals: INCONSISTENT_GROUP_PROTOCOL (the group has KIP-848
   * members), ILLEGAL_GENERATION (the stored generation is newer: another broker moved the group on),
   * GROUP_LIMIT_REACHED (it would create a group past groupsMax), GROUP_MAX_SIZE_REACHED.
   */
  storeClassicGroup(group: string, state: ClassicGroupState, options?: CallOptions): Promise<void>;

  // backend identity, restarts, lifecycle
  /** Asks the backend now (it also notices a restart). */
  status(options?: CallOptions): Promise<CoordinatorStatus>;
  /** Subscribe to events; returns the unsubscribe function. Listeners must not throw. */
  onEvent(listener: CoordinatorListener): () => void;
  close(): Promise<void>;
}
