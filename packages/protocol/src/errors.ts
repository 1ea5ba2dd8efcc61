// The one catalogue of Strata error codes. Every layer throws (or returns)
// these codes; the broker maps them to HTTP statuses in one table of its own.

export type ErrorCode =
  | 'CORRUPT_MESSAGE'
  | 'INVALID_RECORD'
  | 'UNSUPPORTED_COMPRESSION_TYPE'
  | 'UNSUPPORTED_VERSION'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_REQUEST'
  | 'UNKNOWN_TOPIC'
  | 'UNKNOWN_PARTITION'
  | 'INVALID_TOPIC'
  | 'INVALID_CONFIG'
  | 'INVALID_PARTITIONS'
  | 'TOPIC_ALREADY_EXISTS'
  | 'OFFSET_OUT_OF_RANGE'
  | 'OFFSET_NOT_AVAILABLE'
  | 'INVALID_TIMESTAMP'
  | 'NOT_LEADER'
  | 'FENCED_LEADER_EPOCH'
  | 'STORAGE_ERROR'
  | 'STORAGE_FULL'
  | 'REQUEST_TIMED_OUT'
  | 'NOT_ENOUGH_REPLICAS'
  | 'BROKER_SHUTTING_DOWN'
  | 'THROTTLING_QUOTA_EXCEEDED'
  | 'NOT_FOUND'
  | 'TOPIC_AUTHORIZATION_FAILED'
  | 'GROUP_AUTHORIZATION_FAILED'
  | 'CLUSTER_AUTHORIZATION_FAILED'
  | 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'
  | 'UNKNOWN_MEMBER_ID'
  | 'FENCED_MEMBER_EPOCH'
  | 'INVALID_GROUP_ID'
  | 'NON_EMPTY_GROUP'
  | 'GROUP_MAX_SIZE_REACHED'
  | 'GROUP_LIMIT_REACHED'
  | 'INCONSISTENT_GROUP_PROTOCOL'
  | 'ILLEGAL_GENERATION'
  | 'OFFSET_METADATA_TOO_LARGE'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'AUTHENTICATION_FAILED'
  | 'BROKER_AUTHENTICATION_FAILED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'INTERNAL_ERROR';

export interface ErrorInfo {
  retriable: boolean;
  description: string;
}

