// The broker configuration's shape (config/load.ts builds it, once, validated).

import type { GroupLimits } from '@strata/coord';
import type { ProducerStateLimits } from '@strata/log';
import type { KafkaMetadataMode } from './settings.js';
import type { LogLevel } from '../logger.js';
import type { TopicConfigs } from '../topics/topic-config.js';

/**
 * How brokers coordinate (docs/architecture.md#coordination, #cluster). Every broker is a cluster
 * node: with STRATA_REDIS_URL its coordinator is that Redis, else the in-process engine under the
 * data dir (a cluster of one). The Redis settings are the only ones that differ.
 */
/** cn: the subject's CN is the broker id; dns-san: a DNS subjectAltName is; none: any certificate of the CA speaks for any broker. */
export const INTERNAL_CERT_BINDINGS = ['cn', 'dns-san', 'none'] as const;
export type InternalCertBinding = (typeof INTERNAL_CERT_BINDINGS)[number];

export interface ClusterConfig {
  /** redis://[user:password@]host:port[/db]; empty: the in-process coordinator under the data dir. */
  redisUrl: string;
  /** Prefix of every Redis key: several clusters can share one Redis. */
  redisPrefix: string;
  /** PEM file of the CA a rediss:// server's certificate is checked against; empty = Node's roots. */
  redisCaFile: string;
  /** Partition and controller lease TTL: how long a dead leader blocks its partitions. */
  leaseTtlMs: number;
  /** A broker that misses heartbeats this long leaves the live set (its partitions move). */
  sessionTtlMs: number;
  /** Period of the leadership and controller loop. */
  tickMs: number;
  /** How long a broker leaving on SIGTERM waits for its partitions to be handed over. */
  handoverTimeoutMs: number;
  /**
   * Broker-to-broker listener (replication); 0 = an ephemeral port. Without Redis it defaults to 0
   * on loopback: a peer must share the in-process coordinator, so it runs in this process.
   */
  internalPort: number;
  /** The address the internal listener binds: STRATA_INTERNAL_HOST, else STRATA_HOST with Redis, loopback without. */
  internalHost: string;
  /** The internal URL other brokers reach this one at; empty = the advertised URL's host with the internal port. */
  internalAdvertisedUrl: string;
  /**
   * The secret each broker's credential derives from (security/broker-credentials.ts; never sent,
   * never printed); without Redis, random per process unless set. Empty when clusterSecretFile is set.
   */
  clusterSecret: string;
  /** Another secret accepted (not signed with): a rotation in progress; empty = none. */
  clusterSecretPrevious: string;
  /** A file holding the secret (line 1) and another accepted one (line 2); empty = the two settings above. */
  clusterSecretFile: string;
  clusterSecretReloadIntervalMs: number;
  /** How far a credential's timestamp may be from this broker's clock. */
  internalAuthMaxSkewMs: number;
  /** Nonces remembered against replays. */
  internalAuthNoncesMax: number;
  /** Under mTLS, which part of a peer broker's certificate must name its broker id (security/broker-credentials.ts). */
  internalCertBinding: InternalCertBinding;
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
  | { kind: 's3'; bucket: string; prefix: string; endpoint: string; region: string; forcePathStyle: boolean; /** PEM CA for an https endpoint; empty = Node's roots. */ caFile: string };

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
  /** STRATA_APPEND_GROUP_BYTES_MAX: the logs Tiering opens write their queued appends together up to it. */
  appendGroupBytesMax: number;
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
  /** The in-process coordinator's offsets log: longest wait (ms) for a commit's fdatasync. */
  offsetsFlushIntervalMs: number;
  /** The in-process coordinator's offsets log: bytes of a file before it rolls. */
  offsetsLogRollBytes: number;
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
  /** Produce bodies up to this many bytes are validated synchronously (settings.ts). */
  produceSyncValidationBytesMax: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  bodyBytesInFlightPerConnection: number;
  bodyBytesInFlightPerAddress: number;
  bodyBytesInFlight: number;
  bodyIdleTimeoutMs: number;
  /** Raw-produce body buffers kept for reuse (each BODY_PREALLOCATE_BYTES_MAX, 256 KiB). */
  produceBodyPoolBuffers: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  jsonProduceMaxRecords: number;
  maintenanceIntervalMs: number;
  shutdownTimeoutMs: number;
  groups: GroupsConfig;
  quotas: QuotasConfig;
  /** Idempotent producers' state in each partition log. */
  producerState: ProducerStateLimits;
  maxOpenSegmentFiles: number;
  /** The floor of segment.bytes (STRATA_MIN_SEGMENT_BYTES; below the default only for tests). */
  minSegmentBytes: number;
  logOpenCloseConcurrency: number;
  minFreeDiskBytes: number;
  diskCheckIntervalMs: number;
  metricsLagGroupsMax: number;
  /** STRATA_DISK_RESERVE_BYTES: released when the disk is full (disk-monitor.ts). */
  diskReserveBytes: number;
  /** Names of NOT_IN_THIS_BUILD settings that were set (warned about at start, otherwise ignored). */
  notInThisBuild: string[];
  objectStore: ObjectStoreConfig;
  tiering: TieringConfig;
  cluster: ClusterConfig;
  kafka: KafkaConfig;
  /** TLS on the listeners; null = plaintext everywhere. */
  tls: TlsConfig | null;
  /** Origins whose web pages may call the API (CORS, http/browser-guard.ts); empty: same-origin pages only. */
  corsOrigins: string[];
  console: ConsoleConfig;
  events: EventsConfig;
  auth: AuthConfig;
  authorization: AuthorizationConfig;
}

