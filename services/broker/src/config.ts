// The broker's configuration: every named default in one place, read from the
// environment and from flags (flags win), validated once with every problem
// reported together, and described as one structured log line at start.
//
// Each setting STRATA_FOO_BAR has the flag form --foo-bar (also --foo-bar=value).

import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { GROUP_LIMIT_DEFAULTS, LIMITS, OFFSETS_RETENTION_MS_DEFAULT, type GroupLimits } from '@strata/coord';
import { DEFAULT_PRODUCER_STATE_LIMITS, type ProducerStateLimits } from '@strata/log';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, StrataError } from '@strata/protocol';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger.js';
import {
  checkEffectiveConfigs,
  parseTopicConfigValue,
  TOPIC_CONFIG_KEYS,
  type Problem,
  type TopicConfigKey,
  type TopicConfigs,
} from './topics/topic-config.js';

const MiB = 1024 * 1024;

/** Kafka's topic defaults, except segment.bytes: smaller segments reach the bucket sooner (docs/architecture.md#upload). */
export const DEFAULT_TOPIC_CONFIGS: Readonly<TopicConfigs> = Object.freeze({
  'segment.bytes': 128 * MiB,
  'segment.ms': 7 * 24 * 60 * 60 * 1000,
  'retention.ms': 7 * 24 * 60 * 60 * 1000,
  'retention.bytes': -1,
  // Redpanda's choice: a day of data stays local for fast tail reads; older reads come from the bucket.
  'local.retention.ms': 24 * 60 * 60 * 1000,
  'local.retention.bytes': -2,
  'flush.messages': -1,
  'flush.ms': -1,
  'max.message.bytes': 1_048_588, // Kafka's message.max.bytes: 1 MiB + the 12-byte log overhead
  'index.interval.bytes': 4096,
  'min.insync.replicas': 1,
  'cleanup.policy': 'delete',
  'unclean.leader.election.enable': 'false',
  // Kafka 4.0's defaults (KIP-937): no limit into the past, one hour into the future.
  'message.timestamp.before.max.ms': Number.MAX_SAFE_INTEGER,
  'message.timestamp.after.max.ms': 60 * 60 * 1000,
});

/** Broker-level defaults (the topic ones are above). */
export const DEFAULTS = Object.freeze({
  httpPort: 8080,
  host: '0.0.0.0',
  dataDir: './data',
  brokerId: '0',
  logLevel: 'info' as LogLevel,
  defaultPartitions: 1,
  defaultReplicationFactor: 1,
  /** Hard cap on any request body (JSON produce; raw produce is capped by max.message.bytes too). */
  maxRequestBytes: 16 * MiB,
  /** Partitions across all topics on this broker. */
  maxPartitions: 10_000,
  /** Long-poll: a fetch's maxWaitMs is clamped to this. */
  fetchMaxWaitMsCap: 30_000,
  /** A fetch's maxBytes is clamped to this (Kafka's fetch.max.bytes default). */
  fetchMaxBytesCap: 50 * MiB,
  /** A JSON fetch's maxRecords is clamped to this. */
  fetchMaxRecordsCap: 10_000,
  /** Long-polls waiting at once; past this a fetch answers at once with what it has. */
  maxFetchWaiters: 10_000,
  /**
   * Bytes one compressed batch may decompress to, at produce (validation) and when a JSON fetch decodes stored
   * batches: past it the batch is MESSAGE_TOO_LARGE. Bounds the memory of one decompression.
   */
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  /**
   * Decompressions running at once (produce validation and JSON fetch); the rest wait their turn. Each
   * holds a thread of libuv's pool (4, shared with file reads) and up to maxDecompressedBytes.
   */
  maxConcurrentDecompressions: 2,
  maxConnections: 10_000,
  /**
   * Connections from one remote address (0 = no limit); the excess is closed at once. Behind a load
   * balancer or a NAT every client shares its address: raise it (or set 0) there.
   */
  maxConnectionsPerAddress: 1_000,
  /** Request-body bytes one connection may hold at once (pipelined requests); at least maxRequestBytes. */
  bodyBytesInFlightPerConnection: 32 * MiB,
  /** Request-body bytes one remote address may hold at once, across its connections. */
  bodyBytesInFlightPerAddress: 64 * MiB,
  /** Request-body bytes the broker holds at once; a body past a budget is refused (429) unread. */
  bodyBytesInFlight: 256 * MiB,
  /** A request body that receives no byte for this long fails (503 REQUEST_TIMED_OUT) and its connection closes. */
  bodyIdleTimeoutMs: 15_000,
  /** Time to receive a request's headers; also how long a new connection may stay silent. */
  headersTimeoutMs: 20_000,
  /** Time to receive a whole request, headers and body (Node's default is 300 s). */
  requestTimeoutMs: 60_000,
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: 5_000,
  /** Records in one JSON produce request (the binary endpoint is for bulk). */
  jsonProduceMaxRecords: 10_000,
  /** Period of the maintenance pass (roll by segment.ms, retention, flush.ms). */
  maintenanceIntervalMs: 1_000,
  /** close(): how long in-flight requests may take before their connections are cut. */
  shutdownTimeoutMs: 10_000,
  // Consumer groups (issue #10: any client could grow the coordinator, the Redis of the leases, without limit).
  /** Groups the coordinator holds; a new one past it is refused (GROUP_LIMIT_REACHED). */
  maxGroups: GROUP_LIMIT_DEFAULTS.groupsMax,
  /** Members of one group (Kafka's group.consumer.max.size): GROUP_MAX_SIZE_REACHED. */
  groupMaxSize: GROUP_LIMIT_DEFAULTS.groupMembersMax,
  /** Offsets in one commit or reset. */
  maxOffsetsPerCommit: GROUP_LIMIT_DEFAULTS.offsetsPerCommitMax,
  /** Kafka's offset.metadata.max.bytes: UTF-8 bytes of one offset's metadata. */
  offsetMetadataMaxBytes: GROUP_LIMIT_DEFAULTS.offsetMetadataMaxBytes,
  /** UTF-8 bytes of offset metadata one group stores in all. */
  groupMetadataMaxBytes: GROUP_LIMIT_DEFAULTS.groupMetadataMaxBytes,
  /** Kafka's offsets.retention.minutes (7 days), in ms: an empty group's offsets expire after it. */
  offsetsRetentionMs: OFFSETS_RETENTION_MS_DEFAULT,
  /** Kafka's offsets.retention.check.interval.ms is 600000; one pass here is bounded (below), so it runs more often. */
  offsetsRetentionCheckIntervalMs: 60_000,
  /** Groups one expiry pass visits at most; the next pass continues where it stopped. */
  offsetsRetentionCheckGroups: 1_000,
  /**
   * Kafka's producer.id.expiration.ms (a broker setting there too, 1 day): each partition forgets an
   * idempotent producer that has not written to it for this long (ms).
   */
  producerIdExpirationMs: DEFAULT_PRODUCER_STATE_LIMITS.producerIdExpirationMs,
  /** Idempotent producers one partition remembers; past it the least recently active is forgotten (bounds memory). */
  maxProducersPerPartition: DEFAULT_PRODUCER_STATE_LIMITS.producersMax,
  /**
   * Segment file descriptors kept open at once, across every partition (an LRU; a file in use
   * is never closed under its user). A quarter of the common `ulimit -n` of 1024: the rest is
   * for client sockets, replication, Redis, S3 and short-lived index and metadata files.
   */
  maxOpenSegmentFiles: 256,
  /**
   * The smallest segment.bytes a topic may set (Kafka 4.0's minimum, KIP-1030): tiny segments
   * mean a file, an upload and an index per few records. Lower it only in tests (Kafka's
   * internal.segment.bytes).
   */
  minSegmentBytes: 1 * MiB,
  /** Partition logs opened (at start) or closed (at shutdown) at once: each needs a few descriptors meanwhile. */
  logOpenCloseConcurrency: 16,
  /** Below this many free bytes on the data disk the broker is read-only: produce is refused (STORAGE_FULL), /readyz answers 503. */
  minFreeDiskBytes: 64 * MiB,
  /** How often the data disk's free space is measured. */
  diskCheckIntervalMs: 1_000,
  // The Kafka listener (services/broker/src/kafka/). Port 0 = no Kafka listener.
  kafkaPort: 9092,
  kafkaMetadataMode: 'brokers' as KafkaMetadataMode,
  /**
   * Off, unlike Kafka's auto.create.topics.enable: a metadata request or a consumer naming a mistyped
   * topic would create it (with the cluster's replication factor), and operators turn Kafka's off.
   */
  kafkaAutoCreateTopics: false,
  /**
   * Kafka's socket.request.max.bytes is 100 MiB; a client's produce is bounded by its max.request.size
   * (1 MiB) and a fetch request is small, so the HTTP request cap's 16 MiB fits every client's default
   * while bounding what one frame can pin.
   */
  kafkaMaxRequestBytes: 16 * MiB,
  /** Requests read from one connection and not yet answered; reading pauses at the cap (Kafka's broker reads one at a time). */
  kafkaMaxInFlightPerConnection: 32,
  /** Request bytes held by all Kafka connections at once (frames read or being read, until answered); reading pauses past it. */
  kafkaRequestBytesInFlight: 256 * MiB,
  kafkaMaxConnections: 10_000,
  /** As maxConnectionsPerAddress: behind a load balancer or a NAT every client shares its address. */
  kafkaMaxConnectionsPerAddress: 1_000,
  /** Kafka's connections.max.idle.ms: a connection with nothing in flight and no byte for this long is closed. */
  kafkaConnectionsMaxIdleMs: 600_000,
});

