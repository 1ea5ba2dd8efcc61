// The data core answers without HTTP (issue #11): typed, per-partition results and errors, as a
// Kafka produce or fetch answer has them, so a second protocol can call the same core.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecordBatch, validateBatches } from '@strata/protocol';
import { createTopic, startTestBroker, type TestBroker } from './helpers.js';

const HOUR = 3_600_000;

function batch(values: string[], timestamp = Date.now()) {
  const bytes = encodeRecordBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestamp })));
  return { batches: bytes, frames: validateBatches(bytes) };
}

describe('DataCore (no HTTP)', () => {
  let t: TestBroker;
  const signal = new AbortController().signal;
  beforeEach(async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'core', 3);
  });
  afterEach(async () => {
    await t.stop();
  });

  it('produces several partitions at once and answers each with its offsets or its own error', async () => {
    const core = t.broker.core.data;
    const results = await core.produce(
      {
        topic: 'core',
        acks: 'all',
        partitions: [
          { partition: 0, ...batch(['a', 'b']) },
          { partition: 2, ...batch(['late'], Date.now() + 2 * HOUR) }, // past message.timestamp.after.max.ms
          { partition: 1, ...batch(['c']) },
        ],
      },
      {},
      { signal },
    );
    expect(results.map((r) => [r.partition, r.outcome])).toEqual([
      [0, 'appended'],
      [2, 'failed'],
      [1, 'appended'],
    ]);
    expect(results[0]).toMatchObject({ baseOffset: 0, lastOffset: 1, recordCount: 2 });
    expect(results[2]).toMatchObject({ baseOffset: 0, lastOffset: 0, recordCount: 1 });
    const failed = results[1]!;
    expect(failed.outcome === 'failed' && failed.error.code).toBe('INVALID_TIMESTAMP');

    // The failed partition changed nothing; the others hold what they acknowledged.
    const fetched = await core.fetch(
      [0, 1, 2].map((partition) => ({ topic: 'core', partition, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0 })),
      {},
      signal,
    );
    const summary = fetched.map((f) => ('read' in f && f.read.source === 'local' ? [f.partition, f.read.result.batchCount, f.read.result.highWatermark] : [f.partition, 'error']));
    for (const f of fetched) if ('read' in f && f.read.source === 'local') f.read.result.release();
    expect(summary).toEqual([
      [0, 1, 2],
      [1, 1, 1],
      [2, 0, 0],
    ]);
  });

  it('reports an out-of-range fetch as that partition\'s error, beside the others\' data', async () => {
    const core = t.broker.core.data;
    await core.produce({ topic: 'core', acks: '1', partitions: [{ partition: 0, ...batch(['x']) }] }, {}, { signal });
    const fetched = await core.fetch(
      [
        { topic: 'core', partition: 0, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0 },
        { topic: 'core', partition: 1, offset: 5, maxBytes: 1 << 20, maxWaitMs: 0 },
      ],
      {},
      signal,
    );
    expect('read' in fetched[0]! && fetched[0].read.source).toBe('local');
    if ('read' in fetched[0]! && fetched[0].read.source === 'local') fetched[0].read.result.release();
    expect('error' in fetched[1]! && fetched[1].error.code).toBe('OFFSET_OUT_OF_RANGE');
    const lookup = await core.listOffsets('core', 0, 'latest', {}, signal);
    expect(lookup).toEqual({ source: 'local', offset: 1 });
  });
});