// `retriable` answers: can the same request succeed later without the caller
// changing it? Kafka marks CORRUPT_MESSAGE retriable because its clients
// re-send from their own memory after wire corruption; Strata's bodies that fail
// validation fail again byte for byte, so it is not retriable here.
export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorInfo>> = Object.freeze({
  CORRUPT_MESSAGE: {
    retriable: false,
    description: 'The bytes are not a well-formed RecordBatch v2 (framing, CRC or record structure).',
  },
  INVALID_RECORD: {
    retriable: false,
    description: 'The batch is well-formed but breaks a rule for appends (counts, offsets, flags).',
  },
  UNSUPPORTED_COMPRESSION_TYPE: {
    retriable: false,
    description: 'The batch uses a compression codec this broker does not support.',
  },
  UNSUPPORTED_VERSION: {
    retriable: false,
    description: 'The format or API version is not supported (only RecordBatch magic 2).',
  },
  MESSAGE_TOO_LARGE: { retriable: false, description: 'A batch or request exceeds the configured size limit.' },
  INVALID_REQUEST: { retriable: false, description: 'The request is malformed or has invalid parameters.' },
  UNKNOWN_TOPIC: { retriable: false, description: 'The topic does not exist.' },
  UNKNOWN_PARTITION: { retriable: false, description: 'The partition does not exist in the topic.' },
  INVALID_TOPIC: { retriable: false, description: 'The topic name is not valid.' },
  INVALID_CONFIG: { retriable: false, description: 'A configuration value is missing, malformed or inconsistent.' },
  INVALID_PARTITIONS: { retriable: false, description: 'The partition count is not valid.' },
  TOPIC_ALREADY_EXISTS: { retriable: false, description: 'A topic with this name already exists.' },
  OFFSET_OUT_OF_RANGE: { retriable: false, description: 'The offset is outside [logStartOffset, logEndOffset].' },
  OFFSET_NOT_AVAILABLE: {
    retriable: true,
    description: "A new leader's high watermark has not yet reached the offset its reign started at; its latest offset would go back (Kafka's KIP-207).",
  },
  INVALID_TIMESTAMP: { retriable: false, description: "A timestamp is not a valid non-negative safe integer, or lies outside the topic's message.timestamp.before/after.max.ms window." },
  NOT_LEADER: { retriable: true, description: 'This broker is not the leader of the partition.' },
  FENCED_LEADER_EPOCH: { retriable: true, description: 'The leader epoch is stale; a newer leader exists.' },
  STORAGE_ERROR: { retriable: true, description: 'The local or remote storage failed.' },
  // Retriable: space comes back as retention and uploads free local segments (Kafka's KAFKA_STORAGE_ERROR is too).
  STORAGE_FULL: { retriable: true, description: 'The broker\'s data disk is below its free-space floor: it is read-only until space returns.' },
  REQUEST_TIMED_OUT: { retriable: true, description: 'The request did not complete before its deadline.' },
  NOT_ENOUGH_REPLICAS: { retriable: true, description: 'Fewer in-sync replicas than min.insync.replicas.' },
  BROKER_SHUTTING_DOWN: { retriable: true, description: 'The broker is shutting down.' },
  THROTTLING_QUOTA_EXCEEDED: {
    retriable: true,
    description: 'The request would pass a limit on what one connection, one address or the broker holds at once (request bytes in flight); retry after a moment.',
  },
  NOT_FOUND: { retriable: false, description: 'No such resource.' },
  // Authorization (Kafka's ACLs, services/broker/src/auth/): one code per resource type, as Kafka's.
  TOPIC_AUTHORIZATION_FAILED: { retriable: false, description: 'The principal may not do this on the topic (no ACL allows it, or one denies it).' },
  GROUP_AUTHORIZATION_FAILED: { retriable: false, description: 'The principal may not do this on the consumer group (no ACL allows it, or one denies it).' },
  CLUSTER_AUTHORIZATION_FAILED: { retriable: false, description: 'The principal may not do this on the cluster (no ACL allows it, or one denies it).' },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: { retriable: false, description: 'The principal may not use the transactional id (no ACL allows it, or one denies it).' },
  // Consumer groups (KIP-848). The two member errors are not retriable as they are: the member
  // drops its partitions (without committing) and joins again with epoch 0.
  UNKNOWN_MEMBER_ID: {
    retriable: false,
    description: 'The group has no such member (it never joined, left, or its session expired): rejoin.',
  },
  FENCED_MEMBER_EPOCH: {
    retriable: false,
    description: 'The member epoch is stale (the group moved on without this member): drop the partitions and rejoin.',
  },
  INVALID_GROUP_ID: { retriable: false, description: 'The group id is not valid (1..249 of [a-zA-Z0-9._-], not "." or "..").' },
  NON_EMPTY_GROUP: { retriable: false, description: 'The operation needs a group without members (reset, delete, standalone commit).' },
  GROUP_MAX_SIZE_REACHED: { retriable: false, description: 'The group has the most members it may have.' },
  // Not retriable as such: a slot frees only when an empty group's offsets expire or a group is deleted.
  GROUP_LIMIT_REACHED: { retriable: false, description: 'The coordinator holds the most consumer groups it may: a new group cannot be created.' },
  // Classic (JoinGroup/SyncGroup) groups over Kafka beside the KIP-848 groups of the HTTP API: one
  // group id holds members of one protocol at a time.
  INCONSISTENT_GROUP_PROTOCOL: {
    retriable: false,
    description: 'The group has members of the other group protocol (classic Kafka JoinGroup members, or KIP-848/HTTP members), or no protocol in common: use another group id, or wait until it is empty.',
  },
  ILLEGAL_GENERATION: {
    retriable: false,
    description: 'The classic group moved on to a newer generation without this member: rejoin (JoinGroup) before committing.',
  },
  OFFSET_METADATA_TOO_LARGE: {
    retriable: false,
    description: "An offset commit's metadata is larger than allowed (per offset, or in all for the group); nothing was committed.",
  },
  // Idempotent producers (packages/log/src/producer-state.ts), as Kafka answers a produce: neither is
  // retriable as sent (the same batch fails again); the producer starts over with a new id or epoch.
  OUT_OF_ORDER_SEQUENCE_NUMBER: {
    retriable: false,
    description: "A batch's sequence number does not follow the last one this partition holds for its producer id and epoch (a batch is missing before it); nothing was written.",
  },
  INVALID_PRODUCER_EPOCH: {
    retriable: false,
    description: 'The producer epoch is older than the one this partition has seen for that producer id (a newer instance took over); nothing was written.',
  },
  METHOD_NOT_ALLOWED: { retriable: false, description: 'The HTTP method is not allowed on this resource.' },
  UNSUPPORTED_MEDIA_TYPE: { retriable: false, description: 'The request body has an unsupported content type.' },
  AUTHENTICATION_FAILED: { retriable: false, description: 'The credentials are wrong, expired or revoked, or none were given where the broker requires them.' },
  // Broker to broker (a forwarded request, the internal port): a credential that does not verify is
  // a misconfiguration (different cluster secrets, clocks apart) or an attack; retrying cannot fix it.
  BROKER_AUTHENTICATION_FAILED: {
    retriable: false,
    description: "A request claiming to come from another broker did not carry a valid broker credential (cluster secrets differ, clocks disagree, or the header was replayed).",
  },
  ORIGIN_NOT_ALLOWED: {
    retriable: false,
    description: 'A browser page of another origin may not change state here: the Origin is not this broker nor one of STRATA_CORS_ORIGINS.',
  },
  INTERNAL_ERROR: { retriable: false, description: 'An unexpected internal error (a bug): see the broker log.' },
});

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  /**
   * `retriable` overrides the catalogue's answer for one error only where the same code has both
   * outcomes: a STORAGE_ERROR is retriable (a full disk, a timeout), except when it can never
   * succeed as sent (a name the file system refuses, a partition that could not be opened).
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown>; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.retriable = options?.retriable ?? ERROR_CATALOGUE[code].retriable;
    this.details = options?.details;
  }
}

export function isStrataError(e: unknown): e is StrataError {
  return e instanceof StrataError;
}

/**
 * An invariant of this package's own code, not a check of input: failing it is
 * a bug, so it surfaces as INTERNAL_ERROR rather than being mapped to a 4xx.
 */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new StrataError('INTERNAL_ERROR', `assertion failed: ${message}`);
}
