// Scaling a cluster out from 3 to 5 brokers and back to 3 while a keyed producer (acks=1) and a
// consumer run without pause. Throughout, an observer reads every partition's leadership from
// Redis (the lease holder) and from every broker (who claims to lead): every partition keeps
// exactly one leader at every observed moment. Afterwards nothing acknowledged is missing and the
// records of each key are in send order. The time for leadership to settle after each join is
// printed, for two amounts of retained data: only the unuploaded tail moves, so it does not grow.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Fetcher, PartitionReader, Producer, retryChannel, type RetryEvent } from '@strata/client';
import { RedisCoordinator } from '@strata/coord';
import { rendezvousReplicas } from '@strata/broker';
import { Cluster, cleanupAll, expectStatus } from './harness/index.js';

const TOPIC = 'scale';
const PARTITIONS = 12;
const KEYS = 48;

interface Acked {
  key: string;
  seq: number;
  partition: number;
  offset: number;
}

describe('scaling 3 -> 5 -> 3 brokers under load', () => {
  let cluster: Cluster | undefined;
  let failed = false;
  beforeEach((context) => {
    context.onTestFailed(() => {
      failed = true;
      cluster?.printLogs();
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    cleanupAll({ keepDirs: failed });
  }, 90_000);

  it('keeps one leader per partition, loses nothing acknowledged and keeps each key in order', async () => {
    cluster = await Cluster.start({ brokers: 3, env: { STRATA_DEFAULT_SEGMENT_BYTES: String(256 * 1024), STRATA_MIN_SEGMENT_BYTES: String(256 * 1024) } });
    const c = cluster;
    const [b1, b2, b3] = ['b1', 'b2', 'b3'].map((id) => c.broker(id));
    expectStatus(await b1!.http.post('/v1/topics', { name: TOPIC, partitions: PARTITIONS }), 201, 'create');
    await c.awaitLeaders(TOPIC, PARTITIONS);
    const topicId: string = (await b1!.http.get(`/v1/topics/${TOPIC}`)).body.topicId;
    const coord = await RedisCoordinator.connect({ url: c.redis.url });

    // ---- the observer ------------------------------------------------------------------------------
    const stop = new AbortController();
    const seen = { samples: 0, leaderless: [] as string[], twoClaimants: [] as string[] };
    const observer = (async () => {
      let round = 0;
      while (!stop.signal.aborted) {
        const states = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => coord.getPartitionState(TOPIC, p)));
        seen.samples++;
        states.forEach((s, p) => {
          if (s?.leader == null) seen.leaderless.push(`${p}@${seen.samples}`);
        });
        if (round++ % 4 === 0) {
          const { claims } = await c.leaders();
          for (const [key, who] of claims) if (who.length > 1) seen.twoClaimants.push(`${key}:${who.join('+')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // ---- the producer (keyed, acks=1) -----------------------------------------------------------------
    const retries = new Map<string, number>();
    const fatalRetries: string[] = [];
    const onRetry = (message: unknown): void => {
      const { failure } = message as RetryEvent;
      retries.set(failure.error.code, (retries.get(failure.error.code) ?? 0) + 1);
      if (!failure.retriable) fatalRetries.push(failure.message);
    };
    subscribe(retryChannel.name, onRetry);
    const producer = new Producer({ brokers: [b1!.url, b2!.url, b3!.url], acks: 1, lingerMs: 2 });
    const acked: Acked[] = [];
    const sendErrors: unknown[] = [];
    let seq = 0;
    const producing = (async () => {
      while (!stop.signal.aborted) {
        const sends = Array.from({ length: 20 }, () => {
          const n = seq++;
          const key = `key-${n % KEYS}`;
          return producer.send({ topic: TOPIC, key, value: String(n) }).then(
            (meta) => void acked.push({ key, seq: n, partition: meta.partition, offset: meta.offset }),
            (e: unknown) => void sendErrors.push(e),
          );
        });
        await Promise.all(sends);
        await new Promise((r) => setTimeout(r, 5));
      }
      await producer.flush();
    })();

    // ---- the consumer (every partition, through b2) ------------------------------------------------------
    const fetcher = new Fetcher({ brokers: b2!.url });
    const consumed = new Map<number, Array<{ offset: number; key: string; value: string }>>();
    const readers = Array.from({ length: PARTITIONS }, (_, p) => new PartitionReader(fetcher, TOPIC, p, { from: 'earliest', maxWaitMs: 500 }));
    const consuming = readers.map(async (reader) => {
      const list: Array<{ offset: number; key: string; value: string }> = [];
      consumed.set(reader.partition, list);
      for await (const r of reader) list.push({ offset: r.offset, key: r.key?.toString() ?? '', value: r.key === null ? '' : r.value!.toString() });
    });

    // ---- settling ---------------------------------------------------------------------------------------
    const settle = async (live: string[]): Promise<number> => {
      const started = performance.now();
      for (;;) {
        const states = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => coord.getPartitionState(TOPIC, p)));
        const { claims } = await c.leaders();
        const done = states.every((s, p) => {
          const expected = rendezvousReplicas(topicId, p, live, 1)[0];
          const claimants = claims.get(`${TOPIC}/${p}`) ?? [];
          return s?.replicas[0] === expected && s.leader === expected && claimants.length === 1 && claimants[0] === expected;
        });
        if (done) return Math.round(performance.now() - started);
        if (performance.now() - started > 30_000) throw new Error(`leadership did not settle over ${live.join(',')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Retained data in the bucket, as the manifests in Redis say.
    const retained = async (): Promise<number> => {
      const manifests = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => coord.loadManifest(TOPIC, p)));
      return manifests.reduce((sum, m) => sum + m.segments.reduce((n, seg) => n + seg.objectBytes, 0), 0);
    };

    // Retained data in the bucket: `megabytes` more of it, written fast and waited for.
    const retain = async (megabytes: number): Promise<number> => {
      const target = (await retained()) + megabytes * 0.9 * 2 ** 20;
      const bulk = new Producer({ brokers: b3!.url, acks: 1, lingerMs: 5, batchBytes: 256 * 1024 });
      const big = Buffer.alloc(16 * 1024, 'x');
      await Promise.all(Array.from({ length: megabytes * 64 }, (_, i) => bulk.send({ topic: TOPIC, partition: i % PARTITIONS, value: big })));
      await bulk.close();
      const deadline = Date.now() + 30_000;
      while ((await retained()) < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      return retained();
    };

    // A join is timed from the new broker's "broker ready" (it has just registered) to settled.
    const join = async (live: string[]): Promise<number> => {
      const broker = await c.addBroker();
      await settle(live);
      const ready = broker.logs().split('\n').find((line) => line.includes('"msg":"broker ready"'));
      return Date.now() - Date.parse((JSON.parse(ready!) as { ts: string }).ts);
    };

    const smallData = await retain(2);
    const settleSmall = await join(['b1', 'b2', 'b3', 'b4']);

    const bigData = await retain(32);
    const settleBig = await join(['b1', 'b2', 'b3', 'b4', 'b5']);

    // A leaving broker (SIGTERM) hands over before it exits: timed from the signal.
    const leave = async (id: string, live: string[]): Promise<number> => {
      const started = performance.now();
      await c.removeBroker(id);
      await settle(live);
      return Math.round(performance.now() - started);
    };
    const settleLeave5 = await leave('b5', ['b1', 'b2', 'b3', 'b4']);
    const settleLeave4 = await leave('b4', ['b1', 'b2', 'b3']);
    await new Promise((r) => setTimeout(r, 1_000));
    stop.abort();
    await producing;
    await observer;
    unsubscribe(retryChannel.name, onRetry);

    // The consumer catches up to every partition's end, then stops.
    const ends = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, p) => b1!.http.latestOffset(TOPIC, p)),
    );
    const catchUp = Date.now() + 30_000;
    while (readers.some((r, p) => (r.position ?? -1) < ends[p]!) && Date.now() < catchUp) await new Promise((r) => setTimeout(r, 100));
    for (const reader of readers) reader.close();
    await Promise.all(consuming);
    await producer.close();
    await fetcher.close();
    await coord.close();

    // Hand-overs to a caught-up in-sync follower move no data; the others upload the tail first.
    const handOvers = { replicated: 0, uploaded: 0 };
    for (const [, broker] of c.brokers) {
      handOvers.replicated += broker.logs().split('"tail":"replicated"').length - 1;
      handOvers.uploaded += broker.logs().split('"tail":"uploaded"').length - 1;
    }
    process.stdout.write(
      `\nscaling: ${acked.length} records acknowledged (acks=1, ${KEYS} keys), ${seen.samples} leadership samples\n` +
        `  hand-overs by b1-b3: ${handOvers.replicated} to a caught-up follower (no upload), ${handOvers.uploaded} after uploading the tail\n` +
        `  join b4 with ${(smallData / 2 ** 20).toFixed(1)} MiB retained: leadership settled in ${settleSmall} ms\n` +
        `  join b5 with ${(bigData / 2 ** 20).toFixed(1)} MiB retained: leadership settled in ${settleBig} ms\n` +
        `  leave b5 (SIGTERM to settled): ${settleLeave5} ms; leave b4: ${settleLeave4} ms\n` +
        `  producer retries by code: ${JSON.stringify(Object.fromEntries(retries))}\n`,
    );

    // Exactly one leader per partition at every observed moment, and never two brokers writing.
    expect(seen.leaderless).toEqual([]);
    expect(seen.twoClaimants).toEqual([]);
    // The producer saw only retriable errors, and its retries resolved them all.
    expect(sendErrors).toEqual([]);
    expect(fatalRetries).toEqual([]);

    // Nothing acknowledged is missing: every ack's offset holds its record, read back through b3.
    const log = new Map<number, Map<number, { key: string; value: string }>>();
    const reader = new Fetcher({ brokers: b3!.url });
    for (let p = 0; p < PARTITIONS; p++) {
      const records = new Map<number, { key: string; value: string }>();
      const pr = new PartitionReader(reader, TOPIC, p, { from: 'earliest', maxWaitMs: 0 });
      while ((pr.position ?? -1) < ends[p]!) for (const r of await pr.poll()) records.set(r.offset, { key: r.key?.toString() ?? '', value: r.key === null ? '' : r.value!.toString() });
      pr.close();
      log.set(p, records);
    }
    await reader.close();
    for (const a of acked) expect(log.get(a.partition)!.get(a.offset), `ack ${JSON.stringify(a)}`).toEqual({ key: a.key, value: String(a.seq) });
    // Order per key: along each partition's offsets, each key's sequence numbers never go back. The
    // producer is not idempotent (acks=1, as Kafka's with acks=1): a batch it retried after a
    // leader change may be in the log twice (seen once under CI load: 13003 right after 13003),
    // but never before a later one.
    let duplicates = 0;
    for (const records of log.values()) {
      const last = new Map<string, number>();
      for (const [, r] of [...records.entries()].sort((x, y) => x[0] - y[0])) {
        if (r.key === '') continue;
        const n = Number(r.value);
        expect(n, `key ${r.key}`).toBeGreaterThanOrEqual(last.get(r.key) ?? -1);
        if (n === last.get(r.key)) duplicates++;
        last.set(r.key, n);
      }
    }
    if (duplicates > 0) console.log(`scaling: ${duplicates} records written twice by producer retries (acks=1, not idempotent)`);
    // The consumer, running throughout, saw every acknowledged record.
    for (const a of acked) expect(consumed.get(a.partition)!.some((r) => r.offset === a.offset && r.value === String(a.seq))).toBe(true);
  }, 240_000);
});
