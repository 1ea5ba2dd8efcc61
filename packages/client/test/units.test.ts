import { describe, expect, it } from 'vitest';
import { StrataError, compressionUnavailable } from '@strata/protocol';
import { gaveUp, statusFailure, transportFailure } from '../src/failure.js';
import { resolveConnectionOptions, resolveProducerTuning } from '../src/options.js';
import { emptyRecordParts, measureRecord, type ProducerRecord, type RecordParts } from '../src/records.js';

function measured(record: ProducerRecord): RecordParts {
  const parts = emptyRecordParts();
  measureRecord(record, parts);
  return parts;
}

const json = (body: unknown): Buffer => Buffer.from(JSON.stringify(body));

// backoffMs moved to packages/protocol/test/backoff.test.ts (one formula for every retry loop).

describe('failure classification', () => {
  it('keeps the server code, message and details, and the wire retriable flag', () => {
    const f = statusFailure(416, 'application/json', json({ error: { code: 'OFFSET_OUT_OF_RANGE', message: 'out', retriable: false, details: { highWatermark: 3 } } }), 'http://b:1', 'fetch');
    expect(f).toMatchObject({ kind: 'status', retriable: false, status: 416 });
    expect(f.error).toBeInstanceOf(StrataError);
    expect(f.error).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', message: 'out', details: { highWatermark: 3 } });
    const retriable = statusFailure(503, 'application/json; charset=utf-8', json({ error: { code: 'NOT_LEADER', message: 'moved', retriable: true } }), 'o', 'w');
    expect(retriable.retriable).toBe(true);
  });

  it('retries 429 and 503 whatever the body says, and maps bodiless statuses', () => {
    expect(statusFailure(429, 'text/html', Buffer.from('<h1>slow down</h1>'), 'o', 'w')).toMatchObject({ retriable: true });
    expect(statusFailure(503, 'application/json', json({ error: { code: 'INVALID_REQUEST', message: 'x', retriable: false } }), 'o', 'w').retriable).toBe(true);
    expect(statusFailure(502, 'text/html', Buffer.from('bad gateway'), 'o', 'w')).toMatchObject({ retriable: true, error: { code: 'REQUEST_TIMED_OUT' } });
    expect(statusFailure(404, 'text/html', Buffer.from('nope'), 'o', 'w')).toMatchObject({ retriable: false, error: { code: 'NOT_FOUND' } });
    expect(statusFailure(418, '', Buffer.alloc(0), 'o', 'w')).toMatchObject({ retriable: false, error: { code: 'INTERNAL_ERROR' } });
  });

  it('keeps a code it does not know (a newer broker) in the details, retriable as the wire says', () => {
    const f = statusFailure(409, 'application/json', json({ error: { code: 'GROUP_SUBSCRIPTION_TOO_LARGE', message: 'stale', retriable: true } }), 'o', 'w');
    expect(f.retriable).toBe(true);
    expect(f.error).toMatchObject({ code: 'INTERNAL_ERROR', details: { serverCode: 'GROUP_SUBSCRIPTION_TOO_LARGE', status: 409 } });
    expect(f.error.message).toMatch(/GROUP_SUBSCRIPTION_TOO_LARGE: stale/);
  });

  it('tells a refused connection (nothing sent) from a broken one', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(transportFailure(refused, 'o', 'w')).toMatchObject({ kind: 'connect', retriable: true });
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    expect(transportFailure(reset, 'o', 'w')).toMatchObject({ kind: 'network', retriable: true });
  });

  it('gives up with the server code, or REQUEST_TIMED_OUT for transport failures, keeping the cause', () => {
    const server = statusFailure(503, 'application/json', json({ error: { code: 'BROKER_SHUTTING_DOWN', message: 'bye', retriable: true } }), 'o', 'w');
    const e1 = gaveUp(server, 4, 900, 'produce to t/0');
    expect(e1).toMatchObject({ code: 'BROKER_SHUTTING_DOWN', retriable: true });
    expect(e1.message).toMatch(/gave up after 4 attempts in 900 ms; last error: bye/);
    expect(e1.cause).toBe(server.error);
    const e2 = gaveUp(transportFailure(new Error('boom'), 'o', 'w'), 1, 10, 'w');
    expect(e2.code).toBe('REQUEST_TIMED_OUT');
  });
});

