import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '@strata/protocol';
import { Admin, Connection, Producer } from '../src/index.js';
import { startTestBroker, TestProxy, type TestBroker } from './helpers.js';

let broker: TestBroker;
let admin: Admin;

beforeAll(async () => {
  broker = await startTestBroker();
  admin = new Admin({ brokers: broker.url });
});
afterAll(async () => {
  await admin.close();
  await broker.stop();
});

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  const e = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(StrataError);
  return e as StrataError;
}

describe('Admin', () => {
  it('creates, lists, describes, reconfigures and deletes topics', async () => {
    const created = await admin.createTopic({ name: 'orders', partitions: 3, configs: { 'retention.ms': 3_600_000 } });
    expect(created.name).toBe('orders');
    expect(created.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(created.configs['retention.ms']).toBe(3_600_000);
    expect(created.configOverrides).toEqual({ 'retention.ms': 3_600_000 });

    expect(await admin.listTopics()).toContainEqual({ name: 'orders', partitions: 3, replicationFactor: 1, underReplicated: 0, leaderless: 0, offline: 0, uploadLagSegments: 0, uploadLagBytes: 0 });

    const described = await admin.describeTopic('orders');
    expect(described.topicId).toBe(created.topicId);
    expect(described.partitions[0]).toMatchObject({ partition: 0, logStartOffset: 0, highWatermark: 0, leader: '0' });

    const updated = await admin.updateTopicConfigs('orders', { 'retention.ms': null, 'segment.bytes': 1_048_576 });
    expect(updated.configOverrides).toEqual({ 'segment.bytes': 1_048_576 });

    await admin.deleteTopic('orders');
    expect((await admin.listTopics()).map((t) => t.name)).not.toContain('orders');
  });

  it('reports the server error codes', async () => {
    await admin.createTopic({ name: 'dupe', partitions: 1 });
    expect(await rejection(admin.createTopic({ name: 'dupe', partitions: 1 }))).toMatchObject({ code: 'TOPIC_ALREADY_EXISTS', retriable: false });
    expect(await rejection(admin.describeTopic('missing'))).toMatchObject({ code: 'UNKNOWN_TOPIC', retriable: false });
    expect(await rejection(admin.deleteTopic('missing'))).toMatchObject({ code: 'UNKNOWN_TOPIC' });
    const invalid = await rejection(admin.updateTopicConfigs('dupe', { 'retention.ms': 'soon', 'no.such.config': 1 }));
    expect(invalid.code).toBe('INVALID_CONFIG');
    expect(invalid.details?.problems).toHaveLength(2); // every problem, not only the first
    expect(await rejection(admin.createTopic({ name: 'bad/name', partitions: 1 }))).toMatchObject({ code: 'INVALID_TOPIC' });
    expect(await rejection(admin.listOffsets('dupe', 'earliest', [7]))).toMatchObject({ code: 'UNKNOWN_PARTITION' });
  });

  it('lists offsets at earliest, latest and a timestamp', async () => {
    await admin.createTopic({ name: 'timeline', partitions: 2 });
    const producer = new Producer({ brokers: broker.url, lingerMs: 0 });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'timeline', partition: 0, value: `v${i}`, timestamp: t0 + i * 1000 });
    await producer.close();

    expect(await admin.listOffsets('timeline', 'earliest')).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
    ]);
    expect(await admin.listOffsets('timeline', 'latest')).toEqual([
      { partition: 0, offset: 10 },
      { partition: 1, offset: 0 },
    ]);
    expect(await admin.listOffsets('timeline', { timestamp: t0 + 4500 }, [0])).toEqual([{ partition: 0, offset: 5, timestamp: t0 + 5000 }]);
    // After the last record: the end of the log, as Kafka's consumers seek to.
    expect(await admin.listOffsets('timeline', { timestamp: t0 + 60_000 }, [0])).toEqual([{ partition: 0, offset: 10 }]);
    await expect(admin.listOffsets('timeline', { timestamp: -5 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('describes the cluster', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.clusterId).toMatch(/.+/);
    expect(cluster.brokers).toHaveLength(1);
    expect(cluster.brokers[0]).toMatchObject({ id: '0', url: broker.url, live: true });
  });

  it('shares one Connection between clients and retries retriable answers', async () => {
    const proxy = await TestProxy.start(broker.url);
    try {
      proxy.decide = (r) => (r.kind === 'other' && r.n <= 2 ? 'reject503' : 'pass');
      const connection = new Connection({ brokers: proxy.url, retryBackoffMs: 5, retryBackoffMaxMs: 20 });
      const shared = new Admin({ connection });
      expect(Array.isArray(await shared.listTopics())).toBe(true);
      expect(proxy.faults.reject503).toBe(2);
      await shared.close(); // does not close a shared connection
      expect(connection.closed).toBe(false);
      await connection.close();
      await expect(shared.listTopics()).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    } finally {
      await proxy.close();
    }
  });

  it('fails with REQUEST_TIMED_OUT when no broker can be reached within the timeout', async () => {
    const lonely = new Admin({ brokers: 'http://127.0.0.1:1', requestTimeoutMs: 300, retryBackoffMs: 20, retryBackoffMaxMs: 50 });
    const started = Date.now();
    const error = await rejection(lonely.listTopics());
    expect(error.code).toBe('REQUEST_TIMED_OUT');
    expect(error.retriable).toBe(true);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(10_000); // a hang guard
    await lonely.close();
  });
});
