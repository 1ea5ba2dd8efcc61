// The encoder's responses read by a real client: a loopback server made of this
// package's decoder and encoder (no broker behind it) answers kafkajs, and what
// kafkajs reports must be exactly what was encoded (offsets, producer id,
// errors). kafkajs stops below the flexible versions; the flexible encodings are
// covered byte for byte in wire.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, CompressionTypes, logLevel } from 'kafkajs';
import { decodeRecordBatch } from '@strata/protocol';
import {
  ApiKey,
  decodeRequest,
  decodeRequestHeader,
  encodeResponse,
  KafkaError,
  ListOffsetsTimestamp,
  SUPPORTED_APIS,
  type RequestBody,
} from '@strata/kafka-protocol';
import { startLoopbackBroker, type LoopbackBroker } from './loopback-broker.js';

const EARLIEST = 7n;
const LATEST = 42n;
const BY_TIMESTAMP = 13n;
const BASE_OFFSET = 100n;
const PRODUCER_ID = 4242n;

const produced: RequestBody<typeof ApiKey.Produce>[] = [];
let port: number;

function answer(frame: Buffer): Buffer[] {
  const h = decodeRequestHeader(frame);
  const v = h.apiVersion;
  const c = h.correlationId;
  switch (h.apiKey) {
    case ApiKey.ApiVersions:
      return encodeResponse(ApiKey.ApiVersions, v, c, {
        errorCode: 0,
        apiKeys: [...SUPPORTED_APIS].map(([apiKey, span]) => ({ apiKey, minVersion: span.min, maxVersion: span.max })),
      });
    case ApiKey.Metadata: {
      const req = decodeRequest(ApiKey.Metadata, v, frame, h.bodyOffset);
      const names = (req.topics ?? []).map((t) => t.name ?? '');
      return encodeResponse(ApiKey.Metadata, v, c, {
        brokers: [{ nodeId: 1, host: '127.0.0.1', port }],
        clusterId: 'codec-test',
        controllerId: 1,
        topics: (names.length === 0 ? ['t'] : names).map((name) => ({
          errorCode: 0,
          name,
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }],
        })),
      });
    }
    case ApiKey.CreateTopics: {
      const req = decodeRequest(ApiKey.CreateTopics, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.CreateTopics, v, c, {
        topics: req.topics.map((t) => ({
          name: t.name,
          errorCode: t.name === 'exists' ? KafkaError.TOPIC_ALREADY_EXISTS : 0,
          errorMessage: t.name === 'exists' ? 'Topic exists' : null,
        })),
      });
    }
    case ApiKey.ListOffsets: {
      const req = decodeRequest(ApiKey.ListOffsets, v, frame, h.bodyOffset);
      const offsetFor = (ts: bigint) => (ts === ListOffsetsTimestamp.EARLIEST ? EARLIEST : ts === ListOffsetsTimestamp.LATEST ? LATEST : BY_TIMESTAMP);
      return encodeResponse(ApiKey.ListOffsets, v, c, {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1n, offset: offsetFor(p.timestamp) })),
        })),
      });
    }
    case ApiKey.InitProducerId:
      return encodeResponse(ApiKey.InitProducerId, v, c, { errorCode: 0, producerId: PRODUCER_ID, producerEpoch: 0 });
    case ApiKey.Produce: {
      const req = decodeRequest(ApiKey.Produce, v, frame, h.bodyOffset);
      produced.push(req);
      return encodeResponse(ApiKey.Produce, v, c, {
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: BASE_OFFSET, logStartOffset: 0n })),
        })),
      });
    }
    default:
      throw new Error(`unexpected API ${h.apiKey}`);
  }
}

let broker: LoopbackBroker;

beforeAll(async () => {
  broker = await startLoopbackBroker(answer);
  port = broker.port;
});

afterAll(() => broker.close());

function client() {
  return new Kafka({ clientId: 'codec-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

describe('kafkajs reads the encoder’s responses', () => {
  it('admin: creates topics (and sees TOPIC_ALREADY_EXISTS), lists offsets earliest, latest and by timestamp', async () => {
    const admin = client().admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 't', numPartitions: 1 }] })).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: 'exists', numPartitions: 1 }] })).toBe(false);
      expect(await admin.fetchTopicOffsets('t')).toEqual([{ partition: 0, offset: String(LATEST), high: String(LATEST), low: String(EARLIEST) }]);
      expect(await admin.fetchTopicOffsetsByTimestamp('t', 1_700_000_000_000)).toEqual([{ partition: 0, offset: String(BY_TIMESTAMP) }]);
    } finally {
      await admin.disconnect();
    }
  });

  it('an idempotent producer: gets its producer id, sends a gzip batch, and reads the base offset back', async () => {
    const producer = client().producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
    await producer.connect();
    try {
      const metadata = await producer.send({
        topic: 't',
        compression: CompressionTypes.GZIP,
        messages: [
          { key: 'k', value: 'v', headers: { h: 'x' }, timestamp: '1700000000000' },
          { key: null, value: null, timestamp: '1700000000001' },
        ],
      });
      expect(metadata).toMatchObject([{ topicName: 't', partition: 0, errorCode: 0, baseOffset: String(BASE_OFFSET) }]);
    } finally {
      await producer.disconnect();
    }
    const last = produced.at(-1)!;
    const batch = decodeRecordBatch(last.topicData[0]!.partitionData[0]!.records!);
    expect(batch.header.producerId).toBe(Number(PRODUCER_ID));
    expect(batch.records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers.map((h) => h.key)])).toEqual([
      ['k', 'v', ['h']],
      [null, null, []],
    ]);
  });
});
