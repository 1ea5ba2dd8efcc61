/**
 * Issue #10, items 1 and 7, against real broker processes.
 *
 * Item 1: a gzip batch of ~1 MiB (accepted at produce: under max.message.bytes) holds ~740,000
 * tiny records. The JSON records endpoint used to decode every record of up to 50 MiB of such
 * batches before applying maxRecords: one read blocked the event loop for 76 s and ended in "heap
 * out of memory", and in a cluster the read forwarded to the new leader killed it too. Now the
 * read decodes what the answer holds (maxRecords, maxBytes of JSON) and inflates off the loop.
 *
 * Item 7: JSON nested thousands of levels deep answered 500 on produce, join, heartbeat and
 * commit; a stored value nested that deep failed every JSON fetch of it.
 *
 * Every attack asserts: the broker stays up, another client is answered meanwhile (counts, latency
 * printed, not asserted), peak RSS and open descriptors stay under the ceilings below, every
 * acknowledged record is still there, and the broker (re)starts afterwards.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '@strata/protocol';
import {
  Cluster,
  cleanupAll,
  expectStatus,
  runStrata,
  type BrokerProcess,
  type HttpAnswer,
  type Json,
} from '../harness/index.js';
import { ResponsivenessProbe, StatsSampler } from '../harness/process-stats.js';
import { brokerLifecycle } from '../support.js';

const MiB = 1024 * 1024;
/** What the issue measured: ~740,000 records in a gzip batch of ~1 MiB. */
const RECORDS_PER_BOMB = 740_000;
/** Peak resident memory allowed for a broker under these attacks (it died past 4.8 GB before). */
const RSS_CEILING_BYTES = 600 * MiB;
/** Peak open descriptors allowed (sockets included) for a broker under these attacks. */
const FDS_CEILING = 256;
/** The read of the issue: everything a fetch may return (STRATA_FETCH_MAX_BYTES' default, 50 MiB). */
const BOMB_READ = 'maxBytes=52428800';

/** Built once (encoding takes a second or two): 740,000 records of value "1" (valid JSON), gzip. */
let bombBatch: Buffer;
function bomb(): Buffer {
  bombBatch ??= encodeRecordBatch(
    Array.from({ length: RECORDS_PER_BOMB }, () => ({ value: Buffer.from('1') })),
    { compression: 'gzip' },
  );
  return bombBatch;
}

async function ok(answer: Promise<HttpAnswer<Json>>, status: number, what: string): Promise<HttpAnswer<Json>> {
  return expectStatus(await answer, status, what);
}

async function produceBombs(broker: BrokerProcess, topic: string, count: number): Promise<number> {
  let acknowledged = 0;
  for (let i = 0; i < count; i++) {
    const answer = await broker.http.raw('POST', `/v1/topics/${topic}/partitions/0/batches`, {
      body: bomb(),
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
      query: { acks: 'all' },
      timeoutMs: 60_000,
    });
    expect(answer.status, answer.body.toString('utf8')).toBe(200);
    const { baseOffset, lastOffset } = JSON.parse(answer.body.toString('utf8')) as { baseOffset: number; lastOffset: number };
    expect(baseOffset).toBe(acknowledged);
    acknowledged = lastOffset + 1;
  }
  expect(acknowledged).toBe(count * RECORDS_PER_BOMB);
  return acknowledged;
}

/** A JSON read must answer 200 with dense offsets from `offset`, at most `maxRecords`, and a nextOffset right after them. */
/**
 * A read a client retries while it is answered a retriable 503 (NOT_LEADER while a partition's leadership is
 * settling or returns to its preferred replica), bounded at 30 s.
 */
async function retrying(get: () => Promise<HttpAnswer<Json>>): Promise<HttpAnswer<Json>> {
  const until = Date.now() + 30_000;
  for (;;) {
    const answer = await get();
    if (answer.status !== 503 || answer.body?.error?.retriable !== true || Date.now() > until) return answer;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function expectBoundedAnswer(answer: HttpAnswer<Json>, offset: number, maxRecords: number): void {
  expect(answer.status, JSON.stringify(answer.body).slice(0, 500)).toBe(200);
  const records = answer.body.records as Array<{ offset: number; value: unknown }>;
  expect(records.length).toBeGreaterThanOrEqual(1);
  expect(records.length).toBeLessThanOrEqual(maxRecords);
  expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => offset + i));
  expect(answer.body.nextOffset).toBe(offset + records.length);
}