/** How Metadata answers: each broker at its own address (`brokers`), or one address leading every partition (`one-address`: a load balancer in front). */
export const KAFKA_METADATA_MODES = ['brokers', 'one-address'] as const;
export type KafkaMetadataMode = (typeof KAFKA_METADATA_MODES)[number];

/** The Kafka listener's settings. */
export interface KafkaConfig {
  /** 0 = no Kafka listener. */
  port: number;
  /** host:port clients reach; empty = the advertised URL's host (or the bound host) with the bound port. */
  advertisedAddress: string;
  metadataMode: KafkaMetadataMode;
  autoCreateTopics: boolean;
  maxRequestBytes: number;
  maxInFlightPerConnection: number;
  requestBytesInFlight: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  connectionsMaxIdleMs: number;
}

/** Fetch defaults when the request does not say (not configurable: the caps above are). */
export const FETCH_DEFAULT_MAX_BYTES = 1 * MiB;
export const FETCH_DEFAULT_MAX_RECORDS = 500;

/**
 * Nesting levels ([ and {) a JSON request body may have; deeper is INVALID_REQUEST. The same bound
 * decides whether a stored value renders as JSON in a fetch (deeper ones come back base64), so
 * anything JSON produce accepts, JSON fetch renders. Not configurable: it guards the recursion of
 * JSON.stringify (V8 overflows its stack at a few thousand levels), not a resource to tune.
 */
export const JSON_MAX_DEPTH = 128;

/** Settings from docs/architecture.md#http-api this build recognises but does not use yet (none now: replication landed). */
export const NOT_IN_THIS_BUILD = [] as const;

/** Cluster mode: a topic's replication factor when the request names none (placed on as many live brokers as there are, up to it). */
export const CLUSTER_DEFAULT_REPLICATION_FACTOR = 3;

/** Clustered mode (STRATA_REDIS_URL set): Redis coordinates brokers (docs/architecture.md#coordination, #cluster). */
export interface ClusterConfig {
  /** redis://[user:password@]host:port[/db] */
  redisUrl: string;
  /** Prefix of every Redis key: several clusters can share one Redis. */
  redisPrefix: string;
  /** Partition and controller lease TTL: how long a dead leader blocks its partitions. */
  leaseTtlMs: number;
  /** A broker that misses heartbeats this long leaves the live set (its partitions move). */
  sessionTtlMs: number;
  /** Period of the leadership and controller loop. */
  tickMs: number;
  /** How long a broker leaving on SIGTERM waits for its partitions to be handed over. */
  handoverTimeoutMs: number;
  /** Broker-to-broker listener (replication); 0 = an ephemeral port. */
  internalPort: number;
  /** The internal URL other brokers reach this one at; empty = the advertised URL's host with the internal port. */
  internalAdvertisedUrl: string;
  /** Bearer token every broker-to-broker request carries (never printed). */
  clusterSecret: string;
  /** replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR. */
  replicaLagTimeMaxMs: number;
  /** acks=all: how long a produce waits for the ISR before it fails (REQUEST_TIMED_OUT, retriable). */
  replicaAckTimeoutMs: number;
  /** replica.fetch.max.bytes: bytes per partition per follower fetch. */
  replicaFetchMaxBytes: number;
  /** replica.fetch.wait.max.ms: how long a follower's fetch waits at the leader for new data. */
  replicaFetchWaitMaxMs: number;
}

