// The encoder's flexible-version responses read by a real client that speaks
// them (@platformatic/kafka, an independent TypeScript implementation of each
// version): Metadata 12, CreateTopics 7, DescribeConfigs 4, InitProducerId 4,
// Produce 11, Fetch 17 (topic ids, a record batch passed through as its own
// chunk) and ListOffsets 7. What the client reports must be what was encoded.
// Its reader passes over tagged-field sections without reading their values, so
// tagged fields are checked byte for byte in wire.test.ts, not here.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Connection, Producer, fetchV17, listOffsetsV7, stringSerializers } from '@platformatic/kafka';
import { encodeRecordBatch } from '@strata/protocol';
import { ApiKey, decodeRequest, decodeRequestHeader, encodeResponse, RECORDS_INLINE_COPY_MAX_BYTES, SUPPORTED_APIS } from '@strata/kafka-protocol';
import { startLoopbackBroker, type LoopbackBroker } from './loopback-broker.js';

const TOPIC_ID = Buffer.alloc(16, 7).toString('base64url');
/** The same uuid in the dashed hex form @platformatic/kafka uses. */
const TOPIC_ID_DASHED = '07070707-0707-0707-0707-070707070707';
const BASE_OFFSET = 100n;
const HIGH_WATERMARK = 3n;
const MAX_TIMESTAMP_OFFSET = 2n;
const BIG_VALUE = Buffer.alloc(RECORDS_INLINE_COPY_MAX_BYTES * 2, 'v');
const FETCHED = encodeRecordBatch(
  [
    { key: Buffer.from('a'), value: Buffer.from('1'), timestamp: 1700000000000 },
    { key: Buffer.from('b'), value: BIG_VALUE, timestamp: 1700000000001, headers: [{ key: 'h', value: Buffer.from('x') }] },
  ],
  { baseOffset: 1 },
);

let broker: LoopbackBroker;

function answer(frame: Buffer, port: number): Buffer[] {
  const h = decodeRequestHeader(frame);
  const v = h.apiVersion;
  const c = h.correlationId;
  switch (h.apiKey) {
    case ApiKey.ApiVersions:
      return encodeResponse(ApiKey.ApiVersions, v, c, {
        errorCode: 0,
        apiKeys: [...SUPPORTED_APIS].map(([apiKey, span]) => ({ apiKey, minVersion: span.min, maxVersion: span.max })),
      });
    case ApiKey.Metadata:
      return encodeResponse(ApiKey.Metadata, v, c, {
        brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: 'rack-a' }],
        clusterId: 'codec-test',
        controllerId: 1,
        topics: [
          {
            errorCode: 0,
            name: 't',
            topicId: TOPIC_ID,
            partitions: [
              { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 4, replicaNodes: [1], isrNodes: [1] },
              { errorCode: 0, partitionIndex: 1, leaderId: 1, leaderEpoch: 5, replicaNodes: [1], isrNodes: [1] },
            ],
          },
        ],
      });
    case ApiKey.CreateTopics: {
      const req = decodeRequest(ApiKey.CreateTopics, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.CreateTopics, v, c, {
        topics: req.topics.map((t) => ({
          name: t.name,
          topicId: TOPIC_ID,
          errorCode: 0,
          numPartitions: 2,
          replicationFactor: 1,
          configs: [{ name: 'retention.ms', value: '1000', readOnly: false, isSensitive: false }],
        })),
      });
    }
    case ApiKey.DescribeConfigs: {
      const req = decodeRequest(ApiKey.DescribeConfigs, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.DescribeConfigs, v, c, {
        results: req.resources.map((r) => ({
          errorCode: 0,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [{ name: 'cleanup.policy', value: 'delete', readOnly: false, isSensitive: false, configSource: 5 }],
        })),
      });
    }
    case ApiKey.InitProducerId:
      return encodeResponse(ApiKey.InitProducerId, v, c, { errorCode: 0, producerId: 77n, producerEpoch: 3 });
    case ApiKey.Produce: {
      const req = decodeRequest(ApiKey.Produce, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.Produce, v, c, {
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: BASE_OFFSET, currentLeader: { leaderId: 1, leaderEpoch: 4 } })),
        })),
      });
    }
    case ApiKey.Fetch: {
      const req = decodeRequest(ApiKey.Fetch, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.Fetch, v, c, {
        responses: req.topics.map((t) => ({
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partition,
            errorCode: 0,
            highWatermark: HIGH_WATERMARK,
            lastStableOffset: HIGH_WATERMARK,
            logStartOffset: 0n,
            currentLeader: { leaderId: 1, leaderEpoch: 4 },
            records: FETCHED,
          })),
        })),
      });
    }
    case ApiKey.ListOffsets: {
      const req = decodeRequest(ApiKey.ListOffsets, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.ListOffsets, v, c, {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0, timestamp: 1700000000001n, offset: MAX_TIMESTAMP_OFFSET, leaderEpoch: 4 })),
        })),
      });
    }
    default:
      throw new Error(`unexpected API ${h.apiKey}`);
  }
}

