// ClusterNode against the in-process coordinator: leadership decisions that must never throw
// acknowledged records away.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator, type Coordinator } from '@strata/coord';
import { LocalDirObjectStore } from '@strata/storage';
import { FileHandleCache } from '@strata/log';
import { encodeRecordBatch, validateBatches } from '@strata/protocol';
import { ClusterNode } from '../src/cluster/cluster-node.js';
import { EventLog } from '../src/events/event-log.js';
import { BrokerCredentials } from '../src/security/broker-credentials.js';
import { ClusterSecrets } from '../src/security/cluster-secrets.js';
import { CoordinatorManifestStore, CoordinatorMetadataStore } from '../src/cluster/coordinator-stores.js';
import { loadConfig } from '../src/config.js';
import { PartitionWaiters } from '../src/partition-waiters.js';
import { createLogger } from '../src/logger.js';
import { Tiering } from '../src/tiering/tiering.js';
import { TopicRegistry } from '../src/topics/topic-registry.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** One broker's registry, tiering and cluster node over `coordinator`. */
async function brokerOver(coordinator: Coordinator) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-node-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const config = loadConfig({ STRATA_KAFKA_PORT: '0', STRATA_DATA_DIR: join(dir, 'data') }, []);
  const logger = createLogger({ level: 'error', base: {} });
  const metrics = new Registry();
  let node: ClusterNode | null = null;
  const tiering = new Tiering({
    ...config.tiering,
    store: new LocalDirObjectStore(join(dir, 'bucket')),
    dataDir: config.dataDir,
    logger,
    registry: metrics,
    now: Date.now,
    manifests: new CoordinatorManifestStore(coordinator),
    onFenced: (tier) => node?.fenced(tier),
    segmentFiles: new FileHandleCache(config.maxOpenSegmentFiles),
    appendRefusal: () => null,
  });
  const registry = new TopicRegistry({
    dataDir: config.dataDir,
    store: new CoordinatorMetadataStore(coordinator),
    tiering,
    defaults: config.topicDefaults,
    maxPartitions: 100,
    maxRequestBytes: config.maxRequestBytes,
    minSegmentBytes: config.minSegmentBytes,
    openCloseConcurrency: config.logOpenCloseConcurrency,
    replicationLimit: async () => ({ max: 1, why: 'test' }),
    logger,
    now: Date.now,
    onTopicRemoved: (t) => t.partitions.forEach((h) => node?.forget(h)),
  });
  await registry.start();
  // The cluster settings as a clustered broker reads them (the Redis URL is not used: the coordinator is given).
  const clusterConfig = loadConfig(
    {
      STRATA_REDIS_URL: 'redis://127.0.0.1:1',
      STRATA_CLUSTER_SECRET: 'a-test-secret-of-some-length',
      STRATA_LEASE_TTL_MS: '2000',
      STRATA_SESSION_TTL_MS: '2000',
      STRATA_CLUSTER_TICK_MS: '50',
      STRATA_HANDOVER_TIMEOUT_MS: '5000',
    },
    [],
  ).cluster!;
  const credentials = new BrokerCredentials('b1', await ClusterSecrets.load(clusterConfig, logger), { maxSkewMs: 30_000, noncesMax: 1_000 });
  node = new ClusterNode({
    brokerId: 'b1',
    config: clusterConfig,
    credentials,
    coordinator,
    registry,
    logger,
    metrics,
    url: () => 'http://127.0.0.1:1',
    internalUrl: () => 'http://127.0.0.1:2',
    waiters: new PartitionWaiters(100),
    startedAtMs: Date.now(),
    events: { log: new EventLog('b1', config.events), config: config.events },
  });
  cleanups.push(async () => {
    await node!.stop();
    await tiering.stop(0);
    await registry.close();
  });
  return { node, registry };
}

describe('ClusterNode', () => {
  it('keeps its acknowledged tail when taking a partition back after a failure right after the grant', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-coord-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const real = await MemoryCoordinator.open({ dir });
    cleanups.push(() => real.close());
    // The coordinator, with one read failing right after the next grant (a Redis blip).
    let armed = false;
    let failNextRead = false;
    const coordinator = new Proxy(real, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== 'function') return value;
        if (property === 'acquireLeadership') {
          return async (...args: unknown[]) => {
            const grant = await (value as (...a: unknown[]) => Promise<{ acquired: boolean }>).apply(target, args);
            if (grant.acquired && armed) [armed, failNextRead] = [false, true];
            return grant;
          };
        }
        if (property === 'getPartitionState') {
          return async (...args: unknown[]) => {
            if (failNextRead) {
              failNextRead = false;
              throw new Error('injected: the coordinator failed right after the grant');
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    }) as Coordinator;

    const { node, registry } = await brokerOver(coordinator);
    await registry.create({ name: 't', partitions: 1 });
    await node.start();
    const handle = registry.partition('t', 0);
    const localLeader = async () => {
      for (let i = 0; i < 100; i++) {
        const route = node.route(handle);
        if (route.kind === 'local') return route.leader;
        await sleep(50);
      }
      throw new Error('never became the leader');
    };
    const leader = await localLeader();
    const epoch = leader.epoch;
    for (let i = 0; i < 5; i++) {
      const batch = encodeRecordBatch([{ value: Buffer.from(`acked-${i}`) }]);
      // Acknowledged: the leader's append protocol found its lease live after the append.
      await leader.append(batch, validateBatches(batch), { acks: '1', minInsync: 1 }, { signal: AbortSignal.timeout(5_000) });
    }
    // The reign is lost while the lease stays ours (here: a fenced write); the re-acquisition then
    // meets a failure right after its grant, and the next attempt succeeds.
    armed = true;
    node.fenced(handle.tier);
    expect(leader.status).toBe('ended');
    const again = await localLeader();
    expect(again.epoch).toBeGreaterThan(epoch);
    expect(handle.log.logEndOffset).toBe(5);
  }, 30_000);
});

describe('ClusterNode.awaitLeaders (found by the full HTTP fuzz run)', () => {
  // A create waits for its topic's leaders and runs the cluster loop itself to get them. When the
  // topic was deleted meanwhile (another request), its partitions are no longer served: no tick
  // ever leads them. On the in-process coordinator such a tick completes in microtasks alone, and
  // the loop ran tick after tick until the wait's bound, holding the event loop the whole time.
  it('gives up on a topic deleted meanwhile, and never holds the event loop while it waits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-coord-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const coordinator = await MemoryCoordinator.open({ dir });
    cleanups.push(() => coordinator.close());
    const { node, registry } = await brokerOver(coordinator);
    await node.start();
    const topic = await registry.create({ name: 'gone', partitions: 2 });
    await registry.delete('gone');

    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 0);
    // A bound far past the test's own timeout: only giving up on the deleted topic returns in time.
    const led = await node.awaitLeaders(topic, 3_600_000);
    expect(led).toBe(false);

    // A topic that is led: the wait returns true, and a timer set before it ran meanwhile.
    const kept = await registry.create({ name: 'kept', partitions: 2 });
    expect(await node.awaitLeaders(kept, 3_600_000)).toBe(true);
    expect(timerRan, 'a timer set before the waits ran during them').toBe(true);
  }, 30_000);
});
