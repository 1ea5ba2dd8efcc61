/**
 * ListOffsets' max timestamp (-3, v7+, Kafka's KIP-734) on a real broker: the offset and timestamp
 * of the first record holding the partition's largest timestamp, also
 * through HTTP (?at=max-timestamp); -1/-1 on an empty partition; refused before v7 as Kafka does.
 * Requests are made with @strata/kafka-protocol's encoder, as kafkajs and kcat never ask for -3.
 */
import { ApiKey, decodeResponse, encodeRequest, KafkaError, ListOffsetsTimestamp } from '@strata/kafka-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

describe('ListOffsets max timestamp (-3)', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let connection: RawKafkaConnection;
  let correlationId = 0;

  /** One partition's ListOffsets answer at `version` for `timestamp`. */
  const listOffsets = async (version: number, topic: string, partition: number, timestamp: bigint) => {
    correlationId++;
    connection.write(
      encodeRequest(ApiKey.ListOffsets, version, correlationId, 'max-ts', {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
      }),
    );
    const frames = await connection.frameCount(correlationId);
    expect(frames).toHaveLength(correlationId);
    const answer = decodeResponse(ApiKey.ListOffsets, version, frames[correlationId - 1]!);
    expect(answer.correlationId).toBe(correlationId);
    return answer.body.topics[0]!.partitions[0]!;
  };

  beforeAll(async () => {
    broker = await start({ kafka: true });
    connection = await RawKafkaConnection.open(broker.kafkaPort!);
    expect((await broker.http.post('/v1/topics', { name: 'max-ts', partitions: 2 })).status).toBe(201);
  });
  afterAll(() => connection?.destroy());

  it('answers the first record with the largest timestamp, not the last one', async () => {
    const base = 1_767_225_600_000;
    // Largest at offset 2 (and again at 4: the first one wins, as in Kafka); the last record is older.
    const timestamps = [base, base + 50, base + 900, base + 100, base + 900, base + 10];
    const res = await broker.http.post('/v1/topics/max-ts/records', { records: timestamps.map((timestamp, i) => ({ partition: 0, value: `v${i}`, timestamp })) });
    expect(res.status).toBe(200);
    const found = await listOffsets(7, 'max-ts', 0, ListOffsetsTimestamp.MAX_TIMESTAMP);
    expect(found).toMatchObject({ errorCode: KafkaError.NONE, offset: 2n, timestamp: BigInt(base + 900) });
    expect((await broker.http.get('/v1/topics/max-ts/partitions/0/offsets?at=max-timestamp')).body).toEqual({ offset: 2, timestamp: base + 900 });

    // A later, larger timestamp in a new batch moves the answer.
    expect((await broker.http.post('/v1/topics/max-ts/records', { records: [{ partition: 0, value: 'late', timestamp: base + 5_000 }] })).status).toBe(200);
    expect(await listOffsets(7, 'max-ts', 0, ListOffsetsTimestamp.MAX_TIMESTAMP)).toMatchObject({ errorCode: KafkaError.NONE, offset: 6n, timestamp: BigInt(base + 5_000) });
  });

  it('answers -1/-1 on an empty partition and refuses -3 before v7', async () => {
    expect(await listOffsets(7, 'max-ts', 1, ListOffsetsTimestamp.MAX_TIMESTAMP)).toMatchObject({ errorCode: KafkaError.NONE, offset: -1n, timestamp: -1n });
    expect((await listOffsets(6, 'max-ts', 0, ListOffsetsTimestamp.MAX_TIMESTAMP)).errorCode).toBe(KafkaError.UNSUPPORTED_VERSION);
    expect(await listOffsets(7, 'max-ts', 9, ListOffsetsTimestamp.MAX_TIMESTAMP)).toMatchObject({ errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION });
  });
});