/** Where sealed segments go: S3 (any S3 API) when STRATA_S3_BUCKET is set, else a local directory. */
export type ObjectStoreConfig =
  | { kind: 'local'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint: string; region: string; forcePathStyle: boolean };

/** Tiered storage tuning (docs/architecture.md#upload, #cluster). */
export interface TieringConfig {
  uploadConcurrency: number;
  loopIntervalMs: number;
  gcIntervalMs: number;
  orphanGraceMs: number;
  cacheBytes: number;
  chunkBytes: number;
  readAheadChunks: number;
  fetchConcurrency: number;
  maxOpenReaders: number;
}

export interface TopicDefaults {
  partitions: number;
  replicationFactor: number;
  configs: TopicConfigs;
}

/** What consumer groups may store, and the expiry of empty groups' offsets. */
export interface GroupsConfig {
  /** Passed to the coordinator (either engine). */
  limits: GroupLimits;
  offsetsRetentionMs: number;
  /** Period of the expiry pass (the controller's in a cluster). */
  expiryIntervalMs: number;
  /** Groups one pass visits at most. */
  expiryGroupsPerPass: number;
}

export interface BrokerConfig {
  httpPort: number;
  host: string;
  /** Absolute path. */
  dataDir: string;
  brokerId: string;
  /** The URL other parties reach this broker at; empty = derived from the bound address. */
  advertisedUrl: string;
  logLevel: LogLevel;
  topicDefaults: TopicDefaults;
  maxRequestBytes: number;
  maxPartitions: number;
  fetchMaxWaitMsCap: number;
  fetchMaxBytesCap: number;
  fetchMaxRecordsCap: number;
  maxFetchWaiters: number;
  maxDecompressedBytes: number;
  maxConcurrentDecompressions: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  bodyBytesInFlightPerConnection: number;
  bodyBytesInFlightPerAddress: number;
  bodyBytesInFlight: number;
  bodyIdleTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  jsonProduceMaxRecords: number;
  maintenanceIntervalMs: number;
  shutdownTimeoutMs: number;
  groups: GroupsConfig;
  /** Idempotent producers' state in each partition log. */
  producerState: ProducerStateLimits;
  maxOpenSegmentFiles: number;
  /** The floor of segment.bytes (STRATA_MIN_SEGMENT_BYTES; below the default only for tests). */
  minSegmentBytes: number;
  logOpenCloseConcurrency: number;
  minFreeDiskBytes: number;
  diskCheckIntervalMs: number;
  /** Names of NOT_IN_THIS_BUILD settings that were set (warned about at start, otherwise ignored). */
  notInThisBuild: string[];
  objectStore: ObjectStoreConfig;
  tiering: TieringConfig;
  /** null: the single-node embedded default (no Redis). */
  cluster: ClusterConfig | null;
  kafka: KafkaConfig;
}

/** The env var for a topic config default: segment.bytes -> STRATA_DEFAULT_SEGMENT_BYTES. */
export function topicDefaultEnvName(key: TopicConfigKey): string {
  return `STRATA_DEFAULT_${key.toUpperCase().replaceAll('.', '_')}`;
}

/** STRATA_HTTP_PORT -> --http-port */
export function flagName(envName: string): string {
  return `--${envName.slice('STRATA_'.length).toLowerCase().replaceAll('_', '-')}`;
}

interface IntSetting {
  env: string;
  default: number;
  min: number;
  max: number;
}

