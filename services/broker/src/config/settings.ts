// The broker's settings: every named default in one place (DEFAULTS, the topic defaults), and the
// table of each setting's environment name, flag and bounds. config/load.ts reads them.
//
// Each setting STRATA_FOO_BAR has the flag form --foo-bar (also --foo-bar=value).

import { COORDINATOR_DEFAULTS, GROUP_LIMIT_DEFAULTS, LIMITS, OFFSETS_RETENTION_MS_DEFAULT } from '@strata/coord';
import { DEFAULT_APPEND_GROUP_BYTES_MAX, DEFAULT_PRODUCER_STATE_LIMITS } from '@strata/log';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from '@strata/protocol';
import type { LogLevel } from '../logger.js';
import { KAFKA_DEFAULTS, KAFKA_INT_SETTINGS } from './kafka-settings.js';
import { TOPIC_CONFIG_KEYS, type TopicConfigKey, type TopicConfigs } from '../topics/topic-config.js';

const MiB = 1024 * 1024;

export { KAFKA_METADATA_MODES, type KafkaMetadataMode } from './kafka-settings.js';

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

/** The shortest cluster secret accepted, in characters: each broker's credential derives from it. */
export const CLUSTER_SECRET_MIN_CHARS = 16;

/** Broker-level defaults (the topic ones are above). */
export const DEFAULTS = Object.freeze({
  httpPort: 8080,
  host: '0.0.0.0',
  dataDir: './data',
  brokerId: '0',
  logLevel: 'info' as LogLevel,
  defaultPartitions: 1,
  /**
   * A topic's replication factor when the request names none. Its replicas go on as many live
   * brokers as there are, up to it: a single node holds one, and the controller adds the rest as
   * brokers join. (An explicit factor must be placeable now, as in Kafka.)
   */
  /** A single node's (the in-process coordinator: no peer can exist); with Redis, CLUSTER_DEFAULT_REPLICATION_FACTOR. */
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
   * Bytes one gzip batch may inflate to, at produce (validation) and when a JSON fetch decodes stored
   * batches: past it the batch is MESSAGE_TOO_LARGE. Bounds the memory of one decompression.
   */
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  /**
   * Decompressions running at once (produce validation and JSON fetch); the rest wait their turn. Each
   * holds a thread of libuv's pool (4, shared with file reads) and up to maxDecompressedBytes.
   */
  maxConcurrentDecompressions: 2,
  /** Produce bodies (HTTP raw, a Kafka partition's records) up to this many bytes are validated synchronously, compressed sections inflated on the spot up to it; larger ones off the event loop (0: always). */
  produceSyncValidationBytesMax: 64 * 1024,
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
  /**
   * Raw-produce bodies up to 256 KiB are read into buffers kept for reuse (count; memory: this x
   * 256 KiB): a fresh buffer per request was GC pressure on the hot path. 0 turns the pool off.
   */
  produceBodyPoolBuffers: 64,
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
  /** In-process coordinator: longest time (ms) a commit waits for the offsets log's fdatasync (0: each commit synced before it answers). */
  offsetsFlushIntervalMs: COORDINATOR_DEFAULTS.offsetsFlushIntervalMs,
  /** In-process coordinator: bytes of an offsets log file before it rolls (its groups then written out, the file compacted away). */
  offsetsLogRollBytes: COORDINATOR_DEFAULTS.offsetsLogRollBytes,
  /**
   * Segment file descriptors kept open at once, across every partition (an LRU; a file in use
   * is never closed under its user). A quarter of the common `ulimit -n` of 1024: the rest is
   * for client sockets, replication, Redis, S3 and short-lived index and metadata files.
   */
  maxOpenSegmentFiles: 256,
  /**
   * Bytes at most in one write of a partition's queued produce appends (group commit,
   * packages/log/src/append-groups.ts): requests waiting on the same partition go to disk together,
   * each with its own offsets (0: each alone).
   */
  appendGroupBytesMax: DEFAULT_APPEND_GROUP_BYTES_MAX,
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
  /**
   * Bytes kept in a reserve file on the data disk and released when it is full, so a broker at 0
   * bytes free can still write what leading its partitions takes (0: no reserve).
   */
  diskReserveBytes: 1 * MiB,
  /** Groups whose lag one /metrics scrape reports (the first by name): bounds a scrape's coordinator reads and series. */
  metricsLagGroupsMax: 100,
  /**
   * Kafka's producer.id.expiration.ms (a broker setting there too, 1 day): each partition forgets an
   * idempotent producer that has not written to it for this long (ms).
   */
  producerIdExpirationMs: DEFAULT_PRODUCER_STATE_LIMITS.producerIdExpirationMs,
  /** Idempotent producers one partition remembers; past it the least recently active is forgotten (bounds memory). */
  maxProducersPerPartition: DEFAULT_PRODUCER_STATE_LIMITS.producersMax,
  // Client quotas (services/broker/src/quotas/; Kafka's client quotas, KIP-13/55/124/219/612).
  /** Windows in one quota span (Kafka's quota.window.num): a client's first burst is (samples - 1) windows of its quota; one throttle lasts at most the span (quotas/token-bucket.ts). */
  quotaWindowSamples: 11,
  /** Length of one window, ms (Kafka's quota.window.size.seconds, 1 s). */
  quotaWindowMs: 1_000,
  /** How often a broker reads the quotas from the coordinator, ms (a change made on this broker applies at once). */
  quotaRefreshIntervalMs: 5_000,
  /** Rates one broker tracks at once (clients, users, IP addresses, per quota kind); the least recently used is dropped past it. */
  quotaTrackedMax: 10_000,
  /**
   * New connections per second from one IP address when no ip quota says otherwise (Kafka's
   * connection_creation_rate, KIP-612; 0 = no limit). Measured over the quota windows; the excess is closed.
   */
  connectionCreationRatePerIp: 0,
  /** Connections one authenticated principal may hold on a listener (0 = no limit); the excess is closed. */
  maxConnectionsPerPrincipal: 0,
  // Authentication (services/broker/src/auth/): users and tokens live in the coordinator.
  /** Kafka's connections.max.reauth.ms (KIP-368): a SASL session's lifetime; 0 = sessions do not expire. */
  saslSessionLifetimeMs: 0,
  /** PBKDF2 iterations of a new SCRAM credential (RFC 7677's floor). */
  scramIterations: 4096,
  /** Failed logins from one source address within the window before the address is refused until it ends. */
  authFailuresMax: 10,
  authFailureWindowMs: 60_000,
  /** Source addresses the failed-login table remembers (the oldest is forgotten first). */
  authFailureSourcesMax: 10_000,
  /** Verified (user, password) pairs remembered, so HTTP Basic does not run PBKDF2 on every request. */
  authPasswordCacheEntries: 1024,
  // TLS (services/broker/src/security/tls.ts): on for every listener once a certificate and key are set.
  /** How often the certificate, key and client CA files are checked for a change (ms); SIGHUP reloads at once. */
  tlsReloadIntervalMs: 10_000,
  /** A plaintext HTTP listener on loopback beside the TLS one, for local tools (0 = none: the default once TLS is on). */
  plaintextHttpPort: 0,
  // The web console (services/console), served at /console from memory (http/console-assets.ts).
  // Authorization with Kafka's ACLs (services/broker/src/auth/).
  /** 'none' (every request allowed) or 'acl' (Kafka's ACL model, checked in the broker core). */
  authorizer: 'none' as 'none' | 'acl',
  /** Kafka's allow.everyone.if.no.acl.found: with 'acl', a resource no binding names is open to all ('true') or to super users only. */
  allowEveryoneIfNoAclFound: false,
  /** /metrics open to anyone, whatever STRATA_AUTH and the ACLs say. */
  metricsPublic: false,
  /** How often each broker asks the coordinator whether the ACLs changed (ms): a change made through another broker applies here within this bound. */
  aclRefreshIntervalMs: 1_000,
  /** '' = the console built with this broker (@strata/console's dist); 'off' = no console; else a directory of built assets. */
  consoleDir: '',
  /** Bytes of console assets read into memory at start; a larger build is not served (logged), the broker still starts. */
  consoleAssetsBytesMax: 8 * MiB,
  // The cluster events feed (GET /v1/events; services/broker/src/events/).
  /** Events this broker keeps in memory (the oldest are dropped first). */
  eventsKeptMax: 10_000,
  /** Bytes of events this broker keeps in memory (each counted as its JSON size). */
  eventsKeptBytesMax: 4 * MiB,
  /** How long the broker answering /v1/events waits for each other broker's events (ms); a slower one is reported, not waited for. */
  eventsPeerTimeoutMs: 2_000,
  /** Bytes of one other broker's answer to an events request; a larger answer is refused and reported. */
  eventsPeerReplyBytesMax: 4 * MiB,
  ...KAFKA_DEFAULTS,
});

