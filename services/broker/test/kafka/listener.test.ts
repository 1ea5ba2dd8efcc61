// The Kafka listener wired into a broker (broker.ts): on when STRATA_KAFKA_PORT names a port, its
// bound port and advertised address on the Broker object, answering ApiVersions, gone after close();
// off at 0.

import { connect } from 'node:net';
import { once } from 'node:events';
import { ApiKey, decodeResponse, encodeRequest, KafkaError, type KnownApiKey, type RequestInput, type ResponseBody } from '@strata/kafka-protocol';
import { decodeRecordBatches, encodeRecordBatch } from '@strata/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, startTestBroker, type TestBroker } from '../helpers.js';

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function apiVersions(port: number): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(Buffer.concat(encodeRequest(ApiKey.ApiVersions, 0, 5, 'test', {})));
  let data = Buffer.alloc(0);
  while (data.length < 4 || data.length < 4 + data.readInt32BE(0)) data = Buffer.concat([data, (await once(socket, 'data'))[0] as Buffer]);
  socket.destroy();
  return decodeResponse(ApiKey.ApiVersions, 0, data.subarray(4, 4 + data.readInt32BE(0))).body.errorCode;
}

/** One request on a fresh connection, its decoded answer. */
async function call<K extends KnownApiKey>(port: number, apiKey: K, version: number, body: RequestInput<K>): Promise<ResponseBody<K>> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(Buffer.concat(encodeRequest(apiKey, version, 77, 'test', body)));
  let data = Buffer.alloc(0);
  while (data.length < 4 || data.length < 4 + data.readInt32BE(0)) data = Buffer.concat([data, (await once(socket, 'data'))[0] as Buffer]);
  socket.destroy();
  const answer = decodeResponse(apiKey, version, data.subarray(4, 4 + data.readInt32BE(0)));
  expect(answer.correlationId).toBe(77);
  return answer.body;
}

