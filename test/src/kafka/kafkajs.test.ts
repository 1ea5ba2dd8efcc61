/**
 * kafkajs (npm) against a broker's Kafka listener: admin createTopics / deleteTopics / metadata,
 * produce keyed records with headers, null keys, tombstones and explicit timestamps (plain and
 * every codec: gzip is kafkajs's own, snappy, lz4 and zstd are registered by kafkajs-codecs.ts), read back whole (by a kafkajs
 * consumer group, by kcat and by the HTTP JSON fetch), fetchTopicOffsets and fetchTopicOffsetsByTimestamp.
 */
import kafkajs from 'kafkajs';
import { partitionForKey } from '@strata/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { hasKcat, kcat, parseKcatJson } from './kafka-clients.js';
import { registerKafkajsCodecs } from './kafkajs-codecs.js';

const { Kafka, CompressionTypes, logLevel } = kafkajs;

interface Sent {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: number;
}

describe('kafkajs against the Kafka listener', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let client: InstanceType<typeof Kafka>;
  let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;
  let producer: ReturnType<InstanceType<typeof Kafka>['producer']>;

  beforeAll(async () => {
    await registerKafkajsCodecs();
    // A short first join round: each codec's test reads its topic back with a kafkajs consumer group.
    broker = await start({ kafka: true, env: { STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '100' } });
    client = new Kafka({ clientId: 'strata-test', brokers: [`127.0.0.1:${broker.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    admin = client.admin();
    await admin.connect();
    producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('creates a topic with configs, refuses it twice, lists and deletes it', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'admin-made', numPartitions: 4, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })).toBe(true);
    const described = await broker.http.get('/v1/topics/admin-made');
    expect(described.body).toMatchObject({ name: 'admin-made', configOverrides: { 'retention.ms': 3_600_000 } });
    expect(described.body.partitions).toHaveLength(4);
    // kafkajs answers false for a topic that exists (TOPIC_ALREADY_EXISTS is not an error to it).
    expect(await admin.createTopics({ topics: [{ topic: 'admin-made', numPartitions: 1 }] })).toBe(false);
    await expect(admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] })).rejects.toThrow(/INVALID_TOPIC|topic/i);
    await expect(admin.createTopics({ topics: [{ topic: 'bad-config', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] })).rejects.toThrow();
    expect((await broker.http.get('/v1/topics/bad-config')).status).toBe(404);
    // validateOnly: checked, not created.
    expect(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'only-checked', numPartitions: 2 }] })).toBe(true);
    expect((await broker.http.get('/v1/topics/only-checked')).status).toBe(404);
    expect(await admin.listTopics()).toContain('admin-made');
    const meta = await admin.fetchTopicMetadata({ topics: ['admin-made'] });
    expect(meta.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3]);
    await admin.deleteTopics({ topics: ['admin-made'] });
    expect(await admin.listTopics()).not.toContain('admin-made');
    expect((await broker.http.get('/v1/topics/admin-made')).status).toBe(404);
  });

  for (const [name, compression] of [
    ['uncompressed', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const) {
    it(`produces keyed records with headers, null keys and tombstones (${name}); they come back whole, on the murmur2 partition`, async () => {
      const topic = `kjs-${name}`;
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(true);
      const base = Date.now() - 60_000;
      const sent: Sent[] = Array.from({ length: 30 }, (_, i) => ({
        key: i % 7 === 3 ? null : `key-${i % 10}`,
        value: i % 5 === 4 ? null : `value-${i}-${'v'.repeat(i)}`,
        headers: i % 2 === 0 ? { trace: `t${i}`, kind: 'even' } : ({} as Record<string, string>),
        timestamp: base + i * 100,
      }));
      const keyed = sent.filter((s) => s.key !== null);
      const unkeyed = sent.filter((s) => s.key === null);
      // Null-key records go to partition 0 explicitly, so where each record lands is known.
      await producer.send({
        topic,
        compression,
        acks: -1,
        messages: [
          ...keyed.map((s) => ({ key: s.key, value: s.value, headers: s.headers, timestamp: String(s.timestamp) })),
          ...unkeyed.map((s) => ({ key: null, value: s.value, headers: s.headers, timestamp: String(s.timestamp), partition: 0 })),
        ],
      });

      const expectedByPartition = new Map<number, Sent[]>();
      for (const s of [...keyed, ...unkeyed]) {
        const p = s.key === null ? 0 : partitionForKey(Buffer.from(s.key), 3);
        expectedByPartition.set(p, [...(expectedByPartition.get(p) ?? []), s]);
      }
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const o of offsets) {
        expect(o.low).toBe('0');
        expect(o.high).toBe(String(expectedByPartition.get(o.partition)?.length ?? 0));
      }

      // By timestamp: the first record at or after the time in each partition; none: the end (kafkajs reads -1 as the high watermark).
      const at = base + 1450;
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, at);
      for (const o of byTime) {
        const inPartition = expectedByPartition.get(o.partition) ?? [];
        const first = inPartition.findIndex((s) => s.timestamp >= at);
        expect(o.offset, `partition ${o.partition}`).toBe(String(first < 0 ? inPartition.length : first));
      }

      // Strata's own decoders (JSON fetch inflates each codec) give back the same records as kcat below.
      for (const [p, expected] of expectedByPartition) {
        const fetched = await broker.http.get(`/v1/topics/${topic}/partitions/${p}/records?offset=0&maxRecords=100`);
        expect(fetched.status).toBe(200);
        const records = (fetched.body as { records: Array<{ key: string | null; value: string | null; timestamp: number; headers?: Array<{ key: string; value: string }> }> }).records;
        expect(
          records.map((r) => ({ key: r.key, value: r.value, headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value])), timestamp: r.timestamp })),
          `partition ${p} over HTTP`,
        ).toEqual(expected);
      }

      // kafkajs's own consumer (a classic group, issue #13) from the beginning: contents, keys, headers and timestamps identical.
      const consumer = client.consumer({ groupId: `kjs-read-${name}`, maxWaitTimeInMs: 100 });
      const consumed: Array<{ partition: number; offset: number; got: Sent }> = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            consumed.push({
              partition,
              offset: Number(message.offset),
              got: {
                key: message.key === null ? null : message.key.toString(),
                value: message.value === null ? null : message.value.toString(),
                headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
                timestamp: Number(message.timestamp),
              },
            });
          },
        });
        const deadline = Date.now() + 30_000;
        while (consumed.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      } finally {
        await consumer.disconnect();
      }
      expect(consumed).toHaveLength(sent.length);
      for (const [p, expected] of expectedByPartition) {
        const got = consumed.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
        expect(got.map((r) => r.got), `partition ${p} through a kafkajs consumer`).toEqual(expected);
      }

      if (!hasKcat()) return; // the contents check reads with kcat (installed by .ci/run)
      const read = parseKcatJson(await kcat(`127.0.0.1:${broker.kafkaPort}`, ['-C', '-t', topic, '-o', 'beginning', '-e', '-J']));
      expect(read).toHaveLength(sent.length);
      for (const [p, expected] of expectedByPartition) {
        const got = read.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
        expect(
          got.map((r) => ({ key: r.key, value: r.payload, headers: Object.fromEntries(pairs(r.headers ?? [])), timestamp: r.ts })),
          `partition ${p}`,
        ).toEqual(expected);
      }
    });
  }

  it('answers metadata for a topic that does not exist with UNKNOWN_TOPIC_OR_PARTITION (no auto-creation by default)', async () => {
    await expect(admin.fetchTopicMetadata({ topics: ['never-made'] })).rejects.toThrow(/does not host this topic-partition|UNKNOWN_TOPIC/i);
    expect((await broker.http.get('/v1/topics/never-made')).status).toBe(404);
  });
});

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
