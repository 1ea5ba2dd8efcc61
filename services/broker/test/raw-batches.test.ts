import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchField, decodeRecordBatches, encodeRecordBatch, readBatchHeader } from '@strata/protocol';
import { call, createTopic, fetchRecords, postBatch, startTestBroker, type TestBroker } from './helpers.js';

let t: TestBroker;
beforeEach(async () => {
  // Small segments (below Kafka 4.0's 1 MiB floor): the tests' escape hatch.
  t = await startTestBroker({ STRATA_MIN_SEGMENT_BYTES: '1024' });
});
afterEach(async () => {
  await t.stop();
});

const rec = (value: string, key?: string) => ({ key: key === undefined ? null : Buffer.from(key), value: Buffer.from(value) });

async function fetchRaw(topic: string, partition: number, query: string): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(`${t.url}/v1/topics/${topic}/partitions/${partition}/batches?${query}`);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

describe('raw RecordBatch produce and fetch', () => {
  it('round-trips batches: offsets assigned, epoch stamped, bytes otherwise as sent', async () => {
    // Batches stamped in 1970: no time retention (local or total), or a maintenance pass would roll them
    // into a segment of their own mid-test (a fetch answers from one segment).
    await createTopic(t.url, 'raw', 2, { 'retention.ms': -1, 'local.retention.ms': -2 });
    const first = encodeRecordBatch([rec('a', 'k'), rec('b'), rec('c')], { now: 1_000 });
    const res1 = await postBatch(t.url, 'raw', 1, first);
    expect(res1.status).toBe(200);
    expect(res1.body).toEqual({ baseOffset: 0, lastOffset: 2, recordCount: 3 });
    // Two batches in one body.
    const body = Buffer.concat([encodeRecordBatch([rec('d')], { now: 2_000 }), encodeRecordBatch([rec('e'), rec('f')], { compression: 'gzip', now: 3_000 })]);
    const res2 = await postBatch(t.url, 'raw', 1, body);
    expect(res2.body).toEqual({ baseOffset: 3, lastOffset: 5, recordCount: 3 });

    const got = await fetchRaw('raw', 1, 'offset=0');
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/vnd.kafka.record-batch');
    expect(got.headers.get('strata-high-watermark')).toBe('6');
    expect(got.headers.get('strata-log-start-offset')).toBe('0');
    expect(got.headers.get('strata-next-offset')).toBe('6');
    const records = decodeRecordBatches(got.bytes);
    expect(records.map((r) => [r.offset, r.value!.toString()])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
      [3, 'd'],
      [4, 'e'],
      [5, 'f'],
    ]);
    expect(records[0]!.key!.toString()).toBe('k');
    const header = readBatchHeader(got.bytes, 0);
    // Stamped with the epoch of the leader that appended it (a single node takes its lease like any broker).
    const described = await call(t.url, 'GET', '/v1/topics/raw');
    const epoch = described.body.partitions[1].leaderEpoch;
    expect(epoch).toBeGreaterThan(0);
    expect(header.partitionLeaderEpoch).toBe(epoch);
    // Apart from baseOffset and the epoch (outside the CRC), the first batch is byte-identical.
    const stored = got.bytes.subarray(0, first.length);
    expect(stored.subarray(BatchField.magic)).toEqual(first.subarray(BatchField.magic));

    // The JSON view of the same data.
    const asJson = await fetchRecords(t.url, 'raw', 1, 'offset=4');
    expect(asJson.body.records.map((r: { value: string }) => r.value)).toEqual(['e', 'f']);
    // The other partition is untouched.
    expect((await fetchRaw('raw', 0, 'offset=0')).bytes.length).toBe(0);
  });

  it('a fetch in the middle of a batch returns the whole batch, and Strata-Next-Offset moves on', async () => {
    await createTopic(t.url, 'mid');
    await postBatch(t.url, 'mid', 0, encodeRecordBatch([rec('0'), rec('1'), rec('2')]));
    await postBatch(t.url, 'mid', 0, encodeRecordBatch([rec('3')]));
    const got = await fetchRaw('mid', 0, 'offset=1&maxBytes=1');
    expect(decodeRecordBatches(got.bytes).map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(got.headers.get('strata-next-offset')).toBe('3');
    expect(got.headers.get('strata-batch-count')).toBe('1');
    const atEnd = await fetchRaw('mid', 0, 'offset=4');
    expect(atEnd.bytes.length).toBe(0);
    expect(atEnd.headers.get('strata-next-offset')).toBe('4');
  });

  it('acks=0 on the raw path answers 202 and appends', async () => {
    await createTopic(t.url, 'raw0');
    const res = await fetch(`${t.url}/v1/topics/raw0/partitions/0/batches?acks=0`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
      body: encodeRecordBatch([rec('x')]),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ baseOffset: -1, lastOffset: -1 });
    const got = await fetchRaw('raw0', 0, 'offset=0&maxWaitMs=2000');
    expect(decodeRecordBatches(got.bytes)).toHaveLength(1);
  });

  it('the body may not exceed max.message.bytes (413), and nothing is written', async () => {
    await createTopic(t.url, 'small', 1, { 'max.message.bytes': 512 });
    const big = encodeRecordBatch([rec('x'.repeat(600))]);
    const res = await postBatch(t.url, 'small', 0, big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('MESSAGE_TOO_LARGE');
    const ok = await postBatch(t.url, 'small', 0, encodeRecordBatch([rec('fits')]));
    expect(ok.body.baseOffset).toBe(0);
  });

  it('a batch larger than segment.bytes is refused (413) before anything is written, on both paths', async () => {
    await createTopic(t.url, 'seg', 1, { 'segment.bytes': 1024 });
    const raw = await postBatch(t.url, 'seg', 0, encodeRecordBatch([rec('x'.repeat(2000))]));
    expect(raw.status).toBe(413);
    expect(raw.body.error.code).toBe('MESSAGE_TOO_LARGE');
    const res = await fetch(`${t.url}/v1/topics/seg/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ value: 'small', partition: 0 }, { value: 'y'.repeat(2000), partition: 0 }] }),
    });
    expect(res.status).toBe(413);
    const fetched = await fetchRecords(t.url, 'seg', 0, 'offset=0');
    expect(fetched.body.highWatermark).toBe(0);
  });
});

describe('max.message.bytes applies per batch', () => {
  it('accepts a body of several batches that together exceed max.message.bytes, and refuses one batch over it', async () => {
    const { startTestBroker, createTopic, postBatch } = await import('./helpers.js');
    const { encodeRecordBatch } = await import('@strata/protocol');
    const t = await startTestBroker();
    try {
      await createTopic(t.url, 'per-batch', 1, { 'max.message.bytes': 2048 });
      const one = () => encodeRecordBatch([{ value: Buffer.alloc(1500, 7) }]);
      const accepted = await postBatch(t.url, 'per-batch', 0, Buffer.concat([one(), one(), one()]));
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ baseOffset: 0, lastOffset: 2 });
      const refused = await postBatch(t.url, 'per-batch', 0, encodeRecordBatch([{ value: Buffer.alloc(3000, 7) }]));
      expect(refused.status).toBe(413);
      expect(refused.body.error.code).toBe('MESSAGE_TOO_LARGE');
    } finally {
      await t.stop();
    }
  });
});
