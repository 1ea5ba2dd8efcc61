// Reading the configuration: from the environment and from flags (flags win), validated once with
// every problem reported together (fields checked against each other too).

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { StrataError } from '@strata/protocol';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../logger.js';
import { checkEffectiveConfigs, parseTopicConfigValue, TOPIC_CONFIG_KEYS, type Problem, type TopicConfigs } from '../topics/topic-config.js';
import { redactUrl } from './describe.js';
import {
  CLUSTER_DEFAULT_REPLICATION_FACTOR,
  CLUSTER_SECRET_MIN_CHARS,
  DEFAULT_TOPIC_CONFIGS,
  DEFAULTS,
  INT_SETTINGS,
  IN_PROCESS_LEASE_TTL_MS,
  KAFKA_METADATA_MODES,
  NOT_IN_THIS_BUILD,
  STRING_SETTINGS,
  flagName,
  knownSettings,
  topicDefaultEnvName,
  type IntSetting,
  type KafkaMetadataMode,
} from './settings.js';
import { authConfig, authorizationConfig } from './load-security.js';
import { INTERNAL_CERT_BINDINGS, type BrokerConfig, type ClusterConfig, type InternalCertBinding, type KafkaConfig, type ObjectStoreConfig, type TlsConfig } from './types.js';

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
  // Brokers sharing a Redis each need their own id: the host name is unique per pod or container.
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

  const cluster = clusterConfig(redisUrl, host, raw, str, int, problems);
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
      replicationFactor:
        raw(INT_SETTINGS.defaultReplicationFactor.env) === undefined && redisUrl !== '' ? CLUSTER_DEFAULT_REPLICATION_FACTOR : int(INT_SETTINGS.defaultReplicationFactor),
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
    produceSyncValidationBytesMax: int(INT_SETTINGS.produceSyncValidationBytesMax),
    maxConnections: int(INT_SETTINGS.maxConnections),
    maxConnectionsPerAddress: int(INT_SETTINGS.maxConnectionsPerAddress),
    bodyBytesInFlightPerConnection: int(INT_SETTINGS.bodyBytesInFlightPerConnection),
    bodyBytesInFlightPerAddress: int(INT_SETTINGS.bodyBytesInFlightPerAddress),
    bodyBytesInFlight: int(INT_SETTINGS.bodyBytesInFlight),
    bodyIdleTimeoutMs: int(INT_SETTINGS.bodyIdleTimeoutMs),
    produceBodyPoolBuffers: int(INT_SETTINGS.produceBodyPoolBuffers),
    headersTimeoutMs: int(INT_SETTINGS.headersTimeoutMs),
    requestTimeoutMs: int(INT_SETTINGS.requestTimeoutMs),
    keepAliveTimeoutMs: int(INT_SETTINGS.keepAliveTimeoutMs),
    jsonProduceMaxRecords: int(INT_SETTINGS.jsonProduceMaxRecords),
    maintenanceIntervalMs: int(INT_SETTINGS.maintenanceIntervalMs),
    shutdownTimeoutMs: int(INT_SETTINGS.shutdownTimeoutMs),
    quotas: {
      windowSamples: int(INT_SETTINGS.quotaWindowSamples),
      windowMs: int(INT_SETTINGS.quotaWindowMs),
      refreshIntervalMs: int(INT_SETTINGS.quotaRefreshIntervalMs),
      trackedMax: int(INT_SETTINGS.quotaTrackedMax),
      connectionCreationRatePerIp: int(INT_SETTINGS.connectionCreationRatePerIp),
      maxConnectionsPerPrincipal: int(INT_SETTINGS.maxConnectionsPerPrincipal),
    },
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
      offsetsFlushIntervalMs: int(INT_SETTINGS.offsetsFlushIntervalMs),
      offsetsLogRollBytes: int(INT_SETTINGS.offsetsLogRollBytes),
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
    metricsLagGroupsMax: int(INT_SETTINGS.metricsLagGroupsMax),
    diskReserveBytes: int(INT_SETTINGS.diskReserveBytes),
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
      appendGroupBytesMax: int(INT_SETTINGS.appendGroupBytesMax),
    },
    kafka: kafkaConfig(str, int, problems),
    tls: tlsConfig(str, int, raw, problems),
    auth: authConfig(str, int, problems),
    authorization: authorizationConfig(str, int, raw, problems),
    corsOrigins: parseCorsOrigins(str(STRING_SETTINGS.corsOrigins, ''), problems),
    console: {
      dir: consoleDirOf(str(STRING_SETTINGS.consoleDir, DEFAULTS.consoleDir)),
      assetsBytesMax: int(INT_SETTINGS.consoleAssetsBytesMax),
    },
    events: {
      keptMax: int(INT_SETTINGS.eventsKeptMax),
      keptBytesMax: int(INT_SETTINGS.eventsKeptBytesMax),
      peerTimeoutMs: int(INT_SETTINGS.eventsPeerTimeoutMs),
      peerReplyBytesMax: int(INT_SETTINGS.eventsPeerReplyBytesMax),
    },
  };
  if (config.tiering.cacheBytes < config.tiering.chunkBytes * (config.tiering.readAheadChunks + 2)) {
    problems.push(
      `STRATA_REMOTE_CACHE_BYTES (${config.tiering.cacheBytes}) must hold the read-ahead: at least STRATA_REMOTE_CHUNK_BYTES x (STRATA_REMOTE_READ_AHEAD_CHUNKS + 2)`,
    );
  }

  // Fields checked against each other.
  if (raw(STRING_SETTINGS.internalCertBinding) !== undefined && (config.tls === null || config.tls.clientCaFile === '')) {
    problems.push(`${STRING_SETTINGS.internalCertBinding}: set, but STRATA_TLS_CLIENT_CA_FILE is not (without mTLS there is no broker certificate to bind)`);
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
  // Two listeners on one port: the second bind fails with an EADDRINUSE that blames whatever holds it.
  const listeners: Array<[string, number]> = [
    ['STRATA_HTTP_PORT', config.httpPort],
    ['STRATA_KAFKA_PORT', config.kafka.port],
    ['STRATA_INTERNAL_PORT', config.cluster.internalPort],
  ];
  listeners.forEach(([name, port], i) => {
    const clash = listeners.slice(i + 1).find(([, other]) => port !== 0 && other === port);
    if (clash !== undefined) problems.push(`${name} and ${clash[0]} are both ${port}: each listener needs a port of its own`);
  });
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
  host: string,
  raw: (name: string) => { value: string } | undefined,
  str: (name: string, fallback: string) => string,
  int: (setting: IntSetting) => number,
  problems: string[],
): ClusterConfig {
  const inProcess = redisUrl === '';
  // The in-process engine's leases can only be held by brokers of this process: a dead leader is a
  // dead process, whose restart takes its own leases back at once. A long lease costs nothing there
  // and keeps a loaded single node (stalled event loop, slow fsyncs) from losing its partitions.
  const leaseTtlMs = inProcess && raw(INT_SETTINGS.leaseTtlMs.env) === undefined ? IN_PROCESS_LEASE_TTL_MS : int(INT_SETTINGS.leaseTtlMs);
  const sessionTtlMs = int(INT_SETTINGS.sessionTtlMs);
  const tickMs = int(INT_SETTINGS.clusterTickMs);
  const handoverTimeoutMs = int(INT_SETTINGS.handoverTimeoutMs);
  const redisPrefix = str(STRING_SETTINGS.redisPrefix, 'strata:');
  const redisCaFile = filePath(str(STRING_SETTINGS.redisCaFile, ''));
  if (redisCaFile !== '' && !redisUrl.startsWith('rediss://')) problems.push('STRATA_REDIS_CA_FILE: set, but STRATA_REDIS_URL is not a rediss:// URL (the CA would be ignored)');
  for (const setting of [INT_SETTINGS.offsetsFlushIntervalMs, INT_SETTINGS.offsetsLogRollBytes]) {
    if (!inProcess && raw(setting.env) !== undefined) problems.push(`${setting.env}: set, but offsets live in Redis with STRATA_REDIS_URL (as durable as its appendfsync); it applies to the in-process coordinator`);
  }
  // Without Redis a peer must share the in-process coordinator, so it runs in this process: the
  // internal listener stays on loopback, on an ephemeral port unless one is set.
  const internalPort = inProcess && raw(INT_SETTINGS.internalPort.env) === undefined ? 0 : int(INT_SETTINGS.internalPort);
  const internalHost = str(STRING_SETTINGS.internalHost, inProcess ? '127.0.0.1' : host);
  if (internalHost === '') problems.push(`${STRING_SETTINGS.internalHost}: must not be empty`);
  const internalCertBinding = str(STRING_SETTINGS.internalCertBinding, 'cn');
  if (!(INTERNAL_CERT_BINDINGS as readonly string[]).includes(internalCertBinding)) problems.push(`${STRING_SETTINGS.internalCertBinding} must be one of ${INTERNAL_CERT_BINDINGS.join(', ')}, got "${internalCertBinding}"`);
  const replicaLagTimeMaxMs = int(INT_SETTINGS.replicaLagTimeMaxMs);
  const replicaAckTimeoutMs = int(INT_SETTINGS.replicaAckTimeoutMs);
  const replicaFetchMaxBytes = int(INT_SETTINGS.replicaFetchMaxBytes);
  const replicaFetchWaitMaxMs = int(INT_SETTINGS.replicaFetchWaitMaxMs);
  // No peer outside this process can know a random secret: only brokers given the same one pair up.
  const clusterSecretFile = filePath(str(STRING_SETTINGS.clusterSecretFile, ''));
  const clusterSecretPrevious = str(STRING_SETTINGS.clusterSecretPrevious, '');
  const secretFromFile = clusterSecretFile !== '';
  if (secretFromFile && (raw(STRING_SETTINGS.clusterSecret) !== undefined || clusterSecretPrevious !== '')) {
    problems.push('STRATA_CLUSTER_SECRET_FILE: set together with STRATA_CLUSTER_SECRET or STRATA_CLUSTER_SECRET_PREVIOUS; give the secrets one way');
  }
  const clusterSecret = secretFromFile ? '' : str(STRING_SETTINGS.clusterSecret, inProcess ? randomBytes(24).toString('base64url') : '');
  const internalAdvertisedUrl = str(STRING_SETTINGS.internalAdvertisedUrl, '').replace(/\/+$/, '');
  // Replication traffic carries every record: the internal port never runs unauthenticated.
  // (A file's secrets are checked when it is read: at start, and at each reload.)
  if (!secretFromFile && clusterSecret.length < CLUSTER_SECRET_MIN_CHARS) {
    problems.push(`STRATA_CLUSTER_SECRET: a cluster needs a shared secret of at least ${CLUSTER_SECRET_MIN_CHARS} characters (it authenticates broker-to-broker replication)`);
  }
  if (clusterSecretPrevious !== '' && clusterSecretPrevious.length < CLUSTER_SECRET_MIN_CHARS) {
    problems.push(`STRATA_CLUSTER_SECRET_PREVIOUS: must be at least ${CLUSTER_SECRET_MIN_CHARS} characters, as STRATA_CLUSTER_SECRET`);
  }
  if (internalAdvertisedUrl !== '' && !/^https?:\/\/[^/]+$/.test(internalAdvertisedUrl)) problems.push(`STRATA_INTERNAL_ADVERTISED_URL: must be an http(s) URL with no path, got "${internalAdvertisedUrl}"`);
  if (replicaFetchWaitMaxMs >= replicaLagTimeMaxMs) problems.push(`STRATA_REPLICA_FETCH_WAIT_MAX_MS (${replicaFetchWaitMaxMs}) must be below STRATA_REPLICA_LAG_TIME_MAX_MS (${replicaLagTimeMaxMs})`);
  try {
    const url = inProcess ? null : new URL(redisUrl);
    if (url !== null && url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('scheme');
  } catch {
    problems.push(`STRATA_REDIS_URL: must be a redis:// or rediss:// URL, got "${redactUrl(redisUrl)}"`);
  }
  if (!/^[A-Za-z0-9:._-]{0,64}$/.test(redisPrefix)) problems.push(`STRATA_REDIS_PREFIX: must be up to 64 characters of [A-Za-z0-9:._-], got "${redisPrefix}"`);
  // Renewals every TTL/3 must come round several times per lease, or one slow tick loses it.
  if (tickMs * 4 > leaseTtlMs) problems.push(`STRATA_CLUSTER_TICK_MS (${tickMs}) must be at most a quarter of STRATA_LEASE_TTL_MS (${leaseTtlMs})`);
  return {
    redisUrl,
    redisPrefix,
    redisCaFile,
    leaseTtlMs,
    sessionTtlMs,
    tickMs,
    handoverTimeoutMs,
    internalPort,
    internalHost,
    internalAdvertisedUrl,
    clusterSecret,
    clusterSecretPrevious,
    clusterSecretFile,
    clusterSecretReloadIntervalMs: int(INT_SETTINGS.clusterSecretReloadIntervalMs),
    internalAuthMaxSkewMs: int(INT_SETTINGS.internalAuthMaxSkewMs),
    internalAuthNoncesMax: int(INT_SETTINGS.internalAuthNoncesMax),
    internalCertBinding: (INTERNAL_CERT_BINDINGS as readonly string[]).includes(internalCertBinding) ? (internalCertBinding as InternalCertBinding) : 'cn',
    replicaLagTimeMaxMs,
    replicaAckTimeoutMs,
    replicaFetchMaxBytes,
    replicaFetchWaitMaxMs,
  };
}

function objectStoreConfig(str: (name: string, fallback: string) => string, dataDir: string, problems: string[]): ObjectStoreConfig {
  const bucket = str(STRING_SETTINGS.s3Bucket, '');
  if (bucket === '') return { kind: 'local', dir: resolve(dataDir, str(STRING_SETTINGS.objectsDir, '__strata/objects')) };
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push(`STRATA_S3_BUCKET: "${bucket}" is not a valid bucket name`);
  const endpoint = str(STRING_SETTINGS.s3Endpoint, '');
  if (endpoint !== '' && !/^https?:\/\/[^/]+/.test(endpoint)) problems.push(`STRATA_S3_ENDPOINT: must be an http(s) URL, got "${endpoint}"`);
  const pathStyle = str(STRING_SETTINGS.s3ForcePathStyle, 'false').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(pathStyle)) problems.push(`STRATA_S3_FORCE_PATH_STYLE: must be true or false, got "${pathStyle}"`);
  const caFile = filePath(str(STRING_SETTINGS.s3CaFile, ''));
  if (caFile !== '' && !endpoint.startsWith('https://')) problems.push('STRATA_S3_CA_FILE: set, but STRATA_S3_ENDPOINT is not an https:// URL (the CA would be ignored)');
  return {
    kind: 's3',
    bucket,
    prefix: str(STRING_SETTINGS.s3Prefix, ''),
    endpoint,
    region: str(STRING_SETTINGS.s3Region, 'us-east-1'),
    forcePathStyle: pathStyle === 'true' || pathStyle === '1',
    caFile,
  };
}

