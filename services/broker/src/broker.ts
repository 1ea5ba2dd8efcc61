// startBroker wires the broker together: config -> logger -> metadata store ->
// topic registry (recovers every log) -> HTTP listener -> ready. close() undoes
// it gracefully.

import { access, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ObjectStore } from '@strata/storage';
import { Counter } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeConfig, type BrokerConfig } from './config.js';
import { lockDataDir } from './data-dir-lock.js';
import type { BrokerContext, BrokerState } from './context.js';
import { clusterHandlers } from './http/handlers/cluster.js';
import { dataHandlers } from './http/handlers/data.js';
import { topicHandlers } from './http/handlers/topics.js';
import { Router, type Handler, type Route } from './http/router.js';
import { ROUTES, type RouteId } from './http/routes.js';
import { createRequestListener } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { MaintenanceLoop } from './maintenance.js';
import { BrokerMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import { PartitionWaiters } from './partition-waiters.js';
import { LocalMetadataStore, loadOrCreateClusterId, type MetadataStore } from './topics/metadata-store.js';
import { TopicRegistry, type PartitionHandle } from './topics/topic-registry.js';
import { createObjectStore } from './tiering/object-store-factory.js';
import { Tiering } from './tiering/tiering.js';

export interface Broker {
  /** The URL clients reach this broker at. */
  readonly url: string;
  /** The bound port (useful with httpPort 0). */
  readonly port: number;
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly state: BrokerState;
  /**
   * Graceful: stop accepting connections, /readyz goes 503, long-polls return what they have,
   * in-flight requests finish (bounded by shutdownTimeoutMs), every log is flushed and closed.
   * Idempotent.
   */
  close(): Promise<void>;
}

/** Seams for tests and for the clustered build (the Redis coordinator implements MetadataStore). */
export interface BrokerDependencies {
  logger?: Logger;
  metadataStore?: MetadataStore;
  /** The object store for sealed segments (default: from config.objectStore). */
  objectStore?: ObjectStore;
  now?: () => number;
}

export async function startBroker(config: BrokerConfig, deps: BrokerDependencies = {}): Promise<Broker> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel, base: { brokerId: config.brokerId } });
  const now = deps.now ?? Date.now;
  logger.info('broker starting', { config: describeConfig(config) });
  if (config.notInThisBuild.length > 0) {
    logger.warn('clustering and tiering are not in this build: these settings are ignored', { settings: config.notInThisBuild });
  }

  await mkdir(config.dataDir, { recursive: true });
  const dataDirLock = await lockDataDir(config.dataDir);
  const clusterId = await loadOrCreateClusterId(config.dataDir, now);
  let state: BrokerState = 'starting';
  let url = config.advertisedUrl;

  const waiters = new PartitionWaiters(config.maxFetchWaiters);
  // The metric sources read the registry only when scraped, after it exists.
  const metrics: BrokerMetrics = new BrokerMetrics({
    partitions: (): IterableIterator<PartitionHandle> => registry.allPartitions(),
    topicCount: () => registry.list().length,
    waiters: () => waiters.size,
    waitersRejected: () => waiters.rejectedTotal,
    ready: () => state === 'ready',
  });
  const s3Requests = new Counter({
    name: 'strata_s3_requests_total',
    help: 'S3 request attempts by API operation (PutObject, UploadPart, GetObject, ...).',
    labelNames: ['operation'],
    registers: [metrics.registry],
  });
  const s3Retries = new Counter({ name: 'strata_s3_retries_total', help: 'S3 request attempts retried after a retriable failure.', registers: [metrics.registry] });
  const tiering: Tiering = new Tiering({
    ...config.tiering,
    store:
      deps.objectStore ??
      createObjectStore(config.objectStore, { onS3Request: (operation) => s3Requests.inc({ operation }), onS3Retry: () => s3Retries.inc() }),
    dataDir: config.dataDir,
    logger,
    registry: metrics.registry,
    now,
  });
  const localMetadata = new LocalMetadataStore(config.dataDir);
  const metadataStore = deps.metadataStore ?? localMetadata;
  const registry: TopicRegistry = new TopicRegistry({
    dataDir: config.dataDir,
    store: tiering.bucketBackedMetadata(metadataStore, async () => deps.metadataStore === undefined && !(await exists(localMetadata.file))),
    tiering,
    defaults: config.topicDefaults,
    maxPartitions: config.maxPartitions,
    maxRequestBytes: config.maxRequestBytes,
    liveBrokers: () => 1,
    logger,
    now,
    onTopicRemoved: (topic) => {
      for (const handle of topic.partitions) waiters.wakeKey(handle.key);
      metrics.forgetTopic(topic.name, topic.partitionCount);
    },
  });

  const started = Date.now();
  tiering.setRetentionSource((name) => {
    if (!registry.has(name)) return null;
    const configs = registry.get(name).configs;
    return { retentionMs: configs['retention.ms'], retentionBytes: configs['retention.bytes'] };
  });
  try {
    await registry.start();
  } catch (e) {
    await tiering.stop(0).catch(() => undefined);
    await dataDirLock.release();
    throw e;
  }
  logger.info('logs recovered', { topics: registry.list().length, partitions: registry.partitionCount, ms: Date.now() - started });

  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>): void => {
    inFlight.add(work);
    const done = (): void => void inFlight.delete(work);
    work.then(done, done);
  };

  const ctx: BrokerContext = {
    config,
    logger,
    registry,
    waiters,
    metrics,
    clusterId,
    url: () => url,
    state: () => state,
    now,
    track,
  };
  let openapi: unknown = null;
  const handlers: Record<RouteId, Handler> = {
    ...topicHandlers(ctx),
    ...dataHandlers(ctx),
    ...clusterHandlers(ctx, () => (openapi ??= buildOpenApiDocument({ serverUrl: url, config }))),
  };
  const routes: Route[] = ROUTES.map((spec) => ({ ...spec, handler: handlers[spec.id] }));
  const server: Server = createServer(
    { keepAlive: true },
    createRequestListener({ router: new Router(routes), metrics, logger, isShuttingDown: () => state !== 'ready', track }),
  );
  server.maxConnections = config.maxConnections;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.httpPort, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    logger.error('cannot listen', { host: config.host, port: config.httpPort, err: e });
    await tiering.stop(0).catch(() => undefined);
    await registry.close().catch(() => undefined);
    await dataDirLock.release();
    throw e;
  }
  server.on('error', (e) => logger.error('http server error', { err: e }));
  const port = (server.address() as AddressInfo).port;
  if (url === '') url = `http://${urlHost(config.host)}:${port}`;

  const maintenance = new MaintenanceLoop({
    intervalMs: config.maintenanceIntervalMs,
    partitions: (): IterableIterator<PartitionHandle> => registry.allPartitions(),
    isLive: (h) => registry.isCurrent(h),
    logger,
    metrics,
  });
  maintenance.start();
  tiering.start();
  state = 'ready';
  logger.info('broker ready', { url, port, clusterId });

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    state = 'closing';
    logger.info('broker shutting down', { inFlight: inFlight.size, waiters: waiters.size });
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    waiters.close();
    await maintenance.stop();
    const deadline = Date.now() + config.shutdownTimeoutMs;
    while (inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...inFlight]), sleep(Math.max(0, deadline - Date.now()), undefined, { ref: false })]);
    }
    if (inFlight.size > 0) {
      logger.warn('in-flight requests did not finish before the shutdown timeout; closing their connections', {
        count: inFlight.size,
        timeoutMs: config.shutdownTimeoutMs,
      });
    }
    server.closeAllConnections();
    // Uploads in flight may finish; the rest resume from the manifest at the next start.
    await tiering.stop(Math.max(0, deadline - Date.now()));
    try {
      await registry.close();
    } catch (e) {
      logger.error('closing the logs failed', { err: e });
    }
    await serverClosed;
    await dataDirLock.release();
    state = 'closed';
    logger.info('broker stopped');
  };

  return {
    get url() {
      return url;
    },
    port,
    clusterId,
    config,
    get state() {
      return state;
    },
    close: () => (closing ??= close()),
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
