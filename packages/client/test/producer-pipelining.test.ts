import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PRODUCER_CONNECTIONS_PER_BROKER_MAX, Producer, type RecordMetadata } from '../src/index.js';
import { readPartition, useBrokerFixture } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

const fixture = useBrokerFixture();
const closers = fixture.closers;

/** The sends' offsets grow in send order, and the partition holds each value once, in that order. */
async function expectExactlyOnceInOrder(topic: string, values: string[], results: RecordMetadata[]): Promise<void> {
  for (let i = 1; i < results.length; i++) expect(results[i]!.offset).toBeGreaterThan(results[i - 1]!.offset);
  const stored = await readPartition(fixture.broker.url, topic, 0);
  expect(stored.map((r) => r.value)).toEqual(values);
  expect(results.map((r) => r.offset)).toEqual(stored.map((r) => r.offset));
}

describe('Producer pipelining (maxInFlightRequestsPerPartition)', () => {
  it('cut with 5 requests appended and unanswered, writes each record once, in order (regression: one request in flight per partition)', async () => {
    const topic = 'pipelined-cut';
    await fixture.admin.createTopic({ name: topic, partitions: 1 });
    const proxy = await TcpProxy.start(fixture.broker.url);
    closers.push(() => proxy.close());
    // 1 KiB requests, so the records need hundreds of them and five are in flight at once.
    const p = new Producer({ brokers: proxy.url, batchBytes: 1024, maxRequestBytes: 1024, lingerMs: 2, retryBackoffMs: 5, retryBackoffMaxMs: 40 });
    closers.push(() => p.close());
    const values = ['first'];
    const results = [await p.send({ topic, value: 'first' })]; // the producer id's first batch goes alone
    // From now on the proxy holds the broker's answers, and cuts the connection once it holds five:
    // five requests pipelined, each appended, none of their answers seen by the client.
    proxy.cutAfterHeldAnswers = 5;
    const sends: Array<Promise<RecordMetadata>> = [];
    for (let i = 0; i < 2_000; i++) {
      const value = `record-${String(i).padStart(5, '0')}-${'x'.repeat(80)}`;
      values.push(value);
      sends.push(p.send({ topic, value }));
    }
    results.push(...(await Promise.all(sends)));
    expect(proxy.cuts).toBe(1);
    expect(proxy.heldAtCut).toBe(5);
    await expectExactlyOnceInOrder(topic, values, results);
  });

  it('spreads many partitions over a bounded set of connections per broker, each partition in order on its own', async () => {
    const topic = 'pipelined-many-partitions';
    const partitions = 3 * PRODUCER_CONNECTIONS_PER_BROKER_MAX;
    await fixture.admin.createTopic({ name: topic, partitions });
    const proxy = await TcpProxy.start(fixture.broker.url);
    closers.push(() => proxy.close());
    const p = new Producer({ brokers: proxy.url, batchBytes: 1024, lingerMs: 2 });
    closers.push(() => p.close());
    const sends: Array<Promise<RecordMetadata>> = [];
    for (let i = 0; i < 100; i++) for (let partition = 0; partition < partitions; partition++) sends.push(p.send({ topic, partition, value: `${partition}-${i}-${'x'.repeat(100)}` }));
    const results = await Promise.all(sends);
    expect(proxy.producingConnections).toBeGreaterThan(1);
    expect(proxy.producingConnections).toBeLessThanOrEqual(PRODUCER_CONNECTIONS_PER_BROKER_MAX);
    for (let partition = 0; partition < partitions; partition++) {
      const mine = results.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(mine).toEqual(mine.map((_, i) => i));
      expect((await readPartition(fixture.broker.url, topic, partition)).map((r) => r.value)).toEqual(mine.map((_, i) => `${partition}-${i}-${'x'.repeat(100)}`));
    }
  });

  it('keeps order for batches the broker validates off its event loop (gzip, over 64 KiB)', async () => {
    const topic = 'pipelined-gzip';
    await fixture.admin.createTopic({ name: topic, partitions: 1 });
    const p = new Producer({ brokers: fixture.broker.url, compression: 'gzip' });
    closers.push(() => p.close());
    const values: string[] = [];
    const sends: Array<Promise<RecordMetadata>> = [];
    // Random values do not compress: each 256 KiB batch stays over the broker's 64 KiB synchronous bound.
    for (let i = 0; i < 12_000; i++) {
      const value = `${String(i).padStart(6, '0')}-${randomBytes(48).toString('hex')}`;
      values.push(value);
      sends.push(p.send({ topic, value }));
    }
    const results = await Promise.all(sends);
    expect(p.stats().inFlightRequests).toBe(0);
    await expectExactlyOnceInOrder(topic, values, results);
  });
});