describe('options', () => {
  it('accepts one URL, a comma list or an array, and dedupes origins', () => {
    expect(resolveConnectionOptions({ brokers: 'http://a:1, http://b:2' }).origins).toEqual(['http://a:1', 'http://b:2']);
    expect(resolveConnectionOptions({ brokers: ['http://a:1/', 'http://a:1'] }).origins).toEqual(['http://a:1']);
  });

  it('lists every problem in one INVALID_CONFIG', () => {
    try {
      resolveConnectionOptions({ brokers: ['ftp://x', 'http://a:1/v1'], requestTimeoutMs: 0, retryBackoffMs: 500, retryBackoffMaxMs: 100 });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'INVALID_CONFIG' });
      expect((e as StrataError).details?.problems).toHaveLength(4);
    }
    expect(() => resolveProducerTuning({ acks: 2 as never, compression: 'brotli' as never, deliveryTimeoutMs: 5, lingerMs: 10 })).toThrow(/acks.*compression.*deliveryTimeoutMs/);
  });

  it("caps maxInFlightRequestsPerPartition at 5 while idempotent, as Kafka's max.in.flight.requests.per.connection", () => {
    expect(resolveProducerTuning({}).maxInFlightRequestsPerPartition).toBe(5);
    expect(() => resolveProducerTuning({ maxInFlightRequestsPerPartition: 6 })).toThrow(/maxInFlightRequestsPerPartition must be <= 5 for an idempotent producer/);
    expect(resolveProducerTuning({ maxInFlightRequestsPerPartition: 6, idempotent: false }).maxInFlightRequestsPerPartition).toBe(6);
    // Without idempotence more than one can reorder a partition on retry: opt-in there.
    expect(resolveProducerTuning({ acks: 1 }).maxInFlightRequestsPerPartition).toBe(1);
    expect(() => resolveProducerTuning({ maxInFlightRequestsPerPartition: 0 })).toThrow(/maxInFlightRequestsPerPartition must be an integer in \[1, 100\]/);
  });

  it("takes each of Kafka's codecs, and refuses zstd clearly where this Node cannot write it", () => {
    for (const compression of ['none', 'gzip', 'snappy', 'lz4'] as const) {
      expect(resolveProducerTuning({ compression }).compression).toBe(compression);
    }
    if (compressionUnavailable('zstd') === null) expect(resolveProducerTuning({ compression: 'zstd' }).compression).toBe('zstd');
    else expect(() => resolveProducerTuning({ compression: 'zstd' })).toThrow(/compression: zstd compression needs Node\.js >= 22\.15/);
    expect(() => resolveProducerTuning({ compression: 'toString' as never })).toThrow(/compression must be one of none, gzip, snappy, lz4, zstd/);
  });
});

describe('measureRecord', () => {
  it('keeps strings as they are with their UTF-8 lengths, and estimates an upper bound of the encoded size', () => {
    const r = measured({ topic: 't', key: 'k', value: 'välue', headers: { a: 'b', n: null } });
    expect(r.key).toBe('k');
    expect(r.keyBytes).toBe(1);
    expect(r.valueBytes).toBe(6);
    expect(r.headers).toEqual([
      { key: 'a', value: Buffer.from('b') },
      { key: 'n', value: null },
    ]);
    expect(r.sizeBytes).toBeGreaterThanOrEqual(1 + 6 + 2 + 1);
    const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    expect([...(measured({ topic: 't', value: view }).value as Buffer)]).toEqual([8, 7]);
    expect(measured({ topic: 't', value: null }).valueBytes).toBe(-1);
  });

  it('refuses bad records with a code', () => {
    expect(() => measured({ topic: '', value: 'x' })).toThrow(/topic/);
    expect(() => measured({ topic: 't', value: 5 as never })).toThrow(/record.value/);
    expect(() => measured({ topic: 't', value: 'x', partition: -1 })).toThrow(/partition/);
    expect(() => measured({ topic: 't', value: 'x', headers: [{ key: 1, value: 'x' }] as never })).toThrow(/headers\[0\]/);
  });
});
