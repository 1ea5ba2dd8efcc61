// Issue #11, "one path": a data dir of the release before it (a single node's topics.json,
// cluster.json and per-partition manifests beside the in-process coordinator, which then held only
// consumer groups) is imported into the in-process coordinator at its first start, once, and an
// import interrupted halfway redoes itself. The fixture was written by that release (topic
// "orders", 2 partitions, retention overrides, three uploaded segments with their manifests, group
// "billing" committed at orders/0 = 2, records o0 o1 o3 on partition 0 and o2 on partition 1).
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, expectStatus, tempDir, type BrokerProcess, type HttpAnswer, type Json } from './harness/index.js';
import { brokerLifecycle } from './support.js';

const FIXTURE = join(REPO_ROOT, 'test', 'src', 'fixtures', 'data-dir-before-bounded-names');
/** The id the previous release made for this data dir (its __strata/cluster.json). */
const OLD_CLUSTER_ID = 'e09528ca-e5c6-4837-8af4-42ce043784f0';
const LEGACY_FILES = ['topics.json', 'cluster.json', 'manifests'];

async function ok(answer: Promise<HttpAnswer<Json>>, status: number, what: string): Promise<HttpAnswer<Json>> {
  return expectStatus(await answer, status, what);
}

/** Every record of an orders partition, page by page (a read from the bucket answers one segment at a time). */
async function values(broker: BrokerProcess, partition: number): Promise<string[]> {
  const out: string[] = [];
  let offset = 0;
  for (let page = 0; page < 20; page++) {
    const answer = await ok(broker.http.get(`/v1/topics/orders/partitions/${partition}/records?offset=${offset}&maxRecords=100`), 200, `fetch orders/${partition}`);
    out.push(...answer.body.records.map((r: { value: string }) => r.value));
    if (answer.body.records.length === 0 || answer.body.nextOffset >= answer.body.highWatermark) break;
    offset = answer.body.nextOffset;
  }
  return out;
}

/** Everything the previous release's data dir held, as a client sees it. */
async function expectImported(broker: BrokerProcess, extra: { p0?: string[] } = {}): Promise<void> {
  expect((await ok(broker.http.get('/v1/cluster'), 200, 'cluster')).body.clusterId).toBe(OLD_CLUSTER_ID);
  const described = await ok(broker.http.get('/v1/topics/orders'), 200, 'describe');
  expect(described.body.configOverrides).toEqual({ 'retention.ms': -1, 'local.retention.ms': -2 });
  // The imported manifests (a graceful stop hands a new tail to the bucket as well: more segments then).
  const partitions = described.body.partitions as Array<{ remoteSegments: number; leader: string | null }>;
  expect(partitions.map((p) => p.leader)).toEqual(['0', '0']);
  expect(partitions[0]!.remoteSegments).toBeGreaterThanOrEqual(2);
  expect(partitions[1]!.remoteSegments).toBe(1);
  expect(await values(broker, 0)).toEqual(['o0', 'o1', 'o3', ...(extra.p0 ?? [])]);
  expect(await values(broker, 1)).toEqual(['o2']);
  const offsets = await ok(broker.http.get('/v1/groups/billing/offsets'), 200, 'offsets');
  expect(offsets.body.offsets.map((o: { topic: string; partition: number; offset: number }) => [o.topic, o.partition, o.offset])).toEqual([['orders', 0, 2]]);
}

describe('a data dir of the previous release', () => {
  const startBroker = brokerLifecycle();

  it('is imported once: records, topic configs, manifests, cluster id and groups survive; the old files are renamed', async () => {
    const dataDir = tempDir('strata-import-');
    cpSync(FIXTURE, dataDir, { recursive: true });
    const broker = await startBroker({ dataDir, env: { STRATA_LOG_LEVEL: 'info' } });
    await expectImported(broker);
    for (const name of LEGACY_FILES) {
      expect(existsSync(join(dataDir, '__strata', name)), name).toBe(false);
      expect(existsSync(join(dataDir, '__strata', `${name}.imported`)), `${name}.imported`).toBe(true);
    }
    expect(broker.logs()).toContain('imported the data dir of the previous release');
    // Appends continue after the imported records, and the tail survives a restart (no second import).
    const appended = await ok(broker.http.post('/v1/topics/orders/records?acks=all', { records: [{ value: 'new', partition: 0 }] }), 200, 'produce');
    expect(appended.body.offsets[0].offset).toBe(3);
    await broker.restart();
    await expectImported(broker, { p0: ['new'] });
    // The logs of both runs: the import ran at the first only.
    expect(broker.logs().split('imported the data dir of the previous release').length - 1).toBe(1);
  });

  it('keeps the imported manifests: with the local log gone, the uploaded records are read from the bucket', async () => {
    const dataDir = tempDir('strata-import-');
    cpSync(FIXTURE, dataDir, { recursive: true });
    const broker = await startBroker({ dataDir });
    await broker.stop();
    rmSync(join(dataDir, 'orders-0'), { recursive: true });
    await broker.restart();
    expect(await values(broker, 0)).toEqual(['o0', 'o1', 'o3']);
    const described = await ok(broker.http.get('/v1/topics/orders'), 200, 'describe');
    expect(described.body.partitions[0]).toMatchObject({ remoteSegments: 2, localLogStartOffset: 3, logEndOffset: 3 });
  });

  it('an import interrupted halfway (the coordinator filled, some files not yet renamed) redoes itself', async () => {
    const dataDir = tempDir('strata-import-');
    cpSync(FIXTURE, dataDir, { recursive: true });
    const first = await startBroker({ dataDir });
    await first.stop();
    const meta = join(dataDir, '__strata');
    // As if it stopped after the coordinator was filled, before any file was renamed.
    for (const name of LEGACY_FILES) renameSync(join(meta, `${name}.imported`), join(meta, name));
    await first.restart();
    await expectImported(first);
    for (const name of LEGACY_FILES) expect(existsSync(join(meta, name)), name).toBe(false);
    // As if it stopped after renaming the manifests and cluster.json, before topics.json.
    await first.stop();
    renameSync(join(meta, 'topics.json.imported'), join(meta, 'topics.json'));
    await first.restart();
    await expectImported(first);
    expect(JSON.parse(readFileSync(join(meta, 'coord', 'cluster.json'), 'utf8')).bootId).toBe(OLD_CLUSTER_ID);
  });
});
