import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { StrataError } from '@strata/protocol';
import { Admin, Producer, type RecordMetadata, type RetryEvent } from '../src/index.js';
import { readPartition, TestProxy, useBrokerFixture } from './helpers.js';

const fixture = useBrokerFixture();
const closers = fixture.closers;

async function proxy(port = 0): Promise<TestProxy> {
  const p = await TestProxy.start(fixture.broker.url, port);
  closers.push(() => p.close());
  return p;
}

/** A loopback port nobody listens on (connections are refused). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every key's records, read back from all partitions, must be exactly 0..n-1 in order. */
async function expectInOrderExactlyOnce(topic: string, partitions: number, sentPerKey: Map<string, number>): Promise<void> {
  const seen = new Map<string, number[]>();
  for (let partition = 0; partition < partitions; partition++) {
    for (const record of await readPartition(fixture.broker.url, topic, partition)) {
      const [key, seq] = record.value!.split(':') as [string, string];
      const list = seen.get(key) ?? [];
      list.push(Number(seq));
      seen.set(key, list);
    }
  }
  expect([...seen.keys()].sort()).toEqual([...sentPerKey.keys()].sort());
  for (const [key, count] of sentPerKey) {
    expect(seen.get(key), key).toEqual(Array.from({ length: count }, (_, i) => i));
  }
}