beforeAll(async () => {
  broker = await startLoopbackBroker(answer);
});

afterAll(() => broker.close());

function options() {
  return { clientId: 'codec-test', bootstrapBrokers: [`127.0.0.1:${broker.port}`], retries: 0 };
}

describe('@platformatic/kafka reads the encoder’s flexible responses', () => {
  it('admin: Metadata v12, CreateTopics v7 (topic id, configs), DescribeConfigs v4', async () => {
    const admin = new Admin(options());
    try {
      const created = await admin.createTopics({ topics: ['t'], partitions: 2, replicas: 1 });
      expect(created).toEqual([{ id: TOPIC_ID_DASHED, name: 't', partitions: 2, replicas: 1, configuration: { 'retention.ms': '1000' } }]);
      const metadata = await admin.metadata({ topics: ['t'] });
      expect(metadata.id).toBe('codec-test');
      expect(metadata.controllerId).toBe(1);
      expect(metadata.brokers.get(1)).toMatchObject({ host: '127.0.0.1', port: broker.port, rack: 'rack-a' });
      expect(metadata.topics.get('t')).toMatchObject({ id: TOPIC_ID_DASHED, partitionsCount: 2 });
      expect(metadata.topics.get('t')!.partitions.map((p) => [p.leader, p.leaderEpoch])).toEqual([
        [1, 4],
        [1, 5],
      ]);
      const configs = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['cleanup.policy'] }] });
      expect(configs[0]!.configs[0]).toMatchObject({ name: 'cleanup.policy', value: 'delete' });
    } finally {
      await admin.close();
    }
  });

  it('an idempotent producer: InitProducerId v4 and Produce v11', async () => {
    const producer = new Producer({ ...options(), idempotent: true, acks: -1, serializers: stringSerializers });
    try {
      const result = await producer.send({ messages: [{ topic: 't', partition: 0, key: 'k', value: 'v' }] });
      expect(result.offsets).toEqual([{ topic: 't', partition: 0, offset: BASE_OFFSET }]);
    } finally {
      await producer.close();
    }
  });

  it('Fetch v17 by topic id (records passed through as a chunk) and ListOffsets v7', async () => {
    const connection = new Connection('codec-test');
    await connection.connect('127.0.0.1', broker.port);
    try {
      const partition = { partition: 0, currentLeaderEpoch: -1, fetchOffset: 1n, lastFetchedEpoch: -1, partitionMaxBytes: 1048576 };
      const fetched = await fetchV17.api.async(connection, 500, 1, 52428800, 0, 0, -1, [{ topicId: TOPIC_ID_DASHED, partitions: [partition] }], [], '');
      const p = fetched.responses[0]!.partitions[0]!;
      expect(fetched.responses[0]!.topicId).toBe(TOPIC_ID_DASHED);
      expect(p).toMatchObject({ partitionIndex: 0, errorCode: 0, highWatermark: HIGH_WATERMARK });
      const batch = p.records![0]!;
      expect(batch.firstOffset).toBe(1n);
      expect(batch.records.map((r) => [r.key?.toString(), r.value?.length])).toEqual([
        ['a', 1],
        ['b', BIG_VALUE.length],
      ]);
      expect(batch.records[1]!.headers.map(([k, v]) => [k?.toString(), v?.toString()])).toEqual([['h', 'x']]);

      const offsets = await listOffsetsV7.api.async(connection, -1, 0, [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3n }] }]);
      expect(offsets.topics[0]!.partitions[0]).toMatchObject({ offset: MAX_TIMESTAMP_OFFSET, timestamp: 1700000000001n, leaderEpoch: 4 });
    } finally {
      await connection.close();
    }
  });
});
