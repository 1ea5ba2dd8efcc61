/**
 * A Strata cluster inside the test process, for fast tests (as franz-go's kfake or nats' test
 * server): N `startBroker()` brokers sharing ONE MemoryCoordinator (in a temp dir) and one local
 * object store dir, each with its own data dir, broker id and ephemeral ports (HTTP and internal).
 * The brokers are real (the same HTTP, replication, leases and hand-over as in production, over
 * loopback); only Redis is replaced by the in-process engine, which the conformance suite holds to
 * the same semantics. No child process, no redis-server, no S3 server to start.
 *
 * It does not replace `Cluster` (cluster.ts: real processes, Redis, S3, kill -9, SIGSTOP): a broker
 * here can only stop gracefully (close(): it hands its partitions over) and restart on its data
 * dir, and every broker shares the process's event loop. Fault, crash and process tests stay there.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, startBroker, type Broker, type LogLevel } from '@strata/broker';
import { MemoryCoordinator } from '@strata/coord';
import { tempDir } from './temp.js';

export interface InProcessClusterOptions {
  /** Brokers started at once (default 3): "b1", "b2", ... */
  brokers?: number;
  /** Extra STRATA_* settings for every broker (as the environment of `strata serve`). */
  env?: Record<string, string>;
  /** Lease and session TTL (default 2000 ms): short for tests, the production ratios kept. */
  leaseTtlMs?: number;
  /** The brokers' log level (default 'error': a test prints what went wrong, not every warning). */
  logLevel?: LogLevel;
}

/** How long awaitLeader waits by default, in ms: a few lease TTLs. */
const LEADER_WAIT_MS = 20_000;
/** How long a change of brokers may take to reach every broker's view, in ms: a few lease TTLs. */
const SETTLE_WAIT_MS = 20_000;
/** Between two looks while waiting for a leader or a settled view, in ms. */
const POLL_MS = 50;

/**
 * The settings a broker of this cluster must have: config.cluster is set as for a Redis cluster
 * (STRATA_REDIS_URL names no server: the broker is given the shared coordinator and never connects).
 */
const NEVER_CONNECTED_REDIS_URL = 'redis://in-process-coordinator.invalid:6379';

export class InProcessCluster {
  /** The coordinator every broker shares (read partition state, groups, ... straight from it). */
  readonly coordinator: MemoryCoordinator;
  /** The object store dir every broker uploads to. */
  readonly objectsDir: string;
  readonly #root: string;
  readonly #options: InProcessClusterOptions;
  /** Every broker ever added, by id: its data dir, and the running instance (null while stopped). */
  readonly #brokers = new Map<string, { dataDir: string; broker: Broker | null }>();
  #nextId = 1;
  #closed = false;

  private constructor(root: string, coordinator: MemoryCoordinator, options: InProcessClusterOptions) {
    this.#root = root;
    this.coordinator = coordinator;
    this.objectsDir = join(root, 'objects');
    this.#options = options;
  }