function filePath(text: string): string {
  return text === '' ? '' : resolve(text);
}

/**
 * TLS is on when a certificate and a key are set. The files themselves are read (and checked) when
 * the broker starts (security/tls.ts), so a reload reads them the same way.
 */
function tlsConfig(
  str: (name: string, fallback: string) => string,
  int: (setting: IntSetting) => number,
  raw: (name: string) => { value: string } | undefined,
  problems: string[],
): TlsConfig | null {
  const certFile = filePath(str(STRING_SETTINGS.tlsCertFile, ''));
  const keyFile = filePath(str(STRING_SETTINGS.tlsKeyFile, ''));
  const clientCaFile = filePath(str(STRING_SETTINGS.tlsClientCaFile, ''));
  const caFile = filePath(str(STRING_SETTINGS.tlsCaFile, ''));
  const reloadIntervalMs = int(INT_SETTINGS.tlsReloadIntervalMs);
  const plaintextHttpPort = int(INT_SETTINGS.plaintextHttpPort);
  if (certFile === '' && keyFile === '') {
    // Accepted and ignored would be a lie: without a certificate these have nothing to apply to.
    for (const name of [STRING_SETTINGS.tlsClientCaFile, STRING_SETTINGS.tlsCaFile, INT_SETTINGS.plaintextHttpPort.env]) {
      if (raw(name) !== undefined) problems.push(`${name}: set, but TLS is off (set STRATA_TLS_CERT_FILE and STRATA_TLS_KEY_FILE)`);
    }
    return null;
  }
  if (certFile === '' || keyFile === '') {
    problems.push('STRATA_TLS_CERT_FILE and STRATA_TLS_KEY_FILE: set both (TLS needs a certificate and its key) or neither');
    return null;
  }
  return { certFile, keyFile, clientCaFile, caFile, reloadIntervalMs, plaintextHttpPort };
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
    scramUsersPerRequestMax: int(INT_SETTINGS.kafkaScramUsersPerRequestMax),
    groupSessionTimeoutMs: int(INT_SETTINGS.kafkaGroupSessionTimeoutMs),
    groups: {
      initialRebalanceDelayMs: int(INT_SETTINGS.kafkaGroupInitialRebalanceDelayMs),
      minSessionTimeoutMs: int(INT_SETTINGS.kafkaGroupMinSessionTimeoutMs),
      maxSessionTimeoutMs: int(INT_SETTINGS.kafkaGroupMaxSessionTimeoutMs),
      protocolsMax: int(INT_SETTINGS.kafkaGroupProtocolsMax),
      memberMetadataMaxBytes: int(INT_SETTINGS.kafkaGroupMemberMetadataMaxBytes),
      assignmentMaxBytes: int(INT_SETTINGS.kafkaGroupAssignmentMaxBytes),
      takeoverIntervalMs: int(INT_SETTINGS.kafkaGroupTakeoverIntervalMs),
    },
  };
  if (kafka.groups.minSessionTimeoutMs > kafka.groups.maxSessionTimeoutMs) {
    problems.push(`STRATA_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS (${kafka.groups.minSessionTimeoutMs}) must be at most STRATA_KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS (${kafka.groups.maxSessionTimeoutMs})`);
  }
  // One request the size cap allows must fit the budget it is counted against.
  if (kafka.requestBytesInFlight < kafka.maxRequestBytes) {
    problems.push(`STRATA_KAFKA_REQUEST_BYTES_IN_FLIGHT (${kafka.requestBytesInFlight}) must be at least STRATA_KAFKA_MAX_REQUEST_BYTES (${kafka.maxRequestBytes})`);
  }
  return kafka;
}

/** STRATA_CONSOLE_DIR: 'off' serves no console, '' the one built with the broker, anything else a directory. */
function consoleDirOf(text: string): string | null {
  if (text.toLowerCase() === 'off') return null;
  return text === '' ? '' : resolve(text);
}

/** STRATA_CORS_ORIGINS, checked: each a scheme://host[:port] with no path; problems named. */
export function parseCorsOrigins(text: string, problems: string[]): string[] {
  const origins: string[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {
      url = null;
    }
    // "*" would let every page act with the user's network position: never accepted.
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item.replace(/\/$/, '')) {
      problems.push(`STRATA_CORS_ORIGINS: "${item}" is not an origin (scheme://host[:port], no path, no wildcard)`);
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}
