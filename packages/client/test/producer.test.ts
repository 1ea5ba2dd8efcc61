import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { BatchAttribute, compressionUnavailable, partitionForKey, readBatchHeader, StrataError } from '@strata/protocol';
import { Fetcher, Producer, type ConsumerRecord, type RecordMetadata } from '../src/index.js';
import { readPartition, TestProxy, watch, useBrokerFixture } from './helpers.js';

const fixture = useBrokerFixture();
const closers = fixture.closers;

function producer(options: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Producer {
  const p = new Producer({ brokers: fixture.broker.url, ...options });
  closers.push(() => p.close());
  return p;
}

async function proxy(): Promise<TestProxy> {
  const p = await TestProxy.start(fixture.broker.url);
  closers.push(() => p.close());
  return p;
}

describe('Producer', () => {
  it('puts keyed records on partitionForKey and they arrive in send order per key', async () => {
    await fixture.admin.createTopic({ name: 'keyed', partitions: 6 });
    const p = producer({ lingerMs: 2, batchBytes: 4096 });
    const sends: Array<Promise<RecordMetadata>> = [];
    const keys: string[] = [];
    for (let i = 0; i < 600; i++) {
      const key = `user-${i % 17}`;
      keys.push(key);
      sends.push(p.send({ topic: 'keyed', key, value: `${key}:${Math.floor(i / 17)}`, headers: { i: String(i) } }));
    }
    const results = await Promise.all(sends);
    results.forEach((r, i) => {
      expect(r.topic).toBe('keyed');
      expect(r.partition).toBe(partitionForKey(Buffer.from(keys[i]!), 6));
    });
    const seen = new Map<string, number>();
    let total = 0;
    for (let partition = 0; partition < 6; partition++) {
      for (const record of await readPartition(fixture.broker.url, 'keyed', partition)) {
        total++;
        const [key, seq] = record.value!.split(':') as [string, string];
        expect(record.key).toBe(key);
        expect(partitionForKey(Buffer.from(key), 6)).toBe(partition);
        const expected = seen.get(key) ?? 0;
        expect(Number(seq)).toBe(expected); // in order, no gap, no duplicate
        seen.set(key, expected + 1);
        const i = Number(record.headers.find((h) => h.key === 'i')!.value);
        expect(results[i]).toEqual({ topic: 'keyed', partition, offset: record.offset });
      }
    }
    expect(total).toBe(600);
  });

  it('batches many sends into few requests', async () => {
    await fixture.admin.createTopic({ name: 'batched', partitions: 1 });
    const counter = await proxy();
    const p = producer({ brokers: counter.url, lingerMs: 50 });
    await p.send({ topic: 'batched', value: 'warm-up' }); // metadata is fetched once
    const before = counter.counts.produce;
    const sends = Array.from({ length: 500 }, (_, i) => p.send({ topic: 'batched', value: `v${i}` }));
    const results = await Promise.all(sends);
    // 500 small records fit one 64 KiB batch: one request, two if the linger timer splits them.
    expect(counter.counts.produce - before).toBeLessThanOrEqual(2);
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(counter.counts.describe).toBe(1);
  });

  it('closes a batch when it reaches batchBytes without waiting for the linger', async () => {
    await fixture.admin.createTopic({ name: 'full-batches', partitions: 1 });
    const counter = await proxy();
    const p = producer({ brokers: counter.url, lingerMs: 60_000, batchBytes: 2048 });
    await p.flush();
    const value = 'x'.repeat(100);
    const started = Date.now();
    // ~150 bytes each: about 13 per 2 KiB batch, so 26 records fill two batches at once.
    const sends = Array.from({ length: 26 }, () => p.send({ topic: 'full-batches', value }));
    const firstBatch = await Promise.race(sends);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(firstBatch.offset).toBe(0);
    await p.flush(); // the partial tail goes now, not in 60 s
    await Promise.all(sends);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(counter.counts.produce).toBeGreaterThanOrEqual(2);
  });

  it('sends a lone record at once when the partition has nothing in flight, with default settings (no linger)', async () => {
    await fixture.admin.createTopic({ name: 'lone', partitions: 1 });
    const counter = await proxy();
    const p = producer({ brokers: counter.url });
    await p.send({ topic: 'lone', value: 'warm-up' }); // metadata and the producer id are taken
    const before = counter.counts.produce;
    // A fake clock for setTimeout only: the linger timer cannot fire unless advanced, so the send
    // can only be delivered by the "nothing in flight: send at once" path (before #16 it waited lingerMs).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const delivered = await p.send({ topic: 'lone', value: 'now' });
      expect(delivered.offset).toBe(1);
      expect(counter.counts.produce).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gathers records while a request is in flight and sends them as one batch once the partition is idle', async () => {
    await fixture.admin.createTopic({ name: 'lingering', partitions: 1 });
    const gate = await proxy();
    // A linger of an hour: whatever is delivered here went because the partition became idle.
    const p = producer({ brokers: gate.url, lingerMs: 3_600_000, deliveryTimeoutMs: 3_600_001 });
    await p.send({ topic: 'lingering', value: 'warm-up' });
    gate.decide = (r) => (r.kind === 'produce' ? 'hold' : 'pass');
    const first = watch(p.send({ topic: 'lingering', value: 'first' }));
    while (gate.heldCount < 1) await sleep(5);
    const later = Array.from({ length: 20 }, (_, i) => watch(p.send({ topic: 'lingering', value: `later-${i}` })));
    await sleep(50);
    expect(p.stats().inFlightRequests).toBe(1);
    expect(later.some((s) => s.settled)).toBe(false);
    const before = gate.counts.produce;
    gate.decide = () => 'pass';
    gate.release();
    expect((await first.promise).offset).toBe(1);
    const results = await Promise.all(later.map((s) => s.promise));
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(gate.counts.produce - before).toBe(1); // the 20 went in one request
  });

  // zstd is written only where node:zlib has it (Node >= 22.15).
  const codecs = [['gzip', 1], ['snappy', 2], ['lz4', 3], ['zstd', 4]] as const;
  for (const [codec, codecId] of codecs) {
    it.skipIf(compressionUnavailable(codec) !== null)(`compresses with ${codec} and the records round-trip`, async () => {
      const topic = `zipped-${codec}`;
      await fixture.admin.createTopic({ name: topic, partitions: 1 });
      const counter = await proxy();
      const p = producer({ brokers: counter.url, compression: codec, lingerMs: 20 });
      const values = Array.from({ length: 40 }, (_, i) => `${i}:${'strata '.repeat(300)}`);
      const sends = values.map((value, i) =>
        p.send({ topic, key: `k${i}`, value, headers: [{ key: 'n', value: String(i) }, { key: 'bin', value: Buffer.from([0, 255, i]) }], timestamp: 1_700_000_000_000 + i }),
      );
      await Promise.all(sends);
      const rawBytes = values.reduce((n, v) => n + v.length, 0);
      expect(counter.producedBytes).toBeLessThan(rawBytes / 10);

      const fetcher = new Fetcher({ brokers: fixture.broker.url });
      closers.push(() => fetcher.close());
      // The records carry 2023 timestamps: retention (7 days) may roll the active segment between two of
      // the producer's batches, and one fetch answers from one segment: read until every record is back.
      const fetched: { records: ConsumerRecord[] } = { records: [] };
      for (let offset = 0, fetches = 0; fetched.records.length < values.length && fetches < 10; fetches++) {
        const answer = await fetcher.fetch(topic, 0, offset, { maxBytes: 10 * 1024 * 1024 });
        fetched.records.push(...answer.records);
        offset = answer.nextOffset;
      }
      expect(fetched.records.map((r) => r.value!.toString())).toEqual(values);
      fetched.records.forEach((r, i) => {
        expect(r.key!.toString()).toBe(`k${i}`);
        expect(r.timestamp).toBe(1_700_000_000_000 + i);
        expect(r.headers[0]).toEqual({ key: 'n', value: Buffer.from(String(i)) });
        expect([...r.headers[1]!.value!]).toEqual([0, 255, i]);
      });
      // The stored batch says the codec.
      const raw = Buffer.from(await (await fetch(`${fixture.broker.url}/v1/topics/${topic}/partitions/0/batches?offset=0`)).arrayBuffer());
      expect(readBatchHeader(raw, 0).attributes & BatchAttribute.compressionMask).toBe(codecId);
      // And the broker's JSON view agrees.
      expect((await readPartition(fixture.broker.url, topic, 0)).map((r) => r.value)).toEqual(values);
    });
  }

  it('waits for buffer space when bufferBytes is full, and its memory stays bounded', async () => {
    await fixture.admin.createTopic({ name: 'pressure', partitions: 1 });
    const gate = await proxy();
    const p = producer({ brokers: gate.url, bufferBytes: 4096, batchBytes: 1024, lingerMs: 0 });
    await p.send({ topic: 'pressure', value: 'warm-up' });
    gate.decide = (r) => (r.kind === 'produce' ? 'hold' : 'pass');
    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, p.stats().bufferedBytes)), 1);
    try {
      const value = 'v'.repeat(100);
      const sends = Array.from({ length: 200 }, (_, i) => watch(p.send({ topic: 'pressure', key: 'k', value: `${i}:${value}` })));
      // A producer loop that awaits enqueue() stalls on the full buffer instead of queueing more.
      let enqueued = 0;
      const loop = (async () => {
        for (let i = 0; i < 5; i++) {
          const { delivered } = await p.enqueue({ topic: 'pressure', key: 'k', value: `loop-${i}` });
          delivered.catch(() => undefined);
          enqueued++;
        }
      })();
      await sleep(150);
      const stats = p.stats();
      expect(stats.bufferedBytes).toBeLessThanOrEqual(4096);
      expect(stats.bufferedBytes).toBeGreaterThan(2048);
      expect(stats.waitingSends).toBeGreaterThan(150);
      expect(enqueued).toBe(0);
      expect(sends.filter((s) => s.settled)).toHaveLength(0);
      // Each closed batch is in flight (up to maxInFlightRequestsPerPartition, 5): the buffer is what stops the sends.
      expect(gate.heldCount).toBeGreaterThan(1);
      expect(gate.heldCount).toBeLessThanOrEqual(5);

      gate.decide = () => 'pass';
      gate.release();
      await Promise.all(sends.map((s) => s.promise));
      await loop;
      expect(enqueued).toBe(5);
      await p.flush();
      expect(p.stats().bufferedBytes).toBe(0);
    } finally {
      clearInterval(sampler);
    }
    expect(maxBuffered).toBeLessThanOrEqual(4096);
    const stored = await readPartition(fixture.broker.url, 'pressure', 0);
    expect(stored.slice(1, 201).map((r) => Number(r.value!.split(':')[0]))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('bounds the buffer by records as well as bytes (bufferRecords), in send order', async () => {
    await fixture.admin.createTopic({ name: 'counted', partitions: 1 });
    const gate = await proxy();
    const p = producer({ brokers: gate.url, bufferRecords: 10 });
    await p.send({ topic: 'counted', value: 'warm-up' });
    gate.decide = (r) => (r.kind === 'produce' ? 'hold' : 'pass');
    const sends = Array.from({ length: 40 }, (_, i) => watch(p.send({ topic: 'counted', value: `${i}` })));
    while (gate.heldCount < 1) await sleep(5);
    await sleep(50);
    const stats = p.stats();
    expect(stats.bufferedRecords).toBe(10);
    expect(stats.bufferedBytes).toBeLessThan(4096); // far below bufferBytes: the record bound held them
    expect(stats.waitingSends).toBe(30);
    gate.decide = () => 'pass';
    gate.release();
    const results = await Promise.all(sends.map((s) => s.promise));
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(p.stats().bufferedRecords).toBe(0);
    expect((await readPartition(fixture.broker.url, 'counted', 0)).slice(1).map((r) => r.value)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}`));
  });

  it('sends lingering batches at once when the buffer is exhausted, instead of stalling for lingerMs', async () => {
    await fixture.admin.createTopic({ name: 'exhausted', partitions: 8 });
    // Eight partitions' open batches, each under batchBytes, fill the buffer; their linger is a minute.
    const p = producer({ bufferBytes: 4096, batchBytes: 2048, lingerMs: 60_000 });
    await p.flush();
    const started = Date.now();
    const sends = Array.from({ length: 100 }, (_, i) => p.send({ topic: 'exhausted', key: `k${i % 8}`, value: 'e'.repeat(100) }));
    await Promise.all(sends.slice(0, 80));
    expect(Date.now() - started).toBeLessThan(5_000);
    await p.flush();
    await Promise.all(sends);
  });

  it('fails a send that waited maxBlockMs for buffer space with REQUEST_TIMED_OUT', async () => {
    await fixture.admin.createTopic({ name: 'blocked', partitions: 1 });
    const gate = await proxy();
    const p = producer({ brokers: gate.url, bufferBytes: 1024, batchBytes: 512, lingerMs: 0, maxBlockMs: 200 });
    await p.send({ topic: 'blocked', value: 'warm-up' });
    gate.decide = (r) => (r.kind === 'produce' ? 'hold' : 'pass');
    const fillers = Array.from({ length: 10 }, () => p.send({ topic: 'blocked', value: 'x'.repeat(150) }));
    const started = Date.now();
    const late = await p.send({ topic: 'blocked', value: 'x'.repeat(150) }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(StrataError);
    expect((late as StrataError).code).toBe('REQUEST_TIMED_OUT');
    expect((late as StrataError).message).toMatch(/buffer space/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    gate.decide = () => 'pass';
    gate.release();
    await Promise.allSettled(fillers);
  });

  it('rejects sends with the server code when the error is not retriable', async () => {
    const p = producer();
    const unknown = await p.send({ topic: 'no-such-topic', value: 'x' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(StrataError);
    expect(unknown).toMatchObject({ code: 'UNKNOWN_TOPIC', retriable: false });

    // The topic goes away after its metadata was read: the batch fails with the broker's 404.
    await fixture.admin.createTopic({ name: 'doomed', partitions: 2 });
    await p.send({ topic: 'doomed', value: 'first' });
    await fixture.admin.deleteTopic('doomed');
    const results = await Promise.allSettled([1, 2, 3].map((i) => p.send({ topic: 'doomed', partition: 1, value: `v${i}` })));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'UNKNOWN_TOPIC', retriable: false });
    }

    await fixture.admin.createTopic({ name: 'small-messages', partitions: 2, configs: { 'max.message.bytes': 1024 } });
    await expect(p.send({ topic: 'small-messages', value: 'y'.repeat(2000) })).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await expect(p.send({ topic: 'small-messages', partition: 2, value: 'z' })).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    await expect(p.send({ topic: 'small-messages', value: 'z', timestamp: -1 })).rejects.toMatchObject({ code: 'INVALID_TIMESTAMP' });
    await expect(p.send({ topic: 'small-messages' } as never)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    // The producer is still fine.
    expect((await p.send({ topic: 'small-messages', partition: 1, value: 'ok' })).offset).toBe(0);
  });

  it('flush() sends lingering records at once; close() flushes and then refuses sends', async () => {
    await fixture.admin.createTopic({ name: 'flushed', partitions: 3 });
    const p = new Producer({ brokers: fixture.broker.url, lingerMs: 60_000 });
    const sends = Array.from({ length: 30 }, (_, i) => watch(p.send({ topic: 'flushed', key: `k${i}`, value: `v${i}` })));
    const started = Date.now();
    await p.flush();
    expect(sends.every((s) => s.settled && s.error === undefined)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);

    const more = Array.from({ length: 5 }, (_, i) => watch(p.send({ topic: 'flushed', key: `k${i}`, value: `w${i}` })));
    await p.close();
    expect(more.every((s) => s.settled && s.error === undefined)).toBe(true);
    expect(Date.now() - started).toBeLessThan(4_000);
    await expect(p.send({ topic: 'flushed', value: 'late' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await p.close(); // idempotent
    const total = (await Promise.all([0, 1, 2].map((partition) => readPartition(fixture.broker.url, 'flushed', partition)))).flat().length;
    expect(total).toBe(35);
  });

  it('keeps keyless records of one batch on one partition and moves on after each batch (sticky)', async () => {
    await fixture.admin.createTopic({ name: 'sticky', partitions: 4 });
    const p = producer({ lingerMs: 5 });
    const used: number[] = [];
    for (let round = 0; round < 8; round++) {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => p.send({ topic: 'sticky', value: `${round}-${i}` })));
      const partitions = new Set(results.map((r) => r.partition));
      expect(partitions.size).toBe(1);
      used.push(results[0]!.partition);
    }
    for (let i = 1; i < used.length; i++) expect(used[i]).not.toBe(used[i - 1]);
  });

  it('acks=0 resolves without offsets; acks=1 with them', async () => {
    await fixture.admin.createTopic({ name: 'acks', partitions: 1 });
    const fireAndForget = producer({ acks: 0 });
    expect(await fireAndForget.send({ topic: 'acks', value: 'a' })).toEqual({ topic: 'acks', partition: 0, offset: -1 });
    const leader = producer({ acks: 1 });
    const second = await leader.send({ topic: 'acks', value: 'b' });
    expect(second.offset).toBe(1);
  });

  it('refuses invalid options with every problem listed', () => {
    expect(() => new Producer({ brokers: 'not a url', lingerMs: -1, batchBytes: 10_000, bufferBytes: 100 })).toThrow(StrataError);
    try {
      new Producer({ brokers: fixture.broker.url, lingerMs: -1, batchBytes: 10_000, bufferBytes: 100 });
    } catch (e) {
      expect((e as StrataError).code).toBe('INVALID_CONFIG');
      expect((e as StrataError).message).toMatch(/lingerMs/);
      expect((e as StrataError).message).toMatch(/batchBytes \(10000\) must be <= bufferBytes \(100\)/);
    }
  });
});