const INT_SETTINGS = {
  httpPort: { env: 'STRATA_HTTP_PORT', default: DEFAULTS.httpPort, min: 0, max: 65_535 },
  defaultPartitions: { env: 'STRATA_DEFAULT_PARTITIONS', default: DEFAULTS.defaultPartitions, min: 1, max: 100_000 },
  defaultReplicationFactor: { env: 'STRATA_DEFAULT_REPLICATION_FACTOR', default: DEFAULTS.defaultReplicationFactor, min: 1, max: 16 },
  maxRequestBytes: { env: 'STRATA_MAX_REQUEST_BYTES', default: DEFAULTS.maxRequestBytes, min: 1024, max: 1024 * MiB },
  maxPartitions: { env: 'STRATA_MAX_PARTITIONS', default: DEFAULTS.maxPartitions, min: 1, max: 1_000_000 },
  fetchMaxWaitMsCap: { env: 'STRATA_FETCH_MAX_WAIT_MS', default: DEFAULTS.fetchMaxWaitMsCap, min: 0, max: 10 * 60_000 },
  fetchMaxBytesCap: { env: 'STRATA_FETCH_MAX_BYTES', default: DEFAULTS.fetchMaxBytesCap, min: 1024, max: 1024 * MiB },
  fetchMaxRecordsCap: { env: 'STRATA_FETCH_MAX_RECORDS', default: DEFAULTS.fetchMaxRecordsCap, min: 1, max: 1_000_000 },
  maxFetchWaiters: { env: 'STRATA_MAX_FETCH_WAITERS', default: DEFAULTS.maxFetchWaiters, min: 0, max: 1_000_000 },
  maxDecompressedBytes: { env: 'STRATA_MAX_DECOMPRESSED_BYTES', default: DEFAULTS.maxDecompressedBytes, min: 1 * MiB, max: 1024 * MiB },
  maxConcurrentDecompressions: { env: 'STRATA_MAX_CONCURRENT_DECOMPRESSIONS', default: DEFAULTS.maxConcurrentDecompressions, min: 1, max: 64 },
  maxConnections: { env: 'STRATA_MAX_CONNECTIONS', default: DEFAULTS.maxConnections, min: 1, max: 1_000_000 },
  maxConnectionsPerAddress: { env: 'STRATA_MAX_CONNECTIONS_PER_ADDRESS', default: DEFAULTS.maxConnectionsPerAddress, min: 0, max: 1_000_000 },
  bodyBytesInFlightPerConnection: { env: 'STRATA_BODY_BYTES_IN_FLIGHT_PER_CONNECTION', default: DEFAULTS.bodyBytesInFlightPerConnection, min: 1024, max: 1024 * 1024 * MiB },
  bodyBytesInFlightPerAddress: { env: 'STRATA_BODY_BYTES_IN_FLIGHT_PER_ADDRESS', default: DEFAULTS.bodyBytesInFlightPerAddress, min: 1024, max: 1024 * 1024 * MiB },
  bodyBytesInFlight: { env: 'STRATA_BODY_BYTES_IN_FLIGHT', default: DEFAULTS.bodyBytesInFlight, min: 1024, max: 1024 * 1024 * MiB },
  bodyIdleTimeoutMs: { env: 'STRATA_BODY_IDLE_TIMEOUT_MS', default: DEFAULTS.bodyIdleTimeoutMs, min: 100, max: 300_000 },
  headersTimeoutMs: { env: 'STRATA_HEADERS_TIMEOUT_MS', default: DEFAULTS.headersTimeoutMs, min: 100, max: 300_000 },
  requestTimeoutMs: { env: 'STRATA_REQUEST_TIMEOUT_MS', default: DEFAULTS.requestTimeoutMs, min: 100, max: 3_600_000 },
  keepAliveTimeoutMs: { env: 'STRATA_KEEP_ALIVE_TIMEOUT_MS', default: DEFAULTS.keepAliveTimeoutMs, min: 100, max: 600_000 },
  jsonProduceMaxRecords: { env: 'STRATA_JSON_PRODUCE_MAX_RECORDS', default: DEFAULTS.jsonProduceMaxRecords, min: 1, max: 1_000_000 },
  maintenanceIntervalMs: { env: 'STRATA_MAINTENANCE_INTERVAL_MS', default: DEFAULTS.maintenanceIntervalMs, min: 10, max: 3_600_000 },
  shutdownTimeoutMs: { env: 'STRATA_SHUTDOWN_TIMEOUT_MS', default: DEFAULTS.shutdownTimeoutMs, min: 0, max: 600_000 },
  maxGroups: { env: 'STRATA_MAX_GROUPS', default: DEFAULTS.maxGroups, min: 1, max: LIMITS.groupsMax },
  groupMaxSize: { env: 'STRATA_GROUP_MAX_SIZE', default: DEFAULTS.groupMaxSize, min: 1, max: LIMITS.groupMembersMax },
  maxOffsetsPerCommit: { env: 'STRATA_MAX_OFFSETS_PER_COMMIT', default: DEFAULTS.maxOffsetsPerCommit, min: 1, max: LIMITS.offsetsPerCallMax },
  offsetMetadataMaxBytes: { env: 'STRATA_OFFSET_METADATA_MAX_BYTES', default: DEFAULTS.offsetMetadataMaxBytes, min: 0, max: LIMITS.offsetMetadataLengthMax },
  groupMetadataMaxBytes: { env: 'STRATA_GROUP_METADATA_MAX_BYTES', default: DEFAULTS.groupMetadataMaxBytes, min: 0, max: LIMITS.groupMetadataBytesMax },
  offsetsRetentionMs: { env: 'STRATA_OFFSETS_RETENTION_MS', default: DEFAULTS.offsetsRetentionMs, min: 1_000, max: Number.MAX_SAFE_INTEGER },
  offsetsRetentionCheckIntervalMs: { env: 'STRATA_OFFSETS_RETENTION_CHECK_INTERVAL_MS', default: DEFAULTS.offsetsRetentionCheckIntervalMs, min: 100, max: 24 * 3_600_000 },
  producerIdExpirationMs: { env: 'STRATA_PRODUCER_ID_EXPIRATION_MS', default: DEFAULTS.producerIdExpirationMs, min: 1_000, max: Number.MAX_SAFE_INTEGER },
  maxProducersPerPartition: { env: 'STRATA_MAX_PRODUCERS_PER_PARTITION', default: DEFAULTS.maxProducersPerPartition, min: 1, max: 1_000_000 },
  offsetsRetentionCheckGroups: { env: 'STRATA_OFFSETS_RETENTION_CHECK_GROUPS', default: DEFAULTS.offsetsRetentionCheckGroups, min: 1, max: LIMITS.expiryGroupsPerPassMax },
  maxOpenSegmentFiles: { env: 'STRATA_MAX_OPEN_SEGMENT_FILES', default: DEFAULTS.maxOpenSegmentFiles, min: 8, max: 1_000_000 },
  // 14 bytes: the smallest file that can hold a batch's length prefix (the old floor).
  minSegmentBytes: { env: 'STRATA_MIN_SEGMENT_BYTES', default: DEFAULTS.minSegmentBytes, min: 14, max: 1024 * MiB },
  logOpenCloseConcurrency: { env: 'STRATA_LOG_OPEN_CLOSE_CONCURRENCY', default: DEFAULTS.logOpenCloseConcurrency, min: 1, max: 1_024 },
  minFreeDiskBytes: { env: 'STRATA_MIN_FREE_DISK_BYTES', default: DEFAULTS.minFreeDiskBytes, min: 0, max: Number.MAX_SAFE_INTEGER },
  diskCheckIntervalMs: { env: 'STRATA_DISK_CHECK_INTERVAL_MS', default: DEFAULTS.diskCheckIntervalMs, min: 10, max: 600_000 },
  // Each upload buffers up to one segment (one PUT per segment): this bounds that memory.
  uploadConcurrency: { env: 'STRATA_TIER_UPLOAD_CONCURRENCY', default: 2, min: 1, max: 256 },
  loopIntervalMs: { env: 'STRATA_TIER_INTERVAL_MS', default: 1_000, min: 10, max: 3_600_000 },
  gcIntervalMs: { env: 'STRATA_TIER_GC_INTERVAL_MS', default: 10 * 60_000, min: 100, max: 7 * 24 * 3_600_000 },
  orphanGraceMs: { env: 'STRATA_TIER_ORPHAN_GRACE_MS', default: 60 * 60_000, min: 0, max: 7 * 24 * 3_600_000 },
  cacheBytes: { env: 'STRATA_REMOTE_CACHE_BYTES', default: 256 * MiB, min: 4 * MiB, max: 1024 * 1024 * MiB },
  chunkBytes: { env: 'STRATA_REMOTE_CHUNK_BYTES', default: 2 * MiB, min: 64 * 1024, max: 64 * MiB },
  readAheadChunks: { env: 'STRATA_REMOTE_READ_AHEAD_CHUNKS', default: 4, min: 0, max: 64 },
  fetchConcurrency: { env: 'STRATA_REMOTE_FETCH_CONCURRENCY', default: 8, min: 1, max: 256 },
  maxOpenReaders: { env: 'STRATA_REMOTE_MAX_READERS', default: 1024, min: 1, max: 1_000_000 },
  leaseTtlMs: { env: 'STRATA_LEASE_TTL_MS', default: 6_000, min: 500, max: 60_000 },
  sessionTtlMs: { env: 'STRATA_SESSION_TTL_MS', default: 6_000, min: 500, max: 600_000 },
  clusterTickMs: { env: 'STRATA_CLUSTER_TICK_MS', default: 250, min: 10, max: 10_000 },
  handoverTimeoutMs: { env: 'STRATA_HANDOVER_TIMEOUT_MS', default: 30_000, min: 0, max: 600_000 },
  internalPort: { env: 'STRATA_INTERNAL_PORT', default: 8081, min: 0, max: 65_535 },
  replicaLagTimeMaxMs: { env: 'STRATA_REPLICA_LAG_TIME_MAX_MS', default: 30_000, min: 100, max: 600_000 },
  replicaAckTimeoutMs: { env: 'STRATA_REPLICA_ACK_TIMEOUT_MS', default: 30_000, min: 100, max: 600_000 },
  replicaFetchMaxBytes: { env: 'STRATA_REPLICA_FETCH_MAX_BYTES', default: 4 * MiB, min: 64 * 1024, max: 256 * MiB },
  replicaFetchWaitMaxMs: { env: 'STRATA_REPLICA_FETCH_WAIT_MAX_MS', default: 500, min: 1, max: 30_000 },
  kafkaPort: { env: 'STRATA_KAFKA_PORT', default: DEFAULTS.kafkaPort, min: 0, max: 65_535 },
  kafkaMaxRequestBytes: { env: 'STRATA_KAFKA_MAX_REQUEST_BYTES', default: DEFAULTS.kafkaMaxRequestBytes, min: 64 * 1024, max: 1024 * MiB },
  kafkaMaxInFlightPerConnection: { env: 'STRATA_KAFKA_MAX_IN_FLIGHT_PER_CONNECTION', default: DEFAULTS.kafkaMaxInFlightPerConnection, min: 1, max: 1_000 },
  kafkaRequestBytesInFlight: { env: 'STRATA_KAFKA_REQUEST_BYTES_IN_FLIGHT', default: DEFAULTS.kafkaRequestBytesInFlight, min: 64 * 1024, max: 1024 * 1024 * MiB },
  kafkaMaxConnections: { env: 'STRATA_KAFKA_MAX_CONNECTIONS', default: DEFAULTS.kafkaMaxConnections, min: 1, max: 1_000_000 },
  kafkaMaxConnectionsPerAddress: { env: 'STRATA_KAFKA_MAX_CONNECTIONS_PER_ADDRESS', default: DEFAULTS.kafkaMaxConnectionsPerAddress, min: 0, max: 1_000_000 },
  kafkaConnectionsMaxIdleMs: { env: 'STRATA_KAFKA_CONNECTIONS_MAX_IDLE_MS', default: DEFAULTS.kafkaConnectionsMaxIdleMs, min: 1_000, max: 24 * 3_600_000 },
} as const satisfies Record<string, IntSetting>;