/**
 * STRATA_DEFAULT_REPLICATION_FACTOR when unset and a Redis URL is set: Kafka's recommended 3. A topic
 * created while fewer brokers are live keeps the factor; the controller adds its replicas as brokers join.
 */
export const CLUSTER_DEFAULT_REPLICATION_FACTOR = 3;


/**
 * STRATA_LEASE_TTL_MS when unset and the coordinator is the in-process engine (ms): only brokers of
 * this process can hold its leases, so a long lease delays no failover (config/load.ts says why).
 */
export const IN_PROCESS_LEASE_TTL_MS = 30_000;

/** Fetch defaults when the request does not say (not configurable: the caps above are). */
export const FETCH_DEFAULT_MAX_BYTES = 1 * MiB;
export const FETCH_DEFAULT_MAX_RECORDS = 500;

/** Files of console assets read at start (with consoleAssetsBytesMax, bounds a mistaken STRATA_CONSOLE_DIR). Not configurable: a build has a handful. */
export const CONSOLE_FILES_MAX = 1_000;

/**
 * Nesting levels ([ and {) a JSON request body may have; deeper is INVALID_REQUEST. The same bound
 * decides whether a stored value renders as JSON in a fetch (deeper ones come back base64), so
 * anything JSON produce accepts, JSON fetch renders. Not configurable: it guards the recursion of
 * JSON.stringify (V8 overflows its stack at a few thousand levels), not a resource to tune.
 */
