/**
 * Kafka's four codecs through a real broker process: a RecordBatch compressed with gzip,
 * snappy, lz4 or zstd (by Strata's encoder, by another tool: python3-snappy, the lz4 and zstd
 * CLIs, or written whole by kafka-python, Debian's python3-kafka: the fixtures of
 * packages/protocol/test/fixtures) is accepted by HTTP produce, which decompresses it to validate every record, and a JSON fetch decodes it back: keys, a
 * null key, a tombstone, headers and timestamps. A bomb of each codec is refused at produce
 * with MESSAGE_TOO_LARGE under STRATA_MAX_DECOMPRESSED_BYTES, nothing is written, and the
 * broker stays up; many at once at the default bound keep its memory within the decompression
 * slots' bound (STRATA_MAX_CONCURRENT_DECOMPRESSIONS x STRATA_MAX_DECOMPRESSED_BYTES).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Compression, compressRecords, compressionUnavailable, crc32c, encodeRecordBatch, type RecordInput } from '@strata/protocol';
import type { BrokerProcess } from './harness/index.js';
import { StatsSampler } from './harness/process-stats.js';
import { brokerLifecycle } from './support.js';

const MiB = 1024 * 1024;
const HEADER_BYTES = 61;
const ATTRIBUTES_AT = 21;
const CRC_AT = 17;
const LENGTH_AT = 8;

function protocolFixture(name: string): Buffer {
  return readFileSync(fileURLToPath(new URL(`../../packages/protocol/test/fixtures/${name}`, import.meta.url)));
}

function protocolHex(name: string): Buffer {
  return Buffer.from(protocolFixture(name).toString('utf8').trim(), 'hex');
}

/** The plain batch's header around another records section, labelled with the codec and resealed. */
function withSection(plain: Buffer, codec: number, section: Buffer): Buffer {
  const batch = Buffer.concat([plain.subarray(0, HEADER_BYTES), section]);
  batch.writeInt32BE(batch.length - 12, LENGTH_AT);
  batch.writeInt16BE(codec, ATTRIBUTES_AT);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_AT)), CRC_AT);
  return batch;
}

/** The records of the codec-batch-*.hex fixtures (packages/protocol/test/codec-fixtures.ts). */
function fixtureRecords(): RecordInput[] {
  return Array.from({ length: 5 }, (_, i) => ({
    key: i === 3 ? null : Buffer.from(`key-${i}`),
    value: i === 4 ? null : Buffer.from(JSON.stringify({ id: i, text: 'strata '.repeat(20 + i) })),
    timestamp: 1_700_000_000_000 + i,
    headers: [
      { key: 'trace', value: Buffer.from(`t-${i}`) },
      { key: 'empty', value: null },
    ],
  }));
}

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;

async function produceRaw(broker: BrokerProcess, topic: string, batch: Buffer): Promise<{ status: number; body: { baseOffset?: number; error?: { code: string; message: string } } }> {
  const answer = await broker.http.raw('POST', `/v1/topics/${topic}/partitions/0/batches`, {
    body: batch,
    headers: { 'content-type': 'application/vnd.kafka.record-batch' },
    query: { acks: 'all' },
    timeoutMs: 30_000,
  });
  return { status: answer.status, body: JSON.parse(answer.body.toString('utf8')) as never };
}