/** Who may do what (services/broker/src/auth/): Kafka's ACL model, or every request allowed. */
export interface AuthorizationConfig {
  authorizer: 'none' | 'acl';
  /** Principals every check allows (Kafka's super.users), in Kafka's form `User:<name>`. */
  superUsers: string[];
  allowEveryoneIfNoAclFound: boolean;
  refreshIntervalMs: number;
}

/** Client quotas (services/broker/src/quotas/): how rates are measured, and the connection limits. */
export interface QuotasConfig {
  windowSamples: number;
  windowMs: number;
  refreshIntervalMs: number;
  trackedMax: number;
  /** Connections/s per IP address when no ip quota applies; 0 = none. */
  connectionCreationRatePerIp: number;
  /** 0 = none. */
  maxConnectionsPerPrincipal: number;
}

/** Who may use the broker (services/broker/src/auth/). */
export interface AuthConfig {
  /** none: nobody is authenticated (mTLS still names the principal); optional: credentials are checked when given; required: nothing without them. */
  mode: 'none' | 'optional' | 'required';
  /** Offered by the Kafka listener, in this order. */
  saslMechanisms: SaslMechanism[];
  saslSessionLifetimeMs: number;
  scramIterations: number;
  failuresMax: number;
  failureWindowMs: number;
  failureSourcesMax: number;
  passwordCacheEntries: number;
  /** /metrics answers without credentials or ACL check (STRATA_METRICS_PUBLIC). */
  metricsPublic: boolean;
}

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** TLS on the HTTP, Kafka and internal listeners (security/tls.ts). Paths are absolute. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** mTLS: every client must present a certificate this CA signed; empty = no client certificate asked. */
  clientCaFile: string;
  /** The CA this broker trusts when it calls another broker (forwarding, replication); empty = Node's roots. */
  caFile: string;
  /** How often the files are checked for a change. */
  reloadIntervalMs: number;
  /** A plaintext HTTP listener on loopback (0 = none). */
  plaintextHttpPort: number;
}

/** The web console served at /console. */
export interface ConsoleConfig {
  /** null = no console; '' = the console built with this broker; else a directory of built assets. */
  dir: string | null;
  assetsBytesMax: number;
}

/** The cluster events feed (services/broker/src/events/). */
export interface EventsConfig {
  /** Events kept in memory. */
  keptMax: number;
  /** Bytes of events kept in memory. */
  keptBytesMax: number;
  /** Each other broker's share of a /v1/events answer waits this long (ms). */
  peerTimeoutMs: number;
  /** Bytes of one other broker's answer. */
  peerReplyBytesMax: number;
}

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
  /** Users one AlterUserScramCredentials may change. */
  scramUsersPerRequestMax: number;
  /** Kafka's group.consumer.session.timeout.ms: a KIP-848 member's session, set when it joins. */
  groupSessionTimeoutMs: number;
  /** Classic consumer groups (JoinGroup/SyncGroup): the STRATA_KAFKA_GROUP_* settings. */
  groups: KafkaGroupsConfig;
}

export interface KafkaGroupsConfig {
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  protocolsMax: number;
  memberMetadataMaxBytes: number;
  assignmentMaxBytes: number;
  /** How often stored classic groups this broker coordinates but does not hold are loaded (their members' sessions then run), ms. */
  takeoverIntervalMs: number;
}
