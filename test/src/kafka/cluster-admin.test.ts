/**
 * The Kafka admin APIs in a three-broker cluster (Redis coordinator, real broker processes) with
 * kafkajs: CreatePartitions through one broker gives every broker the new partitions, each led and
 * taking produce; DeleteRecords on the leader persists the log start in the coordinator, so the
 * leader elected after the old one is killed with -9 keeps it. In one-address mode a DeleteRecords
 * sent to a broker that does not lead the partition is forwarded to the leader (Kafka and HTTP).
 */
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Cluster } from '../harness/index.js';
import { clusterPerTest } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

const { Kafka, logLevel } = kafkajs;

/** Creates a topic with replication factor 3 once the broker sees the three live (a broker just started may not yet). */
async function createOnThree(broker: { http: { post(path: string, body: unknown): Promise<{ status: number; body: unknown }> } }, name: string, partitions: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const answer = await broker.http.post('/v1/topics', { name, partitions, replicationFactor: 3 });
    if (answer.status === 201) return;
    const placeable = answer.status === 400 && /replicationFactor/.test(JSON.stringify(answer.body));
    if (!placeable || attempt >= 100) throw new Error(`create ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Kafka admin APIs in a three-broker cluster', () => {
  const state = clusterPerTest();

  it('createPartitions and deleteTopicRecords: every broker serves the new partitions; the log start survives its leader killed with -9', async () => {
    const cluster = (state.cluster = await Cluster.start({ brokers: 3, kafka: true }));
    const ids = ['b1', 'b2', 'b3'];
    const bootstrap = ids.map((id) => `127.0.0.1:${cluster.broker(id).kafkaPort}`);
    await createOnThree(cluster.broker('b1'), 'admin-grows', 2);
    await cluster.awaitLeaders('admin-grows', 2);
    const kafka = new Kafka({ clientId: 'strata-cluster-admin', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 8 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createPartitions({ topicPartitions: [{ topic: 'admin-grows', count: 4 }] });
      const leaders = await cluster.awaitLeaders('admin-grows', 4);
      // Every broker learns the new partitions from the coordinator within its topic sync (a tick):
      // read until it does, bounded.
      for (const id of ids) {
        let described = await cluster.broker(id).http.get('/v1/topics/admin-grows');
        for (let attempt = 0; attempt < 100 && described.body.partitions?.length !== 4; attempt++) {
          await new Promise((r) => setTimeout(r, 100));
          described = await cluster.broker(id).http.get('/v1/topics/admin-grows');
        }
        expect(described.body.partitions, `broker ${id}`).toHaveLength(4);
      }
      const producer = kafka.producer({ idempotent: false });
      await producer.connect();
      try {
        const values = Array.from({ length: 8 }, (_, i) => ({ partition: 3, value: `v${i}` }));
        const [sent] = await producer.send({ topic: 'admin-grows', acks: -1, messages: values });
        expect(sent).toMatchObject({ partition: 3, baseOffset: '0' });
      } finally {
        await producer.disconnect();
      }

      await admin.fetchTopicMetadata({ topics: ['admin-grows'] });
      await admin.deleteTopicRecords({ topic: 'admin-grows', partitions: [{ partition: 3, offset: '5' }] });
      const low = async () => (await admin.fetchTopicOffsets('admin-grows')).find((o) => o.partition === 3)!;
      expect(await low()).toMatchObject({ low: '5', high: '8' });

      const victim = leaders.get(3)!;
      await cluster.broker(victim).kill();
      let after: { low: string; high: string } | undefined;
      for (let attempt = 0; attempt < 100; attempt++) {
        after = await low().catch(() => undefined);
        const { claims } = await cluster.leaders(new Set([victim]));
        const leader = claims.get('admin-grows/3') ?? [];
        if (after !== undefined && leader.length === 1 && leader[0] !== victim) break;
        after = undefined;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(after).toMatchObject({ low: '5', high: '8' });
    } finally {
      await admin.disconnect();
    }
  });

  it('one-address mode: DeleteRecords through a broker that does not lead the partition is forwarded to its leader (Kafka and HTTP)', async () => {
    const cluster = (state.cluster = await Cluster.start({
      brokers: 3,
      kafka: true,
      env: { STRATA_KAFKA_METADATA_MODE: 'one-address', STRATA_KAFKA_ADVERTISED_ADDRESS: '127.0.0.1:1' },
    }));
    await createOnThree(cluster.broker('b1'), 'trim-lb', 1);
    const leader = (await cluster.awaitLeaders('trim-lb', 1)).get(0)!;
    const [viaKafka, viaHttp] = ['b1', 'b2', 'b3'].filter((id) => id !== leader);
    const produced = await cluster.broker(leader).http.post('/v1/topics/trim-lb/records?acks=all', { records: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
    expect(produced.status, JSON.stringify(produced.body)).toBe(200);

    const c = await RawKafkaConnection.open(cluster.broker(viaKafka!).kafkaPort!);
    try {
      c.write(encodeRequest(ApiKey.DeleteRecords, 2, 5, 'raw', { topics: [{ name: 'trim-lb', partitions: [{ partitionIndex: 0, offset: 3n }] }], timeoutMs: 10_000 }));
      const [frame] = await c.frameCount(1);
      expect(frame, 'an answer').toBeDefined();
      const answer = decodeResponse(ApiKey.DeleteRecords, 2, frame!).body;
      expect(answer.topics[0]!.partitions[0]).toMatchObject({ partitionIndex: 0, errorCode: KafkaError.NONE, lowWatermark: 3n });
    } finally {
      c.destroy();
    }
    const earliest = async () => (await cluster.broker(leader).http.get('/v1/topics/trim-lb/partitions/0/offsets?at=earliest')).body;
    expect(await earliest()).toEqual({ offset: 3 });

    const viaHttpAnswer = await cluster.broker(viaHttp!).http.post('/v1/topics/trim-lb/partitions/0/delete-records', { beforeOffset: 7 });
    expect(viaHttpAnswer.status, JSON.stringify(viaHttpAnswer.body)).toBe(200);
    expect(viaHttpAnswer.body).toEqual({ lowWatermark: 7 });
    expect(await earliest()).toEqual({ offset: 7 });
    const tooFar = await cluster.broker(viaHttp!).http.post('/v1/topics/trim-lb/partitions/0/delete-records', { beforeOffset: 11 });
    expect(tooFar.status).toBe(416);
    expect(tooFar.body.error.code).toBe('OFFSET_OUT_OF_RANGE');
    expect(await earliest()).toEqual({ offset: 7 });
  }, 120_000);
});
