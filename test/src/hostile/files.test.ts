// Issue #10, item 3: file descriptors under bounds. A broker run under a low `ulimit -n` (256,
// through prlimit) takes over a thousand segments and 1,000 partitions: its descriptors stay under a
// stated ceiling (the segment file cache holds STRATA_MAX_OPEN_SEGMENT_FILES), every acknowledged
// record reads back, another client is answered throughout, shutdown closes every log cleanly
// (every partition has its clean-shutdown marker; the restart recovers none as unclean), and a
// topic creation that fails part-way leaves nothing behind and the broker able to create again.
//
// Before the fix: every sealed segment kept its descriptor (3,000 produces opened 3,129), so under
// 256 the produces failed with EMFILE; closing 10,000 logs at once met EMFILE and left logs unclean.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountTmpfs, ResponsivenessProbe, tempDir, StatsSampler, processStats, type BrokerProcess, type HttpClient, type Json, type Tmpfs } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';

const MiB = 1024 * 1024;
/** RLIMIT_NOFILE of the broker under attack: a quarter of the usual 1024. */
const FD_LIMIT = 256;
const MAX_OPEN_SEGMENT_FILES = 64;
/** Segment files (64) + sockets (a few dozen here) + short-lived index and metadata files, well under the limit. */
const FD_CEILING = 200;
const RSS_CEILING_BYTES = 600 * MiB;
const SEGMENT_RECORDS = 1_200;
const WIDE_PARTITIONS = 1_000;

/** Tiny segments (one record each) need the tests' escape hatch below Kafka 4.0's 1 MiB floor. */
const ENV = {
  STRATA_MIN_SEGMENT_BYTES: '1024',
  STRATA_MAX_OPEN_SEGMENT_FILES: String(MAX_OPEN_SEGMENT_FILES),
  STRATA_LOG_LEVEL: 'info',
};

async function runLimited<T>(count: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await job(i);
      }
    }),
  );
  return out;
}

