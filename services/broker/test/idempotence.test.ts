// Idempotent producers through the broker (core/producers.ts, the produce path, /v1/producers):
// a retried batch is answered with its original offsets and written once, also after a restart;
// gaps and old epochs are refused with Kafka's errors and change nothing.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecordBatch, validateBatches } from '@strata/protocol';
import { call, createTopic, fetchRecords, postBatch, startTestBroker, type TestBroker } from './helpers.js';

let t: TestBroker;
beforeEach(async () => {
  t = await startTestBroker();
});
afterEach(async () => {
  await t.stop();
});

function batch(producerId: number, baseSequence: number, values: string[], producerEpoch = 0): Buffer {
  return encodeRecordBatch(
    values.map((v) => ({ key: null, value: Buffer.from(v) })),
    { producerId, producerEpoch, baseSequence },
  );
}

/** Every value up to the high watermark: a fetch answers from one segment, and a graceful stop seals the active one. */
async function values(topic: string): Promise<string[]> {
  const out: string[] = [];
  for (let offset = 0, reads = 0; reads < 20; reads++) {
    const got = await fetchRecords(t.url, topic, 0, `offset=${offset}&maxRecords=100`);
    const body = got.body as { records: { value: string }[]; nextOffset: number; highWatermark: number };
    out.push(...body.records.map((r) => r.value));
    if (body.nextOffset >= body.highWatermark) break;
    offset = body.nextOffset;
  }
  return out;
}

describe('idempotent producers', () => {
  it('hands out new producer ids with epoch 0 and refuses a transactional id', async () => {
    const a = await call(t.url, 'POST', '/v1/producers', {});
    const b = await call(t.url, 'POST', '/v1/producers', { transactionalId: null });
    expect(a.status).toBe(200);
    expect(a.body.producerEpoch).toBe(0);
    expect(b.body.producerId).toBeGreaterThan(a.body.producerId);
    const tx = await call(t.url, 'POST', '/v1/producers', { transactionalId: 'tx-1' });
    expect(tx.status).toBe(400);
    expect(tx.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'TRANSACTIONS_UNSUPPORTED' } });
    expect((await call(t.url, 'POST', '/v1/producers', { producerIdx: 1 })).status).toBe(400);
    // Ids survive a restart: the single node's coordinator keeps the next free id on disk.
    await t.restart();
    const c = await call(t.url, 'POST', '/v1/producers', {});
    expect(c.body.producerId).toBeGreaterThan(b.body.producerId);
  });

  it('writes a batch sent twice once, answering the retry with the original offsets, also after a restart', async () => {
    await createTopic(t.url, 'idem');
    const { producerId } = (await call(t.url, 'POST', '/v1/producers', {})).body as { producerId: number };
    await postBatch(t.url, 'idem', 0, encodeRecordBatch([{ key: null, value: Buffer.from('plain') }]));
    const first = await postBatch(t.url, 'idem', 0, batch(producerId, 0, ['a', 'b']));
    expect(first.body).toEqual({ baseOffset: 1, lastOffset: 2, recordCount: 2 });
    const retry = await postBatch(t.url, 'idem', 0, batch(producerId, 0, ['a', 'b']));
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ baseOffset: 1, lastOffset: 2, recordCount: 2, duplicate: true });
    expect(await values('idem')).toEqual(['plain', 'a', 'b']);

    await t.restart();
    expect((await postBatch(t.url, 'idem', 0, batch(producerId, 0, ['a', 'b']))).body).toMatchObject({ baseOffset: 1, duplicate: true });
    expect((await postBatch(t.url, 'idem', 0, batch(producerId, 2, ['c']))).body).toEqual({ baseOffset: 3, lastOffset: 3, recordCount: 1 });
    expect(await values('idem')).toEqual(['plain', 'a', 'b', 'c']);
  });

  it('refuses a sequence gap and an older epoch with 409 and writes nothing', async () => {
    await createTopic(t.url, 'gaps');
    await postBatch(t.url, 'gaps', 0, batch(42, 0, ['a']));
    await postBatch(t.url, 'gaps', 0, batch(42, 0, ['x'], 1));
    const gap = await postBatch(t.url, 'gaps', 0, batch(42, 5, ['b'], 1));
    expect(gap.status).toBe(409);
    expect(gap.body.error).toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER', retriable: false, details: { producerId: 42, baseSequence: 5, expectedSequence: 1 } });
    const fenced = await postBatch(t.url, 'gaps', 0, batch(42, 1, ['c'], 0));
    expect(fenced.status).toBe(409);
    expect(fenced.body.error).toMatchObject({ code: 'INVALID_PRODUCER_EPOCH', details: { currentEpoch: 1 } });
    expect(await values('gaps')).toEqual(['a', 'x']);
  });

  it('the core answers a duplicate per partition, beside the other partitions\' appends', async () => {
    await createTopic(t.url, 'cores', 2);
    const { producerId } = await t.broker.core.producers.initProducerId({}, {}, AbortSignal.timeout(5_000));
    const one = batch(producerId, 0, ['p0']);
    const produce = (bytes: Buffer[]) =>
      t.broker.core.data.produce(
        {
          topic: 'cores',
          acks: '1',
          partitions: bytes.map((b, partition) => ({ partition, batches: b, frames: validateBatches(b) })),
        },
        {},
        { signal: AbortSignal.timeout(5_000) },
      );
    await produce([one]);
    const results = await produce([batch(producerId, 0, ['p0']), batch(producerId, 0, ['p1'])]);
    expect(results).toEqual([
      { partition: 0, outcome: 'appended', baseOffset: 0, lastOffset: 0, recordCount: 1, duplicate: true },
      { partition: 1, outcome: 'appended', baseOffset: 0, lastOffset: 0, recordCount: 1, duplicate: false },
    ]);
  });
});
