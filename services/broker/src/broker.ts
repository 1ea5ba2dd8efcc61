// startBroker wires the broker together: config -> logger -> coordinator (Redis, or the in-process
// engine under the data dir: a single node is a cluster of one; an in-process engine imports an
// older data dir once, or is filled from the bucket when created on an empty one: startup/) ->
// topic registry (recovers every log) -> HTTP, Kafka and internal listeners -> cluster node (its
// first ticks lead what is assigned here) -> ready. close() undoes it gracefully. One path:
// nothing below depends on which engine it is (docs/architecture.md#startup).

import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectStore } from '@strata/storage';
import { Counter } from 'prom-client';
import type { Coordinator } from '@strata/coord';
import { FileHandleCache } from '@strata/log';
import { StrataError } from '@strata/protocol';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterNode } from './cluster/cluster-node.js';
import { CoordinatorManifestStore, CoordinatorMetadataStore } from './cluster/coordinator-stores.js';
import { Authorizer } from './auth/authorizer.js';
import { Forwarder } from './cluster/forwarder.js';
import { httpOrigin } from './http/origin.js';
import { startInternalServer, type InternalServer } from './cluster/internal-server.js';
import { describeConfig, type BrokerConfig } from './config.js';
import { lockDataDir } from './data-dir-lock.js';
import { DiskMonitor } from './disk-monitor.js';
import { raiseMallocThresholds } from './malloc-thresholds.js';
import type { BrokerContext, BrokerState } from './context.js';
import { clusterHandlers } from './http/handlers/cluster.js';
import { userHandlers } from './http/handlers/users.js';
import { announceAuthentication, Authenticator, httpPrincipal } from './auth/index.js';
import { DataCore } from './core/data.js';
import { startKafkaListener, type KafkaListener } from './kafka/listener.js';
import { ProducersCore } from './core/producers.js';
import { dataHandlers } from './http/handlers/data.js';
import { producerHandlers } from './http/handlers/producers.js';
import { groupHandlers } from './http/handlers/groups.js';
import { GroupsCore } from './core/groups.js';
import { groupLagSource, registerGroupLagMetrics } from './group-lag-metrics.js';
import { topicHandlers } from './http/handlers/topics.js';
import { Router, type Handler, type Route } from './http/router.js';
import { ROUTES, type RouteId } from './http/routes.js';
import { createRequestListener } from './http/server.js';
import { ConsoleAssets } from './http/console-assets.js';
import { schemeOf } from './security/http-server.js';
import { TlsMaterial } from './security/tls.js';
import { brokerIdentity } from './security/broker-identity.js';
import { BrowserGuard } from './http/browser-guard.js';
import { connectionLimits, urlHost, withPort } from './startup/listen.js';
import { QuotaManager } from './quotas/quota-manager.js';
import { quotaHandlers } from './http/handlers/quotas.js';
import { startPublicListeners } from './startup/public-listeners.js';
import { createLogger, type Logger } from './logger.js';
import { EventLog } from './events/event-log.js';
import { recordingErrors } from './events/error-events.js';
import { GroupExpiryLoop } from './group-expiry.js';
import { MaintenanceLoop } from './maintenance.js';
import { BrokerMetrics } from './metrics.js';
import { buildOpenApiDocument } from './http/openapi.js';
import { PartitionWaiters } from './partition-waiters.js';
import { registerPrivatePath } from './redact.js';
import { META_DIR } from './topics/metadata-store.js';
import { importDataDir } from './startup/import-data-dir.js';
import { openCoordinator } from './startup/open-coordinator.js';
import { restoreFromBucket } from './startup/restore-from-bucket.js';
import { TopicRegistry, type PartitionHandle } from './topics/topic-registry.js';
import { createObjectStore } from './tiering/object-store-factory.js';
import { Tiering } from './tiering/tiering.js';

/** The disk reserve's file under `<dataDir>/__strata` (disk-monitor.ts). */
const DISK_RESERVE_FILE = 'disk-reserve';

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