/** Every record of a partition from offset 0, as offset -> value. */
async function readPartition(http: HttpClient, topic: string, partition: number): Promise<Map<number, string>> {
  const values = new Map<number, string>();
  let offset = 0;
  for (let round = 0; round < 10_000; round++) {
    const answer = await http.get(`/v1/topics/${topic}/partitions/${partition}/records`, { query: { offset, maxRecords: 1_000 } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    for (const record of answer.body.records as Json[]) values.set(Number(record.offset), String(record.value));
    if (answer.body.nextOffset === offset || answer.body.nextOffset >= answer.body.highWatermark) break;
    offset = answer.body.nextOffset;
  }
  return values;
}

function partitionDirsWithoutMarker(dataDir: string): string[] {
  return readdirSync(dataDir)
    .filter((name) => /-\d+$/.test(name))
    .filter((name) => !readdirSync(join(dataDir, name)).includes('.clean-shutdown'));
}

describe('hostile: file descriptors (issue #10, item 3)', () => {
  let tmpfs: Tmpfs | null = null;
  // Registered before the brokers' hooks, so it runs after them (after-hooks run in reverse).
  afterAll(() => tmpfs?.unmount());
  const startBroker = brokerLifecycle();

  it(`${SEGMENT_RECORDS} one-record segments and ${WIDE_PARTITIONS} partitions under ulimit -n ${FD_LIMIT}: bounded descriptors, nothing lost, clean shutdown`, async () => {
    const broker: BrokerProcess = await startBroker({ fdLimit: FD_LIMIT, env: ENV });
    const { http } = broker;
    expect((await http.post('/v1/topics', { name: 'probe', partitions: 1 })).status).toBe(201);
    expect((await http.post('/v1/topics', { name: 'segments', partitions: 4, configs: { 'segment.bytes': 1024 } })).status).toBe(201);
    const sampler = new StatsSampler(broker.pid!);
    const probe = new ResponsivenessProbe(`${broker.url}/v1/topics/probe`);

    // One record per segment (a 700-byte value in 1024-byte segments): thousands of segment files.
    const value = (i: number) => `r${i}-`.padEnd(700, 'x');
    const acked = await runLimited(SEGMENT_RECORDS, 8, async (i) => {
      const answer = await http.post('/v1/topics/segments/records', { records: [{ partition: i % 4, value: value(i) }] });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body.offsets[0] as { partition: number; offset: number };
    });
    const afterSegments = processStats(broker.pid!);
    const t0 = performance.now();
    const lap = (what: string) => console.log(`files: ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // 1,000 partitions (4x the descriptor limit): each has an active segment, none may need a descriptor of its own.
    const created = await http.post('/v1/topics', { name: 'wide', partitions: WIDE_PARTITIONS }, { timeoutMs: 120_000 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    lap('created');
    for (let from = 0; from < WIDE_PARTITIONS; from += 500) {
      const records = Array.from({ length: 500 }, (_, i) => ({ partition: from + i, value: `wide-${from + i}` }));
      const answer = await http.post('/v1/topics/wide/records', { records });
      const errors = answer.status === 200 ? [] : (answer.body.offsets as Json[]).filter((o) => o.error !== undefined).slice(0, 3);
      expect(answer.status, JSON.stringify(errors)).toBe(200);
    }

    lap('produced wide');
    // Nothing acknowledged is lost.
    const byPartition = await runLimited(4, 4, (p) => readPartition(http, 'segments', p));
    for (const [i, ack] of acked.entries()) expect(byPartition[ack.partition]!.get(ack.offset)).toBe(value(i));
    // Every partition holds its one record (the description's high watermarks), and a spread of them reads back.
    const described = await http.get('/v1/topics/wide');
    expect((described.body.partitions as Json[]).filter((p) => p.highWatermark !== 1)).toEqual([]);
    const sample = Array.from({ length: 100 }, (_, i) => (i * 37) % WIDE_PARTITIONS);
    const wide = await runLimited(sample.length, 8, async (i) => {
      const answer = await http.get(`/v1/topics/wide/partitions/${sample[i]}/records`, { query: { offset: 0 } });
      return answer.status === 200 ? String(answer.body.records[0]?.value) : `HTTP ${answer.status}`;
    });
    expect(wide.filter((v, i) => v !== `wide-${sample[i]}`)).toEqual([]);
    lap('read back');

    const seen = await probe.stop();
    const peak = sampler.stop();
    const metrics = String((await http.get('/metrics')).body);
    const openSegmentFiles = Number(/^strata_open_segment_files (\d+)/m.exec(metrics)?.[1]);
    console.log(
      `files: after ${SEGMENT_RECORDS} segments ${afterSegments.openFds} fds; peak ${peak.openFds} fds, ${(peak.rssBytes / MiB).toFixed(0)} MiB RSS; ` +
        `open segment files ${openSegmentFiles}; probe answered ${seen.answered} (failures ${seen.failures}), p50 ${seen.p50Ms.toFixed(1)} ms, max ${seen.maxMs.toFixed(1)} ms`,
    );
    expect(broker.running).toBe(true);
    expect(seen.answered).toBeGreaterThan(0);
    expect(seen.failures).toBe(0);
    expect(peak.openFds).toBeLessThanOrEqual(FD_CEILING);
    expect(peak.rssBytes).toBeLessThanOrEqual(RSS_CEILING_BYTES);
    expect(openSegmentFiles).toBeLessThanOrEqual(MAX_OPEN_SEGMENT_FILES);

    // Graceful shutdown closes every one of the 1,005 logs: each has its clean-shutdown marker.
    const exit = await broker.stop(60_000);
    expect(exit.code).toBe(0);
    expect(broker.logs()).not.toMatch(/closing a partition log failed|EMFILE/);
    expect(partitionDirsWithoutMarker(broker.dataDir)).toEqual([]);
    lap('stopped');

    // The restart (same descriptor limit) recovers no log as unclean, and everything is there.
    const before = broker.logs().length;
    await broker.restart();
    lap('restarted');
    expect(broker.logs().slice(before)).not.toMatch(/recovered after an unclean shutdown|EMFILE/);
    const again = await readPartition(http, 'segments', 3);
    for (const [i, ack] of acked.entries()) if (ack.partition === 3) expect(again.get(ack.offset)).toBe(value(i));
    expect(processStats(broker.pid!).openFds).toBeLessThanOrEqual(FD_CEILING);
    // Its graceful shutdown was shown above; a second one would only cost the suite time.
    await broker.kill();
  }, 240_000);

  it('a topic creation that fails part-way (inodes run out) removes what it made and leaves the broker able to create', async (context) => {
    // 1,500 inodes: the broker's own files, then ~4 per partition, so a 1,000-partition create fails part-way.
    tmpfs = mountTmpfs({ sizeBytes: 64 * MiB, inodes: 1_500 });
    if (tmpfs === null) {
      console.log('files: cannot mount a tmpfs here (not root): the failed-creation case is skipped');
      context.skip();
      return;
    }
    const dataDir = join(tmpfs.dir, 'data');
    const broker = await startBroker({ fdLimit: FD_LIMIT, dataDir, env: { ...ENV, STRATA_OBJECTS_DIR: tempDir('strata-objects-'), STRATA_MIN_FREE_DISK_BYTES: '0' } });
    const { http } = broker;
    expect((await http.post('/v1/topics', { name: 'before', partitions: 2 })).status).toBe(201);
    expect((await http.post('/v1/topics/before/records', { records: [{ partition: 0, value: 'kept' }] })).status).toBe(200);
    const fdsBefore = processStats(broker.pid!).openFds;
    const dirsBefore = readdirSync(dataDir).sort();

    const failed = await http.post('/v1/topics', { name: 'huge', partitions: WIDE_PARTITIONS }, { timeoutMs: 120_000 });
    console.log(`files: the huge create answered ${failed.status} ${JSON.stringify(failed.body).slice(0, 300)}`);
    // Out of inodes is a full disk: 507 STORAGE_FULL (retriable), naming the topic, not a server path.
    expect(failed.status).toBe(507);
    expect(failed.body.error.code).toBe('STORAGE_FULL');
    expect(failed.body.error.message).not.toContain(tmpfs.dir);
    expect(broker.running).toBe(true);
    // Nothing left behind: no directory of "huge", no descriptor held, no topic.
    expect(readdirSync(dataDir).sort()).toEqual(dirsBefore);
    expect(processStats(broker.pid!).openFds).toBeLessThanOrEqual(fdsBefore + 8);
    expect((await http.get('/v1/topics/huge')).status).toBe(404);
    // Later creates work, and the data from before is there.
    expect((await http.post('/v1/topics', { name: 'after', partitions: 4 })).status).toBe(201);
    expect((await http.post('/v1/topics/after/records', { records: [{ partition: 3, value: 'new' }] })).status).toBe(200);
    expect((await http.get('/v1/topics/before/partitions/0/records', { query: { offset: 0 } })).body.records[0].value).toBe('kept');
    await broker.restart();
    expect((await http.get('/v1/topics/after/partitions/3/records', { query: { offset: 0 } })).body.records[0].value).toBe('new');
    expect((await http.get('/v1/topics/huge')).status).toBe(404);
  }, 180_000);
});

