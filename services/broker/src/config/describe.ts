// The configuration as printed at start: every setting, secrets and passwords hidden.

import type { BrokerConfig } from './types.js';

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
    produceSyncValidationBytesMax: config.produceSyncValidationBytesMax,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    bodyBytesInFlightPerConnection: config.bodyBytesInFlightPerConnection,
    bodyBytesInFlightPerAddress: config.bodyBytesInFlightPerAddress,
    bodyBytesInFlight: config.bodyBytesInFlight,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    produceBodyPoolBuffers: config.produceBodyPoolBuffers,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    jsonProduceMaxRecords: config.jsonProduceMaxRecords,
    maintenanceIntervalMs: config.maintenanceIntervalMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    groups: config.groups,
    quotas: config.quotas,
    producerState: config.producerState,
    maxOpenSegmentFiles: config.maxOpenSegmentFiles,
    minSegmentBytes: config.minSegmentBytes,
    logOpenCloseConcurrency: config.logOpenCloseConcurrency,
    minFreeDiskBytes: config.minFreeDiskBytes,
    diskCheckIntervalMs: config.diskCheckIntervalMs,
    metricsLagGroupsMax: config.metricsLagGroupsMax,
    diskReserveBytes: config.diskReserveBytes,
    objectStore: config.objectStore,
    tiering: config.tiering,
    notInThisBuild: config.notInThisBuild,
    cluster: { ...config.cluster, redisUrl: config.cluster.redisUrl === '' ? '(none: the in-process coordinator)' : redactUrl(config.cluster.redisUrl), clusterSecret: '***', clusterSecretPrevious: config.cluster.clusterSecretPrevious === '' ? '' : '***' },
    kafka: config.kafka,
    // Where the private key lives is kept out of the log with the other secrets.
    tls: config.tls === null ? '(off: every listener is plaintext)' : { ...config.tls, keyFile: '***' },
    console: config.console,
    auth: config.auth,
    corsOrigins: config.corsOrigins,
  };
}