const STRING_SETTINGS = {
  host: 'STRATA_HOST',
  dataDir: 'STRATA_DATA_DIR',
  brokerId: 'STRATA_BROKER_ID',
  advertisedUrl: 'STRATA_ADVERTISED_URL',
  logLevel: 'STRATA_LOG_LEVEL',
  objectsDir: 'STRATA_OBJECTS_DIR',
  s3Bucket: 'STRATA_S3_BUCKET',
  s3Endpoint: 'STRATA_S3_ENDPOINT',
  s3Region: 'STRATA_S3_REGION',
  s3Prefix: 'STRATA_S3_PREFIX',
  s3ForcePathStyle: 'STRATA_S3_FORCE_PATH_STYLE',
  redisUrl: 'STRATA_REDIS_URL',
  redisPrefix: 'STRATA_REDIS_PREFIX',
  clusterSecret: 'STRATA_CLUSTER_SECRET',
  internalAdvertisedUrl: 'STRATA_INTERNAL_ADVERTISED_URL',
  kafkaAdvertisedAddress: 'STRATA_KAFKA_ADVERTISED_ADDRESS',
  kafkaMetadataMode: 'STRATA_KAFKA_METADATA_MODE',
  kafkaAutoCreateTopics: 'STRATA_KAFKA_AUTO_CREATE_TOPICS',
} as const;

/** Every setting name this build knows (flags are checked against it). */
export function knownSettings(): string[] {
  return [
    ...Object.values(INT_SETTINGS).map((s) => s.env),
    ...Object.values(STRING_SETTINGS),
    ...TOPIC_CONFIG_KEYS.map(topicDefaultEnvName),
    ...NOT_IN_THIS_BUILD,
  ];
}

