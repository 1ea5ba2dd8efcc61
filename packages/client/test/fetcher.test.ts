import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '@strata/protocol';
import { Admin, Fetcher, Producer, type ConsumerRecord, type OffsetResetEvent, type PartitionReader } from '../src/index.js';
import { startTestBroker, TestProxy, until, type TestBroker } from './helpers.js';

let broker: TestBroker;
let admin: Admin;
let producer: Producer;
let fetcher: Fetcher;

beforeAll(async () => {
  broker = await startTestBroker({ STRATA_MAINTENANCE_INTERVAL_MS: '10' });
  admin = new Admin({ brokers: broker.url });
  producer = new Producer({ brokers: broker.url, lingerMs: 5 });
  fetcher = new Fetcher({ brokers: broker.url });
});
afterAll(async () => {
  await producer.close();
  await fetcher.close();
  await admin.close();
  await broker.stop();
});

async function produce(topic: string, values: string[], partition = 0): Promise<void> {
  await Promise.all(values.map((value) => producer.send({ topic, partition, key: 'k', value })));
}

const range = (from: number, to: number, prefix = 'v'): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
const text = (records: ConsumerRecord[]): string[] => records.map((r) => r.value!.toString());

/** Reads `count` records from a reader (with a timeout), leaving it open. */
async function take(reader: PartitionReader, count: number, timeoutMs = 5_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  const timer = setTimeout(() => reader.close(), timeoutMs);
  try {
    for await (const record of reader) {
      out.push(record);
      if (out.length === count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

describe('Fetcher', () => {
  it('decodes at most maxRecords of an answer, and continues where it stopped', async () => {
    await admin.createTopic({ name: 'bounded', partitions: 1 });
    await produce('bounded', range(0, 10)); // one batch
    const first = await fetcher.fetch('bounded', 0, 2, { maxRecords: 3 });
    expect(first.records.map((r) => r.offset)).toEqual([2, 3, 4]);
    expect(first.nextOffset).toBe(5);
    const rest = await fetcher.fetch('bounded', 0, first.nextOffset, { maxRecords: 100 });
    expect(text(rest.records)).toEqual(range(5, 10));
    expect(rest.nextOffset).toBe(10);
    await expect(fetcher.fetch('bounded', 0, 0, { maxRecords: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('fetches from an offset inside a batch, skipping the records below it', async () => {
    await admin.createTopic({ name: 'fetched', partitions: 1 });
    await produce('fetched', range(0, 10)); // one batch: the sends share the linger window
    const result = await fetcher.fetch('fetched', 0, 4);
    expect(text(result.records)).toEqual(range(4, 10));
    expect(result.records.map((r) => r.offset)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(result.records[0]).toMatchObject({ topic: 'fetched', partition: 0 });
    expect(result.records[0]!.key!.toString()).toBe('k');
    expect(result).toMatchObject({ nextOffset: 10, highWatermark: 10, logStartOffset: 0 });

    const empty = await fetcher.fetch('fetched', 0, 10);
    expect(empty).toMatchObject({ records: [], nextOffset: 10, highWatermark: 10 });

    const out = await fetcher.fetch('fetched', 0, 11).catch((e: unknown) => e);
    expect(out).toBeInstanceOf(StrataError);
    expect(out).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', retriable: false, details: { logStartOffset: 0, highWatermark: 10 } });
    await expect(fetcher.fetch('nope', 0, 0)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(fetcher.fetch('fetched', 0, -1)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('follows a partition with long-polls: new records arrive at once, without busy polling', async () => {
    await admin.createTopic({ name: 'followed', partitions: 1 });
    await produce('followed', range(0, 3));
    const counter = await TestProxy.start(broker.url);
    const follower = new Fetcher({ brokers: counter.url });
    try {
      const reader = follower.reader('followed', 0, { from: 'earliest', maxWaitMs: 10_000 });
      expect(text(await take(reader, 3))).toEqual(range(0, 3));
      expect(reader.position).toBe(3);
      const fetchesBefore = counter.counts.fetch;
      const next = take(reader, 2);
      await sleep(300); // the reader is now parked in a long-poll
      const producedAt = Date.now();
      await produce('followed', ['late-0', 'late-1']);
      const late = await next;
      expect(text(late)).toEqual(['late-0', 'late-1']);
      expect(Date.now() - producedAt).toBeLessThan(5_000); // woken by the append, not by maxWaitMs (10 s)
      expect(counter.counts.fetch - fetchesBefore).toBeLessThanOrEqual(3);
      expect(reader.position).toBe(5);
      expect(reader.highWatermark).toBe(5);

      // close() ends an iteration that is waiting in a long-poll.
      const waiting = take(reader, 1, 60_000);
      await sleep(100);
      const closedAt = Date.now();
      reader.close();
      expect(await waiting).toEqual([]);
      expect(Date.now() - closedAt).toBeLessThan(5_000); // not the 60 s the iteration was willing to wait
    } finally {
      await follower.close();
      await counter.close();
    }
  });

  it('starts at earliest, latest, an offset or a timestamp, and seeks', async () => {
    await admin.createTopic({ name: 'positions', partitions: 1 });
    // Recent timestamps (regression, issue #15): with 2020 ones, retention (7 days) rolled the active
    // segment at any maintenance pass, so a poll could end at v5 (a fetch answers from one segment)
    // or find v0..v5 gone. This file's broker runs maintenance every 10 ms to keep that race in view.
    const t0 = Date.now() - 60_000;
    await Promise.all(range(0, 6).map((value, i) => producer.send({ topic: 'positions', value, timestamp: t0 + i * 1000 })));

    expect(text(await take(fetcher.reader('positions', 0, { from: 'earliest' }), 6))).toEqual(range(0, 6));
    expect(text(await take(fetcher.reader('positions', 0, { from: 4 }), 2))).toEqual(range(4, 6));
    expect(text(await take(fetcher.reader('positions', 0, { from: { timestamp: t0 + 2500 } }), 3))).toEqual(range(3, 6));

    const latest = fetcher.reader('positions', 0, { maxWaitMs: 2_000 }); // default: latest
    const fromLatest = take(latest, 1);
    await until('the latest reader to resolve its start', () => latest.position === 6);
    await producer.send({ topic: 'positions', value: 'v6' });
    expect(text(await fromLatest)).toEqual(['v6']);

    const reader = fetcher.reader('positions', 0, { from: 'earliest' });
    expect(text(await reader.poll())).toEqual(range(0, 7));
    reader.seek(2);
    expect(text(await take(reader, 2))).toEqual(range(2, 4));
    expect(reader.position).toBe(4); // after the last record handed out, not after the whole fetch
    reader.seek('earliest');
    const batches: string[][] = [];
    for await (const batch of reader.batches()) {
      batches.push(text(batch));
      break;
    }
    expect(batches).toEqual([range(0, 7)]);
    expect(reader.position).toBe(7);
    reader.close();
    expect(await reader.poll()).toEqual([]);
  });

  it('handles an offset past the high watermark per autoOffsetReset', async () => {
    await admin.createTopic({ name: 'reset-high', partitions: 1 });
    await produce('reset-high', range(0, 5));
    const resets: OffsetResetEvent[] = [];
    const onReset = (e: unknown): void => void resets.push(e as OffsetResetEvent);
    subscribe('strata:client:offset-reset', onReset);
    try {
      const earliest = fetcher.reader('reset-high', 0, { from: 1000, autoOffsetReset: 'earliest' });
      expect(text(await take(earliest, 5))).toEqual(range(0, 5));
      expect(resets).toContainEqual({ topic: 'reset-high', partition: 0, offset: 1000, resetTo: 0, policy: 'earliest' });

      const latest = fetcher.reader('reset-high', 0, { from: 1000, autoOffsetReset: 'latest', maxWaitMs: 2_000 });
      const next = take(latest, 1);
      await until('the reset to latest', () => resets.some((r) => r.policy === 'latest'));
      await produce('reset-high', ['after']);
      const [record] = await next;
      expect(record).toMatchObject({ offset: 5 });

      const none = fetcher.reader('reset-high', 0, { from: 1000, autoOffsetReset: 'none' });
      const error = await take(none, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StrataError);
      expect(error).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', details: { highWatermark: 6 } });
    } finally {
      unsubscribe('strata:client:offset-reset', onReset);
    }
  });

  it('handles an offset below the log start (after retention) per autoOffsetReset', async () => {
    // A broker of its own with fast tiering and retention, so the log start moves within the test.
    const retained = await startTestBroker({ STRATA_TIER_INTERVAL_MS: '20', STRATA_MAINTENANCE_INTERVAL_MS: '20', STRATA_MIN_SEGMENT_BYTES: '1024' });
    const local = new Admin({ brokers: retained.url });
    const writer = new Producer({ brokers: retained.url, lingerMs: 0, batchBytes: 512 });
    const reader = new Fetcher({ brokers: retained.url });
    try {
      await local.createTopic({
        name: 'short',
        partitions: 1,
        configs: { 'segment.bytes': 2048, 'local.retention.bytes': 0, 'retention.bytes': 4096 },
      });
      for (let i = 0; i < 30; i++) await Promise.all(range(i * 10, i * 10 + 10, `r-${'x'.repeat(40)}-`).map((value) => writer.send({ topic: 'short', value })));
      const logStart = await until('retention to move the log start', async () => {
        const [p] = (await local.describeTopic('short')).partitions;
        return p !== undefined && !('offline' in p) && p.logStartOffset > 0 ? p.logStartOffset : null;
      });

      const none = reader.reader('short', 0, { from: 0, autoOffsetReset: 'none' });
      await expect(take(none, 1)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });

      const earliest = reader.reader('short', 0, { from: 0, autoOffsetReset: 'earliest' });
      const [first] = await take(earliest, 1);
      expect(first!.offset).toBeGreaterThanOrEqual(logStart);

      const latest = reader.reader('short', 0, { from: 0, autoOffsetReset: 'latest', maxWaitMs: 200 });
      await latest.poll();
      expect(latest.position).toBe(300);
    } finally {
      await reader.close();
      await writer.close();
      await local.close();
      await retained.stop();
    }
  });
});
