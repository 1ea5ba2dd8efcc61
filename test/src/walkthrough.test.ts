/**
 * The README's curl walkthrough, over HTTP against a spawned broker: create a topic, produce JSON
 * records, consume them, replay from an offset, look offsets up by timestamp; and keyed records
 * land where Kafka's default partitioner puts them, in produce order, at dense offsets.
 */
import kafkajs from 'kafkajs';
import { murmur2, partitionForKey, toPositive } from '@strata/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess, HttpClient, Json } from './harness/index.js';
import { brokerLifecycle } from './support.js';

/** Apache Kafka's own murmur2 vectors (clients/.../common/utils/UtilsTest.java, testMurmur2). */
const KAFKA_MURMUR2_VECTORS: Array<[string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

/** kafkajs's Java-compatible partitioner, an independent implementation to cross-check against. */
function kafkajsPartition(key: string, partitions: number): number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  return partitioner({
    topic: 't',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    })),
    message: { key, value: null },
  });
}

async function readAll(http: HttpClient, topic: string, partition: number, query: Record<string, string | number> = {}): Promise<Json[]> {
  const records: Json[] = [];
  let offset = 0;
  for (let i = 0; i < 1000; i++) {
    const answer = await http.get(`/v1/topics/${topic}/partitions/${partition}/records`, { query: { offset, maxWaitMs: 0, ...query } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    records.push(...answer.body.records.filter((r: Json) => r.offset >= offset));
    if (answer.body.nextOffset >= answer.body.highWatermark) return records;
    offset = answer.body.nextOffset;
  }
  throw new Error('did not reach the high watermark');
}

describe('README walkthrough over HTTP', () => {
  const startBroker = brokerLifecycle();
  let broker: BrokerProcess;
  let http: HttpClient;

  beforeAll(async () => {
    broker = await startBroker();
    http = broker.http;
  });

  it('is live and ready', async () => {
    expect((await http.get('/healthz')).status).toBe(200);
    expect((await http.get('/readyz')).status).toBe(200);
  });

  it('runs the README curl walkthrough', async () => {
    const created = await http.post('/v1/topics', { name: 'orders', partitions: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    const produced = await http.post(
      '/v1/topics/orders/records',
      {
        records: [
          { key: 'alice', value: 'order 1' },
          { key: 'bob', value: 'order 2' },
          { key: 'alice', value: 'order 3', headers: { source: 'web' } },
        ],
      },
      { query: { acks: '1' } },
    );
    expect(produced.status, JSON.stringify(produced.body)).toBe(200);
    // Kafka's partitioner puts both keys on partition 0 of 3 (kafkajs agrees); offsets in request order.
    expect([partitionForKey(Buffer.from('alice'), 3), partitionForKey(Buffer.from('bob'), 3)]).toEqual([0, 0]);
    expect([kafkajsPartition('alice', 3), kafkajsPartition('bob', 3)]).toEqual([0, 0]);
    expect(produced.body).toEqual({
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 0, offset: 1 },
        { partition: 0, offset: 2 },
      ],
    });

    const fromStart = await http.get('/v1/topics/orders/partitions/0/records', { query: { offset: 0 } });
    expect(fromStart.status).toBe(200);
    expect(fromStart.body).toMatchObject({ nextOffset: 3, highWatermark: 3, logStartOffset: 0 });
    expect(fromStart.body.records.map((r: Json) => [r.offset, r.key, r.value])).toEqual([
      [0, 'alice', 'order 1'],
      [1, 'bob', 'order 2'],
      [2, 'alice', 'order 3'],
    ]);
    expect(JSON.stringify(fromStart.body.records[2].headers)).toMatch(/source.*web/);

    const replay = await http.get('/v1/topics/orders/partitions/0/records', { query: { offset: 1 } });
    expect(replay.body.records.filter((r: Json) => r.offset >= 1).map((r: Json) => r.value)).toEqual(['order 2', 'order 3']);

    // The long-poll waits for the next record and answers as soon as it lands.
    const started = Date.now();
    const poll = http.get('/v1/topics/orders/partitions/0/records', { query: { offset: 3, maxWaitMs: 5000 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await http.post('/v1/topics/orders/records', { records: [{ key: 'alice', value: 'order 4' }] })).status).toBe(200);
    expect((await poll).body.records.map((r: Json) => [r.offset, r.value])).toEqual([[3, 'order 4']]);
    expect(Date.now() - started).toBeLessThan(4000);

    const offsetAt = async (at: string | number): Promise<number> =>
      (await http.get('/v1/topics/orders/partitions/0/offsets', { query: { at } })).body.offset;
    expect(await offsetAt('earliest')).toBe(0);
    expect(await offsetAt('latest')).toBe(4);
    expect(await offsetAt(Date.now() - 60_000)).toBe(0);

    const described = await http.get('/v1/topics/orders');
    expect(described.body.partitions.map((p: Json) => p.highWatermark)).toEqual([4, 0, 0]);
    const openapi = await http.get('/v1/openapi.json');
    expect(openapi.status).toBe(200);
    expect(Object.keys(openapi.body.paths)).toContain('/v1/topics');
    const metrics = await http.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(/^# (HELP|TYPE) /m);
  });

  it('creates, lists and describes a topic', async () => {
    const created = await http.post('/v1/topics', { name: 'inventory', partitions: 3 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.name).toBe('inventory');

    const again = await http.post('/v1/topics', { name: 'inventory', partitions: 3 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TOPIC_ALREADY_EXISTS');

    const list = await http.get('/v1/topics');
    expect(list.status).toBe(200);
    expect(list.body.topics).toContainEqual(expect.objectContaining({ name: 'inventory', partitions: 3 }));

    const described = await http.get('/v1/topics/inventory');
    expect(described.status).toBe(200);
    expect(described.body.partitions.map((p: Json) => [p.partition, p.logStartOffset, p.highWatermark])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ]);
  });

  it('produces JSON records, consumes them, and replays from an offset', async () => {
    expect((await http.post('/v1/topics', { name: 'events', partitions: 1 })).status).toBe(201);
    const values = [
      { type: 'signup', user: 'ada' },
      { type: 'login', user: 'ada', attempts: 2 },
      { type: 'purchase', user: 'ada', items: [1, 2, 3], total: 12.5 },
      { type: 'logout', user: 'ada', nested: { ok: true, note: null } },
    ];
    const produced = await http.post(
      '/v1/topics/events/records',
      {
        valueEncoding: 'json',
        records: values.map((value, i) => ({ key: 'ada', value, headers: i === 0 ? [{ key: 'source', value: 'walkthrough' }] : undefined })),
      },
      { query: { acks: '1' } },
    );
    expect(produced.status, JSON.stringify(produced.body)).toBe(200);
    expect(produced.body.offsets).toEqual(values.map((_, offset) => ({ partition: 0, offset })));

    // Consume: utf8 gives the JSON text, json gives the values back.
    const asText = await readAll(http, 'events', 0);
    expect(asText.map((r) => JSON.parse(r.value))).toEqual(values);
    const asJson = await readAll(http, 'events', 0, { valueEncoding: 'json' });
    expect(asJson.map((r) => [r.offset, r.key, r.value])).toEqual(values.map((v, offset) => [offset, 'ada', v]));
    expect(asJson[0].headers).toEqual([expect.objectContaining({ key: 'source' })]);

    // Replay from offset 2.
    const replay = await http.get('/v1/topics/events/partitions/0/records', { query: { offset: 2, valueEncoding: 'json' } });
    expect(replay.status).toBe(200);
    expect(replay.body.records.filter((r: Json) => r.offset >= 2).map((r: Json) => r.value)).toEqual(values.slice(2));
    expect(replay.body.highWatermark).toBe(values.length);
    expect(replay.body.nextOffset).toBe(values.length);

    // Out of range and unknown names are clear errors.
    const beyond = await http.get('/v1/topics/events/partitions/0/records', { query: { offset: 99 } });
    expect(beyond.status).toBe(416);
    expect(beyond.body.error.code).toBe('OFFSET_OUT_OF_RANGE');
    const unknown = await http.get('/v1/topics/nope/partitions/0/records', { query: { offset: 0 } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_TOPIC', retriable: false });
  });

  it('finds offsets by timestamp', async () => {
    expect((await http.post('/v1/topics', { name: 'clock', partitions: 1 })).status).toBe(201);
    const t0 = Date.UTC(2024, 0, 1);
    const stamps = [t0, t0 + 1_000, t0 + 2_000, t0 + 2_000, t0 + 5_000];
    const produced = await http.post('/v1/topics/clock/records', {
      records: stamps.map((timestamp, i) => ({ value: `tick-${i}`, timestamp })),
    });
    expect(produced.status, JSON.stringify(produced.body)).toBe(200);

    const at = async (q: string | number): Promise<Json> => {
      const answer = await http.get('/v1/topics/clock/partitions/0/offsets', { query: { at: q } });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body;
    };
    expect((await at('earliest')).offset).toBe(0);
    expect((await at('latest')).offset).toBe(stamps.length);
    expect((await at(t0)).offset).toBe(0);
    expect((await at(t0 + 1)).offset).toBe(1);
    expect((await at(t0 + 1_500)).offset).toBe(2);
    expect((await at(t0 + 2_000)).offset).toBe(2);
    expect((await at(t0 + 4_000)).offset).toBe(4);

    const records = await readAll(http, 'clock', 0);
    expect(records.map((r) => r.timestamp)).toEqual(stamps);
  });

  it("puts keyed records where Kafka's default partitioner does, in order, at dense offsets", async () => {
    // The partitioner itself, against Kafka's vectors and kafkajs.
    for (const [key, hash] of KAFKA_MURMUR2_VECTORS) {
      expect(murmur2(Buffer.from(key)), key).toBe(hash);
      for (const n of [1, 3, 6, 7, 16]) {
        expect(partitionForKey(Buffer.from(key), n)).toBe(toPositive(hash) % n);
        expect(partitionForKey(Buffer.from(key), n)).toBe(kafkajsPartition(key, n));
      }
    }

    const partitions = 6;
    expect((await http.post('/v1/topics', { name: 'keyed', partitions })).status).toBe(201);
    const keys = [...KAFKA_MURMUR2_VECTORS.map(([k]) => k), ...Array.from({ length: 40 }, (_, i) => `user-${i}`)];
    const rounds = 5;
    let expectedTotal = 0;
    for (let round = 0; round < rounds; round++) {
      // Keys interleaved within a request and across requests.
      const records = keys.map((key) => ({ key, value: `${key}#${round}` }));
      const answer = await http.post('/v1/topics/keyed/records', { records }, { query: { acks: 'all' } });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      answer.body.offsets.forEach((o: Json, i: number) => {
        expect(o.partition, keys[i]).toBe(partitionForKey(Buffer.from(keys[i] as string), partitions));
      });
      expectedTotal += records.length;
    }

    let total = 0;
    for (let partition = 0; partition < partitions; partition++) {
      const records = await readAll(http, 'keyed', partition);
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i)); // dense from 0
      for (const record of records) expect(partitionForKey(Buffer.from(record.key), partitions)).toBe(partition);
      // Each key's records in produce order.
      const byKey = new Map<string, string[]>();
      for (const record of records) byKey.set(record.key, [...(byKey.get(record.key) ?? []), record.value]);
      for (const [key, seen] of byKey) expect(seen).toEqual(Array.from({ length: rounds }, (_, r) => `${key}#${r}`));
      total += records.length;
    }
    expect(total).toBe(expectedTotal);
  });

  it('shuts down gracefully on SIGTERM with exit status 0', async () => {
    expect(await broker.stop()).toEqual({ code: 0, signal: null });
    await broker.restart();
    const described = await http.get('/v1/topics/keyed');
    expect(described.body.partitions.reduce((n: number, p: Json) => n + p.highWatermark, 0)).toBeGreaterThan(0);
  });
});