/**
 * Reads the configuration from `env` and `argv` (flags only, e.g. process.argv after the
 * subcommand). Throws StrataError INVALID_CONFIG listing every problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[]): BrokerConfig {
  const problems: string[] = [];
  const known = new Set(knownSettings());
  const flags = parseFlags(argv, known, problems);

  const raw = (name: string): { value: string; origin: string } | undefined => {
    const fromFlag = flags.get(name);
    if (fromFlag !== undefined) return { value: fromFlag, origin: flagName(name) };
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, origin: name };
    return undefined;
  };

  for (const name of Object.keys(env)) {
    // A typo in a topic default would otherwise be silently ignored.
    if (name.startsWith('STRATA_DEFAULT_') && !known.has(name)) problems.push(`${name}: unknown setting`);
  }

  const int = (setting: IntSetting): number => {
    const found = raw(setting.env);
    if (found === undefined) return setting.default;
    const text = found.value.trim();
    const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < setting.min || value > setting.max) {
      problems.push(`${found.origin}: must be an integer in [${setting.min}, ${setting.max}], got "${found.value}"`);
      return setting.default;
    }
    return value;
  };
  const str = (name: string, fallback: string): string => raw(name)?.value.trim() ?? fallback;

  const httpPort = int(INT_SETTINGS.httpPort);
  const host = str(STRING_SETTINGS.host, DEFAULTS.host);
  if (host === '') problems.push(`${STRING_SETTINGS.host}: must not be empty`);
  const dataDir = resolve(str(STRING_SETTINGS.dataDir, DEFAULTS.dataDir));
  const redisUrl = str(STRING_SETTINGS.redisUrl, '');
  // In a cluster every broker needs its own id: the host name is unique per pod or container.
  const brokerId = str(STRING_SETTINGS.brokerId, redisUrl === '' ? DEFAULTS.brokerId : hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64));
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(brokerId)) {
    problems.push(`${STRING_SETTINGS.brokerId}: must be 1..64 characters of [A-Za-z0-9._-], got "${brokerId}"`);
  }
  const advertisedUrl = str(STRING_SETTINGS.advertisedUrl, '').replace(/\/+$/, '');
  if (advertisedUrl !== '') {
    let ok = false;
    try {
      const url = new URL(advertisedUrl);
      ok = url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`${STRING_SETTINGS.advertisedUrl}: must be an http(s) URL, got "${advertisedUrl}"`);
  }
  const levelText = str(STRING_SETTINGS.logLevel, DEFAULTS.logLevel).toLowerCase();
  let logLevel: LogLevel = DEFAULTS.logLevel;
  if (isLogLevel(levelText)) logLevel = levelText;
  else problems.push(`${STRING_SETTINGS.logLevel}: must be one of ${LOG_LEVELS.join(', ')}, got "${levelText}"`);

  const topicConfigs: TopicConfigs = { ...DEFAULT_TOPIC_CONFIGS };
  const topicProblems: Problem[] = [];
  for (const key of TOPIC_CONFIG_KEYS) {
    const name = topicDefaultEnvName(key);
    const found = raw(name);
    if (found === undefined) continue;
    const value = parseTopicConfigValue(key, found.value, found.origin, topicProblems);
    if (value !== undefined) (topicConfigs as unknown as Record<string, unknown>)[key] = value;
  }

  const cluster = clusterConfig(redisUrl, str, int, problems);
  const config: BrokerConfig = {
    cluster,
    httpPort,
    host,
    dataDir,
    brokerId,
    advertisedUrl,
    logLevel,
    topicDefaults: {
      partitions: int(INT_SETTINGS.defaultPartitions),
      // A single node holds one replica; a cluster defaults to 3 (replicas placed on the live brokers, up to 3).
      replicationFactor: raw(INT_SETTINGS.defaultReplicationFactor.env) === undefined && cluster !== null ? CLUSTER_DEFAULT_REPLICATION_FACTOR : int(INT_SETTINGS.defaultReplicationFactor),
      configs: topicConfigs,
    },
    maxRequestBytes: int(INT_SETTINGS.maxRequestBytes),
    maxPartitions: int(INT_SETTINGS.maxPartitions),
    fetchMaxWaitMsCap: int(INT_SETTINGS.fetchMaxWaitMsCap),
    fetchMaxBytesCap: int(INT_SETTINGS.fetchMaxBytesCap),
    fetchMaxRecordsCap: int(INT_SETTINGS.fetchMaxRecordsCap),
    maxFetchWaiters: int(INT_SETTINGS.maxFetchWaiters),
    maxDecompressedBytes: int(INT_SETTINGS.maxDecompressedBytes),
    maxConcurrentDecompressions: int(INT_SETTINGS.maxConcurrentDecompressions),
    maxConnections: int(INT_SETTINGS.maxConnections),
    maxConnectionsPerAddress: int(INT_SETTINGS.maxConnectionsPerAddress),
    bodyBytesInFlightPerConnection: int(INT_SETTINGS.bodyBytesInFlightPerConnection),
    bodyBytesInFlightPerAddress: int(INT_SETTINGS.bodyBytesInFlightPerAddress),
    bodyBytesInFlight: int(INT_SETTINGS.bodyBytesInFlight),
    bodyIdleTimeoutMs: int(INT_SETTINGS.bodyIdleTimeoutMs),
    headersTimeoutMs: int(INT_SETTINGS.headersTimeoutMs),
    requestTimeoutMs: int(INT_SETTINGS.requestTimeoutMs),
    keepAliveTimeoutMs: int(INT_SETTINGS.keepAliveTimeoutMs),
    jsonProduceMaxRecords: int(INT_SETTINGS.jsonProduceMaxRecords),
    maintenanceIntervalMs: int(INT_SETTINGS.maintenanceIntervalMs),
    shutdownTimeoutMs: int(INT_SETTINGS.shutdownTimeoutMs),
    groups: {
      limits: {
        groupsMax: int(INT_SETTINGS.maxGroups),
        groupMembersMax: int(INT_SETTINGS.groupMaxSize),
        offsetsPerCommitMax: int(INT_SETTINGS.maxOffsetsPerCommit),
        offsetMetadataMaxBytes: int(INT_SETTINGS.offsetMetadataMaxBytes),
        groupMetadataMaxBytes: int(INT_SETTINGS.groupMetadataMaxBytes),
      },
      offsetsRetentionMs: int(INT_SETTINGS.offsetsRetentionMs),
      expiryIntervalMs: int(INT_SETTINGS.offsetsRetentionCheckIntervalMs),
      expiryGroupsPerPass: int(INT_SETTINGS.offsetsRetentionCheckGroups),
    },
    producerState: {
      producerIdExpirationMs: int(INT_SETTINGS.producerIdExpirationMs),
      producersMax: int(INT_SETTINGS.maxProducersPerPartition),
    },
    maxOpenSegmentFiles: int(INT_SETTINGS.maxOpenSegmentFiles),
    minSegmentBytes: int(INT_SETTINGS.minSegmentBytes),
    logOpenCloseConcurrency: int(INT_SETTINGS.logOpenCloseConcurrency),
    minFreeDiskBytes: int(INT_SETTINGS.minFreeDiskBytes),
    diskCheckIntervalMs: int(INT_SETTINGS.diskCheckIntervalMs),
    notInThisBuild: NOT_IN_THIS_BUILD.filter((name) => raw(name) !== undefined),
    objectStore: objectStoreConfig(str, dataDir, problems),
    tiering: {
      uploadConcurrency: int(INT_SETTINGS.uploadConcurrency),
      loopIntervalMs: int(INT_SETTINGS.loopIntervalMs),
      gcIntervalMs: int(INT_SETTINGS.gcIntervalMs),
      orphanGraceMs: int(INT_SETTINGS.orphanGraceMs),
      cacheBytes: int(INT_SETTINGS.cacheBytes),
      chunkBytes: int(INT_SETTINGS.chunkBytes),
      readAheadChunks: int(INT_SETTINGS.readAheadChunks),
      fetchConcurrency: int(INT_SETTINGS.fetchConcurrency),
      maxOpenReaders: int(INT_SETTINGS.maxOpenReaders),
    },
    kafka: kafkaConfig(str, int, problems),
  };
  if (config.tiering.cacheBytes < config.tiering.chunkBytes * (config.tiering.readAheadChunks + 2)) {
    problems.push(
      `STRATA_REMOTE_CACHE_BYTES (${config.tiering.cacheBytes}) must hold the read-ahead: at least STRATA_REMOTE_CHUNK_BYTES x (STRATA_REMOTE_READ_AHEAD_CHUNKS + 2)`,
    );
  }

  // Fields checked against each other.
  if (cluster === null && config.topicDefaults.replicationFactor > 1) {
    problems.push(`STRATA_DEFAULT_REPLICATION_FACTOR (${config.topicDefaults.replicationFactor}) must be 1 on a single node (set STRATA_REDIS_URL to run a cluster)`);
  }
  // Replicas below the default factor are not made when fewer brokers are live: the check is against the largest.
  checkEffectiveConfigs(config.topicDefaults.configs, config.topicDefaults.replicationFactor, config, 'STRATA_DEFAULT', topicProblems);
  for (const p of topicProblems) problems.push(p.message);
  if (config.groups.limits.offsetMetadataMaxBytes > config.groups.limits.groupMetadataMaxBytes) {
    problems.push(
      `STRATA_OFFSET_METADATA_MAX_BYTES (${config.groups.limits.offsetMetadataMaxBytes}) must not exceed STRATA_GROUP_METADATA_MAX_BYTES (${config.groups.limits.groupMetadataMaxBytes})`,
    );
  }
  // A request the size limit allows must fit every budget it is counted against.
  if (config.bodyBytesInFlightPerConnection < config.maxRequestBytes) {
    problems.push(`STRATA_BODY_BYTES_IN_FLIGHT_PER_CONNECTION (${config.bodyBytesInFlightPerConnection}) must be at least STRATA_MAX_REQUEST_BYTES (${config.maxRequestBytes})`);
  }
  if (config.bodyBytesInFlightPerAddress < config.bodyBytesInFlightPerConnection) {
    problems.push(`STRATA_BODY_BYTES_IN_FLIGHT_PER_ADDRESS (${config.bodyBytesInFlightPerAddress}) must be at least STRATA_BODY_BYTES_IN_FLIGHT_PER_CONNECTION (${config.bodyBytesInFlightPerConnection})`);
  }
  if (config.bodyBytesInFlight < config.bodyBytesInFlightPerAddress) {
    problems.push(`STRATA_BODY_BYTES_IN_FLIGHT (${config.bodyBytesInFlight}) must be at least STRATA_BODY_BYTES_IN_FLIGHT_PER_ADDRESS (${config.bodyBytesInFlightPerAddress})`);
  }
  // Node refuses a headers timeout longer than the whole request's.
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    problems.push(`STRATA_HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}) must be at most STRATA_REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`);
  }
  if (config.topicDefaults.partitions > config.maxPartitions) {
    problems.push(`STRATA_DEFAULT_PARTITIONS (${config.topicDefaults.partitions}) exceeds STRATA_MAX_PARTITIONS (${config.maxPartitions})`);
  }

  if (problems.length > 0) {
    throw new StrataError('INVALID_CONFIG', `invalid broker configuration: ${problems.join('; ')}`, { details: { problems } });
  }
  return config;
}

function clusterConfig(
  redisUrl: string,
  str: (name: string, fallback: string) => string,
  int: (setting: IntSetting) => number,
  problems: string[],
): ClusterConfig | null {
  const leaseTtlMs = int(INT_SETTINGS.leaseTtlMs);
  const sessionTtlMs = int(INT_SETTINGS.sessionTtlMs);
  const tickMs = int(INT_SETTINGS.clusterTickMs);
  const handoverTimeoutMs = int(INT_SETTINGS.handoverTimeoutMs);
  const redisPrefix = str(STRING_SETTINGS.redisPrefix, 'strata:');
  const internalPort = int(INT_SETTINGS.internalPort);
  const replicaLagTimeMaxMs = int(INT_SETTINGS.replicaLagTimeMaxMs);
  const replicaAckTimeoutMs = int(INT_SETTINGS.replicaAckTimeoutMs);
  const replicaFetchMaxBytes = int(INT_SETTINGS.replicaFetchMaxBytes);
  const replicaFetchWaitMaxMs = int(INT_SETTINGS.replicaFetchWaitMaxMs);
  const clusterSecret = str(STRING_SETTINGS.clusterSecret, '');
  const internalAdvertisedUrl = str(STRING_SETTINGS.internalAdvertisedUrl, '').replace(/\/+$/, '');
  if (redisUrl === '') return null;
  // Replication traffic carries every record: a cluster never runs its internal port unauthenticated.
  if (clusterSecret.length < 16) problems.push('STRATA_CLUSTER_SECRET: a cluster needs a shared secret of at least 16 characters (it authenticates broker-to-broker replication)');
  if (internalAdvertisedUrl !== '' && !/^https?:\/\/[^/]+$/.test(internalAdvertisedUrl)) problems.push(`STRATA_INTERNAL_ADVERTISED_URL: must be an http(s) URL with no path, got "${internalAdvertisedUrl}"`);
  if (replicaFetchWaitMaxMs >= replicaLagTimeMaxMs) problems.push(`STRATA_REPLICA_FETCH_WAIT_MAX_MS (${replicaFetchWaitMaxMs}) must be below STRATA_REPLICA_LAG_TIME_MAX_MS (${replicaLagTimeMaxMs})`);
  try {
    const url = new URL(redisUrl);
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('scheme');
  } catch {
    problems.push(`STRATA_REDIS_URL: must be a redis:// or rediss:// URL, got "${redactUrl(redisUrl)}"`);
  }
  if (!/^[A-Za-z0-9:._-]{0,64}$/.test(redisPrefix)) problems.push(`STRATA_REDIS_PREFIX: must be up to 64 characters of [A-Za-z0-9:._-], got "${redisPrefix}"`);
  // Renewals every TTL/3 must come round several times per lease, or one slow tick loses it.
  if (tickMs * 4 > leaseTtlMs) problems.push(`STRATA_CLUSTER_TICK_MS (${tickMs}) must be at most a quarter of STRATA_LEASE_TTL_MS (${leaseTtlMs})`);
  return {
    redisUrl,
    redisPrefix,
    leaseTtlMs,
    sessionTtlMs,
    tickMs,
    handoverTimeoutMs,
    internalPort,
    internalAdvertisedUrl,
    clusterSecret,
    replicaLagTimeMaxMs,
    replicaAckTimeoutMs,
    replicaFetchMaxBytes,
    replicaFetchWaitMaxMs,
  };
}

function kafkaConfig(str: (name: string, fallback: string) => string, int: (setting: IntSetting) => number, problems: string[]): KafkaConfig {
  const advertisedAddress = str(STRING_SETTINGS.kafkaAdvertisedAddress, '');
  if (advertisedAddress !== '' && !/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(advertisedAddress)) {
    problems.push(`STRATA_KAFKA_ADVERTISED_ADDRESS: must be host:port, got "${advertisedAddress}"`);
  }
  const mode = str(STRING_SETTINGS.kafkaMetadataMode, DEFAULTS.kafkaMetadataMode);
  if (!(KAFKA_METADATA_MODES as readonly string[]).includes(mode)) problems.push(`STRATA_KAFKA_METADATA_MODE: must be one of ${KAFKA_METADATA_MODES.join(', ')}, got "${mode}"`);
  const autoCreate = str(STRING_SETTINGS.kafkaAutoCreateTopics, String(DEFAULTS.kafkaAutoCreateTopics)).toLowerCase();
  if (!['true', 'false'].includes(autoCreate)) problems.push(`STRATA_KAFKA_AUTO_CREATE_TOPICS: must be true or false, got "${autoCreate}"`);
  const kafka: KafkaConfig = {
    port: int(INT_SETTINGS.kafkaPort),
    advertisedAddress,
    metadataMode: (KAFKA_METADATA_MODES as readonly string[]).includes(mode) ? (mode as KafkaMetadataMode) : DEFAULTS.kafkaMetadataMode,
    autoCreateTopics: autoCreate === 'true',
    maxRequestBytes: int(INT_SETTINGS.kafkaMaxRequestBytes),
    maxInFlightPerConnection: int(INT_SETTINGS.kafkaMaxInFlightPerConnection),
    requestBytesInFlight: int(INT_SETTINGS.kafkaRequestBytesInFlight),
    maxConnections: int(INT_SETTINGS.kafkaMaxConnections),
    maxConnectionsPerAddress: int(INT_SETTINGS.kafkaMaxConnectionsPerAddress),
    connectionsMaxIdleMs: int(INT_SETTINGS.kafkaConnectionsMaxIdleMs),
  };
  // One request the size cap allows must fit the budget it is counted against.
  if (kafka.requestBytesInFlight < kafka.maxRequestBytes) {
    problems.push(`STRATA_KAFKA_REQUEST_BYTES_IN_FLIGHT (${kafka.requestBytesInFlight}) must be at least STRATA_KAFKA_MAX_REQUEST_BYTES (${kafka.maxRequestBytes})`);
  }
  return kafka;
}

/** A URL for logs and errors: the password replaced. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return text.replace(/\/\/[^@/]*@/, '//***@');
  }
}

function objectStoreConfig(str: (name: string, fallback: string) => string, dataDir: string, problems: string[]): ObjectStoreConfig {
  const bucket = str(STRING_SETTINGS.s3Bucket, '');
  if (bucket === '') return { kind: 'local', dir: resolve(dataDir, str(STRING_SETTINGS.objectsDir, '__strata/objects')) };
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push(`STRATA_S3_BUCKET: "${bucket}" is not a valid bucket name`);
  const endpoint = str(STRING_SETTINGS.s3Endpoint, '');
  if (endpoint !== '' && !/^https?:\/\/[^/]+/.test(endpoint)) problems.push(`STRATA_S3_ENDPOINT: must be an http(s) URL, got "${endpoint}"`);
  const pathStyle = str(STRING_SETTINGS.s3ForcePathStyle, 'false').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(pathStyle)) problems.push(`STRATA_S3_FORCE_PATH_STYLE: must be true or false, got "${pathStyle}"`);
  return {
    kind: 's3',
    bucket,
    prefix: str(STRING_SETTINGS.s3Prefix, ''),
    endpoint,
    region: str(STRING_SETTINGS.s3Region, 'us-east-1'),
    forcePathStyle: pathStyle === 'true' || pathStyle === '1',
  };
}

/** `--name value` and `--name=value`; flags win over the environment. */
function parseFlags(argv: string[], known: Set<string>, problems: string[]): Map<string, string> {
  const byFlag = new Map<string, string>();
  for (const name of known) byFlag.set(flagName(name), name);
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const name = byFlag.get(flag);
    if (name === undefined) {
      problems.push(`${flag}: unknown flag`);
      if (eq < 0 && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) i++;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) value = argv[++i]!;
    else {
      problems.push(`${flag}: missing value`);
      continue;
    }
    out.set(name, value);
  }
  return out;
}