describe('Producer retries', () => {
  it('keeps every key in send order, without gaps or duplicates, through 503s and cut connections', async () => {
    await fixture.admin.createTopic({ name: 'ordered', partitions: 4 });
    const faulty = await proxy();
    // Produce requests 1-6 get a retriable 503, then every third one up to the 30th has its connection
    // cut; neither reaches the broker (see TestProxy), so each retry is the only copy that lands.
    faulty.decide = (r) => {
      if (r.kind !== 'produce') return 'pass';
      if (r.n <= 6) return 'reject503';
      if (r.n <= 30 && r.n % 3 === 0) return 'cut';
      return 'pass';
    };
    const retries: RetryEvent[] = [];
    const onRetry = (event: unknown): void => void retries.push(event as RetryEvent);
    subscribe('strata:client:retry', onRetry);
    try {
      // One batch per request (maxRequestBytes = batchBytes), so there are many requests to fault.
      const p = new Producer({ brokers: faulty.url, lingerMs: 2, batchBytes: 1024, maxRequestBytes: 1024, retryBackoffMs: 5, retryBackoffMaxMs: 40 });
      closers.push(() => p.close());
      const sentPerKey = new Map<string, number>();
      const sends: Array<Promise<RecordMetadata>> = [];
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 120; i++) {
          const key = `key-${i % 12}`;
          const seq = sentPerKey.get(key) ?? 0;
          sentPerKey.set(key, seq + 1);
          sends.push(p.send({ topic: 'ordered', key, value: `${key}:${seq}` }));
        }
        await sleep(3); // spread the sends over many batches and requests
      }
      const results = await Promise.all(sends);
      // Offsets per partition grow in send order.
      const lastOffset = new Map<number, number>();
      for (const r of results) {
        expect(r.offset).toBeGreaterThan(lastOffset.get(r.partition) ?? -1);
        lastOffset.set(r.partition, r.offset);
      }
      await expectInOrderExactlyOnce('ordered', 4, sentPerKey);
    } finally {
      unsubscribe('strata:client:retry', onRetry);
    }
    expect(faulty.faults.reject503).toBe(6);
    expect(faulty.faults.cut).toBe(8);
    const produceRetries = retries.filter((r) => r.what.startsWith('produce to ordered/'));
    // A cut fails every request pipelined on the connection: the first is retried by the producer
    // (an event), the others re-sent by undici on a new connection; so at least one event per 503.
    expect(produceRetries.length).toBeGreaterThanOrEqual(faulty.faults.reject503 + 1);
    expect(produceRetries.some((r) => r.failure.kind === 'status' && r.failure.error.code === 'BROKER_SHUTTING_DOWN')).toBe(true);
    expect(produceRetries.some((r) => r.failure.kind === 'network')).toBe(true);
  });

  for (const idempotent of [true, false]) {
    it(`${idempotent ? 'writes each record once (idempotent, the default)' : 'duplicates records (idempotent: false)'} when answers are lost after the broker appended`, async () => {
      const topic = `lost-answers-${String(idempotent)}`;
      await fixture.admin.createTopic({ name: topic, partitions: 2 });
      const lossy = await proxy();
      // Every other produce request up to the 12th reaches the broker, is appended, and its answer is lost.
      lossy.decide = (r) => (r.kind === 'produce' && r.n <= 12 && r.n % 2 === 1 ? 'loseAnswer' : 'pass');
      const p = new Producer({
        brokers: lossy.url,
        lingerMs: 2,
        batchBytes: 512,
        maxRequestBytes: 512,
        retryBackoffMs: 5,
        retryBackoffMaxMs: 40,
        ...(idempotent ? {} : { idempotent: false }),
      });
      closers.push(() => p.close());
      const sentPerKey = new Map<string, number>();
      const sends: Array<Promise<RecordMetadata>> = [];
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 40; i++) {
          const key = `key-${i % 8}`;
          const seq = sentPerKey.get(key) ?? 0;
          sentPerKey.set(key, seq + 1);
          sends.push(p.send({ topic, key, value: `${key}:${seq}` }));
        }
        await sleep(3);
      }
      const results = await Promise.all(sends);
      expect(lossy.faults.loseAnswer).toBe(6);
      if (!idempotent) {
        // Without idempotence the lost answers' batches are written twice: this is what the default prevents.
        const total = (await readPartition(fixture.broker.url, topic, 0)).length + (await readPartition(fixture.broker.url, topic, 1)).length;
        expect(total).toBeGreaterThan(320);
        return;
      }
      await expectInOrderExactlyOnce(topic, 2, sentPerKey);
      // Each send was answered with the offset its record has in the log.
      for (const partition of [0, 1]) {
        const stored = await readPartition(fixture.broker.url, topic, partition);
        const byValue = new Map(stored.map((r) => [r.value, r.offset]));
        results.forEach((r, i) => {
          if (r.partition !== partition) return;
          const key = `key-${i % 40 % 8}`;
          expect(byValue.get(`${key}:${Math.floor(i / 40) * 5 + Math.floor((i % 40) / 8)}`)).toBe(r.offset);
        });
      }
    });
  }

  it('refuses idempotence with acks other than all, and any transactional id', () => {
    expect(() => new Producer({ brokers: fixture.broker.url, acks: 1, idempotent: true })).toThrow(/idempotent producers need acks 'all'/);
    expect(() => new Producer({ brokers: fixture.broker.url, transactionalId: 'tx' })).toThrow(/transactional producers are not supported/);
    const plain = new Producer({ brokers: fixture.broker.url, acks: 1 });
    expect(plain.options.idempotent).toBe(false);
    closers.push(() => plain.close());
  });

  it('gives up at deliveryTimeoutMs with the server code, rejecting every send of the batch', async () => {
    await fixture.admin.createTopic({ name: 'unavailable', partitions: 1 });
    const down = await proxy();
    down.decide = (r) => (r.kind === 'produce' ? 'reject503' : 'pass');
    const p = new Producer({ brokers: down.url, deliveryTimeoutMs: 600, lingerMs: 5, retryBackoffMs: 20, retryBackoffMaxMs: 100 });
    closers.push(() => p.close());
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => p.send({ topic: 'unavailable', value: `v${i}` })));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(3_000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const error = (r as PromiseRejectedResult).reason as StrataError;
      expect(error).toBeInstanceOf(StrataError);
      expect(error.code, error.message).toBe('BROKER_SHUTTING_DOWN');
      expect(error.retriable).toBe(true);
      expect(error.message).toMatch(/gave up after \d+ attempts/);
      expect((error.cause as StrataError).message).toMatch(/injected by the test proxy/);
    }
    expect(down.faults.reject503).toBeGreaterThan(2);
    expect(await readPartition(fixture.broker.url, 'unavailable', 0)).toEqual([]);
  });

  it('fails over to the next broker URL when a connection is refused', async () => {
    await fixture.admin.createTopic({ name: 'failover', partitions: 2 });
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const p = new Producer({ brokers: [dead, fixture.broker.url], lingerMs: 1 });
    closers.push(() => p.close());
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => p.send({ topic: 'failover', key: `k${i}`, value: `v${i}` })));
    expect(results).toHaveLength(20);
    const failoverAdmin = new Admin({ brokers: `${dead},${fixture.broker.url}` });
    closers.push(() => failoverAdmin.close());
    expect((await failoverAdmin.listTopics()).map((t) => t.name)).toContain('failover');
  });

  it('rides out a broker that is down, then up again, on the same URL', async () => {
    await fixture.admin.createTopic({ name: 'comeback', partitions: 1 });
    const port = await deadPort();
    const p = new Producer({ brokers: `http://127.0.0.1:${port}`, lingerMs: 1, retryBackoffMs: 10, retryBackoffMaxMs: 50, deliveryTimeoutMs: 10_000, requestTimeoutMs: 5_000 });
    closers.push(() => p.close());
    const retries: RetryEvent[] = [];
    const onRetry = (event: unknown): void => void retries.push(event as RetryEvent);
    subscribe('strata:client:retry', onRetry);
    try {
      const sends = Array.from({ length: 10 }, (_, i) => p.send({ topic: 'comeback', key: 'k', value: `k:${i}` }));
      await sleep(300);
      expect(retries.some((r) => r.failure.kind === 'connect')).toBe(true);
      await proxy(port); // the "broker" comes back on its address
      const results = await Promise.all(sends);
      expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    } finally {
      unsubscribe('strata:client:retry', onRetry);
    }
    await expectInOrderExactlyOnce('comeback', 1, new Map([['k', 10]]));
  });
});
