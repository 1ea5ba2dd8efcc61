// Invariant 5 (docs/architecture.md#invariants): bad input gets a clear error and changes nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchField, crc32c, encodeRecordBatch } from '@strata/protocol';
import { call, createTopic, fetchRecords, postBatch, produce, startTestBroker, type Loose, type TestBroker } from './helpers.js';

let t: TestBroker;
const MAX_REQUEST_BYTES = 64 * 1024;
const JSON_PRODUCE_MAX_RECORDS = 100;

beforeAll(async () => {
  t = await startTestBroker({
    STRATA_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
    STRATA_DEFAULT_MAX_MESSAGE_BYTES: '16384',
    STRATA_JSON_PRODUCE_MAX_RECORDS: String(JSON_PRODUCE_MAX_RECORDS),
  });
  await createTopic(t.url, 'good', 2);
  // A known starting state: one record in each partition.
  await produce(t.url, 'good', { records: [{ value: 'p0', partition: 0 }, { value: 'p1', partition: 1 }] });
});
afterAll(async () => {
  await t.stop();
});

const batch = () => encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }, { key: null, value: Buffer.from('w') }]);
const withCrcFixed = (b: Buffer): Buffer => {
  b.writeUInt32BE(crc32c(b.subarray(BatchField.attributes)), BatchField.crc);
  return b;
};

type Case = {
  name: string;
  request: () => Promise<{ status: number; body: Loose }>;
  status: number;
  code: string;
};

const raw = (body: Buffer, path = '/v1/topics/good/partitions/0/batches') => postBatchAt(path, body);
async function postBatchAt(path: string, body: Buffer, contentType = 'application/vnd.kafka.record-batch'): Promise<{ status: number; body: Loose }> {
  const res = await fetch(t.url + path, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, body: await res.json() };
}

