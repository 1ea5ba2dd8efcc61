/**
 * @strata/test: the harness for integration, fault and CLI tests (and the benchmarks).
 * Free of vitest, so bench can use it at runtime; vitest glue lives in ../support.ts.
 */
export { freePort, freePorts } from './ports.js';
export { tempDir } from './temp.js';
export { BrokerProcess, CLI_MAIN, REPO_ROOT, type BrokerProcessOptions, type ExitInfo } from './broker-process.js';
export { HttpClient, expectStatus, type HttpAnswer, type HttpClientTls, type HttpRequestOptions, type Json } from './http.js';
export { runStrata, type CliRun, type CliRunOptions } from './cli.js';
export { RingBuffer } from './ring-buffer.js';
export { SeededRandom, seedFromEnv } from './random.js';
export { cleanupAll, liveChildren } from './cleanup.js';
export { RedisServer, type RedisServerOptions } from './redis-server.js';
export {
  S3Server,
  S3_REGION,
  S3RVER_ACCESS_KEY_ID,
  S3RVER_SECRET_ACCESS_KEY,
  type S3ServerOptions,
  type S3EndpointOverride,
} from './s3-server.js';
export {
  FaultProxy,
  type FaultOutcome,
  type FaultRequest,
  type FaultSettings,
  type FaultCounts,
  type FaultRecord,
  type FaultProxyOptions,
} from './fault-proxy.js';
export { Cluster, type ClusterOptions, type PartitionLeaders } from './cluster.js';
export { InProcessCluster, startInProcessCluster, type InProcessClusterOptions } from './in-process-cluster.js';
export { processStats, StatsSampler, ResponsivenessProbe, type ProcessStats } from './process-stats.js';
export { mountTmpfs, type Tmpfs } from './tmpfs.js';
export { readmeBlock, readmeBlocks, type ReadmeBlock } from './readme.js';
