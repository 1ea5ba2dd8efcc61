// Issue #10 item 6: create-time timestamps are bounded as in Kafka 4.0 (KIP-937):
// message.timestamp.before.max.ms / message.timestamp.after.max.ms, checked at the leader's
// append for JSON and raw produce alike; one record far in the future used to keep a partition
// with retention.ms=2000 forever.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchAttribute, BatchField, crc32c, encodeRecordBatch } from '@strata/protocol';
import { DEFAULT_TOPIC_CONFIGS } from '../src/config.js';
import { timestampWindowProblem } from '../src/topics/topic-config.js';
import { call, createTopic, fetchRecords, postBatch, produce, startTestBroker, type TestBroker } from './helpers.js';

const FAR_FUTURE = Number.MAX_SAFE_INTEGER; // 9007199254740991, the timestamp
const HOUR = 3_600_000;

describe('timestampWindowProblem', () => {
  const now = 1_700_000_000_000;
  const window = { 'message.timestamp.before.max.ms': 10 * HOUR, 'message.timestamp.after.max.ms': HOUR };
  const frame = (baseTimestamp: number, maxTimestamp: number, attributes = 0) => ({ baseTimestamp, maxTimestamp, attributes });

  it('passes batches inside [now - before, now + after], bounds included', () => {
    expect(timestampWindowProblem([frame(now, now), frame(now - 10 * HOUR, now + HOUR)], window, now)).toBeNull();
  });

  it('refuses a record more than after.max.ms ahead, or before.max.ms behind, naming the batch', () => {
    const ahead = timestampWindowProblem([frame(now, now), frame(now, now + HOUR + 1)], window, now);
    expect(ahead?.message).toMatch(/batch 1 has a record timestamped .* 3600001 ms after the broker's clock \(message\.timestamp\.after\.max\.ms is 3600000\)/);
    expect(ahead?.details).toMatchObject({ batchIndex: 1, timestamp: now + HOUR + 1 });
    const behind = timestampWindowProblem([frame(now - 10 * HOUR - 1, now)], window, now);
    expect(behind?.message).toMatch(/before the broker's clock \(message\.timestamp\.before\.max\.ms/);
    expect(timestampWindowProblem([frame(FAR_FUTURE, FAR_FUTURE)], window, now)).not.toBeNull();
  });

  it("does not check LogAppendTime batches (their timestamps are the broker's)", () => {
    expect(timestampWindowProblem([frame(FAR_FUTURE, FAR_FUTURE, BatchAttribute.logAppendTime)], window, now)).toBeNull();
  });

  it("has Kafka 4.0's defaults: no limit into the past, one hour into the future", () => {
    expect(DEFAULT_TOPIC_CONFIGS['message.timestamp.after.max.ms']).toBe(HOUR);
    expect(timestampWindowProblem([frame(0, 0)], DEFAULT_TOPIC_CONFIGS, now)).toBeNull();
    expect(timestampWindowProblem([frame(now, now + HOUR + 1)], DEFAULT_TOPIC_CONFIGS, now)).not.toBeNull();
  });
});

describe('produce with timestamps outside the window', () => {
  let t: TestBroker;
  beforeEach(async () => {
    t = await startTestBroker();
  });
  afterEach(async () => {
    await t.stop();
  });

  const latest = async (topic: string, partition: number): Promise<number> =>
    (await call(t.url, 'GET', `/v1/topics/${topic}/partitions/${partition}/offsets?at=latest`)).body.offset as number;

  it('refuses a JSON record at 2^53-1 with INVALID_TIMESTAMP and appends nothing', async () => {
    await createTopic(t.url, 'ts', 1, { 'retention.ms': 2000 });
    const res = await produce(t.url, 'ts', { records: [{ value: 'ok' }, { value: 'bomb', timestamp: FAR_FUTURE }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_TIMESTAMP');
    expect(res.body.error.retriable).toBe(false);
    expect(res.body.error.message).toMatch(/^ts\/0: .*message\.timestamp\.after\.max\.ms is 3600000.*nothing was appended/);
    expect(await latest('ts', 0)).toBe(0);
    // Within the window, a timestamp is kept as given.
    const inWindow = Date.now() + 60_000;
    expect((await produce(t.url, 'ts', { records: [{ value: 'soon', timestamp: inWindow }] })).status).toBe(200);
    const got = await fetchRecords(t.url, 'ts', 0, 'offset=0');
    expect(got.body.records.map((r: { timestamp: number }) => r.timestamp)).toEqual([inWindow]);
  });

  it('refuses per partition: the other partitions of a JSON produce are appended (207)', async () => {
    await createTopic(t.url, 'ts2', 2);
    const res = await produce(t.url, 'ts2', { records: [{ value: 'a', partition: 0, timestamp: FAR_FUTURE }, { value: 'b', partition: 1 }] });
    expect(res.status).toBe(207);
    expect(res.body.offsets[0]).toMatchObject({ partition: 0, offset: -1, error: { code: 'INVALID_TIMESTAMP' } });
    expect(res.body.offsets[1]).toEqual({ partition: 1, offset: 0 });
    expect(await latest('ts2', 0)).toBe(0);
    expect(await latest('ts2', 1)).toBe(1);
  });

  it('refuses a raw batch with a far-future record, and one whose header understates its records', async () => {
    await createTopic(t.url, 'raw', 1);
    const now = Date.now();
    const bomb = encodeRecordBatch([{ key: null, value: Buffer.from('x'), timestamp: FAR_FUTURE }]);
    const res = await postBatch(t.url, 'raw', 0, bomb);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_TIMESTAMP');
    // A header claiming maxTimestamp = now over a record at 2^53-1: the header would hide it from the check.
    const hidden = encodeRecordBatch([
      { key: null, value: Buffer.from('a'), timestamp: now },
      { key: null, value: Buffer.from('b'), timestamp: FAR_FUTURE },
    ]);
    hidden.writeBigInt64BE(BigInt(now), BatchField.maxTimestamp);
    hidden.writeUInt32BE(crc32c(hidden.subarray(BatchField.attributes)), BatchField.crc);
    const res2 = await postBatch(t.url, 'raw', 0, hidden);
    expect(res2.status).toBe(400);
    expect(res2.body.error.code).toBe('INVALID_TIMESTAMP');
    expect(res2.body.error.message).toMatch(/above its batch's maxTimestamp/);
    expect(await latest('raw', 0)).toBe(0);
    // A topic may allow far-future timestamps (Kafka's maximum): then the batch is taken.
    await createTopic(t.url, 'lax', 1, { 'message.timestamp.after.max.ms': Number.MAX_SAFE_INTEGER });
    expect((await postBatch(t.url, 'lax', 0, bomb)).status).toBe(200);
  });

  it('validates the two configs like the others', async () => {
    const bad = await call(t.url, 'POST', '/v1/topics', { name: 'bad', configs: { 'message.timestamp.after.max.ms': -1, 'message.timestamp.before.max.ms': 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_CONFIG');
    expect(bad.body.error.details.problems).toHaveLength(2);
    await createTopic(t.url, 'tight', 1, { 'message.timestamp.before.max.ms': 1000 });
    const old = await produce(t.url, 'tight', { records: [{ value: 'old', timestamp: Date.now() - 60_000 }] });
    expect(old.status).toBe(400);
    expect(old.body.error.message).toMatch(/message\.timestamp\.before\.max\.ms is 1000/);
  });
});