  static async start(options: InProcessClusterOptions = {}): Promise<InProcessCluster> {
    const root = tempDir('strata-inproc-');
    // The coordinator takes what a Redis one would be given by a broker: the lease TTL and the group
    // limits, read from the same settings the brokers will run with.
    const settings = loadConfig(InProcessCluster.#env(root, 'settings', join(root, 'settings'), options), []);
    const coordinator = await MemoryCoordinator.open({ dir: join(root, 'coord'), leaseTtlMaxMs: settings.cluster!.leaseTtlMs, groupLimits: settings.groups.limits });
    const cluster = new InProcessCluster(root, coordinator, options);
    try {
      await mkdir(cluster.objectsDir, { recursive: true });
      await Promise.all(Array.from({ length: options.brokers ?? 3 }, () => cluster.#add()));
      await cluster.settle();
    } catch (e) {
      await cluster.close();
      throw e;
    }
    return cluster;
  }

  static #env(root: string, id: string, dataDir: string, options: InProcessClusterOptions): Record<string, string> {
    const ttl = String(options.leaseTtlMs ?? 2_000);
    return {
      STRATA_BROKER_ID: id,
      STRATA_HOST: '127.0.0.1',
      STRATA_HTTP_PORT: '0',
      STRATA_INTERNAL_PORT: '0',
      // Off: the brokers of one process would all claim the default Kafka port (tests of the listener start their own).
      STRATA_KAFKA_PORT: '0',
      STRATA_DATA_DIR: dataDir,
      STRATA_OBJECTS_DIR: join(root, 'objects'),
      STRATA_REDIS_URL: NEVER_CONNECTED_REDIS_URL,
      STRATA_CLUSTER_SECRET: 'strata-in-process-cluster-secret',
      STRATA_LEASE_TTL_MS: ttl,
      STRATA_SESSION_TTL_MS: ttl,
      STRATA_CLUSTER_TICK_MS: '100',
      STRATA_TIER_INTERVAL_MS: '200',
      STRATA_SHUTDOWN_TIMEOUT_MS: '10000',
      STRATA_HANDOVER_TIMEOUT_MS: '10000',
      STRATA_REPLICA_LAG_TIME_MAX_MS: '3000',
      STRATA_LOG_LEVEL: options.logLevel ?? 'error',
      ...options.env,
    };
  }

  /** The ids of every broker added (stopped ones included), in the order they were added. */
  get ids(): string[] {
    return [...this.#brokers.keys()];
  }

  /** The running broker `id` (throws if there is none, or it is stopped). */
  broker(id: string): Broker {
    const broker = this.#brokers.get(id)?.broker;
    if (broker === null || broker === undefined) throw new Error(`in-process cluster: no running broker ${id}`);
    return broker;
  }

  /** The running brokers, by id. */
  running(): Array<[string, Broker]> {
    return [...this.#brokers.entries()].flatMap(([id, b]) => (b.broker === null ? [] : [[id, b.broker] as [string, Broker]]));
  }

  /** The running brokers' URLs: a client's bootstrap list. */
  urls(): string[] {
    return this.running().map(([, broker]) => broker.url);
  }

  /** Starts one more broker ("b<n>", its own data dir); resolves once every broker sees it live. */
  async addBroker(): Promise<string> {
    const id = await this.#add();
    await this.settle();
    return id;
  }

  /** Stops a broker gracefully (it hands its partitions over, then closes); its data dir stays for a restart. */
  async stopBroker(id: string): Promise<void> {
    const entry = this.#entry(id);
    const broker = entry.broker;
    if (broker === null) return;
    entry.broker = null;
    await broker.close();
    await this.settle();
  }

  /** Starts a stopped broker again on its data dir (same id; new ports). */
  async restartBroker(id: string): Promise<Broker> {
    if (this.#entry(id).broker !== null) throw new Error(`in-process cluster: broker ${id} is running`);
    const broker = await this.#start(id);
    await this.settle();
    return broker;
  }

  /**
   * Waits (bounded) until every running broker sees exactly the running brokers as live. A broker
   * refreshes its view once a cluster tick: until then it may, for one, refuse a replication factor
   * above the brokers it has seen.
   */
  async settle(timeoutMs = SETTLE_WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.running();
      const expected = running.map(([id]) => id).sort().join(',');
      const views = await Promise.all(running.map(([, broker]) => liveBrokers(broker.url)));
      if (views.every((view) => view === expected)) return;
      if (Date.now() > deadline) throw new Error(`in-process cluster: the brokers' views [${views.join(' | ')}] did not settle on ${expected}`);
      await sleep(POLL_MS);
    }
  }

  /** The live leader of a partition as the coordinator has it (its lease holder), if it is a running broker here; else null. */
  async leaderOf(topic: string, partition: number): Promise<string | null> {
    const state = await this.coordinator.getPartitionState(topic, partition);
    const leader = state?.leader ?? null;
    return leader !== null && (this.#brokers.get(leader)?.broker ?? null) !== null ? leader : null;
  }

  /** Waits (bounded) for a running leader of the partition, other than `not` when given. */
  async awaitLeader(topic: string, partition: number, options: { not?: string; timeoutMs?: number } = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? LEADER_WAIT_MS);
    for (;;) {
      const leader = await this.leaderOf(topic, partition);
      if (leader !== null && leader !== options.not) return leader;
      if (Date.now() > deadline) throw new Error(`in-process cluster: no leader of ${topic}/${partition}${options.not === undefined ? '' : ` other than ${options.not}`} within the wait`);
      await sleep(POLL_MS);
    }
  }

  /** Stops every broker (in parallel, gracefully), closes the coordinator and removes every dir. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const running = this.running().map(([id]) => id);
    const results = await Promise.allSettled(
      running.map((id) => {
        const entry = this.#entry(id);
        const broker = entry.broker!;
        entry.broker = null;
        return broker.close();
      }),
    );
    await this.coordinator.close();
    if (process.env['STRATA_KEEP_TMP'] !== '1') await rm(this.#root, { recursive: true, force: true });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  #entry(id: string): { dataDir: string; broker: Broker | null } {
    const entry = this.#brokers.get(id);
    if (entry === undefined) throw new Error(`in-process cluster: no broker ${id}`);
    return entry;
  }

  async #add(): Promise<string> {
    const id = `b${this.#nextId++}`;
    this.#brokers.set(id, { dataDir: join(this.#root, id), broker: null });
    await this.#start(id);
    return id;
  }

  async #start(id: string): Promise<Broker> {
    if (this.#closed) throw new Error('in-process cluster: closed');
    const entry = this.#entry(id);
    const config = loadConfig(InProcessCluster.#env(this.#root, id, entry.dataDir, this.#options), []);
    const broker = await startBroker(config, { coordinator: this.coordinator });
    entry.broker = broker;
    return broker;
  }
}

/** The ids a broker reports live in GET /v1/cluster, sorted and joined ("unreachable" if it does not answer). */
async function liveBrokers(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/v1/cluster`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { brokers?: Array<{ id: string; live: boolean }> };
    return (body.brokers ?? []).filter((b) => b.live).map((b) => b.id).sort().join(',');
  } catch {
    return 'unreachable';
  }
}

/** Starts an in-process cluster; close() it after the tests (it stops the brokers and removes its dirs). */
export function startInProcessCluster(options: InProcessClusterOptions = {}): Promise<InProcessCluster> {
  return InProcessCluster.start(options);
}
