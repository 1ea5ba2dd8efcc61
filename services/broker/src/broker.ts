// startBroker wires the broker together: config -> logger -> metadata store ->
// topic registry (recovers every log) -> HTTP listener -> ready. close() undoes
// it gracefully.

import { access, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ObjectStore } from '@strata/storage';
import { Counter } from 'prom-client';
import { MemoryCoordinator, RedisCoordinator, type Coordinator } from '@strata/coord';
import { FileHandleCache } from '@strata/log';
import { StrataError } from '@strata/protocol';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterNode } from './cluster/cluster-node.js';
import { CoordinatorManifestStore, CoordinatorMetadataStore } from './cluster/coordinator-stores.js';
import { Forwarder } from './cluster/forwarder.js';
import { startInternalServer, type InternalServer } from './cluster/internal-server.js';
import { SingleNodeRouter } from './cluster/single-node-router.js';
import { describeConfig, redactUrl, type BrokerConfig } from './config.js';
import { lockDataDir } from './data-dir-lock.js';
import { DiskMonitor } from './disk-monitor.js';
import type { BrokerContext, BrokerState } from './context.js';
import { clusterHandlers } from './http/handlers/cluster.js';
import { DataCore } from './core/data.js';
import { startKafkaListener, type KafkaListener } from './kafka/listener.js';
import { ProducersCore } from './core/producers.js';
import { dataHandlers } from './http/handlers/data.js';
import { producerHandlers } from './http/handlers/producers.js';
import { groupHandlers } from './http/handlers/groups.js';
import { topicHandlers } from './http/handlers/topics.js';
import { Router, type Handler, type Route } from './http/router.js';
import { ROUTES, type RouteId } from './http/routes.js';
import { answerProtocolErrors, createRequestListener } from './http/server.js';
import { ListenerGuard, serverOptions, type ConnectionLimits } from './http/admission.js';
import { createLogger, type Logger } from './logger.js';
import { GroupExpiryLoop } from './group-expiry.js';
import { MaintenanceLoop } from './maintenance.js';
import { BrokerMetrics } from './metrics.js';
import { buildOpenApiDocument } from './http/openapi.js';
import { PartitionWaiters } from './partition-waiters.js';
import { registerPrivatePath } from './redact.js';
import { LocalMetadataStore, META_DIR, loadOrCreateClusterId, type MetadataStore } from './topics/metadata-store.js';
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
   * The broker's core, independent of HTTP: the entry a second protocol (the Kafka listener) calls,
   * and tests that check typed, per-partition answers without going through HTTP.
   */
  readonly core: { readonly data: DataCore; readonly producers: ProducersCore };
  /** The Kafka listener's bound port, or null when it is off (STRATA_KAFKA_PORT=0). */
  readonly kafkaPort: number | null;
  /** host:port Kafka clients are told to reach this broker at, or null when the listener is off. */
  readonly kafkaAddress: string | null;
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
  /**
   * The cluster's coordinator, used instead of connecting to Redis (config.cluster set as for a
   * Redis cluster): the in-process test cluster shares one MemoryCoordinator between its brokers.
   * Its owner closes it: the broker closes only a coordinator it opened.
   */
  coordinator?: Coordinator;
}

