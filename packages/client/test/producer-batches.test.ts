// How full the producer's batches are: a batch closes when the next record would not fit in
// batchBytes of written bytes, and it stays that full under backpressure.
import { describe, expect, it } from 'vitest';
import { BATCH_LOG_OVERHEAD, readBatchHeader } from '@strata/protocol';
import { Producer } from '../src/index.js';
import { TestProxy, until, useBrokerFixture } from './helpers.js';

const fixture = useBrokerFixture();
const closers = fixture.closers;

function producer(options: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Producer {
  const p = new Producer({ brokers: fixture.broker.url, ...options });
  closers.push(() => p.close());
  return p;
}

/** The stored batches of partition 0, in order: their sizes in bytes and record counts. */
async function storedBatches(topic: string): Promise<Array<{ bytes: number; records: number }>> {
  const answer = await fetch(`${fixture.broker.url}/v1/topics/${topic}/partitions/0/batches?offset=0`);
  const raw = Buffer.from(await answer.arrayBuffer());
  const batches: Array<{ bytes: number; records: number }> = [];
  for (let position = 0; position < raw.length; ) {
    const header = readBatchHeader(raw, position);
    const bytes = header.batchLength + BATCH_LOG_OVERHEAD;
    batches.push({ bytes, records: header.recordCount });
    position += bytes;
  }
  return batches;
}

const VALUE = 'v'.repeat(100);
/** What the producer reserves for one such record: its worst-case framing (36 B) and its value. */
const RECORD_RESERVED_BYTES = 36 + VALUE.length;

describe('Producer batches', () => {
  it('fills a batch to batchBytes of written bytes, not of the records\' worst-case estimates', async () => {
    await fixture.admin.createTopic({ name: 'filled', partitions: 1 });
    const p = producer({ batchBytes: 1024, lingerMs: 60_000 });
    await Promise.all(Array.from({ length: 40 }, () => p.send({ topic: 'filled', partition: 0, value: VALUE })));
    const batches = await storedBatches('filled');
    expect(batches.reduce((n, b) => n + b.records, 0)).toBe(40);
    // Every batch but the last closed because one more record might not have fitted, no sooner.
    for (const batch of batches.slice(0, -1)) {
      expect(batch.bytes).toBeLessThanOrEqual(1024);
      expect(batch.bytes + RECORD_RESERVED_BYTES).toBeGreaterThan(1024);
    }
  });

  it('keeps batches full while sends wait for buffer space (regression: each batch shrank to what the last answer freed)', async () => {
    await fixture.admin.createTopic({ name: 'backpressured', partitions: 1 });
    const gate = await TestProxy.start(fixture.broker.url);
    closers.push(() => gate.close());
    const p = producer({ brokers: gate.url, bufferRecords: 20, batchBytes: 1200, lingerMs: 60_000 });
    await p.send({ topic: 'backpressured', value: 'warm-up' });
    gate.decide = (r) => (r.kind === 'produce' ? 'hold' : 'pass');
    // A lone record goes at once and is held: the partition has a request in flight.
    const lone = p.send({ topic: 'backpressured', value: VALUE });
    await until('the lone record in flight', () => gate.heldCount === 1);
    // 19 more fit the buffer (a full batch, then a batch filling); the rest wait for space.
    const sends = Array.from({ length: 80 }, () => p.send({ topic: 'backpressured', value: VALUE }));
    gate.decide = () => 'pass';
    gate.release();
    await Promise.all([lone, ...sends]);
    const batches = (await storedBatches('backpressured')).slice(2); // after the warm-up and the lone record
    expect(batches.reduce((n, b) => n + b.records, 0)).toBe(80);
    const full = Math.max(...batches.map((b) => b.records));
    expect(full).toBeGreaterThan(1);
    // Every batch but the last is full: none closed early because the buffer was.
    expect(batches.slice(0, -1).map((b) => b.records)).toEqual(batches.slice(0, -1).map(() => full));
  });
});
