import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch } from '@strata/protocol';
import { call, createTopic, fetchRecords, postBatch, produce, startTestBroker, type TestBroker } from './helpers.js';

let t: TestBroker | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

async function waitersGauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('strata_fetch_waiters '));
  return Number(line!.split(' ')[1]);
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('long-poll fetch', () => {
  it('returns as soon as a record is appended (JSON)', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'lp');
    const started = Date.now();
    const pending = fetchRecords(t.url, 'lp', 0, 'offset=0&maxWaitMs=20000');
    await until(async () => (await waitersGauge(t!.url)) === 1);
    await produce(t.url, 'lp', { records: [{ value: 'wake up' }] });
    const res = await pending;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.status).toBe(200);
    expect(res.body.records.map((r: { value: string }) => r.value)).toEqual(['wake up']);
    expect(res.body.nextOffset).toBe(1);
    expect(await waitersGauge(t.url)).toBe(0);
  });

  it('returns as soon as a batch is appended (raw), and only for its own partition', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'lp', 2);
    const pending = fetch(`${t.url}/v1/topics/lp/partitions/1/batches?offset=0&maxWaitMs=20000`);
    await until(async () => (await waitersGauge(t!.url)) === 1);
    await produce(t.url, 'lp', { records: [{ value: 'other', partition: 0 }] });
    await sleep(100);
    expect(await waitersGauge(t.url)).toBe(1);
    await postBatch(t.url, 'lp', 1, encodeRecordBatch([{ value: Buffer.from('mine') }]));
    const res = await pending;
    const records = decodeRecordBatches(Buffer.from(await res.arrayBuffer()));
    expect(records.map((r) => r.value!.toString())).toEqual(['mine']);
    expect(res.headers.get('strata-next-offset')).toBe('1');
  });

  it('answers empty after maxWaitMs when nothing arrives', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'idle');
    await produce(t.url, 'idle', { records: [{ value: 'old' }] });
    const started = Date.now();
    const res = await fetchRecords(t.url, 'idle', 0, 'offset=1&maxWaitMs=300');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(5000);
    expect(res.body).toEqual({ records: [], nextOffset: 1, highWatermark: 1, logStartOffset: 0 });
  });

  it('does not wait when data is already there', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'ready');
    await produce(t.url, 'ready', { records: [{ value: 'here' }] });
    const started = Date.now();
    const res = await fetchRecords(t.url, 'ready', 0, 'offset=0&maxWaitMs=20000');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.body.records).toHaveLength(1);
  });

  it('maxWaitMs is capped by STRATA_FETCH_MAX_WAIT_MS', async () => {
    t = await startTestBroker({ STRATA_FETCH_MAX_WAIT_MS: '200' });
    await createTopic(t.url, 'cap');
    const started = Date.now();
    const res = await fetchRecords(t.url, 'cap', 0, 'offset=0&maxWaitMs=600000');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.body.records).toEqual([]);
  });

  it('a client that disconnects frees its waiter', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'gone');
    const controller = new AbortController();
    const pending = fetch(`${t.url}/v1/topics/gone/partitions/0/records?offset=0&maxWaitMs=20000`, { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    await until(async () => (await waitersGauge(t!.url)) === 1);
    controller.abort();
    await pending;
    await until(async () => (await waitersGauge(t!.url)) === 0);
    // The broker still serves.
    await produce(t.url, 'gone', { records: [{ value: 'still here' }] });
    expect((await fetchRecords(t.url, 'gone', 0, 'offset=0')).body.records).toHaveLength(1);
  });

  it('past STRATA_MAX_FETCH_WAITERS a fetch answers at once', async () => {
    t = await startTestBroker({ STRATA_MAX_FETCH_WAITERS: '1' });
    await createTopic(t.url, 'full');
    const first = fetchRecords(t.url, 'full', 0, 'offset=0&maxWaitMs=20000');
    await until(async () => (await waitersGauge(t!.url)) === 1);
    const started = Date.now();
    const second = await fetchRecords(t.url, 'full', 0, 'offset=0&maxWaitMs=20000');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(second.body.records).toEqual([]);
    await produce(t.url, 'full', { records: [{ value: 'x' }] });
    expect((await first).body.records).toHaveLength(1);
  });

  it('deleting the topic ends its waits with 404', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'doomed');
    const pending = fetchRecords(t.url, 'doomed', 0, 'offset=0&maxWaitMs=20000');
    await until(async () => (await waitersGauge(t!.url)) === 1);
    await call(t.url, 'DELETE', '/v1/topics/doomed');
    const res = await pending;
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('UNKNOWN_TOPIC');
  });

  it('close() wakes long-polls (they answer with what they have) and finishes in-flight requests', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'bye');
    await produce(t.url, 'bye', { records: [{ value: 'a' }] });
    const url = t.url;
    const pending = fetchRecords(url, 'bye', 0, 'offset=1&maxWaitMs=30000');
    await until(async () => (await waitersGauge(url)) === 1);
    const started = Date.now();
    await t.broker.close();
    const res = await pending;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ records: [], nextOffset: 1, highWatermark: 1, logStartOffset: 0 });
    expect(t.broker.state).toBe('closed');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