/** Seams for tests. */
export interface BrokerDependencies {
  logger?: Logger;
  /**
   * The coordinator, used instead of opening one (Redis when STRATA_REDIS_URL is set, else the
   * in-process engine under the data dir): several brokers of one process can share an in-process
   * one (a test cluster), or a test can wrap one to inject faults. The broker does not close it.
   */
  coordinator?: Coordinator;
  /** The object store for sealed segments (default: from config.objectStore). */
  objectStore?: ObjectStore;
  now?: () => number;
}

export async function startBroker(config: BrokerConfig, deps: BrokerDependencies = {}): Promise<Broker> {
  const now = deps.now ?? Date.now;
  // This broker's cluster events (GET /v1/events); its error lines are among them.
  const events = new EventLog(config.brokerId, config.events, now);
  const logger = recordingErrors(deps.logger ?? createLogger({ level: config.logLevel, base: { brokerId: config.brokerId } }), events);
  logger.info('broker starting', { config: describeConfig(config) });
  if (config.notInThisBuild.length > 0) logger.warn('replication is not in this build: these settings are ignored', { settings: config.notInThisBuild });
  raiseMallocThresholds(); // before the first request body: malloc-thresholds.ts says why
  await mkdir(config.dataDir, { recursive: true });
  registerPrivatePath(config.dataDir);
  if (config.objectStore.kind === 'local') registerPrivatePath(config.objectStore.dir);
  const dataDirLock = await lockDataDir(config.dataDir);
  // Undone in reverse order when a later step fails, and by close().
  const undo: Array<() => Promise<unknown>> = [() => dataDirLock.release()];
  const unwind = async (): Promise<void> => { for (const step of undo.splice(0).reverse()) await step().catch(() => undefined); };
  try {
    return await startOnLockedDataDir(config, deps, { logger, events }, now, undo, () => dataDirLock.release());
  } catch (e) {
    await unwind();
    throw e;
  }
}