function report(what: string, probe: Awaited<ReturnType<ResponsivenessProbe['stop']>>, peak: { rssBytes: number; openFds: number }): void {
  console.log(
    `${what}: probe answered ${probe.answered} (failures ${probe.failures}), p50 ${probe.p50Ms.toFixed(1)} ms, ` +
      `max ${probe.maxMs.toFixed(1)} ms; peak RSS ${(peak.rssBytes / MiB).toFixed(0)} MiB, peak fds ${peak.openFds}`,
  );
}

describe('JSON fetch bombs and deep JSON against one broker', () => {
  const startBroker = brokerLifecycle();
  let broker: BrokerProcess;
  let acknowledged = 0;
  /** Bomb batches stored: 16 MiB of batches, ~11.8 million records (the old code decoded them all). */
  const BOMBS = 16;

  beforeAll(async () => {
    broker = await startBroker();
    await ok(broker.http.post('/v1/topics', { name: 'bomb', partitions: 1 }), 201, 'create bomb');
    await ok(broker.http.post('/v1/topics', { name: 'calm', partitions: 1 }), 201, 'create calm');
    await ok(broker.http.post('/v1/topics/calm/records', { records: [{ value: 'still here' }] }), 200, 'produce calm');
    acknowledged = await produceBombs(broker, 'bomb', BOMBS);
  }, 120_000);

  it('a 50 MiB JSON read of gzip bombs answers within maxRecords, while others are answered', async () => {
    const sampler = new StatsSampler(broker.pid!);
    const probe = new ResponsivenessProbe(`${broker.url}/v1/topics/calm/partitions/0/records?offset=0`);
    const reads: Array<{ query: string; offset: number; maxRecords: number }> = [
      { query: `offset=0&${BOMB_READ}`, offset: 0, maxRecords: 500 }, // the read (default maxRecords)
      { query: `offset=0&${BOMB_READ}&maxRecords=10000&valueEncoding=json`, offset: 0, maxRecords: 10_000 },
      // In the middle of a batch, and in the last one: the records below are walked, not decoded.
      { query: `offset=${3 * RECORDS_PER_BOMB + 123_456}&${BOMB_READ}&maxRecords=10000`, offset: 3 * RECORDS_PER_BOMB + 123_456, maxRecords: 10_000 },
      { query: `offset=${acknowledged - 5}&${BOMB_READ}&maxRecords=10000`, offset: acknowledged - 5, maxRecords: 5 },
    ];
    const started = performance.now();
    const latencies: number[] = [];
    // Four readers at once, three rounds: each read is what killed the broker before.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        reads.map(async (read) => {
          const t = performance.now();
          const answer = await broker.http.get(`/v1/topics/bomb/partitions/0/records?${read.query}`, { timeoutMs: 60_000 });
          latencies.push(performance.now() - t);
          expectBoundedAnswer(answer, read.offset, read.maxRecords);
          if (read.query.includes('valueEncoding=json')) expect(answer.body.records[0].value).toBe(1);
        }),
      );
    }
    const result = await probe.stop();
    const peak = sampler.stop();
    report(`12 bomb reads in ${(performance.now() - started).toFixed(0)} ms (max read ${Math.max(...latencies).toFixed(0)} ms)`, result, peak);
    expect(broker.running).toBe(true);
    expect(result.answered).toBeGreaterThan(0);
    expect(result.failures).toBe(0);
    expect(peak.rssBytes).toBeLessThan(RSS_CEILING_BYTES);
    expect(peak.openFds).toBeLessThan(FDS_CEILING);
  }, 120_000);

  it('a small maxBytes still answers one record (as Kafka does), and bounds the JSON', async () => {
    const one = await ok(broker.http.get('/v1/topics/bomb/partitions/0/records?offset=7&maxBytes=1&maxRecords=10000'), 200, 'maxBytes=1');
    expectBoundedAnswer(one, 7, 1);
    const some = await ok(broker.http.get('/v1/topics/bomb/partitions/0/records?offset=7&maxBytes=4096&maxRecords=10000'), 200, 'maxBytes=4096');
    expectBoundedAnswer(some, 7, 10_000);
    expect(JSON.stringify(some.body.records).length).toBeLessThanOrEqual(4096);
    expect(some.body.records.length).toBeGreaterThan(10);
  });

  it('strata consume reads the poisoned topic, from the beginning and by timestamp', async () => {
    const env = { STRATA_URL: broker.url };
    const consumed = await runStrata(['consume', 'bomb', '--partition', '0', '--from-beginning', '--max-records', '2000'], { env, timeoutMs: 60_000 });
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stdout.trimEnd().split('\n')).toEqual(Array.from({ length: 2000 }, () => '1'));
    // An offset lookup by time lands inside a 740,000-record batch: it stops at the first match.
    const byTime = await runStrata(['consume', 'bomb', '--partition', '0', '--timestamp', '0', '--max-records', '3', '--format', 'json'], { env, timeoutMs: 60_000 });
    expect(byTime.code, byTime.stderr).toBe(0);
    expect(byTime.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { offset: number }).offset)).toEqual([0, 1, 2]);
    expect(broker.running).toBe(true);
  }, 90_000);

  it('JSON nested 5,000+ levels is 400 on produce, join, heartbeat and commit; a stored deep value is served base64', async () => {
    const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    const attacks = [
      { path: '/v1/topics/calm/records', body: `{"valueEncoding":"json","records":[{"value":${nested(5_000)}}]}` },
      { path: '/v1/topics/calm/records', body: `{"valueEncoding":"json","records":[{"value":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}]}` },
      { path: '/v1/groups/deep/members', body: `{"topics":${nested(50_000)}}` },
      { path: '/v1/groups/deep/members/m/heartbeat', body: `{"memberEpoch":${nested(50_000)}}` },
      { path: '/v1/groups/deep/offsets', body: `{"offsets":${nested(50_000)}}` },
    ];
    const sampler = new StatsSampler(broker.pid!);
    const probe = new ResponsivenessProbe(`${broker.url}/v1/topics/calm/partitions/0/records?offset=0`);
    for (let round = 0; round < 20; round++) {
      for (const { path, body } of attacks) {
        const answer = await broker.http.raw('POST', path, { body, headers: { 'content-type': 'application/json' } });
        const error = (JSON.parse(answer.body.toString('utf8')) as { error: { code: string; message: string } }).error;
        expect(answer.status, path).toBe(400);
        expect(error.code, path).toBe('INVALID_REQUEST');
        expect(error.message, path).toMatch(/nests deeper than \d+ levels/);
      }
    }
    // A value stored through the raw endpoint (which checks no JSON) nested 10,000 levels, beside plain ones.
    const deep = Buffer.from(nested(10_000));
    const stored = await broker.http.raw('POST', '/v1/topics/calm/partitions/0/batches', {
      body: encodeRecordBatch([{ value: deep }, { value: Buffer.from('{"fine":true}') }]),
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
    });
    expect(stored.status).toBe(200);
    const fetched = await ok(broker.http.get('/v1/topics/calm/partitions/0/records?offset=0&valueEncoding=json'), 200, 'fetch deep');
    expect(fetched.body.records.map((r: Json) => [r.offset, r.value, r.valueEncoding])).toEqual([
      [0, Buffer.from('still here').toString('base64'), 'base64'], // utf8 text, not JSON
      [1, deep.toString('base64'), 'base64'],
      [2, { fine: true }, undefined],
    ]);
    const result = await probe.stop();
    const peak = sampler.stop();
    report('100 deep JSON bodies', result, peak);
    expect(broker.running).toBe(true);
    expect(result.answered).toBeGreaterThan(0);
    expect(result.failures).toBe(0);
    expect(peak.rssBytes).toBeLessThan(RSS_CEILING_BYTES);
    expect(peak.openFds).toBeLessThan(FDS_CEILING);
  }, 60_000);

  it('keeps every acknowledged record and restarts', async () => {
    await broker.restart();
    const latest = await ok(broker.http.get('/v1/topics/bomb/partitions/0/offsets?at=latest'), 200, 'latest');
    expect(latest.body.offset).toBe(acknowledged);
    const last = await ok(broker.http.get(`/v1/topics/bomb/partitions/0/records?offset=${acknowledged - 1}&${BOMB_READ}`), 200, 'last record');
    expectBoundedAnswer(last, acknowledged - 1, 1);
    const first = await ok(broker.http.get(`/v1/topics/bomb/partitions/0/records?offset=0&${BOMB_READ}`), 200, 'first records');
    expectBoundedAnswer(first, 0, 500);
    const calm = await ok(broker.http.get('/v1/topics/calm/partitions/0/records?offset=0'), 200, 'calm');
    expect(calm.body.records[0].value).toBe('still here');
  }, 60_000);
});