/** The configuration as printed at start (the cluster secret and the Redis password are not). */
export function describeConfig(config: BrokerConfig): Record<string, unknown> {
  return {
    httpPort: config.httpPort,
    host: config.host,
    dataDir: config.dataDir,
    brokerId: config.brokerId,
    advertisedUrl: config.advertisedUrl === '' ? '(derived from the bound address)' : config.advertisedUrl,
    logLevel: config.logLevel,
    topicDefaults: { ...config.topicDefaults, configs: { ...config.topicDefaults.configs } },
    maxRequestBytes: config.maxRequestBytes,
    maxPartitions: config.maxPartitions,
    fetchMaxWaitMsCap: config.fetchMaxWaitMsCap,
    fetchMaxBytesCap: config.fetchMaxBytesCap,
    fetchMaxRecordsCap: config.fetchMaxRecordsCap,
    maxFetchWaiters: config.maxFetchWaiters,
    maxDecompressedBytes: config.maxDecompressedBytes,
    maxConcurrentDecompressions: config.maxConcurrentDecompressions,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    bodyBytesInFlightPerConnection: config.bodyBytesInFlightPerConnection,
    bodyBytesInFlightPerAddress: config.bodyBytesInFlightPerAddress,
    bodyBytesInFlight: config.bodyBytesInFlight,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    jsonProduceMaxRecords: config.jsonProduceMaxRecords,
    maintenanceIntervalMs: config.maintenanceIntervalMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    groups: config.groups,
    producerState: config.producerState,
    maxOpenSegmentFiles: config.maxOpenSegmentFiles,
    minSegmentBytes: config.minSegmentBytes,
    logOpenCloseConcurrency: config.logOpenCloseConcurrency,
    minFreeDiskBytes: config.minFreeDiskBytes,
    diskCheckIntervalMs: config.diskCheckIntervalMs,
    objectStore: config.objectStore,
    tiering: config.tiering,
    notInThisBuild: config.notInThisBuild,
    cluster: config.cluster === null ? null : { ...config.cluster, redisUrl: redactUrl(config.cluster.redisUrl), clusterSecret: '***' },
    kafka: config.kafka,
  };
}