export async function startBroker(config: BrokerConfig, deps: BrokerDependencies = {}): Promise<Broker> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel, base: { brokerId: config.brokerId } });
  const now = deps.now ?? Date.now;
  if (deps.coordinator !== undefined && config.cluster === null) {
    throw new StrataError('INVALID_CONFIG', 'startBroker: a coordinator was given but config.cluster is null (set it as for a Redis cluster)');
  }
  logger.info('broker starting', { config: describeConfig(config) });
  if (config.notInThisBuild.length > 0) {
    logger.warn('replication is not in this build: these settings are ignored', { settings: config.notInThisBuild });
  }

  await mkdir(config.dataDir, { recursive: true });
  registerPrivatePath(config.dataDir);
  if (config.objectStore.kind === 'local') registerPrivatePath(config.objectStore.dir);
  const dataDirLock = await lockDataDir(config.dataDir);
  let clusterId = await loadOrCreateClusterId(config.dataDir, now);
  let coordinator: Coordinator | null = null;
  if (config.cluster !== null) {
    try {
      coordinator = deps.coordinator ?? (await RedisCoordinator.connect({
        url: config.cluster.redisUrl,
        prefix: config.cluster.redisPrefix,
        leaseTtlMaxMs: config.cluster.leaseTtlMs,
        // Every broker of a cluster runs with the same lease TTL: the quarantine after a Redis restart covers it.
        restartQuarantineMs: config.cluster.leaseTtlMs,
        groupLimits: config.groups.limits,
      }));
    } catch (e) {
      await dataDirLock.release();
      throw e;
    }
    // A cluster's id is the coordinator's: every broker answers the same one.
    clusterId = (await coordinator.status()).bootId;
    logger.info('coordinator connected', { coordinator: coordinator.description, ...(deps.coordinator === undefined ? { redis: redactUrl(config.cluster.redisUrl) } : {}) });
  }
  // Consumer groups always go through a coordinator: Redis in a cluster, else the in-process one under the data dir.
  let groupCoordinator: Coordinator;
  try {
    groupCoordinator = coordinator ?? (await MemoryCoordinator.open({ dir: join(config.dataDir, META_DIR, 'coord'), groupLimits: config.groups.limits }));
  } catch (e) {
    await dataDirLock.release();
    throw e;
  }
  /** The broker closes only a coordinator it opened (a given one is its owner's). */
  const closeCoordinator = (): Promise<void> => (groupCoordinator === deps.coordinator ? Promise.resolve() : groupCoordinator.close());
  // Set once the broker listens (it needs the URL); the tiering and registry callbacks reach it through this.
  let clusterNode: ClusterNode | null = null;
  let state: BrokerState = 'starting';
  let url = config.advertisedUrl;

  const waiters = new PartitionWaiters(config.maxFetchWaiters);
  const segmentFiles = new FileHandleCache(config.maxOpenSegmentFiles);
  // Measured before the logs open: a broker that starts on a full disk starts read-only.
  const disk = new DiskMonitor({ dir: config.dataDir, minFreeBytes: config.minFreeDiskBytes, intervalMs: config.diskCheckIntervalMs, logger });
  await disk.check();
  // The metric sources read the registry only when scraped, after it exists.
  const metrics: BrokerMetrics = new BrokerMetrics({
    partitions: (): IterableIterator<PartitionHandle> => registry.allPartitions(),
    topicCount: () => registry.list().length,
    waiters: () => waiters.size,
    waitersRejected: () => waiters.rejectedTotal,
    ready: () => state === 'ready' && !disk.full,
    offlinePartitions: () => registry.offlinePartitions().length,
    disk: () => ({ freeBytes: disk.freeBytes, full: disk.full }),
    segmentFiles: () => segmentFiles.stats(),
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
    segmentFiles,
    appendRefusal: () => disk.appendRefusal(),
    producerStateLimits: config.producerState,
    ...(coordinator !== null
      ? { manifests: new CoordinatorManifestStore(coordinator), onFenced: (tier) => clusterNode?.fenced(tier) }
      : {}),
  });
  const localMetadata = new LocalMetadataStore(config.dataDir);
  const metadataStore = deps.metadataStore ?? (coordinator !== null ? new CoordinatorMetadataStore(coordinator) : localMetadata);
  const registry: TopicRegistry = new TopicRegistry({
    dataDir: config.dataDir,
    // A cluster's topics live in Redis: only a single node restores them from the bucket.
    store: tiering.bucketBackedMetadata(metadataStore, async () => coordinator === null && deps.metadataStore === undefined && !(await exists(localMetadata.file))),
    tiering,
    defaults: config.topicDefaults,
    maxPartitions: config.maxPartitions,
    maxRequestBytes: config.maxRequestBytes,
    minSegmentBytes: config.minSegmentBytes,
    openCloseConcurrency: config.logOpenCloseConcurrency,
    replicationLimit: () => {
      if (coordinator === null) return { max: 1, why: 'a single node holds one replica' };
      const live = clusterNode?.liveBrokerCount() ?? 1;
      return { max: live, why: `${live} broker(s) are live, and each replica needs its own broker` };
    },
    logger,
    now,
    onTopicRemoved: (topic) => {
      for (const handle of topic.partitions) {
        waiters.wakeKey(handle.key);
        clusterNode?.forget(handle);
      }
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
    await closeCoordinator().catch(() => undefined);
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

  const forwarder = coordinator !== null ? new Forwarder(config.brokerId, { metrics: metrics.registry, timeoutMs: config.fetchMaxWaitMsCap + 10_000 }) : null;
  let routerRef: BrokerContext['router'] = new SingleNodeRouter({ waiters, explainFailure: (handle, e) => registry.explainFailure(handle, e) });
  const ctx: BrokerContext = {
    coordinator: groupCoordinator,
    get router() {
      return routerRef;
    },
    get cluster() {
      return clusterNode !== null && forwarder !== null ? { node: clusterNode, forwarder } : null;
    },
    config,
    logger,
    registry,
    waiters,
    metrics,
    disk,
    clusterId,
    url: () => url,
    state: () => state,
    now,
    track,
  };
  /** The data path's core: where each partition's produce, fetch and offset lookup goes. */
  const data = new DataCore(ctx);
  /** Idempotent producers' ids (Kafka's InitProducerId). */
  const producers = new ProducersCore(ctx.coordinator, config.brokerId);
  let openapi: unknown = null;
  const handlers: Record<RouteId, Handler> = {
    ...topicHandlers(ctx),
    ...dataHandlers(ctx, data),
    ...producerHandlers(ctx, producers),
    ...groupHandlers(ctx, data),
    ...clusterHandlers(ctx, () => (openapi ??= buildOpenApiDocument({ serverUrl: url, config }))),
  };
  /** Clustered: a request naming a topic this broker has not seen yet looks in the coordinator first. */
  const syncingTopics = (path: string, handler: Handler): Handler => {
    if (!path.includes('{topic}')) return handler;
    return async (rc) => {
      const topic = rc.params.topic;
      if (clusterNode !== null && topic !== undefined && !registry.has(topic)) await clusterNode.syncTopics().catch(() => undefined);
      return handler(rc);
    };
  };
  const routes: Route[] = ROUTES.map((spec) => ({ ...spec, handler: coordinator !== null ? syncingTopics(spec.path, handlers[spec.id]) : handlers[spec.id] }));
  const limits = connectionLimits(config);
  const server: Server = createServer(
    serverOptions(limits),
    createRequestListener({ router: new Router(routes), metrics, logger, isShuttingDown: () => state !== 'ready', track }),
  );
  answerProtocolErrors(server, logger);
  new ListenerGuard(limits, (reason) => metrics.httpRefused.inc({ reason })).attach(server);

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
    await closeCoordinator().catch(() => undefined);
    await dataDirLock.release();
    throw e;
  }
  server.on('error', (e) => logger.error('http server error', { err: e }));
  const port = (server.address() as AddressInfo).port;
  if (url === '') url = `http://${urlHost(config.host)}:${port}`;
  let kafka: KafkaListener | null = null;
  if (config.kafka.port !== 0) {
    try {
      kafka = await startKafkaListener(ctx, data, producers, () => new URL(url).hostname);
    } catch (e) {
      logger.error('cannot listen on the kafka port', { host: config.host, port: config.kafka.port, err: e });
      server.close();
      await tiering.stop(0).catch(() => undefined);
      await registry.close().catch(() => undefined);
      await closeCoordinator().catch(() => undefined);
      await dataDirLock.release();
      throw e;
    }
  }

  const maintenance = new MaintenanceLoop({
    intervalMs: config.maintenanceIntervalMs,
    partitions: (): IterableIterator<PartitionHandle> => registry.allPartitions(),
    isLive: (h) => registry.isCurrent(h),
    logger,
    metrics,
  });
  maintenance.start();
  // Empty groups' offsets expire: on a single node here, in a cluster at the controller only.
  const groupExpiry = new GroupExpiryLoop({
    coordinator: groupCoordinator,
    intervalMs: config.groups.expiryIntervalMs,
    offsetsRetentionMs: config.groups.offsetsRetentionMs,
    groupsPerPass: config.groups.expiryGroupsPerPass,
    isResponsible: () => (config.cluster === null ? state === 'ready' : clusterNode !== null && clusterNode.controller === config.brokerId),
    logger,
  });
  groupExpiry.start();
  tiering.start();
  let internalServer: InternalServer | null = null;
  if (coordinator !== null && config.cluster !== null) {
    const clusterConfig = config.cluster;
    try {
      internalServer = await startInternalServer({
        host: config.host,
        port: clusterConfig.internalPort,
        secret: clusterConfig.clusterSecret,
        registry,
        node: () => clusterNode,
        logger,
        maxBytesCap: clusterConfig.replicaFetchMaxBytes,
        maxWaitMsCap: clusterConfig.replicaFetchWaitMaxMs,
        // Brokers only, authenticated; one follower opens a connection per concurrent fetch: no per-address limit.
        limits: { ...limits, maxConnectionsPerAddress: 0 },
      });
    } catch (e) {
      logger.error('cannot listen on the internal port', { port: clusterConfig.internalPort, err: e });
      server.close();
      await kafka?.close(0);
      await maintenance.stop();
      await groupExpiry.stop();
      await tiering.stop(0).catch(() => undefined);
      await registry.close().catch(() => undefined);
      await closeCoordinator().catch(() => undefined);
      await dataDirLock.release();
      throw e;
    }
    const internalPort = internalServer.port;
    const internalUrl = clusterConfig.internalAdvertisedUrl !== '' ? clusterConfig.internalAdvertisedUrl : withPort(url, internalPort);
    logger.info('internal (replication) listener up', { port: internalPort, internalUrl });
    const node = new ClusterNode({
      internalUrl: () => internalUrl,
      waiters,
      brokerId: config.brokerId,
      config: config.cluster,
      coordinator,
      registry,
      logger,
      metrics: metrics.registry,
      url: () => url,
      kafkaAddress: () => kafka?.advertisedAddress ?? null,
      startedAtMs: Date.now(),
    });
    try {
      await node.start();
    } catch (e) {
      logger.error('cannot join the cluster', { err: e });
      server.close();
      await kafka?.close(0);
      await internalServer.close();
      await maintenance.stop();
      await groupExpiry.stop();
      await tiering.stop(0).catch(() => undefined);
      await registry.close().catch(() => undefined);
      await closeCoordinator().catch(() => undefined);
      await dataDirLock.release();
      throw e;
    }
    clusterNode = node;
    routerRef = node;
  }
  disk.start();
  state = 'ready';
  logger.info('broker ready', { url, port, clusterId });

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    state = 'closing';
    logger.info('broker shutting down', { inFlight: inFlight.size, waiters: waiters.size });
    // First hand this broker's partitions over (their tails go to the bucket), while requests in flight finish.
    if (clusterNode !== null && config.cluster !== null) await clusterNode.leave(config.cluster.handoverTimeoutMs);
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Kafka connections answer what they have read (long-polls return at waiters.close()), then end.
    const kafkaClosed = kafka?.close(config.shutdownTimeoutMs);
    waiters.close();
    await maintenance.stop();
    await groupExpiry.stop();
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
    await clusterNode?.stop();
    await internalServer?.close();
    await forwarder?.close().catch(() => undefined);
    // Uploads in flight may finish; the rest resume from the manifest at the next start.
    await tiering.stop(Math.max(0, deadline - Date.now()));
    try {
      await registry.close();
    } catch (e) {
      logger.error('closing the logs failed', { err: e });
    }
    await serverClosed;
    await kafkaClosed;
    await closeCoordinator().catch((e: unknown) => logger.warn('closing the coordinator failed', { err: e }));
    await disk.stop();
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
    core: { data, producers },
    kafkaPort: kafka?.port ?? null,
    kafkaAddress: kafka?.advertisedAddress ?? null,
    close: () => (closing ??= close()),
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The same URL with another port (the internal listener beside the advertised one). */
function withPort(base: string, port: number): string {
  const url = new URL(base);
  url.port = String(port);
  return url.origin;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The limits on what clients hold of a listener (admission.ts), from the configuration. */
function connectionLimits(config: BrokerConfig): ConnectionLimits {
  return {
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    bodyBytesInFlightPerConnectionMax: config.bodyBytesInFlightPerConnection,
    bodyBytesInFlightPerAddressMax: config.bodyBytesInFlightPerAddress,
    bodyBytesInFlightMax: config.bodyBytesInFlight,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
  };
}
