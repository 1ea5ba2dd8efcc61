// Client quotas over HTTP (http/handlers/data.ts): a broker with no quota does no quota work per
// request (issue #11), and a quota set at runtime holds the requests that follow it: 429
// THROTTLING_QUOTA_EXCEEDED with Retry-After for the client over it, nothing for the others.

import { encodeRecordBatch } from '@strata/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers.js';

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker();
  const created = await fetch(`${t.url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'q', partitions: 1 }) });
  expect(created.status).toBe(201);
});
afterAll(() => t.stop());

const body = encodeRecordBatch([{ key: null, value: Buffer.alloc(200, 0x61) }]);
const produce = (clientId: string) =>
  fetch(`${t.url}/v1/topics/q/partitions/0/batches?acks=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.kafka.record-batch', 'x-client-id': clientId },
    body,
  });

describe('HTTP client quotas set at runtime', () => {
  it('hold the requests after the quota is set (none before), only for the client they name', async () => {
    for (let i = 0; i < 3; i++) expect((await produce('slow')).status).toBe(200);
    // 1 B/s: a burst of 10 bytes, which one ~270-byte produce spends many seconds past.
    const set = await fetch(`${t.url}/v1/quotas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ changes: [{ entity: { clientId: 'slow' }, set: { producer_byte_rate: 1 } }] }),
    });
    expect(set.status).toBe(200);
    expect((await produce('slow')).status).toBe(200); // within the first burst when it started
    const throttled = await produce('slow');
    expect(throttled.status).toBe(429);
    expect(((await throttled.json()) as { error: { code: string } }).error.code).toBe('THROTTLING_QUOTA_EXCEEDED');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await produce('other')).status).toBe(200);
  });
});