describe('every codec through HTTP produce and JSON fetch', () => {
  const startBroker = brokerLifecycle();
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await startBroker({ env: { STRATA_MAX_DECOMPRESSED_BYTES: String(MiB) } });
  }, 60_000);

  const batches: Array<[string, () => Buffer]> = [
    ...CODECS.filter((c) => compressionUnavailable(c) === null).map(
      (c) => [`${c} (Strata's encoder)`, () => encodeRecordBatch(fixtureRecords(), { compression: c })] as [string, () => Buffer],
    ),
    ...(['snappy', 'lz4', 'zstd'] as const).map((c) => [`${c} (another tool's bytes)`, () => protocolHex(`codec-batch-${c}.hex`)] as [string, () => Buffer]),
    ...CODECS.map((c) => [`${c} (kafka-python's batch)`, () => protocolHex(`kafka-python-batch-${c}.hex`)] as [string, () => Buffer]),
  ];

  for (const [index, [name, build]] of batches.entries()) {
    it(`${name}: produced, then fetched as JSON record for record`, async () => {
      const topic = `codec-${index}`;
      expect((await broker.http.post('/v1/topics', { name: topic, partitions: 1 })).status).toBe(201);
      const produced = await produceRaw(broker, topic, build());
      expect(produced.status, JSON.stringify(produced.body)).toBe(200);
      expect(produced.body.baseOffset).toBe(0);
      const answer = await broker.http.get(`/v1/topics/${topic}/partitions/0/records?offset=0`);
      expect(answer.status).toBe(200);
      const expected = fixtureRecords().map((r, offset) => ({
        offset,
        timestamp: r.timestamp,
        key: r.key?.toString() ?? null,
        value: r.value?.toString() ?? null,
        headers: r.headers!.map((h) => ({ key: h.key, value: h.value?.toString() ?? null })),
      }));
      expect(answer.body.records).toEqual(expected);
    });
  }

  it('a bomb of each codec is refused at produce (413 MESSAGE_TOO_LARGE), nothing is written, the broker answers on', async () => {
    expect((await broker.http.post('/v1/topics', { name: 'bombs', partitions: 1 })).status).toBe(201);
    const plain = encodeRecordBatch([{ value: Buffer.from('x') }]);
    // 4 MiB of zero-valued records: over the 1 MiB bound, well under max.message.bytes once compressed.
    const zeros = encodeRecordBatch(Array.from({ length: 4 }, () => ({ value: Buffer.alloc(MiB) })), { now: 1 }).subarray(HEADER_BYTES);
    const bombs: Array<[string, Buffer]> = [
      ['gzip', withSection(plain, Compression.gzip, compressRecords(Compression.gzip, zeros))],
      ['snappy', withSection(plain, Compression.snappy, compressRecords(Compression.snappy, zeros))],
      ['lz4', withSection(plain, Compression.lz4, compressRecords(Compression.lz4, zeros))],
      ['zstd', withSection(plain, Compression.zstd, protocolFixture('codec-zstd-bomb-80MiB-zeros.zst'))],
    ];
    for (const [codec, bomb] of bombs) {
      expect(bomb.length, codec).toBeLessThan(MiB);
      const refused = await produceRaw(broker, 'bombs', bomb);
      expect(refused.status, codec).toBe(413);
      expect(refused.body.error?.code, codec).toBe('MESSAGE_TOO_LARGE');
      expect(refused.body.error?.message, codec).toMatch(new RegExp(`${codec} records decompress to more than ${MiB} bytes`));
    }
    const latest = await broker.http.get('/v1/topics/bombs/partitions/0/offsets?at=latest');
    expect(latest.status).toBe(200);
    expect(latest.body.offset).toBe(0);
    // Still taking compressed batches.
    expect((await produceRaw(broker, 'bombs', encodeRecordBatch([{ value: Buffer.from('after') }], { compression: 'lz4' }))).status).toBe(200);
  });
});

describe('bombs of every codec at once, at the default bound', () => {
  const startBroker = brokerLifecycle();
  /** Peak resident memory allowed: 2 slots x 64 MiB of output and the broker itself (as json-bombs.test.ts). */
  const RSS_CEILING_BYTES = 600 * MiB;
  /** Bombs in flight at once: without the slots they would hold 12 x 64 MiB. */
  const EACH = 4;

  it('80 MiB of zeros in gzip, lz4 and zstd, 12 at once: every one 413, memory bounded, nothing written', async () => {
    const broker = await startBroker();
    expect((await broker.http.post('/v1/topics', { name: 'bombs', partitions: 1 })).status).toBe(201);
    const plain = encodeRecordBatch([{ value: Buffer.from('x') }]);
    const zeros = Buffer.alloc(80 * MiB);
    const bombs = [
      withSection(plain, Compression.gzip, compressRecords(Compression.gzip, zeros)),
      withSection(plain, Compression.lz4, compressRecords(Compression.lz4, zeros)),
      withSection(plain, Compression.zstd, protocolFixture('codec-zstd-bomb-80MiB-zeros.zst')),
    ];
    for (const bomb of bombs) expect(bomb.length).toBeLessThan(MiB);
    const sampler = new StatsSampler(broker.pid!);
    const answers = await Promise.all(bombs.flatMap((bomb) => Array.from({ length: EACH }, () => produceRaw(broker, 'bombs', bomb))));
    const peak = sampler.stop();
    console.log(`12 codec bombs at once: peak RSS ${(peak.rssBytes / MiB).toFixed(0)} MiB`);
    expect(answers.map((a) => [a.status, a.body.error?.code])).toEqual(answers.map(() => [413, 'MESSAGE_TOO_LARGE']));
    expect(peak.rssBytes).toBeLessThan(RSS_CEILING_BYTES);
    const latest = await broker.http.get('/v1/topics/bombs/partitions/0/offsets?at=latest');
    expect(latest.body.offset).toBe(0);
  }, 120_000);
});