export const JSON_MAX_DEPTH = 128;

/** Settings from docs/architecture.md#http-api this build recognises but does not use yet (none now: replication landed). */
export const NOT_IN_THIS_BUILD = [] as const;

/** The env var for a topic config default: segment.bytes -> STRATA_DEFAULT_SEGMENT_BYTES. */
export function topicDefaultEnvName(key: TopicConfigKey): string {
  return `STRATA_DEFAULT_${key.toUpperCase().replaceAll('.', '_')}`;
}

/** STRATA_HTTP_PORT -> --http-port */
export function flagName(envName: string): string {
  return `--${envName.slice('STRATA_'.length).toLowerCase().replaceAll('_', '-')}`;
}

export interface IntSetting {
  env: string;
  default: number;
  min: number;
  max: number;
}

export const INT_SETTINGS = {
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
  produceSyncValidationBytesMax: { env: 'STRATA_PRODUCE_SYNC_VALIDATION_BYTES_MAX', default: DEFAULTS.produceSyncValidationBytesMax, min: 0, max: 16 * MiB },
  maxConnections: { env: 'STRATA_MAX_CONNECTIONS', default: DEFAULTS.maxConnections, min: 1, max: 1_000_000 },
  maxConnectionsPerAddress: { env: 'STRATA_MAX_CONNECTIONS_PER_ADDRESS', default: DEFAULTS.maxConnectionsPerAddress, min: 0, max: 1_000_000 },
  quotaWindowSamples: { env: 'STRATA_QUOTA_WINDOW_SAMPLES', default: DEFAULTS.quotaWindowSamples, min: 2, max: 100 },
  quotaWindowMs: { env: 'STRATA_QUOTA_WINDOW_MS', default: DEFAULTS.quotaWindowMs, min: 100, max: 60_000 },
  quotaRefreshIntervalMs: { env: 'STRATA_QUOTA_REFRESH_INTERVAL_MS', default: DEFAULTS.quotaRefreshIntervalMs, min: 100, max: 600_000 },
  quotaTrackedMax: { env: 'STRATA_QUOTA_TRACKED_MAX', default: DEFAULTS.quotaTrackedMax, min: 100, max: 1_000_000 },
  connectionCreationRatePerIp: { env: 'STRATA_CONNECTION_CREATION_RATE_PER_IP', default: DEFAULTS.connectionCreationRatePerIp, min: 0, max: 1_000_000 },
  maxConnectionsPerPrincipal: { env: 'STRATA_MAX_CONNECTIONS_PER_PRINCIPAL', default: DEFAULTS.maxConnectionsPerPrincipal, min: 0, max: 1_000_000 },
  bodyBytesInFlightPerConnection: { env: 'STRATA_BODY_BYTES_IN_FLIGHT_PER_CONNECTION', default: DEFAULTS.bodyBytesInFlightPerConnection, min: 1024, max: 1024 * 1024 * MiB },
  bodyBytesInFlightPerAddress: { env: 'STRATA_BODY_BYTES_IN_FLIGHT_PER_ADDRESS', default: DEFAULTS.bodyBytesInFlightPerAddress, min: 1024, max: 1024 * 1024 * MiB },
  bodyBytesInFlight: { env: 'STRATA_BODY_BYTES_IN_FLIGHT', default: DEFAULTS.bodyBytesInFlight, min: 1024, max: 1024 * 1024 * MiB },
  bodyIdleTimeoutMs: { env: 'STRATA_BODY_IDLE_TIMEOUT_MS', default: DEFAULTS.bodyIdleTimeoutMs, min: 100, max: 300_000 },
  produceBodyPoolBuffers: { env: 'STRATA_PRODUCE_BODY_POOL_BUFFERS', default: DEFAULTS.produceBodyPoolBuffers, min: 0, max: 4096 },
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
  offsetsRetentionCheckGroups: { env: 'STRATA_OFFSETS_RETENTION_CHECK_GROUPS', default: DEFAULTS.offsetsRetentionCheckGroups, min: 1, max: LIMITS.expiryGroupsPerPassMax },
  offsetsFlushIntervalMs: { env: 'STRATA_OFFSETS_FLUSH_INTERVAL_MS', default: DEFAULTS.offsetsFlushIntervalMs, min: 0, max: LIMITS.offsetsFlushIntervalMsCeiling },
  offsetsLogRollBytes: { env: 'STRATA_OFFSETS_LOG_ROLL_BYTES', default: DEFAULTS.offsetsLogRollBytes, min: LIMITS.offsetsLogRollBytesFloor, max: LIMITS.offsetsLogRollBytesCeiling },
  maxOpenSegmentFiles: { env: 'STRATA_MAX_OPEN_SEGMENT_FILES', default: DEFAULTS.maxOpenSegmentFiles, min: 8, max: 1_000_000 },
  appendGroupBytesMax: { env: 'STRATA_APPEND_GROUP_BYTES_MAX', default: DEFAULTS.appendGroupBytesMax, min: 0, max: 1024 * MiB },
  // 14 bytes: the smallest file that can hold a batch's length prefix (the old floor).
  minSegmentBytes: { env: 'STRATA_MIN_SEGMENT_BYTES', default: DEFAULTS.minSegmentBytes, min: 14, max: 1024 * MiB },
  logOpenCloseConcurrency: { env: 'STRATA_LOG_OPEN_CLOSE_CONCURRENCY', default: DEFAULTS.logOpenCloseConcurrency, min: 1, max: 1_024 },
  minFreeDiskBytes: { env: 'STRATA_MIN_FREE_DISK_BYTES', default: DEFAULTS.minFreeDiskBytes, min: 0, max: Number.MAX_SAFE_INTEGER },
  diskCheckIntervalMs: { env: 'STRATA_DISK_CHECK_INTERVAL_MS', default: DEFAULTS.diskCheckIntervalMs, min: 10, max: 600_000 },
  metricsLagGroupsMax: { env: 'STRATA_METRICS_LAG_GROUPS_MAX', default: DEFAULTS.metricsLagGroupsMax, min: 0, max: 10_000 },
  diskReserveBytes: { env: 'STRATA_DISK_RESERVE_BYTES', default: DEFAULTS.diskReserveBytes, min: 0, max: 1024 * MiB },
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
  // A broker credential (security/broker-credentials.ts) is refused when its timestamp is further
  // than this from the receiver's clock: the window a captured header could be replayed in, were
  // its nonce not remembered. Brokers' clocks must agree within it (NTP does far better).
  internalAuthMaxSkewMs: { env: 'STRATA_INTERNAL_AUTH_MAX_SKEW_MS', default: 30_000, min: 1_000, max: 600_000 },
  // Nonces remembered within that window (about 60 bytes each). Past it the oldest are forgotten
  // and anything signed before them is refused: the bound costs availability, never a replay.
  internalAuthNoncesMax: { env: 'STRATA_INTERNAL_AUTH_NONCES_MAX', default: 200_000, min: 1_000, max: 10_000_000 },
  // How often STRATA_CLUSTER_SECRET_FILE is checked for a change (SIGHUP rereads it at once).
  clusterSecretReloadIntervalMs: { env: 'STRATA_CLUSTER_SECRET_RELOAD_INTERVAL_MS', default: 10_000, min: 100, max: 24 * 3_600_000 },
  replicaLagTimeMaxMs: { env: 'STRATA_REPLICA_LAG_TIME_MAX_MS', default: 30_000, min: 100, max: 600_000 },
  replicaAckTimeoutMs: { env: 'STRATA_REPLICA_ACK_TIMEOUT_MS', default: 30_000, min: 100, max: 600_000 },
  replicaFetchMaxBytes: { env: 'STRATA_REPLICA_FETCH_MAX_BYTES', default: 4 * MiB, min: 64 * 1024, max: 256 * MiB },
  replicaFetchWaitMaxMs: { env: 'STRATA_REPLICA_FETCH_WAIT_MAX_MS', default: 500, min: 1, max: 30_000 },
  producerIdExpirationMs: { env: 'STRATA_PRODUCER_ID_EXPIRATION_MS', default: DEFAULTS.producerIdExpirationMs, min: 1_000, max: Number.MAX_SAFE_INTEGER },
  ...KAFKA_INT_SETTINGS,
  maxProducersPerPartition: { env: 'STRATA_MAX_PRODUCERS_PER_PARTITION', default: DEFAULTS.maxProducersPerPartition, min: 1, max: 1_000_000 },
  saslSessionLifetimeMs: { env: 'STRATA_SASL_SESSION_LIFETIME_MS', default: DEFAULTS.saslSessionLifetimeMs, min: 0, max: 7 * 24 * 3_600_000 },
  scramIterations: { env: 'STRATA_SCRAM_ITERATIONS', default: DEFAULTS.scramIterations, min: 4096, max: 1_000_000 },
  authFailuresMax: { env: 'STRATA_AUTH_FAILURES_MAX', default: DEFAULTS.authFailuresMax, min: 1, max: 1_000_000 },
  authFailureWindowMs: { env: 'STRATA_AUTH_FAILURE_WINDOW_MS', default: DEFAULTS.authFailureWindowMs, min: 1_000, max: 24 * 3_600_000 },
  authFailureSourcesMax: { env: 'STRATA_AUTH_FAILURE_SOURCES_MAX', default: DEFAULTS.authFailureSourcesMax, min: 1, max: 1_000_000 },
  authPasswordCacheEntries: { env: 'STRATA_AUTH_PASSWORD_CACHE_ENTRIES', default: DEFAULTS.authPasswordCacheEntries, min: 0, max: 1_000_000 },
  tlsReloadIntervalMs: { env: 'STRATA_TLS_RELOAD_INTERVAL_MS', default: DEFAULTS.tlsReloadIntervalMs, min: 100, max: 24 * 3_600_000 },
  aclRefreshIntervalMs: { env: 'STRATA_ACL_REFRESH_INTERVAL_MS', default: DEFAULTS.aclRefreshIntervalMs, min: 50, max: 600_000 },
  plaintextHttpPort: { env: 'STRATA_PLAINTEXT_HTTP_PORT', default: DEFAULTS.plaintextHttpPort, min: 0, max: 65_535 },
  consoleAssetsBytesMax: { env: 'STRATA_CONSOLE_ASSETS_BYTES_MAX', default: DEFAULTS.consoleAssetsBytesMax, min: 64 * 1024, max: 256 * MiB },
  eventsKeptMax: { env: 'STRATA_EVENTS_KEPT_MAX', default: DEFAULTS.eventsKeptMax, min: 16, max: 1_000_000 },
  eventsKeptBytesMax: { env: 'STRATA_EVENTS_KEPT_BYTES_MAX', default: DEFAULTS.eventsKeptBytesMax, min: 64 * 1024, max: 256 * MiB },
  eventsPeerTimeoutMs: { env: 'STRATA_EVENTS_PEER_TIMEOUT_MS', default: DEFAULTS.eventsPeerTimeoutMs, min: 100, max: 60_000 },
  eventsPeerReplyBytesMax: { env: 'STRATA_EVENTS_PEER_REPLY_BYTES_MAX', default: DEFAULTS.eventsPeerReplyBytesMax, min: 64 * 1024, max: 256 * MiB },
} as const satisfies Record<string, IntSetting>;