describe('a poisoned partition read through every broker of a cluster', () => {
  let cluster: Cluster;
  let failed = false;
  beforeAll(async () => {
    cluster = await Cluster.start({ brokers: 2 });
  }, 60_000);
  beforeEach((context) => {
    context.onTestFailed(() => {
      failed = true;
      cluster.printLogs();
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    cleanupAll({ keepDirs: failed });
  }, 60_000);

  it('leaves every broker up, forwarded to the leader or served from the bucket', async () => {
    const [b1, b2] = ['b1', 'b2'].map((id) => cluster.broker(id)) as [BrokerProcess, BrokerProcess];
    // The replication factor is checked against the brokers the creating broker sees live (bounded wait).
    const seen = Date.now() + 20_000;
    while (Date.now() < seen) {
      const answer = await b1.http.get('/v1/cluster');
      if (answer.status === 200 && (answer.body.brokers as Array<{ live: boolean }>).filter((b) => b.live).length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Two bombs per 2 MiB segment: sealed segments go to the bucket, from which any broker serves them.
    await ok(b1.http.post('/v1/topics', { name: 'bomb', partitions: 1, replicationFactor: 2, configs: { 'segment.bytes': 2 * MiB } }), 201, 'create');
    const leaderId = (await cluster.awaitLeaders('bomb', 1)).get(0)!;
    const leader = cluster.broker(leaderId);
    const BOMBS = 6;
    const acknowledged = await produceBombs(leader, 'bomb', BOMBS);
    // Wait (bounded) until the first segments are in the bucket, so reads at offset 0 may be served from it.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const described = await ok(leader.http.get('/v1/topics/bomb'), 200, 'describe');
      if (described.body.partitions[0].remoteLogEndOffset >= RECORDS_PER_BOMB) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const samplers = [b1, b2].map((b) => new StatsSampler(b.pid!));
    const probes = [b1, b2].map((b) => new ResponsivenessProbe(`${b.url}/v1/topics`));
    const offsets = [0, 2 * RECORDS_PER_BOMB + 99, acknowledged - 3];
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        [b1, b2].flatMap((b) =>
          offsets.map(async (offset) => {
            const answer = await retrying(() => b.http.get(`/v1/topics/bomb/partitions/0/records?offset=${offset}&${BOMB_READ}&maxRecords=10000`, { timeoutMs: 60_000 }));
            expectBoundedAnswer(answer, offset, 10_000);
          }),
        ),
      );
    }
    const results = await Promise.all(probes.map((p) => p.stop()));
    const peaks = samplers.map((s) => s.stop());
    for (const [i, b] of [b1, b2].entries()) {
      report(`cluster broker ${i === 0 ? 'b1' : 'b2'}${[b1, b2][i] === leader ? ' (leader)' : ''}`, results[i]!, peaks[i]!);
      expect(b.running).toBe(true);
      expect((await b.http.get('/readyz')).status).toBe(200);
      expect(results[i]!.answered).toBeGreaterThan(0);
      expect(results[i]!.failures).toBe(0);
      expect(peaks[i]!.rssBytes).toBeLessThan(RSS_CEILING_BYTES);
      expect(peaks[i]!.openFds).toBeLessThan(FDS_CEILING);
    }

    // Nothing acknowledged is lost, and a broker restarts and serves the partition again.
    const other = leader === b1 ? b2 : b1;
    await other.restart();
    // The restarted replica may take its partition back (the preferred replica returns): retried, as a client does.
    for (const b of [b1, b2]) {
      const latest = await ok(retrying(() => b.http.get('/v1/topics/bomb/partitions/0/offsets?at=latest')), 200, 'latest');
      expect(latest.body.offset).toBe(acknowledged);
      const last = await ok(retrying(() => b.http.get(`/v1/topics/bomb/partitions/0/records?offset=${acknowledged - 1}`)), 200, 'last');
      expectBoundedAnswer(last, acknowledged - 1, 1);
    }
  }, 180_000);
});
