/**
 * A Strata cluster on loopback: one redis-server, one S3-compatible server and N broker
 * processes, each a real `strata serve` with its own data dir and id. Brokers can be added,
 * stopped (SIGTERM), killed (-9), paused (SIGSTOP), resumed and restarted through their
 * BrokerProcess; Redis likewise through `redis`.
 *
 * Timings are shortened for tests (lease and session TTLs of a couple of seconds) but keep the
 * production ratios: the loop ticks many times per lease.
 */
import { BrokerProcess, type BrokerProcessOptions } from './broker-process.js';
import type { Json } from './http.js';
import { RedisServer } from './redis-server.js';
import { S3Server, type S3EndpointOverride } from './s3-server.js';

export interface ClusterOptions {
  brokers?: number;
  /** Extra environment for every broker. */
  env?: Record<string, string>;
  /** Lease and session TTL (default 2000 ms). */
  leaseTtlMs?: number;
  /** Route the brokers' S3 traffic through this (a FaultProxy). */
  s3Via?: S3EndpointOverride;
  /** An S3 server to use instead of starting one. */
  s3?: S3Server;
  /** Every broker runs a Kafka listener on a free port (BrokerProcessOptions.kafka). */
  kafka?: boolean;
}

export interface PartitionLeaders {
  /** "<topic>/<partition>" -> the brokers claiming it, as each broker sees itself. */
  claims: Map<string, string[]>;
  /** "<topic>/<partition>" -> the leader each live broker reports for it. */
  reported: Map<string, Array<string | null>>;
}

export class Cluster {
  readonly redis: RedisServer;
  readonly s3: S3Server;
  readonly brokers = new Map<string, BrokerProcess>();
  private readonly options: ClusterOptions;
  private readonly ownsS3: boolean;
  private nextId = 1;

  private constructor(redis: RedisServer, s3: S3Server, ownsS3: boolean, options: ClusterOptions) {
    this.redis = redis;
    this.s3 = s3;
    this.ownsS3 = ownsS3;
    this.options = options;
  }

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const [redis, s3] = await Promise.all([RedisServer.start(), options.s3 ? Promise.resolve(options.s3) : S3Server.start()]);
    const cluster = new Cluster(redis, s3, options.s3 === undefined, options);
    await Promise.all(Array.from({ length: options.brokers ?? 3 }, () => cluster.addBroker()));
    return cluster;
  }

  /** The environment every broker of this cluster runs with. */
  brokerEnv(id: string): Record<string, string> {
    const ttl = String(this.options.leaseTtlMs ?? 2_000);
    return {
      ...this.redis.brokerEnv(),
      ...this.s3.brokerEnv(undefined, this.options.s3Via),
      STRATA_BROKER_ID: id,
      STRATA_LEASE_TTL_MS: ttl,
      STRATA_SESSION_TTL_MS: ttl,
      STRATA_CLUSTER_TICK_MS: '100',
      STRATA_TIER_INTERVAL_MS: '200',
      STRATA_SHUTDOWN_TIMEOUT_MS: '10000',
      STRATA_HANDOVER_TIMEOUT_MS: '10000',
      STRATA_INTERNAL_PORT: '0',
      STRATA_CLUSTER_SECRET: 'strata-test-cluster-secret',
      STRATA_REPLICA_LAG_TIME_MAX_MS: '3000',
      STRATA_LOG_LEVEL: 'info',
      ...this.options.env,
    };
  }

  /** Starts one more broker ("b<n>") and waits until it is ready. */
  async addBroker(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
    const id = `b${this.nextId++}`;
    const broker = await BrokerProcess.start({ kafka: this.options.kafka, ...options, env: { ...this.brokerEnv(id), ...options.env } });
    this.brokers.set(id, broker);
    return broker;
  }

  broker(id: string): BrokerProcess {
    const broker = this.brokers.get(id);
    if (!broker) throw new Error(`no broker ${id}`);
    return broker;
  }

  /** Brokers whose process runs (paused ones included). */
  running(): Array<[string, BrokerProcess]> {
    return [...this.brokers.entries()].filter(([, b]) => b.running);
  }

  /** Gracefully removes a broker (SIGTERM: it hands its partitions over) and forgets it. */
  async removeBroker(id: string): Promise<void> {
    await this.broker(id).stop(30_000);
    this.brokers.delete(id);
  }

  /** Every running, unpaused broker's view: who claims each partition and whom each reports as leader. */
  async leaders(skip: ReadonlySet<string> = new Set()): Promise<PartitionLeaders> {
    const claims = new Map<string, string[]>();
    const reported = new Map<string, Array<string | null>>();
    const views = await Promise.all(
      this.running()
        .filter(([id]) => !skip.has(id))
        .map(async ([id, broker]) => {
          const res = await broker.http.get('/v1/cluster', { timeoutMs: 5_000 }).catch(() => null);
          return res?.status === 200 ? { id, body: res.body as ClusterBody } : null;
        }),
    );
    for (const view of views) {
      if (view === null) continue;
      for (const b of view.body.brokers) {
        for (const { topic, partitions } of b.leaderOf) {
          for (const p of partitions) {
            const key = `${topic}/${p}`;
            if (b.id === view.id) claims.set(key, [...(claims.get(key) ?? []), view.id]);
            reported.set(key, [...(reported.get(key) ?? []), b.id]);
          }
        }
      }
    }
    return { claims, reported };
  }

  /** Waits until every running broker sees all of them live (a controller assigns only to the brokers it sees). */
  async awaitLive(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const running = this.running();
    for (;;) {
      const views = await Promise.all(running.map(([, b]) => b.http.get('/v1/cluster', { timeoutMs: 5_000 }).catch(() => null)));
      const liveEverywhere = views.every((res) => res?.status === 200 && (res.body as ClusterBody).brokers.filter((b) => b.live).length === running.length);
      if (liveEverywhere) return;
      if (Date.now() > deadline) throw new Error(`${running.length} brokers were not all live in every view within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until each of `partitions` of `topic` is claimed by exactly one broker; returns topic/p -> leader. */
  async awaitLeaders(topic: string, partitions: number, timeoutMs = 30_000): Promise<Map<number, string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { claims } = await this.leaders();
      const leaders = new Map<number, string>();
      for (let p = 0; p < partitions; p++) {
        const claimants = claims.get(`${topic}/${p}`) ?? [];
        if (claimants.length === 1) leaders.set(p, claimants[0]!);
      }
      if (leaders.size === partitions) return leaders;
      if (Date.now() > deadline) throw new Error(`leaders of ${topic} did not settle in ${timeoutMs} ms: ${JSON.stringify([...claims])}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  printLogs(): void {
    for (const [, broker] of this.brokers) broker.printLogs();
    this.redis.printLogs();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.brokers.values()].map((b) => (b.running ? b.stop(30_000).catch(() => b.kill()) : undefined)));
    await this.redis.stop().catch(() => undefined);
    if (this.ownsS3) await this.s3.stop().catch(() => undefined);
  }
}

interface ClusterBody {
  controller: string | null;
  brokers: Array<{ id: string; url: string; live: boolean; leaderOf: Array<{ topic: string; partitions: number[] }> }>;
}

export type { Json };
