// Replication (docs/architecture.md#invariants, #cluster): acks=all with min.insync.replicas=2 on three brokers.
// - durability: brokers SIGKILLed at random moments (one at a time, sometimes the leader, some
//   restarted with a wiped data dir) while producers send acks=all: every acknowledged record is
//   at its acknowledged offset at the end, offsets are dense, no record is there twice, and no
//   consumer saw a record that later vanished. STRATA_SOAK=1 runs it longer.
// - a network partition: a leader paused (SIGSTOP) past its lease, a new one elected from the
//   ISR; the old leader's unreplicated appends are truncated away on its own disk on resume, and
//   none of them was ever acknowledged with acks=all.
// - NOT_ENOUGH_REPLICAS with two of three brokers down, and recovery when they return.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '@strata/protocol';
import { RedisCoordinator } from '@strata/coord';
import { Cluster, SeededRandom, expectStatus, seedFromEnv, type BrokerProcess } from './harness/index.js';
import { clusterPerTest } from './support.js';

const SOAK = process.env['STRATA_SOAK'] === '1';

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every record of a partition, read through `broker` from offset 0 up to the HW; offsets checked dense. */
async function readPartition(broker: BrokerProcess, topic: string, partition: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let offset = 0;
  for (let round = 0; round < 10_000; round++) {
    const res = await broker.http.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=2000`, { timeoutMs: 10_000 });
    expectStatus(res, 200, `read ${topic}/${partition}@${offset}`);
    for (const r of res.body.records as Array<{ offset: number; value: string }>) {
      expect(r.offset, `dense offsets in ${topic}/${partition}`).toBe(offset);
      out.set(r.offset, r.value);
      offset = r.offset + 1;
    }
    if (offset >= res.body.highWatermark) return out;
  }
  throw new Error('read did not finish');
}

/** The records in a broker's local log files for one partition (its own disk, not what the leader serves). */
async function localRecords(broker: BrokerProcess, topic: string, partition: number): Promise<Map<number, string>> {
  const dir = join(broker.dataDir, `${topic}-${partition}`);
  const out = new Map<number, string>();
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log')).sort()) {
    const bytes = await readFile(join(dir, name));
    if (bytes.length === 0) continue;
    for (const r of decodeRecordBatches(bytes)) out.set(r.offset, r.value?.toString() ?? '');
  }
  return out;
}

function manifestEnd(manifest: { logStartOffset: number; segments: Array<{ lastOffset: number }> }): number {
  return manifest.segments.at(-1) === undefined ? manifest.logStartOffset : manifest.segments.at(-1)!.lastOffset + 1;
}

/** The first offset of a broker's local log of a partition (its oldest segment's base), or null if it has none. */
async function firstLocalOffset(broker: BrokerProcess, topic: string, partition: number): Promise<number | null> {
  const names = (await readdir(join(broker.dataDir, `${topic}-${partition}`)).catch(() => [] as string[])).filter((n) => /^\d{20}\.log$/.test(n)).sort();
  return names.length === 0 ? null : Number(names[0]!.slice(0, 20));
}

describe('replication', () => {
  const t = clusterPerTest();

  const start = async (topic: string, partitions: number, extraConfigs: Record<string, unknown> = {}): Promise<Cluster> => {
    const cluster = (t.cluster = await Cluster.start({
      brokers: 3,
      env: { STRATA_REPLICA_ACK_TIMEOUT_MS: '4000', STRATA_LOG_LEVEL: 'info', STRATA_MIN_SEGMENT_BYTES: '1024' }, // small segments: the tests' escape hatch
    }));
    t.coord = await RedisCoordinator.connect({ url: cluster.redis.url });
    const c = cluster;
    // The replication factor is checked against the brokers the creating broker sees live.
    await until('b1 to see three live brokers', async () => {
      const res = await c.broker('b1').http.get('/v1/cluster');
      return res.status === 200 && (res.body.brokers as Array<{ live: boolean }>).filter((b) => b.live).length === 3;
    });
    expectStatus(
      await cluster.broker('b1').http.post('/v1/topics', {
        name: topic,
        partitions,
        replicationFactor: 3,
        configs: { 'min.insync.replicas': 2, 'segment.bytes': 64 * 1024, ...extraConfigs },
      }),
      201,
      'create',
    );
    await cluster.awaitLeaders(topic, partitions);
    await fullIsr(topic, partitions);
    return cluster;
  };

  const fullIsr = (topic: string, partitions: number, timeoutMs = 30_000): Promise<true> =>
    until(
      `every partition of ${topic} to have 3 in-sync replicas`,
      async () => {
        for (let p = 0; p < partitions; p++) {
          const s = await t.coord!.getPartitionState(topic, p);
          if (s === null || s.leader === null || s.isr.length !== 3) return false;
        }
        return true as const;
      },
      timeoutMs,
    );

  it('loses no acks=all record while brokers are killed (-9) one at a time, some with their disk wiped', async () => {
    const seed = seedFromEnv();
    const random = new SeededRandom(seed);
    const TOPIC = 'durable';
    const PARTITIONS = 4;
    // Small segments: uploads, and new leaders resuming them, happen throughout.
    const c = await start(TOPIC, PARTITIONS, { 'segment.bytes': 16 * 1024 });
    const rounds = SOAK ? 20 : 3;
    const ids = ['b1', 'b2', 'b3'];
    const live = new Set(ids);

    const acked: Array<{ partition: number; offset: number; value: string }> = [];
    const counts = { attempts: 0, ackedRequests: 0, failedRequests: 0, kills: 0, leaderKills: 0, wipes: 0, consumed: 0, newReplicaChecks: 0 };
    const errors = new Map<string, number>();
    const stop = new AbortController();

    // Producers: each request a few unique values, acks=all, to any live broker (forwarded to the leader).
    const producers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let seq = 0; !stop.signal.aborted; seq++) {
          const id = random.pick([...live]);
          const records = Array.from({ length: 3 }, (_, i) => ({ key: `w${w}-${seq}-${i}`, value: `w${w}-${seq}-${i}` }));
          counts.attempts++;
          try {
            const res = await c.broker(id).http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records }, { timeoutMs: 8_000 });
            if (res.status === 200) {
              counts.ackedRequests++;
              (res.body.offsets as Array<{ partition: number; offset: number }>).forEach((o, i) => acked.push({ ...o, value: records[i]!.value }));
            } else {
              counts.failedRequests++;
              const code = res.body?.error?.code ?? `HTTP ${res.status}`;
              errors.set(code, (errors.get(code) ?? 0) + 1);
              if (res.status === 207) {
                (res.body.offsets as Array<{ partition: number; offset: number; error?: unknown }>).forEach((o, i) => {
                  if (o.error === undefined) acked.push({ partition: o.partition, offset: o.offset, value: records[i]!.value });
                });
              }
              await sleep(50);
            }
          } catch {
            counts.failedRequests++;
            errors.set('connection', (errors.get('connection') ?? 0) + 1);
            await sleep(50);
          }
        }
      })(),
    );

    // Consumers: one per partition, through any live broker, remembering what they saw.
    const consumed = new Map<number, Map<number, string>>();
    const consumers = Array.from({ length: PARTITIONS }, (_, p) =>
      (async () => {
        const seen = new Map<number, string>();
        consumed.set(p, seen);
        let offset = 0;
        while (!stop.signal.aborted) {
          const id = random.pick([...live]);
          try {
            const res = await c.broker(id).http.get(`/v1/topics/${TOPIC}/partitions/${p}/records?offset=${offset}&maxRecords=500&maxWaitMs=200`, { timeoutMs: 5_000 });
            if (res.status !== 200) {
              await sleep(50);
              continue;
            }
            for (const r of res.body.records as Array<{ offset: number; value: string }>) {
              seen.set(r.offset, r.value);
              offset = r.offset + 1;
              counts.consumed++;
            }
          } catch {
            await sleep(50);
          }
        }
      })(),
    );

    // The faults: one broker at a time, only when every partition is fully in sync again.
    for (let round = 0; round < rounds; round++) {
      await sleep(random.int(500, 2_000));
      await fullIsr(TOPIC, PARTITIONS, 45_000);
      const leaders = await c.awaitLeaders(TOPIC, PARTITIONS);
      const victim = random.next() < 0.5 ? leaders.get(random.int(0, PARTITIONS - 1))! : random.pick(ids);
      const wipe = round === 1 || random.next() < 0.35;
      if ([...leaders.values()].includes(victim)) counts.leaderKills++;
      live.delete(victim);
      const broker = c.broker(victim);
      await broker.kill();
      counts.kills++;
      await sleep(random.int(200, 3_000));
      if (wipe) {
        await rm(broker.dataDir, { recursive: true, force: true });
        counts.wipes++;
      }
      const uploadedEnds = await Promise.all(Array.from({ length: PARTITIONS }, async (_, p) => manifestEnd(await t.coord!.loadManifest(TOPIC, p))));
      await broker.restart();
      live.add(victim);
      if (wipe) {
        // A brand-new replica catches up only the unuploaded tail: its log starts at or past what the bucket held.
        await fullIsr(TOPIC, PARTITIONS, 45_000);
        for (let p = 0; p < PARTITIONS; p++) {
          const first = await firstLocalOffset(broker, TOPIC, p);
          if (first !== null) expect(first, `${victim} ${TOPIC}/${p} starts at or past the uploaded end`).toBeGreaterThanOrEqual(uploadedEnds[p]!);
        }
        counts.newReplicaChecks++;
      }
    }
    await fullIsr(TOPIC, PARTITIONS, 45_000);
    await sleep(1_000);
    stop.abort();
    await Promise.all([...producers, ...consumers]);
    await fullIsr(TOPIC, PARTITIONS, 45_000);

    // Everything, read back through one broker.
    const reader = c.broker(random.pick(ids));
    const final = new Map<number, Map<number, string>>();
    let total = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const records = await readPartition(reader, TOPIC, p);
      final.set(p, records);
      total += records.size;
    }
    process.stdout.write(
      `\ndurability (seed ${seed}, ${rounds} kill rounds): ${acked.length} records acknowledged (acks=all) in ${counts.ackedRequests} requests; ` +
        `${counts.failedRequests} requests failed ${JSON.stringify(Object.fromEntries(errors))}; ${counts.kills} kills (${counts.leaderKills} of a leader, ${counts.wipes} wiped); ` +
        `${total} records in the log; ${counts.consumed} consumed while running\n`,
    );
    expect(acked.length).toBeGreaterThan(0);
    // Every acknowledged record at its offset.
    let missing = 0;
    for (const a of acked) if (final.get(a.partition)!.get(a.offset) !== a.value) missing++;
    expect(missing, 'acknowledged records missing or moved').toBe(0);
    // No record twice (each value was sent in one request; a failed request may have landed once).
    const where = new Map<string, string>();
    for (const [p, records] of final) {
      for (const [offset, value] of records) {
        expect(where.get(value), `value ${value} twice`).toBeUndefined();
        where.set(value, `${p}@${offset}`);
      }
    }
    // The bucket: contiguous segments (no gap, no overlap) across every failover, holding the log's records.
    let segments = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const manifest = await t.coord!.loadManifest(TOPIC, p);
      for (let i = 1; i < manifest.segments.length; i++) expect(manifest.segments[i]!.baseOffset, `${TOPIC}/${p} manifest contiguous`).toBe(manifest.segments[i - 1]!.lastOffset + 1);
      segments += manifest.segments.length;
      expect(manifestEnd(manifest)).toBeLessThanOrEqual(final.get(p)!.size);
    }
    process.stdout.write(`  ${segments} segments in the bucket, contiguous; ${counts.newReplicaChecks} wiped replicas started at the uploaded end\n`);
    // Nothing a consumer saw vanished later.
    let vanished = 0;
    for (const [p, seen] of consumed) for (const [offset, value] of seen) if (final.get(p)!.get(offset) !== value) vanished++;
    expect(vanished, 'records consumers saw that are gone').toBe(0);
  }, SOAK ? 900_000 : 240_000);

  it('a paused leader is replaced from the ISR; on resume its unreplicated appends are truncated away on its own disk', async () => {
    const TOPIC = 'split';
    const c = await start(TOPIC, 1);
    const leaderId = (await c.awaitLeaders(TOPIC, 1)).get(0)!;
    const followers = ['b1', 'b2', 'b3'].filter((id) => id !== leaderId);
    const leader = c.broker(leaderId);
    const committed: Array<{ offset: number; value: string }> = [];
    for (let i = 0; i < 5; i++) {
      const res = expectStatus(await leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: `before-${i}` }] }), 200, 'acks=all');
      committed.push({ offset: res.body.offsets[0].offset, value: `before-${i}` });
    }
    const oldEpoch = (await t.coord!.getPartitionState(TOPIC, 0))!.leaderEpoch;

    // Cut the leader off: its followers stop fetching for a moment, it appends (acks=1), then it stops.
    for (const id of followers) c.broker(id).pause();
    await sleep(50);
    // Each follower's long-poll already waiting at the leader still gets the next append (into its
    // socket, read on resume): that one is replicated. The appends after it are not.
    expectStatus(await leader.http.post(`/v1/topics/${TOPIC}/records?acks=1`, { records: [{ value: 'in-flight' }] }), 200, 'acks=1 on the old leader');
    await sleep(50);
    const late: string[] = [];
    for (let i = 0; i < 5; i++) {
      const value = `late-${i}`;
      expectStatus(await leader.http.post(`/v1/topics/${TOPIC}/records?acks=1`, { records: [{ value }] }), 200, 'acks=1 on the old leader');
      late.push(value);
    }
    // acks=all on the isolated leader: it cannot be confirmed while the followers are away.
    const lateAll = leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: 'late-all' }] }, { timeoutMs: 30_000 });
    await sleep(100);
    leader.pause();
    for (const id of followers) c.broker(id).resume();

    // A follower from the ISR takes over in a newer epoch; acks=all works there once the old leader left the ISR.
    const state = await until('a new leader from the ISR', async () => {
      const s = await t.coord!.getPartitionState(TOPIC, 0);
      return s !== null && s.leader !== null && s.leader !== leaderId && s.leaderEpoch > oldEpoch ? s : null;
    });
    expect(followers).toContain(state.leader);
    const newLeader = c.broker(state.leader!);
    for (let i = 0; i < 5; i++) {
      const res = await until('acks=all on the new leader', async () => {
        const r = await newLeader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: `after-${i}` }] }, { timeoutMs: 10_000 });
        return r.status === 200 ? r : null;
      });
      committed.push({ offset: res.body.offsets[0].offset, value: `after-${i}` });
    }

    // The old leader wakes: its lease is long gone; it follows the new leader and truncates its divergent tail.
    leader.resume();
    const lateAnswer = await lateAll;
    expect(lateAnswer.status, 'the isolated acks=all produce is never acknowledged').not.toBe(200);
    await fullIsr(TOPIC, 1);
    const final = await readPartition(newLeader, TOPIC, 0);
    for (const { offset, value } of committed) expect(final.get(offset)).toBe(value);
    const finalValues = new Set(final.values());
    for (const value of [...late, 'late-all']) expect(finalValues.has(value), `${value} is not in the log`).toBe(false);
    // On the old leader's own disk: the same records as the leader's, none of its late appends.
    const onDisk = await until('the old leader to catch up on disk', async () => {
      const records = await localRecords(leader, TOPIC, 0);
      return records.size >= final.size ? records : null;
    });
    for (const [offset, value] of final) expect(onDisk.get(offset)).toBe(value);
    for (const value of onDisk.values()) expect(value.startsWith('late-'), `old leader still holds ${value}`).toBe(false);
    expect(leader.logs()).toContain("follower truncated to the new leader's history");
    process.stdout.write(`\nnetwork partition: ${late.length} acks=1 appends on the paused leader ${leaderId} truncated away; new leader ${state.leader} (epoch ${state.leaderEpoch} > ${oldEpoch}); ${committed.length} acks=all records kept\n`);
  }, 120_000);

  it('refuses acks=all with NOT_ENOUGH_REPLICAS while two of three brokers are down, and recovers when they return', async () => {
    const TOPIC = 'minisr';
    const c = await start(TOPIC, 1);
    const leaderId = (await c.awaitLeaders(TOPIC, 1)).get(0)!;
    const leader = c.broker(leaderId);
    expectStatus(await leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: 'one' }] }), 200, 'acks=all');
    const others = ['b1', 'b2', 'b3'].filter((id) => id !== leaderId);
    for (const id of others) await c.broker(id).kill();
    const refused = await until('NOT_ENOUGH_REPLICAS', async () => {
      const r = await leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: 'refused' }] }, { timeoutMs: 10_000 });
      return r.status !== 200 && r.body?.error?.code === 'NOT_ENOUGH_REPLICAS' ? r : null;
    });
    expect(refused.body.error.retriable).toBe(true);
    expect((await t.coord!.getPartitionState(TOPIC, 0))!.isr).toEqual([leaderId]);
    const metrics = (await leader.http.get('/metrics')).body as string;
    expect(metrics).toContain(`strata_replication_isr_size{topic="${TOPIC}",partition="0"} 1`);
    expect(metrics).toMatch(/^strata_replication_under_replicated_partitions 1$/m);
    expect(metrics).toMatch(/^strata_produce_acks_all_wait_seconds_count [1-9]/m);
    // acks=1 still works: the leader alone has it.
    expectStatus(await leader.http.post(`/v1/topics/${TOPIC}/records?acks=1`, { records: [{ value: 'leader-only' }] }), 200, 'acks=1');
    for (const id of others) await c.broker(id).restart();
    await fullIsr(TOPIC, 1);
    expectStatus(await leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: 'two' }] }), 200, 'acks=all again');
    const values = [...(await readPartition(leader, TOPIC, 0)).values()];
    expect(values[0]).toBe('one');
    expect(values).toContain('two');
    expect(values).toContain('leader-only');
  }, 120_000);
});