const cases: Case[] = [
  // JSON bodies
  { name: 'malformed JSON (produce)', request: () => call(t.url, 'POST', '/v1/topics/good/records', '{"records": [', {}), status: 400, code: 'INVALID_REQUEST' },
  { name: 'malformed JSON (create topic)', request: () => call(t.url, 'POST', '/v1/topics', '{name: x}'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'empty JSON body', request: () => call(t.url, 'POST', '/v1/topics/good/records', ''), status: 400, code: 'INVALID_REQUEST' },
  { name: 'JSON with a non-JSON content type', request: () => call(t.url, 'POST', '/v1/topics/good/records', '{}', { 'content-type': 'application/xml' }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'records missing', request: () => produce(t.url, 'good', {}), status: 400, code: 'INVALID_REQUEST' },
  { name: 'records empty', request: () => produce(t.url, 'good', { records: [] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'records not an array', request: () => produce(t.url, 'good', { records: { value: 'x' } }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'a record without value', request: () => produce(t.url, 'good', { records: [{ value: 'ok' }, { key: 'k' }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'a number as utf8 value', request: () => produce(t.url, 'good', { records: [{ value: 12 }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'invalid base64', request: () => produce(t.url, 'good', { valueEncoding: 'base64', records: [{ value: 'not base64!' }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'an unknown encoding', request: () => produce(t.url, 'good', { valueEncoding: 'latin1', records: [{ value: 'x' }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'an unknown record field', request: () => produce(t.url, 'good', { records: [{ value: 'x', partiton: 1 }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'bad headers', request: () => produce(t.url, 'good', { records: [{ value: 'x', headers: 'a=b' }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'a header value that is a number', request: () => produce(t.url, 'good', { records: [{ value: 'x', headers: { a: 1 } }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'a negative timestamp', request: () => produce(t.url, 'good', { records: [{ value: 'x', timestamp: -5 }] }), status: 400, code: 'INVALID_TIMESTAMP' },
  { name: 'a string timestamp', request: () => produce(t.url, 'good', { records: [{ value: 'x', timestamp: 'now' }] }), status: 400, code: 'INVALID_TIMESTAMP' },
  { name: 'a negative partition', request: () => produce(t.url, 'good', { records: [{ value: 'x', partition: -1 }] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'an unknown partition (JSON)', request: () => produce(t.url, 'good', { records: [{ value: 'x', partition: 0 }, { value: 'y', partition: 2 }] }), status: 404, code: 'UNKNOWN_PARTITION' },
  { name: 'an unknown topic (JSON produce)', request: () => produce(t.url, 'nope', { records: [{ value: 'x' }] }), status: 404, code: 'UNKNOWN_TOPIC' },
  { name: 'a JSON body over the request cap', request: () => produce(t.url, 'good', { records: [{ value: 'x'.repeat(MAX_REQUEST_BYTES) }] }), status: 413, code: 'MESSAGE_TOO_LARGE' },
  { name: 'a JSON body far over the request cap', request: () => produce(t.url, 'good', { records: [{ value: 'x'.repeat(8 * 1024 * 1024) }] }), status: 413, code: 'MESSAGE_TOO_LARGE' },
  { name: 'a chunked JSON body over the request cap', request: () => chunked('/v1/topics/good/records', 'application/json', 4 * MAX_REQUEST_BYTES), status: 413, code: 'MESSAGE_TOO_LARGE' },
  // Issue #10: the record count bounds a JSON produce's memory, not only its bytes.
  {
    name: 'a JSON produce over STRATA_JSON_PRODUCE_MAX_RECORDS',
    request: () => produce(t.url, 'good', { records: Array.from({ length: JSON_PRODUCE_MAX_RECORDS + 1 }, () => ({ value: 'x' })) }),
    status: 413,
    code: 'MESSAGE_TOO_LARGE',
  },
  { name: 'a batch over max.message.bytes (JSON)', request: () => produce(t.url, 'good', { records: [{ value: 'x'.repeat(20_000) }] }), status: 413, code: 'MESSAGE_TOO_LARGE' },
  { name: 'acks=0 still validates', request: () => produce(t.url, 'good', { records: [{ value: 12 }] }, '0'), status: 400, code: 'INVALID_REQUEST' },
  // raw batches
  {
    name: 'a bad CRC',
    request: () => {
      const b = batch();
      b[b.length - 1] ^= 0xff;
      return raw(b);
    },
    status: 400,
    code: 'CORRUPT_MESSAGE',
  },
  {
    name: 'a bad magic byte',
    request: () => {
      const b = batch();
      b[BatchField.magic] = 7;
      return raw(b);
    },
    status: 400,
    code: 'CORRUPT_MESSAGE',
  },
  {
    name: 'a legacy magic byte',
    request: () => {
      const b = batch();
      b[BatchField.magic] = 1;
      return raw(b);
    },
    status: 400,
    code: 'UNSUPPORTED_VERSION',
  },
  { name: 'a truncated batch', request: () => raw(batch().subarray(0, 40)), status: 400, code: 'CORRUPT_MESSAGE' },
  { name: 'a valid batch followed by a truncated one', request: () => raw(Buffer.concat([batch(), batch().subarray(0, 70)])), status: 400, code: 'CORRUPT_MESSAGE' },
  { name: 'garbage bytes', request: () => raw(Buffer.from('hello, this is not a record batch at all, no sir, not at all....')), status: 400, code: 'CORRUPT_MESSAGE' },
  { name: 'an empty raw body', request: () => raw(Buffer.alloc(0)), status: 400, code: 'CORRUPT_MESSAGE' },
  {
    name: 'a transactional batch',
    request: () => {
      const b = batch();
      b.writeInt16BE(b.readInt16BE(BatchField.attributes) | 0x10, BatchField.attributes);
      return raw(withCrcFixed(b));
    },
    status: 400,
    code: 'INVALID_RECORD',
  },
  {
    name: 'a recordCount that disagrees with the records',
    request: () => {
      const b = batch();
      b.writeInt32BE(3, BatchField.recordCount);
      return raw(withCrcFixed(b));
    },
    status: 400,
    code: 'INVALID_RECORD',
  },
  { name: 'an unknown compression codec id', request: () => raw(withCrcFixed(setCompression(batch(), 5))), status: 400, code: 'UNSUPPORTED_COMPRESSION_TYPE' },
  ...(['snappy', 'lz4', 'zstd'] as const).map((codec, i) => ({
    name: `plain records labelled ${codec}`,
    request: () => raw(withCrcFixed(setCompression(batch(), i + 2))),
    status: 400,
    code: 'CORRUPT_MESSAGE',
  })),
  { name: 'a raw body with the wrong content type', request: () => postBatchAt('/v1/topics/good/partitions/0/batches', batch(), 'application/json'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a raw body over max.message.bytes', request: () => raw(encodeRecordBatch([{ value: Buffer.alloc(20_000) }])), status: 413, code: 'MESSAGE_TOO_LARGE' },
  { name: 'a raw body far over the limit', request: () => raw(Buffer.alloc(8 * 1024 * 1024)), status: 413, code: 'MESSAGE_TOO_LARGE' },
  { name: 'a chunked raw body over the limit', request: () => chunked('/v1/topics/good/partitions/0/batches', 'application/vnd.kafka.record-batch', 1024 * 1024), status: 413, code: 'MESSAGE_TOO_LARGE' },
  { name: 'an unknown topic (raw)', request: () => raw(batch(), '/v1/topics/nope/partitions/0/batches'), status: 404, code: 'UNKNOWN_TOPIC' },
  { name: 'an unknown partition (raw)', request: () => raw(batch(), '/v1/topics/good/partitions/2/batches'), status: 404, code: 'UNKNOWN_PARTITION' },
  { name: 'a non-numeric partition', request: () => raw(batch(), '/v1/topics/good/partitions/one/batches'), status: 400, code: 'INVALID_REQUEST' },
  // fetch parameters
  // path parameters: checked against @strata/api's schemas before a handler runs
  { name: 'path: partition "abc"', request: () => call(t.url, 'GET', '/v1/topics/good/partitions/abc/records?offset=0'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'path: partition "-1"', request: () => call(t.url, 'GET', '/v1/topics/good/partitions/-1/offsets?at=latest'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'path: partition "1e3"', request: () => raw(batch(), '/v1/topics/good/partitions/1e3/batches'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'path: a topic name that breaks the name rule', request: () => call(t.url, 'GET', '/v1/topics/bad%20name'), status: 400, code: 'INVALID_TOPIC' },
  { name: 'path: produce to a topic name that breaks the name rule', request: () => produce(t.url, 'a*b', { records: [{ value: 'x' }] }), status: 400, code: 'INVALID_TOPIC' },
  { name: 'path: a 250-character topic name', request: () => call(t.url, 'DELETE', `/v1/topics/${'x'.repeat(250)}`), status: 400, code: 'INVALID_TOPIC' },
  { name: 'fetch: an unknown topic', request: () => fetchRecords(t.url, 'nope', 0, 'offset=0'), status: 404, code: 'UNKNOWN_TOPIC' },
  { name: 'fetch: an unknown partition', request: () => fetchRecords(t.url, 'good', 5, 'offset=0'), status: 404, code: 'UNKNOWN_PARTITION' },
  { name: 'fetch: a negative offset', request: () => fetchRecords(t.url, 'good', 0, 'offset=-1'), status: 416, code: 'OFFSET_OUT_OF_RANGE' },
  { name: 'fetch: an offset past the log end', request: () => fetchRecords(t.url, 'good', 0, 'offset=2'), status: 416, code: 'OFFSET_OUT_OF_RANGE' },
  { name: 'fetch raw: an offset past the log end', request: () => call(t.url, 'GET', '/v1/topics/good/partitions/0/batches?offset=99'), status: 416, code: 'OFFSET_OUT_OF_RANGE' },
  { name: 'fetch: a fractional offset', request: () => fetchRecords(t.url, 'good', 0, 'offset=1.5'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'fetch: a non-numeric offset', request: () => fetchRecords(t.url, 'good', 0, 'offset=abc'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'fetch: an offset beyond 2^53', request: () => fetchRecords(t.url, 'good', 0, 'offset=99999999999999999999'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'fetch: no offset', request: () => fetchRecords(t.url, 'good', 0, ''), status: 400, code: 'INVALID_REQUEST' },
  { name: 'fetch: maxRecords=0', request: () => fetchRecords(t.url, 'good', 0, 'offset=0&maxRecords=0'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'fetch: maxBytes=0', request: () => fetchRecords(t.url, 'good', 0, 'offset=0&maxBytes=0'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'fetch: negative maxWaitMs', request: () => fetchRecords(t.url, 'good', 0, 'offset=0&maxWaitMs=-1'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'fetch: an unknown encoding', request: () => fetchRecords(t.url, 'good', 0, 'offset=0&valueEncoding=hex'), status: 400, code: 'INVALID_REQUEST' },
  // routes
  { name: 'an unknown route', request: () => call(t.url, 'GET', '/v1/nothing-here'), status: 404, code: 'NOT_FOUND' },
  { name: 'a wrong method', request: () => call(t.url, 'PUT', '/v1/topics'), status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'topic names that cannot exist', request: () => call(t.url, 'GET', '/v1/topics/..'), status: 404, code: 'NOT_FOUND' },
  { name: 'an invalid topic name on create', request: () => call(t.url, 'POST', '/v1/topics', { name: 'bad name!' }), status: 400, code: 'INVALID_TOPIC' },
  { name: 'an invalid config on create', request: () => call(t.url, 'POST', '/v1/topics', { name: 'x', configs: { 'segment.ms': 0 } }), status: 400, code: 'INVALID_CONFIG' },
];

function setCompression(b: Buffer, codec: number): Buffer {
  b.writeInt16BE((b.readInt16BE(BatchField.attributes) & ~0x07) | codec, BatchField.attributes);
  return b;
}

async function chunked(path: string, contentType: string, totalBytes: number): Promise<{ status: number; body: Loose }> {
  let sent = 0;
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(t.url + path, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, body: await res.json() };
}

describe('bad input: a clear error, nothing changed, the broker still serves', () => {
  it.each(cases)('$name -> $status $code', async ({ request, status, code }) => {
    const res = await request();
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
    expect(res.body.error.message.length).toBeGreaterThan(0);
    expect(res.body.error.retriable).toBe(false);

    // Nothing was written: each partition still holds exactly its one record.
    for (const p of [0, 1]) {
      const got = await fetchRecords(t.url, 'good', p, 'offset=0');
      expect(got.body.records.map((r: { value: string }) => r.value)).toEqual([`p${p}`]);
      expect(got.body.highWatermark).toBe(1);
    }
    expect((await call(t.url, 'GET', '/v1/topics')).body.topics.map((x: { name: string }) => x.name)).toEqual(['good']);
  });

  it('416 carries the valid range', async () => {
    const res = await fetchRecords(t.url, 'good', 0, 'offset=7');
    expect(res.body.error.details).toMatchObject({ logStartOffset: 0, logEndOffset: 1, highWatermark: 1, offset: 7 });
  });

  it('405 names the allowed methods', async () => {
    const res = await call(t.url, 'PUT', '/v1/topics/good');
    expect(res.headers.get('allow')).toBe('GET, DELETE');
  });

  it('a produce and a fetch after all of it work', async () => {
    const ok = await postBatch(t.url, 'good', 0, batch());
    expect(ok.body).toEqual({ baseOffset: 1, lastOffset: 2, recordCount: 2 });
    const got = await fetchRecords(t.url, 'good', 0, 'offset=0');
    expect(got.body.records.map((r: { value: string }) => r.value)).toEqual(['p0', 'v', 'w']);
    expect((await call(t.url, 'GET', '/readyz')).status).toBe(200);
    // No unexpected error was logged for any of the bad input above.
    const errors = t.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 'error');
    expect(errors).toEqual([]);
  });
});