describe('the Kafka listener in a broker', () => {
  let t: TestBroker | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('listens on STRATA_KAFKA_PORT, reports its port and address, and stops with the broker', async () => {
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port) });
    expect(t.broker.kafkaPort).toBe(port);
    expect(t.broker.kafkaAddress).toBe(`127.0.0.1:${port}`);
    expect(await apiVersions(port)).toBe(KafkaError.NONE);
    await t.stop();
    t = undefined;
    const socket = connect(port, '127.0.0.1');
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('is off at STRATA_KAFKA_PORT=0, and advertises STRATA_KAFKA_ADVERTISED_ADDRESS when set', async () => {
    t = await startTestBroker();
    expect(t.broker.kafkaPort).toBeNull();
    expect(t.broker.kafkaAddress).toBeNull();
    await t.stop();
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port), STRATA_KAFKA_ADVERTISED_ADDRESS: 'kafka.example.com:19092' });
    expect(t.broker.kafkaAddress).toBe('kafka.example.com:19092');
  });

  it('speaks the flexible versions end to end: Metadata 12 (topic ids), Produce 11, Fetch 13 and 17 by topic id, ListOffsets 6, CreateTopics 7, DeleteTopics 6', async () => {
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port) });
    const created = await call(port, ApiKey.CreateTopics, 7, { topics: [{ name: 'flex', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5_000 });
    expect(created.topics[0]).toMatchObject({ name: 'flex', errorCode: KafkaError.NONE, numPartitions: 2, replicationFactor: 1 });
    const meta = await call(port, ApiKey.Metadata, 12, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'flex' }], allowAutoTopicCreation: false });
    const topicId = meta.topics[0]!.topicId;
    expect(topicId).toBe(created.topics[0]!.topicId);
    expect(meta.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId, p.errorCode])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(meta.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port, rack: null }]);

    const batch = encodeRecordBatch([
      { key: Buffer.from('a'), value: Buffer.from('one'), headers: [{ key: 'h', value: Buffer.from('x') }] },
      { key: null, value: null },
    ]);
    const produced = await call(port, ApiKey.Produce, 11, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: 'flex', partitionData: [{ index: 1, records: batch }] }] });
    expect(produced.responses[0]!.partitionResponses[0]).toMatchObject({ index: 1, errorCode: KafkaError.NONE, baseOffset: 0n });

    for (const version of [13, 17]) {
      const fetched = await call(port, ApiKey.Fetch, version, {
        maxWaitMs: 0,
        minBytes: 1,
        topics: [{ topicId, partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
      });
      const p = fetched.responses[0]!.partitions[0]!;
      expect(fetched.responses[0]!.topicId).toBe(topicId);
      expect(p).toMatchObject({ partitionIndex: 1, errorCode: KafkaError.NONE, highWatermark: 2n, lastStableOffset: 2n, logStartOffset: 0n });
      const records = decodeRecordBatches(p.records!);
      expect(records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers.map((h) => [h.key, h.value?.toString()])])).toEqual([
        [0, 'a', 'one', [['h', 'x']]],
        [1, null, null, []],
      ]);
    }
    // A topic id nobody has: UNKNOWN_TOPIC_ID, not a closed connection.
    const unknown = await call(port, ApiKey.Fetch, 13, { maxWaitMs: 0, minBytes: 1, topics: [{ topicId: 'AQEBAQEBAQEBAQEBAQEBAQ', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }] }], forgottenTopicsData: [] });
    expect(unknown.responses[0]!.partitions[0]!.errorCode).toBe(KafkaError.UNKNOWN_TOPIC_ID);

    const offsets = await call(port, ApiKey.ListOffsets, 6, { replicaId: -1, topics: [{ name: 'flex', partitions: [{ partitionIndex: 1, timestamp: -1n }, { partitionIndex: 0, timestamp: -2n }] }] });
    expect(offsets.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, p.offset])).toEqual([
      [1, 0, 2n],
      [0, 0, 0n],
    ]);
    const outOfRange = await call(port, ApiKey.Fetch, 13, { maxWaitMs: 0, minBytes: 1, topics: [{ topicId, partitions: [{ partition: 1, fetchOffset: 99n, partitionMaxBytes: 1024 }] }], forgottenTopicsData: [] });
    expect(outOfRange.responses[0]!.partitions[0]!.errorCode).toBe(KafkaError.OFFSET_OUT_OF_RANGE);

    const deleted = await call(port, ApiKey.DeleteTopics, 6, { topics: [{ name: null, topicId }], timeoutMs: 5_000 });
    expect(deleted.responses[0]).toMatchObject({ name: 'flex', errorCode: KafkaError.NONE });
    const gone = await call(port, ApiKey.Metadata, 12, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'flex' }], allowAutoTopicCreation: false });
    expect(gone.topics[0]!.errorCode).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('creates a topic a Metadata request names when STRATA_KAFKA_AUTO_CREATE_TOPICS is on and the request allows it', async () => {
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port), STRATA_KAFKA_AUTO_CREATE_TOPICS: 'true', STRATA_DEFAULT_PARTITIONS: '3' });
    const refused = await call(port, ApiKey.Metadata, 9, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'not-asked' }], allowAutoTopicCreation: false });
    expect(refused.topics[0]!.errorCode).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    const made = await call(port, ApiKey.Metadata, 9, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'made-on-demand' }], allowAutoTopicCreation: true });
    expect(made.topics[0]).toMatchObject({ name: 'made-on-demand', errorCode: KafkaError.NONE });
    expect(made.topics[0]!.partitions).toHaveLength(3);
    const bad = await call(port, ApiKey.Metadata, 9, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'bad name!' }], allowAutoTopicCreation: true });
    expect(bad.topics[0]!.errorCode).toBe(KafkaError.INVALID_TOPIC_EXCEPTION);
  });

  it('answers InitProducerId (v0 and the flexible v4) with a new producer id each time, and refuses a transactional id (no transactions)', async () => {
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port) });
    const first = await call(port, ApiKey.InitProducerId, 0, { transactionalId: null, transactionTimeoutMs: 60_000 });
    const second = await call(port, ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    expect(first).toMatchObject({ errorCode: KafkaError.NONE, producerEpoch: 0 });
    expect(second).toMatchObject({ errorCode: KafkaError.NONE, producerEpoch: 0 });
    expect(first.producerId).toBeGreaterThanOrEqual(0n);
    expect(second.producerId).not.toBe(first.producerId);
    const transactional = await call(port, ApiKey.InitProducerId, 4, { transactionalId: 'tx-1', transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    expect(transactional).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST, producerId: -1n });
  });

  // Issue #13: a MaxListenersExceededWarning on a Kafka connection. A Fetch waiting on more than 10
  // partitions put one abort listener per partition on one signal; the connection's requests all
  // shared one signal too. Each request now has its own, and the fetch's wait says its bound.
  it('a connection with many long waits at once, one on 12 partitions, adds no listener past Node\'s bound', async () => {
    const port = await freePort();
    t = await startTestBroker({ STRATA_KAFKA_PORT: String(port) });
    await createTopic(t.url, 'waits', 12);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const partitions = Array.from({ length: 12 }, (_, i) => i);
      // Request 0 waits on all 12 partitions, requests 1..12 on one each: 13 long waits on one connection.
      const requests = [partitions, ...partitions.map((p) => [p])];
      for (const [i, waitOn] of requests.entries()) {
        const topics = [{ topic: 'waits', partitions: waitOn.map((partition) => ({ partition, fetchOffset: 0n, partitionMaxBytes: 1024 })) }];
        socket.write(Buffer.concat(encodeRequest(ApiKey.Fetch, 11, i, 'test', { maxWaitMs: 300, minBytes: 1, topics, forgottenTopicsData: [] })));
      }
      let data = Buffer.alloc(0);
      const answered: number[] = [];
      while (answered.length < requests.length) {
        while (data.length < 4 || data.length < 4 + data.readInt32BE(0)) data = Buffer.concat([data, (await once(socket, 'data'))[0] as Buffer]);
        const frame = data.subarray(4, 4 + data.readInt32BE(0));
        data = data.subarray(4 + frame.length);
        const answer = decodeResponse(ApiKey.Fetch, 11, frame);
        expect(answer.body.errorCode).toBe(KafkaError.NONE);
        answered.push(answer.correlationId);
      }
      socket.destroy();
      expect(answered).toEqual(requests.map((_, i) => i));
      // process.emitWarning emits on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
