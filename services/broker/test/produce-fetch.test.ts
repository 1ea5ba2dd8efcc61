import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compressionUnavailable, encodeRecordBatch, partitionForKey } from '@strata/protocol';
import { JSON_MAX_DEPTH } from '../src/config.js';
import { call, createTopic, fetchRecords, postBatch, produce, startTestBroker, type TestBroker } from './helpers.js';

let t: TestBroker;
beforeEach(async () => {
  t = await startTestBroker();
});
afterEach(async () => {
  await t.stop();
});

describe('JSON produce and fetch', () => {
  it('round-trips keys, values, headers (both forms) and timestamps', async () => {
    await createTopic(t.url, 'rt');
    const res = await produce(t.url, 'rt', {
      records: [
        { key: 'k1', value: 'hello', headers: { trace: 'abc', empty: null }, partition: 0, timestamp: 1_700_000_000_000 },
        { value: 'no key', headers: [{ key: 'dup', value: '1' }, { key: 'dup', value: '2' }], partition: 0 },
        { key: null, value: null, partition: 0 },
        { key: 'ü-ñ', value: '日本語 ✓', partition: 0 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.offsets).toEqual([0, 1, 2, 3].map((offset) => ({ partition: 0, offset })));

    const got = await fetchRecords(t.url, 'rt', 0, 'offset=0');
    expect(got.status).toBe(200);
    expect(got.body.nextOffset).toBe(4);
    expect(got.body.highWatermark).toBe(4);
    expect(got.body.logStartOffset).toBe(0);
    const records = got.body.records;
    expect(records[0]).toEqual({
      offset: 0,
      timestamp: 1_700_000_000_000,
      key: 'k1',
      value: 'hello',
      headers: [
        { key: 'trace', value: 'abc' },
        { key: 'empty', value: null },
      ],
    });
    expect(records[1]).toMatchObject({ key: null, value: 'no key', headers: [{ key: 'dup', value: '1' }, { key: 'dup', value: '2' }] });
    expect(Math.abs(records[1].timestamp - Date.now())).toBeLessThan(60_000);
    expect(records[2]).toMatchObject({ key: null, value: null, headers: [] });
    expect(records[3]).toMatchObject({ key: 'ü-ñ', value: '日本語 ✓' });
  });

  it('base64 and json encodings, in and out', async () => {
    await createTopic(t.url, 'enc');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const res = await produce(t.url, 'enc', {
      keyEncoding: 'base64',
      valueEncoding: 'json',
      headerEncoding: 'base64',
      records: [
        { key: bytes.toString('base64'), value: { n: 1, list: [true, null, 'x'] }, headers: { bin: bytes.toString('base64') } },
        { key: 'AA==', value: 42 },
        { key: 'AQ==', value: 'a string' },
      ],
    });
    expect(res.status).toBe(200);
    const partition = res.body.offsets[0].partition;
    expect(partition).toBe(0);

    const asJson = await fetchRecords(t.url, 'enc', 0, 'offset=0&keyEncoding=base64&valueEncoding=json&headerEncoding=base64');
    expect(asJson.body.records.map((r: { key: unknown; value: unknown }) => [r.key, r.value])).toEqual([
      [bytes.toString('base64'), { n: 1, list: [true, null, 'x'] }],
      ['AA==', 42],
      ['AQ==', 'a string'],
    ]);
    expect(asJson.body.records[0].headers).toEqual([{ key: 'bin', value: bytes.toString('base64') }]);

    // The json encoding stores the JSON text, so utf8 shows it verbatim.
    const asText = await fetchRecords(t.url, 'enc', 0, 'offset=1&maxRecords=1');
    expect(asText.body.records).toHaveLength(1);
    expect(asText.body.records[0].value).toBe('42');
    expect(asText.body.nextOffset).toBe(2);

    // A stored value that is not JSON never fails the fetch (issue #10 item 7): it comes back
    // base64, marked on that record, and the records beside it render as asked.
    await produce(t.url, 'enc', { records: [{ value: 'not json {' }, { value: '[1,2]' }] });
    const mixed = await fetchRecords(t.url, 'enc', 0, 'offset=3&valueEncoding=json');
    expect(mixed.status).toBe(200);
    expect(mixed.body.records).toEqual([
      expect.objectContaining({ offset: 3, value: Buffer.from('not json {').toString('base64'), valueEncoding: 'base64' }),
      expect.objectContaining({ offset: 4, value: [1, 2] }),
    ]);
    expect(mixed.body.records[1]).not.toHaveProperty('valueEncoding');
  });

  it('a JSON body nested deeper than JSON_MAX_DEPTH is 400 on every route, and changes nothing', async () => {
    await createTopic(t.url, 'deep');
    const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    const deepValue = `{"valueEncoding":"json","records":[{"value":${nested(5_000)}}]}`;
    const attempts = [
      { path: '/v1/topics/deep/records', body: deepValue },
      { path: '/v1/topics', body: `{"name":"x","configs":${'{"a":'.repeat(300)}1${'}'.repeat(300)}}` },
      { path: '/v1/groups/g/members', body: `{"topics":${nested(10_000)}}` },
      { path: '/v1/groups/g/members/m/heartbeat', body: `{"memberEpoch":${nested(10_000)}}` },
      { path: '/v1/groups/g/offsets', body: `{"offsets":${nested(10_000)}}` },
      { path: '/v1/groups/g/offsets/reset', body: `{"offsets":${nested(10_000)}}` },
    ];
    for (const { path, body } of attempts) {
      const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, path).toBe(400);
      expect(answer.error.code, path).toBe('INVALID_REQUEST');
      expect(answer.error.message, path).toMatch(new RegExp(`nests deeper than ${JSON_MAX_DEPTH} levels`));
    }
    // At the bound it is accepted, and fetched back as JSON.
    const atBound = JSON.parse(nested(JSON_MAX_DEPTH - 3)) as unknown; // body, records and the record take 3 levels
    const ok = await produce(t.url, 'deep', { valueEncoding: 'json', records: [{ value: atBound }] });
    expect(ok.status).toBe(200);
    const back = await fetchRecords(t.url, 'deep', 0, 'offset=0&valueEncoding=json');
    expect(back.body.records).toHaveLength(1);
    expect(back.body.records[0].value).toEqual(atBound);
    expect(back.body.highWatermark).toBe(1); // the refused produce appended nothing
  });

  it('a JSON fetch stops at maxRecords inside one large gzip batch, and answers from the middle of it', async () => {
    await createTopic(t.url, 'dense');
    const count = 50_000;
    const batch = encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ value: Buffer.from(String(i)) })), { compression: 'gzip' });
    expect((await postBatch(t.url, 'dense', 0, batch)).status).toBe(200);
    const head = await fetchRecords(t.url, 'dense', 0, 'offset=0&maxRecords=3');
    expect(head.body.records.map((r: { value: string }) => r.value)).toEqual(['0', '1', '2']);
    expect(head.body.nextOffset).toBe(3);
    const middle = await fetchRecords(t.url, 'dense', 0, `offset=${count - 2}&maxRecords=10`);
    expect(middle.body.records.map((r: { offset: number }) => r.offset)).toEqual([count - 2, count - 1]);
    expect(middle.body.nextOffset).toBe(count);
    // maxBytes bounds the JSON answer (at least one record).
    const small = await fetchRecords(t.url, 'dense', 0, 'offset=0&maxRecords=10000&maxBytes=2000');
    expect(small.body.records.length).toBeGreaterThan(1);
    expect(JSON.stringify(small.body.records).length).toBeLessThanOrEqual(2000);
    expect(small.body.nextOffset).toBe(small.body.records.length);
  });

  it('a stored batch that inflates past STRATA_MAX_DECOMPRESSED_BYTES: what fits before it, then a clear error (every codec)', async () => {
    await createTopic(t.url, 'inflate');
    await produce(t.url, 'inflate', { records: [{ value: 'plain' }] });
    const zeros = Buffer.alloc(8192);
    // zstd is written only where node:zlib has it (Node >= 22.15).
    const codecs = (['gzip', 'snappy', 'lz4', 'zstd'] as const).filter((c) => compressionUnavailable(c) === null);
    const bigs = codecs.map((compression) => encodeRecordBatch(Array.from({ length: 256 }, () => ({ value: zeros })), { compression })); // 2 MiB inflated
    for (const big of bigs) expect((await postBatch(t.url, 'inflate', 0, big)).status).toBe(200);
    await t.restart({ STRATA_MAX_DECOMPRESSED_BYTES: String(1024 * 1024) });
    const before = await fetchRecords(t.url, 'inflate', 0, 'offset=0');
    expect(before.status).toBe(200);
    expect(before.body.records.map((r: { value: string }) => r.value)).toEqual(['plain']);
    expect(before.body.nextOffset).toBe(1);
    for (const [i, codec] of codecs.entries()) {
      const first = 1 + 256 * i;
      const at = await fetchRecords(t.url, 'inflate', 0, `offset=${first}`);
      expect(at.status, codec).toBe(413);
      expect(at.body.error.code).toBe('MESSAGE_TOO_LARGE');
      expect(at.body.error.message).toMatch(
        new RegExp(`JSON fetch from offset ${first}: batch 0 at byte 0 \\(offsets ${first}\\.\\.${first + 255}\\): ${codec} records decompress to more than 1048576 bytes`),
      );
      // The raw endpoint serves the same bytes; produce now refuses such a batch.
      expect((await call(t.url, 'GET', `/v1/topics/inflate/partitions/0/batches?offset=${first}`)).status).toBe(200);
      expect((await postBatch(t.url, 'inflate', 0, bigs[i]!)).status, codec).toBe(413);
    }
  });

  it('a stored value too deep to render comes back base64, marked, and never fails the fetch', async () => {
    await createTopic(t.url, 'deep-stored');
    const deep = Buffer.from('['.repeat(10_000) + ']'.repeat(10_000));
    const batch = encodeRecordBatch([{ value: Buffer.from('{"ok":1}') }, { value: deep }, { value: Buffer.from('2') }]);
    const raw = await fetch(`${t.url}/v1/topics/deep-stored/partitions/0/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
      body: batch,
    });
    expect(raw.status).toBe(200);
    const res = await fetchRecords(t.url, 'deep-stored', 0, 'offset=0&valueEncoding=json');
    expect(res.status).toBe(200);
    expect(res.body.records.map((r: { value: unknown; valueEncoding?: string }) => [r.value, r.valueEncoding])).toEqual([
      [{ ok: 1 }, undefined],
      [deep.toString('base64'), 'base64'],
      [2, undefined],
    ]);
  });

  it('keyed records land on partitionForKey(key, n) and keep their order', async () => {
    const n = 6;
    await createTopic(t.url, 'keyed', n);
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    const records: Array<{ key: string; value: string }> = [];
    for (let round = 0; round < 5; round++) for (const key of keys) records.push({ key, value: `${key}:${round}` });
    const res = await produce(t.url, 'keyed', { records });
    expect(res.status).toBe(200);
    res.body.offsets.forEach((o: { partition: number }, i: number) => {
      expect(o.partition).toBe(partitionForKey(Buffer.from(records[i]!.key), n));
    });
    // A second request continues each partition's sequence.
    await produce(t.url, 'keyed', { records: keys.map((key) => ({ key, value: `${key}:5` })) });
    for (let p = 0; p < n; p++) {
      const got = await fetchRecords(t.url, 'keyed', p, 'offset=0');
      const byKey = new Map<string, string[]>();
      for (const r of got.body.records) {
        expect(partitionForKey(Buffer.from(r.key), n)).toBe(p);
        byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.value]);
      }
      for (const [key, values] of byKey) expect(values).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${key}:${i}`));
      got.body.records.forEach((r: { offset: number }, i: number) => expect(r.offset).toBe(i));
    }
  });

  it('keys are partitioned on their decoded bytes, whatever the encoding', async () => {
    await createTopic(t.url, 'kb', 7);
    const key = Buffer.from('some key bytes');
    const a = await produce(t.url, 'kb', { keyEncoding: 'base64', records: [{ key: key.toString('base64'), value: 'a' }] });
    const b = await produce(t.url, 'kb', { records: [{ key: 'some key bytes', value: 'b' }] });
    expect(a.body.offsets[0].partition).toBe(partitionForKey(key, 7));
    expect(b.body.offsets[0].partition).toBe(partitionForKey(key, 7));
  });

  it('keyless records stick to one partition per request and rotate across requests', async () => {
    await createTopic(t.url, 'rr', 3);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await produce(t.url, 'rr', { records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
      const partitions = new Set(res.body.offsets.map((o: { partition: number }) => o.partition));
      expect(partitions.size).toBe(1);
      seen.push(res.body.offsets[0].partition);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe((seen[i - 1]! + 1) % 3);
  });

  it('mixes explicit partitions, keys and null keys in one request: one batch per partition, offsets in request order', async () => {
    await createTopic(t.url, 'mix', 4);
    const k = 'user-17';
    const kp = partitionForKey(Buffer.from(k), 4);
    const res = await produce(t.url, 'mix', {
      records: [
        { value: 'p3-a', partition: 3 },
        { key: k, value: 'k-a' },
        { value: 'p3-b', partition: 3 },
        { key: k, value: 'k-b' },
      ],
    });
    expect(res.body.offsets[0]).toEqual({ partition: 3, offset: 0 });
    expect(res.body.offsets.map((o: { partition: number }) => o.partition)).toEqual([3, kp, 3, kp]);
    if (kp !== 3) {
      expect(res.body.offsets.map((o: { offset: number }) => o.offset)).toEqual([0, 0, 1, 1]);
    } else {
      expect(res.body.offsets.map((o: { offset: number }) => o.offset)).toEqual([0, 1, 2, 3]);
    }
    // One batch per partition: a raw fetch of partition 3 holds exactly one batch.
    const raw = await fetch(`${t.url}/v1/topics/mix/partitions/3/batches?offset=0`);
    expect(raw.headers.get('strata-batch-count')).toBe('1');
  });

  it('skips records below the asked offset inside the first batch; maxRecords and nextOffset', async () => {
    await createTopic(t.url, 'skip');
    await produce(t.url, 'skip', { records: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) });
    const mid = await fetchRecords(t.url, 'skip', 0, 'offset=4&maxRecords=3');
    expect(mid.body.records.map((r: { offset: number; value: string }) => [r.offset, r.value])).toEqual([
      [4, 'v4'],
      [5, 'v5'],
      [6, 'v6'],
    ]);
    expect(mid.body.nextOffset).toBe(7);
    const rest = await fetchRecords(t.url, 'skip', 0, `offset=${mid.body.nextOffset}`);
    expect(rest.body.records.map((r: { offset: number }) => r.offset)).toEqual([7, 8, 9]);
    expect(rest.body.nextOffset).toBe(10);
    const end = await fetchRecords(t.url, 'skip', 0, 'offset=10');
    expect(end.body).toEqual({ records: [], nextOffset: 10, highWatermark: 10, logStartOffset: 0 });
  });

  it('maxBytes limits the batches read (but returns at least one)', async () => {
    await createTopic(t.url, 'mb');
    for (let i = 0; i < 5; i++) await produce(t.url, 'mb', { records: [{ value: 'x'.repeat(1000) }] });
    const one = await fetchRecords(t.url, 'mb', 0, 'offset=0&maxBytes=1');
    expect(one.body.records).toHaveLength(1);
    expect(one.body.nextOffset).toBe(1);
    const all = await fetchRecords(t.url, 'mb', 0, 'offset=0&maxBytes=1000000');
    expect(all.body.records).toHaveLength(5);
  });

  it('acks=0 answers 202 without offsets, and the records land', async () => {
    await createTopic(t.url, 'a0');
    const res = await produce(t.url, 'a0', { records: [{ value: 'fire' }, { value: 'forget' }] }, '0');
    expect(res.status).toBe(202);
    expect(res.body.offsets).toEqual([
      { partition: 0, offset: -1 },
      { partition: 0, offset: -1 },
    ]);
    const got = await fetchRecords(t.url, 'a0', 0, 'offset=0&maxWaitMs=2000');
    expect(got.body.records.map((r: { value: string }) => r.value)).toEqual(['fire', 'forget']);
    // acks=0 still validates first.
    const bad = await produce(t.url, 'a0', { records: [{ value: 'x', partition: 9 }] }, '0');
    expect(bad.status).toBe(404);
  });

  it('acks=all and acks=-1 are accepted (same as 1 on a single node); anything else is 400', async () => {
    await createTopic(t.url, 'acks');
    expect((await produce(t.url, 'acks', { records: [{ value: 'a' }] }, 'all')).status).toBe(200);
    expect((await produce(t.url, 'acks', { records: [{ value: 'b' }] }, '-1')).status).toBe(200);
    const bad = await produce(t.url, 'acks', { records: [{ value: 'c' }] }, '2');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
    const got = await fetchRecords(t.url, 'acks', 0, 'offset=0');
    expect(got.body.records.map((r: { value: string }) => r.value)).toEqual(['a', 'b']);
  });

  it('offsets: earliest, latest and by timestamp', async () => {
    await createTopic(t.url, 'off');
    const base = 1_600_000_000_000;
    await produce(t.url, 'off', { records: [{ value: 'a', timestamp: base }] });
    await produce(t.url, 'off', { records: [{ value: 'b', timestamp: base + 1000 }] });
    await produce(t.url, 'off', { records: [{ value: 'c', timestamp: base + 2000 }] });
    const q = (at: string) => call(t.url, 'GET', `/v1/topics/off/partitions/0/offsets?at=${at}`);
    expect((await q('earliest')).body).toEqual({ offset: 0 });
    expect((await q('latest')).body).toEqual({ offset: 3 });
    expect((await q(String(base - 5))).body).toEqual({ offset: 0, timestamp: base });
    expect((await q(String(base + 1))).body).toEqual({ offset: 1, timestamp: base + 1000 });
    expect((await q(String(base + 2000))).body).toEqual({ offset: 2, timestamp: base + 2000 });
    expect((await q(String(base + 99_999))).body).toEqual({ offset: 3 });
    expect((await q('yesterday')).status).toBe(400);
    expect((await q('-1')).status).toBe(400);
    expect((await call(t.url, 'GET', '/v1/topics/off/partitions/0/offsets')).status).toBe(400);
    expect((await call(t.url, 'GET', '/v1/topics/off/partitions/1/offsets?at=latest')).body.error.code).toBe('UNKNOWN_PARTITION');
  });

  it('GET /v1/cluster: one broker leading every partition', async () => {
    await createTopic(t.url, 'c1', 2);
    await createTopic(t.url, 'c2', 1);
    const res = await call(t.url, 'GET', '/v1/cluster');
    expect(res.status).toBe(200);
    expect(typeof res.body.clusterId).toBe('string');
    expect(res.body.controller).toBe('0');
    expect(res.body.brokers).toEqual([
      {
        id: '0',
        url: t.url,
        live: true,
        self: true,
        leaderOf: [
          { topic: 'c1', partitions: [0, 1] },
          { topic: 'c2', partitions: [0] },
        ],
      },
    ]);
  });
});