export const STRING_SETTINGS = {
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
  // Also accepted from other brokers, never used to sign: one half of a rotation (README, "Internal port").
  clusterSecretPrevious: 'STRATA_CLUSTER_SECRET_PREVIOUS',
  // A file instead of the two above: line 1 the secret this broker signs with, line 2 (optional)
  // another it accepts. Reread on SIGHUP and when it changes, so a rotation needs no restart.
  clusterSecretFile: 'STRATA_CLUSTER_SECRET_FILE',
  // The address the internal (broker-to-broker) listener binds; default STRATA_HOST with Redis, loopback without.
  internalHost: 'STRATA_INTERNAL_HOST',
  // Under mTLS, what binds a peer broker's certificate to its id: cn (default), dns-san or none.
  internalCertBinding: 'STRATA_INTERNAL_CERT_BINDING',
  // Comma-separated origins (scheme://host[:port]) whose pages may call the API from a browser.
  corsOrigins: 'STRATA_CORS_ORIGINS',
  internalAdvertisedUrl: 'STRATA_INTERNAL_ADVERTISED_URL',
  kafkaAdvertisedAddress: 'STRATA_KAFKA_ADVERTISED_ADDRESS',
  kafkaMetadataMode: 'STRATA_KAFKA_METADATA_MODE',
  kafkaAutoCreateTopics: 'STRATA_KAFKA_AUTO_CREATE_TOPICS',
  // PEM files. Certificate and key: TLS on the HTTP, Kafka and internal listeners. Client CA: mTLS
  // (a client must present a certificate it signed). CA: what this broker trusts when it calls
  // another broker. Redis and S3 CAs: what it trusts on rediss:// and https:// endpoints.
  tlsCertFile: 'STRATA_TLS_CERT_FILE',
  tlsKeyFile: 'STRATA_TLS_KEY_FILE',
  tlsClientCaFile: 'STRATA_TLS_CLIENT_CA_FILE',
  tlsCaFile: 'STRATA_TLS_CA_FILE',
  redisCaFile: 'STRATA_REDIS_CA_FILE',
  s3CaFile: 'STRATA_S3_CA_FILE',
  consoleDir: 'STRATA_CONSOLE_DIR',
  // none | optional | required (auth/modes.ts); the SASL mechanisms the Kafka listener offers.
  auth: 'STRATA_AUTH',
  saslMechanisms: 'STRATA_SASL_MECHANISMS',
  // Authorization: 'none' | 'acl'; super users are ';'-separated principals (User:<name>), as Kafka's super.users.
  authorizer: 'STRATA_AUTHORIZER',
  superUsers: 'STRATA_SUPER_USERS',
  allowEveryoneIfNoAclFound: 'STRATA_ALLOW_EVERYONE_IF_NO_ACL_FOUND',
  // true: /metrics answers anyone (a scraper that cannot authenticate); false: under STRATA_AUTH=required it needs
  // credentials, and with STRATA_AUTHORIZER=acl describe on the cluster (its labels name every topic and group).
  metricsPublic: 'STRATA_METRICS_PUBLIC',
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