async function startOnLockedDataDir(
  config: BrokerConfig,
  deps: BrokerDependencies,
  { logger, events }: { logger: Logger; events: EventLog },
  now: () => number,
  undo: Array<() => Promise<unknown>>,
  releaseDataDir: () => Promise<void>,
): Promise<Broker> {
  const clusterConfig = config.cluster;
  const { secrets, credentials } = await brokerIdentity(config.brokerId, clusterConfig, logger);
  undo.push(async () => secrets.close());
  // Read (and checked) first: a broker whose certificate is unusable does not start.
  const tls = config.tls === null ? null : await TlsMaterial.load(config.tls, logger);
  if (tls !== null) {
    tls.watch();
    undo.push(async () => tls.close());
  }
  const opened = deps.coordinator === undefined ? await openCoordinator(config, logger) : { coordinator: deps.coordinator, memory: null, fresh: false };
  const { coordinator, memory } = opened;
  if (deps.coordinator === undefined) undo.push(() => coordinator.close());
  // An older release's data dir: its topics, manifests and cluster id go into the engine, once.
  const imported = memory !== null && (await importDataDir({ dataDir: config.dataDir, coordinator: memory, brokerId: config.brokerId, logger }));
  // The cluster's id is the coordinator's: every broker answers the same one, a single node the one it always had.
  const clusterId = (await coordinator.status()).bootId;

  // Set below, before anything calls back into it; the tiering's fencing reaches it through this.
  let node: ClusterNode | null = null;
  let state: BrokerState = 'starting';
  let url = config.advertisedUrl;

  const waiters = new PartitionWaiters(config.maxFetchWaiters);
  const segmentFiles = new FileHandleCache(config.maxOpenSegmentFiles);
  // Measured before the logs open: a broker that starts on a full disk starts read-only.
  const disk = new DiskMonitor({
    dir: config.dataDir,
    minFreeBytes: config.minFreeDiskBytes,
    intervalMs: config.diskCheckIntervalMs,
    logger,
    reserve: { file: join(config.dataDir, META_DIR, DISK_RESERVE_FILE), bytes: config.diskReserveBytes },
  });
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
      await createObjectStore(config.objectStore, { onS3Request: (operation) => s3Requests.inc({ operation }), onS3Retry: () => s3Retries.inc() }),
    dataDir: config.dataDir,
    logger,
    registry: metrics.registry,
    now,
    segmentFiles,
    appendRefusal: () => disk.appendRefusal(),
    producerStateLimits: config.producerState,
    manifests: new CoordinatorManifestStore(coordinator),
    onFenced: (tier) => node?.fenced(tier),
    events,
  });
  undo.push(() => tiering.stop(0));
  // A single node on an empty data dir starts from what the bucket holds.
  if (memory !== null && opened.fresh && !imported) await restoreFromBucket({ tiering, coordinator: memory, brokerId: config.brokerId, logger });
  const registry: TopicRegistry = new TopicRegistry({
    dataDir: config.dataDir,
    store: tiering.bucketBackedMetadata(new CoordinatorMetadataStore(coordinator)),
    tiering,
    defaults: config.topicDefaults,
    maxPartitions: config.maxPartitions,
    maxRequestBytes: config.maxRequestBytes,
    minSegmentBytes: config.minSegmentBytes,
    openCloseConcurrency: config.logOpenCloseConcurrency,
    // Each replica needs its own broker: one on a single node, as many as are live in a cluster.
    replicationLimit: async () => {
      const live = (await node?.readLiveBrokerCount()) ?? 1;
      return { max: live, why: `${live} broker(s) are live, and each replica needs its own broker` };
    },
    logger,
    now,
    onTopicRemoved: (topic) => {
      for (const handle of topic.partitions) {
        waiters.wakeKey(handle.key);
        node?.forget(handle);
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
  await registry.start();
  undo.push(() => registry.close());
  logger.info('logs recovered', { topics: registry.list().length, partitions: registry.partitionCount, ms: Date.now() - started });

  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>): void => {
    inFlight.add(work);
    const done = (): void => void inFlight.delete(work);
    work.then(done, done);
  };

  let internalUrl = clusterConfig.internalAdvertisedUrl;
  // Set once the Kafka listener is up (after the HTTP one: its address derives from the URL).
  let kafka: KafkaListener | null = null;
  const clusterNode = new ClusterNode({
    internalUrl: () => internalUrl,
    waiters,
    brokerId: config.brokerId,
    config: clusterConfig,
    coordinator,
    registry,
    logger,
    metrics: metrics.registry,
    url: () => url,
    kafkaAddress: () => kafka?.advertisedAddress ?? null,
    startedAtMs: Date.now(),
    tls,
    credentials,
    events: { log: events, config: config.events },
  });
  node = clusterNode;
  const forwarder = new Forwarder(credentials, { metrics: metrics.registry, timeoutMs: config.fetchMaxWaitMsCap + 10_000, tls });
  undo.push(() => forwarder.close());
  const quotas = new QuotaManager({ config: config.quotas, coordinator, logger, registry: metrics.registry });
  await quotas.start().then(() => undo.push(() => quotas.stop()));
  const auth = new Authenticator({ coordinator, config: config.auth, logger, registry: metrics.registry, now });
  const authorizer = await Authorizer.open({ config: config.authorization, coordinator, logger, metrics: metrics.registry });
  undo.push(async () => authorizer.close());
  const ctx: BrokerContext = {
    coordinator, router: clusterNode, cluster: { node: clusterNode, forwarder, credentials }, config, logger, registry, waiters, metrics, disk, clusterId,
    url: () => url, state: () => state, now, track, quotas, auth, authorizer,
  };
  /** The data path's core: where each partition's produce, fetch and offset lookup goes. */
  const data = new DataCore(ctx);
  /** Idempotent producers' ids (Kafka's InitProducerId). */
  const producers = new ProducersCore(ctx.coordinator, config.brokerId, authorizer);
  registerGroupLagMetrics(metrics.registry, groupLagSource(new GroupsCore(ctx, data), registry), config.metricsLagGroupsMax, now);
  let openapi: unknown = null;
  const handlers: Record<RouteId, Handler> = {
    ...topicHandlers(ctx), ...dataHandlers(ctx, data), ...producerHandlers(ctx, producers), ...quotaHandlers(ctx),
    ...groupHandlers(ctx, data), ...userHandlers(ctx),
    ...clusterHandlers(ctx, () => (openapi ??= buildOpenApiDocument({ serverUrl: url, config }))),
  };
  /** A request naming a topic this broker has not seen yet (created through another broker) looks in the coordinator first. */
  const syncingTopics = (path: string, handler: Handler): Handler => {
    if (!path.includes('{topic}')) return handler;
    return (rc) => {
      const topic = rc.params.topic;
      if (topic !== undefined && !registry.has(topic)) return clusterNode.syncTopics().catch(() => undefined).then(() => handler(rc));
      return handler(rc); // no promise of its own per request (issue #16): a Handler may answer or throw at once
    };
  };
  // Listening comes before the first ticks (the cluster node registers the URL it listens at): a
  // request that arrives meanwhile waits for them (bounded: each tick is), rather than meeting a
  // broker that does not lead its partitions yet. Liveness answers at once.
  let markStarted!: () => void;
  const startedGate = new Promise<void>((resolve) => (markStarted = resolve));
  const afterStart = (handler: Handler): Handler => {
    const ifStarted: Handler = (rc) => {
      if (state === 'closing' || state === 'closed') throw new StrataError('BROKER_SHUTTING_DOWN', 'the broker did not start; retry on another broker or after restart');
      return handler(rc);
    };
    return (rc) => (state === 'starting' ? Promise.race([startedGate, once(rc.signal, 'abort')]).then(() => ifStarted(rc)) : ifStarted(rc));
  };
  const routes: Route[] = ROUTES.map((spec) => ({ ...spec, ...(spec.id === 'metrics' && config.auth.metricsPublic ? { public: true } : {}), handler: spec.id === 'healthz' ? handlers[spec.id] : afterStart(syncingTopics(spec.path, handlers[spec.id])) }));
  const apiListener = createRequestListener({ router: new Router(routes), metrics, logger, isShuttingDown: () => state === 'closing' || state === 'closed', track, authenticate: (req, route) => httpPrincipal(auth, req, route), originOf: httpOrigin(credentials), browser: new BrowserGuard(config.corsOrigins) });
  // The web console at /console (its files, from memory); everything else is the API.
  const consoleAssets = await ConsoleAssets.load(config.console, logger);
  const requestListener = (req: IncomingMessage, res: ServerResponse): void => void (consoleAssets.serve(req, res) || apiListener(req, res));
  const listeners = await startPublicListeners(config, tls, requestListener, metrics, logger, quotas);
  undo.push(() => listeners.close());
  // A failed start lets waiting requests through: they find the broker closing (503, retriable).
  undo.push(async () => {
    state = 'closing';
    markStarted();
  });
  const port = listeners.port;
  if (url === '') url = `${schemeOf(tls)}://${urlHost(config.host)}:${port}`;
  if (config.kafka.port !== 0) {
    try {
      kafka = await startKafkaListener(ctx, data, producers, () => new URL(url).hostname, tls);
    } catch (e) {
      logger.error('cannot listen on the kafka port', { host: config.host, port: config.kafka.port, err: e });
      throw e;
    }
    const listener = kafka;
    undo.push(() => listener.close(0));
  }

  const maintenance = new MaintenanceLoop({
    intervalMs: config.maintenanceIntervalMs,
    partitions: (): IterableIterator<PartitionHandle> => registry.allPartitions(),
    isLive: (h) => registry.isCurrent(h),
    logger,
    metrics,
  });
  maintenance.start();
  undo.push(() => maintenance.stop());
  // Empty groups' offsets expire at the controller only.
  const groupExpiry = new GroupExpiryLoop({
    coordinator,
    intervalMs: config.groups.expiryIntervalMs,
    offsetsRetentionMs: config.groups.offsetsRetentionMs,
    groupsPerPass: config.groups.expiryGroupsPerPass,
    isResponsible: () => clusterNode.controller === config.brokerId,
    logger,
  });
  groupExpiry.start();
  undo.push(() => groupExpiry.stop());
  tiering.start();
  // Replication's listener. Without Redis it binds loopback on an ephemeral port (config/load.ts):
  // a peer must share the in-process coordinator, so only this process can have one.
  let internalServer: InternalServer;
  try {
    internalServer = await startInternalServer({
      host: clusterConfig.internalHost, port: clusterConfig.internalPort,
      credentials, metrics: metrics.registry,
      registry,
      node: () => clusterNode,
      logger,
      maxBytesCap: clusterConfig.replicaFetchMaxBytes,
      maxWaitMsCap: clusterConfig.replicaFetchWaitMaxMs,
      // Brokers only, authenticated; one follower opens a connection per concurrent fetch: no per-address limit.
      limits: { ...connectionLimits(config), maxConnectionsPerAddress: 0 },
      tls,
    });
  } catch (e) {
    logger.error('cannot listen on the internal port', { host: clusterConfig.internalHost, port: clusterConfig.internalPort, err: e });
    throw e;
  }
  undo.push(() => internalServer.close());
  if (internalUrl === '') internalUrl = clusterConfig.redisUrl === '' ? `${schemeOf(tls)}://127.0.0.1:${internalServer.port}` : withPort(url, internalServer.port);
  logger.info('internal (replication) listener up', { host: clusterConfig.internalHost, port: internalServer.port, internalUrl });
  try {
    await clusterNode.start();
  } catch (e) {
    logger.error('cannot join the cluster', { err: e });
    throw e;
  }
  undo.push(() => clusterNode.stop());
  disk.start();
  state = 'ready';
  markStarted();
  announceAuthentication(config, logger);
  logger.info('broker ready', { url, port, clusterId, ms: Date.now() - started });

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    state = 'closing';
    logger.info('broker shutting down', { inFlight: inFlight.size, waiters: waiters.size });
    const deadline = Date.now() + config.shutdownTimeoutMs;
    const inFlightDone = async (): Promise<void> => {
      while (inFlight.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.allSettled([...inFlight]), sleep(Math.max(0, deadline - Date.now()), undefined, { ref: false })]);
      }
    };
    // Hand this broker's partitions over (their tails go to the bucket, or straight to an in-sync
    // successor) while requests in flight finish, which another broker can then take. With no
    // other broker live nobody could: the requests in flight finish first (bounded), then it leaves.
    let serverClosed: Promise<void> | null = null;
    let kafkaClosed: Promise<void> | undefined;
    const stopTaking = (): void => {
      serverClosed = listeners.close();
      // Kafka connections answer what they have read (long-polls return at waiters.close()), then end.
      kafkaClosed = kafka?.close(config.shutdownTimeoutMs);
      // Long-polls answer with what they have.
      waiters.close();
    };
    const alone = clusterNode.liveBrokerCount() <= 1;
    if (alone) {
      stopTaking();
      await inFlightDone();
    }
    await clusterNode.leave(clusterConfig.handoverTimeoutMs);
    if (!alone) stopTaking();
    await maintenance.stop();
    await Promise.all([groupExpiry.stop(), quotas.stop()]);
    await inFlightDone();
    if (inFlight.size > 0) {
      logger.warn('in-flight requests did not finish before the shutdown timeout; closing their connections', {
        count: inFlight.size,
        timeoutMs: config.shutdownTimeoutMs,
      });
    }
    listeners.closeAllConnections();
    await clusterNode.stop();
    await internalServer.close();
    await forwarder.close().catch(() => undefined);
    authorizer.close();
    // Uploads in flight may finish; the rest resume from the manifest at the next start.
    await tiering.stop(Math.max(0, deadline - Date.now()));
    try {
      await registry.close();
    } catch (e) {
      logger.error('closing the logs failed', { err: e });
    }
    await serverClosed;
    await kafkaClosed;
    if (deps.coordinator === undefined) await coordinator.close().catch((e: unknown) => logger.warn('closing the coordinator failed', { err: e }));
    await disk.stop();
    tls?.close();
    secrets.close();
    await releaseDataDir();
    state = 'closed';
    logger.info('broker stopped');
  };

  return {
    get url() { return url; },
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
