// Hostile names against a real broker process (issue #10, items 2, 8 and 9):
// - topic names and group ids of up to 249 characters work end to end and survive restarts (their
//   file names used to pass 255 bytes: every start exited with ENAMETOOLONG, joins answered 503);
// - topics and groups named after Object.prototype members (`__proto__`, `constructor`, ...)
//   are created, assigned, committed and described like any other name;
// - a partition that cannot be opened at start is reported (log, metric, a clear error), the
//   broker starts and serves everything else;
// - error bodies carry no server path (the data dir) and are bounded in size, whatever the input.
// Each test watches the broker: it stays up, another client keeps being answered, RSS and open
// descriptors stay under a ceiling, and nothing acknowledged is lost across the restart.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cluster, REPO_ROOT, ResponsivenessProbe, StatsSampler, expectStatus, tempDir, type BrokerProcess, type HttpAnswer, type Json } from '../harness/index.js';
import { brokerLifecycle, clusterPerTest } from '../support.js';

/** Ceilings for one broker of these tests (an idle broker holds ~100 MB and ~40 descriptors). */
const RSS_CEILING_BYTES = 512 * 1024 * 1024;
const OPEN_FDS_CEILING = 512;
/** The longest a file or directory name may be on the file systems Strata runs on. */
const NAME_MAX_BYTES = 255;
/** An error body, whatever the request: message and details are cut (redact.ts). */
const ERROR_BODY_CEILING_BYTES = 8 * 1024;

const TOPIC_249 = `long-topic-${'t'.repeat(249 - 'long-topic-'.length)}`;
const TOPIC_232 = `mid-topic-${'m'.repeat(232 - 'mid-topic-'.length)}`;
const GROUP_249 = `long-group-${'g'.repeat(249 - 'long-group-'.length)}`;
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

async function ok(answer: Promise<HttpAnswer<Json>>, status: number, what: string): Promise<HttpAnswer<Json>> {
  return expectStatus(await answer, status, what);
}

/** Every file and directory name under `dir` that is longer than NAME_MAX_BYTES. */
function namesTooLong(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (Buffer.byteLength(entry.name) > NAME_MAX_BYTES) out.push(entry.name);
    if (entry.isDirectory()) out.push(...namesTooLong(join(dir, entry.name)));
  }
  return out;
}

/** Watches a broker during an attack: peaks of RSS and descriptors, and another client's answers. */
function watch(broker: BrokerProcess): { done(): Promise<void> } {
  const sampler = new StatsSampler(broker.pid!);
  const probe = new ResponsivenessProbe(`${broker.url}/v1/topics`);
  return {
    async done() {
      const peak = sampler.stop();
      const seen = await probe.stop();
      console.log(
        `names: peak RSS ${(peak.rssBytes / 2 ** 20).toFixed(0)} MiB, peak fds ${peak.openFds}; ` +
          `probe answered ${seen.answered} (failures ${seen.failures}), p50 ${seen.p50Ms.toFixed(1)} ms, max ${seen.maxMs.toFixed(1)} ms`,
      );
      expect(broker.running, 'the broker stays up').toBe(true);
      expect(seen.answered).toBeGreaterThan(0);
      expect(seen.failures).toBe(0);
      expect(peak.rssBytes).toBeLessThan(RSS_CEILING_BYTES);
      expect(peak.openFds).toBeLessThan(OPEN_FDS_CEILING);
    },
  };
}

/** Produces `count` records keyed k0.. to `topic`, acks=all; returns the acknowledged (partition, offset, value). */
async function produce(broker: BrokerProcess, topic: string, count: number, tag: string): Promise<Array<{ partition: number; offset: number; value: string }>> {
  const records = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${tag}-${i}` }));
  const answer = await ok(broker.http.post(`/v1/topics/${encodeURIComponent(topic)}/records?acks=all`, { records }), 200, `produce to ${topic}`);
  return answer.body.offsets.map((o: { partition: number; offset: number }, i: number) => ({ ...o, value: records[i]!.value }));
}

/** Every record of a partition, offset -> value, read page by page up to its high watermark. */
async function readPartition(broker: BrokerProcess, topic: string, partition: number): Promise<Map<number, string>> {
  const read = new Map<number, string>();
  let offset = 0;
  for (let page = 0; page < 100; page++) {
    const answer = await ok(broker.http.get(`/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?offset=${offset}&maxRecords=10000`), 200, `fetch ${topic.slice(0, 40)}/${partition}`);
    for (const r of answer.body.records) read.set(r.offset, r.value);
    if (answer.body.records.length === 0 || answer.body.nextOffset >= answer.body.highWatermark) break;
    offset = answer.body.nextOffset;
  }
  return read;
}

/** Asserts that every acknowledged record reads back at its offset. */
async function expectAll(broker: BrokerProcess, topic: string, acked: Array<{ partition: number; offset: number; value: string }>): Promise<void> {
  const read = new Map<number, Map<number, string>>();
  for (const p of new Set(acked.map((a) => a.partition))) read.set(p, await readPartition(broker, topic, p));
  const lost = acked.filter((a) => read.get(a.partition)!.get(a.offset) !== a.value).map((a) => `${a.partition}/${a.offset}`);
  expect(lost, `acknowledged records of ${topic.slice(0, 40)} not read back`).toEqual([]);
}

/** Joins `group` subscribed to `topics` and heartbeats until its assignment covers `partitions` per topic. */
async function joinAndAwait(broker: BrokerProcess, group: string, topics: string[], partitions: number): Promise<{ memberId: string; memberEpoch: number; assignment: Array<{ topic: string; partitions: number[] }> }> {
  const base = `/v1/groups/${encodeURIComponent(group)}/members`;
  const joined = await ok(broker.http.post(base, { topics, sessionTimeoutMs: 30_000 }), 200, `join ${group}`);
  const memberId: string = joined.body.memberId;
  let { memberEpoch, assignment } = joined.body;
  const complete = (a: typeof assignment): boolean => topics.every((t) => a.find((x: { topic: string }) => x.topic === t)?.partitions.length === partitions);
  for (let i = 0; i < 20 && !complete(assignment); i++) {
    const beat = await ok(broker.http.post(`${base}/${memberId}/heartbeat`, { memberEpoch, ownedPartitions: assignment, sessionTimeoutMs: 30_000 }), 200, `heartbeat ${group}`);
    ({ memberEpoch, assignment } = beat.body);
  }
  return { memberId, memberEpoch, assignment };
}

describe('hostile names', () => {
  const startBroker = brokerLifecycle();

  it('topics of 232 and 249 characters and a 249-character group id work, and survive restarts', async () => {
    const broker = await startBroker({ env: { STRATA_TIER_INTERVAL_MS: '100' } });
    const watching = watch(broker);
    // segment.bytes 1 MiB (Kafka's minimum) and ~1.2 MB produced: a segment is sealed and uploaded,
    // so the manifest file (`<topic>-<p>.json`, the name that passed 255 bytes) is written.
    await ok(broker.http.post('/v1/topics', { name: TOPIC_249, partitions: 2, configs: { 'segment.bytes': 1_048_576 } }), 201, 'create the 249-character topic');
    await ok(broker.http.post('/v1/topics', { name: TOPIC_232, partitions: 1 }), 201, 'create the 232-character topic');
    const acked249 = await produce(broker, TOPIC_249, 40, 'a');
    const big = 'x'.repeat(100_000);
    for (let round = 0; round < 4; round++) {
      const records = Array.from({ length: 3 }, () => ({ value: big, partition: 0 }));
      const answer = await ok(broker.http.post(`/v1/topics/${TOPIC_249}/records?acks=all`, { records }), 200, 'produce big records');
      for (const o of answer.body.offsets) acked249.push({ partition: o.partition, offset: o.offset, value: big });
    }
    const acked232 = await produce(broker, TOPIC_232, 10, 'b');
    let uploaded = 0;
    for (let i = 0; i < 100 && uploaded === 0; i++) {
      const described = await ok(broker.http.get(`/v1/topics/${TOPIC_249}`), 200, 'describe');
      uploaded = described.body.partitions[0].remoteSegments;
      expect(described.body.partitions[0].lastUploadError).toBeNull();
      if (uploaded === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(uploaded, 'a sealed segment of the 249-character topic was uploaded').toBeGreaterThan(0);

    const member = await joinAndAwait(broker, GROUP_249, [TOPIC_249, TOPIC_232], 0);
    expect(member.assignment.find((a) => a.topic === TOPIC_249)?.partitions).toEqual([0, 1]);
    expect(member.assignment.find((a) => a.topic === TOPIC_232)?.partitions).toEqual([0]);
    await ok(
      broker.http.post(`/v1/groups/${GROUP_249}/offsets`, {
        memberId: member.memberId,
        memberEpoch: member.memberEpoch,
        offsets: [
          { topic: TOPIC_249, partition: 0, offset: 3 },
          { topic: TOPIC_232, partition: 0, offset: 5 },
        ],
      }),
      200,
      'commit',
    );
    await ok(broker.http.delete(`/v1/groups/${GROUP_249}/members/${member.memberId}`), 204, 'leave');
    await watching.done();
    expect(namesTooLong(broker.dataDir)).toEqual([]);

    await broker.restart();
    await expectAll(broker, TOPIC_249, acked249);
    await expectAll(broker, TOPIC_232, acked232);
    const offsets = await ok(broker.http.get(`/v1/groups/${GROUP_249}/offsets`), 200, 'offsets after restart');
    expect(offsets.body.offsets.map((o: { topic: string; offset: number }) => [o.topic, o.offset]).sort()).toEqual([[TOPIC_232, 5], [TOPIC_249, 3]].sort());
    // A second restart, after the files were rewritten by the first one.
    await broker.restart();
    await expectAll(broker, TOPIC_249, acked249);
  });

  it('opens a data dir written before names were bounded: the layout of names that fit is unchanged', async () => {
    // Written by the broker as it was before this change (topic "orders", 2 partitions, three
    // uploaded segments with their manifests, group "billing" committed at orders/0 = 2).
    const dataDir = tempDir('strata-broker-');
    cpSync(join(REPO_ROOT, 'test', 'src', 'fixtures', 'data-dir-before-bounded-names'), dataDir, { recursive: true });
    const broker = await startBroker({ dataDir });
    const described = await ok(broker.http.get('/v1/topics/orders'), 200, 'describe');
    expect(described.body.partitions.map((p: { remoteSegments: number; logEndOffset: number; offline?: boolean }) => [p.remoteSegments, p.logEndOffset, p.offline ?? false])).toEqual([
      [2, 3, false],
      [1, 1, false],
    ]);
    expect([...(await readPartition(broker, 'orders', 0)).values()]).toEqual(['o0', 'o1', 'o3']);
    expect([...(await readPartition(broker, 'orders', 1)).values()]).toEqual(['o2']);
    const offsets = await ok(broker.http.get('/v1/groups/billing/offsets'), 200, 'offsets');
    expect(offsets.body.offsets.map((o: { topic: string; partition: number; offset: number; metadata: string }) => [o.topic, o.partition, o.offset, o.metadata])).toEqual([['orders', 0, 2, 'm']]);
    const acked = await produce(broker, 'orders', 5, 'new');
    await broker.restart();
    await expectAll(broker, 'orders', acked);
    // The same files, not a second copy under new names (the manifests now live in the in-process
    // coordinator, under the same bounded names; the previous release's files are kept, renamed).
    for (const file of ['orders-0', 'orders-1', '__strata/coord/partitions/orders-0.json', '__strata/coord/groups/billing.json']) expect(existsSync(join(dataDir, file)), file).toBe(true);
    expect(readdirSync(join(dataDir, '__strata', 'manifests.imported')).sort()).toEqual(['orders-0.json', 'orders-1.json']);
  });

  it('topics and groups named after Object.prototype members are assigned, committed and described', async () => {
    const broker = await startBroker();
    const watching = watch(broker);
    const acked = new Map<string, Array<{ partition: number; offset: number; value: string }>>();
    for (const name of PROTOTYPE_NAMES) {
      await ok(broker.http.post('/v1/topics', { name, partitions: 2 }), 201, `create ${name}`);
      acked.set(name, await produce(broker, name, 20, name));
    }
    const listed = await ok(broker.http.get('/v1/topics'), 200, 'list');
    expect(listed.body.topics.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(PROTOTYPE_NAMES));
    for (const group of PROTOTYPE_NAMES) {
      // The member gets every partition of every topic (before: `__proto__` was never assigned).
      const member = await joinAndAwait(broker, group, PROTOTYPE_NAMES, 2);
      for (const topic of PROTOTYPE_NAMES) expect(member.assignment.find((a) => a.topic === topic)?.partitions, `${group} gets ${topic}`).toEqual([0, 1]);
      await ok(
        broker.http.post(`/v1/groups/${group}/offsets`, {
          memberId: member.memberId,
          memberEpoch: member.memberEpoch,
          offsets: PROTOTYPE_NAMES.map((topic, i) => ({ topic, partition: 1, offset: i + 1, metadata: topic })),
        }),
        200,
        `commit ${group}`,
      );
      const described = await ok(broker.http.get(`/v1/groups/${group}`), 200, `describe ${group}`);
      expect(described.body.members).toHaveLength(1);
      // Heartbeats to a member id that is an Object.prototype member: a clear 404, nothing changed.
      const ghost = await broker.http.post(`/v1/groups/${group}/members/__proto__/heartbeat`, { memberEpoch: 1, sessionTimeoutMs: 30_000 });
      expect(ghost.status).toBe(404);
      await ok(broker.http.delete(`/v1/groups/${group}/members/${member.memberId}`), 204, `leave ${group}`);
    }
    const groups = await ok(broker.http.get('/v1/groups'), 200, 'groups');
    expect(groups.body.groups.map((g: { group: string }) => g.group)).toEqual(expect.arrayContaining(PROTOTYPE_NAMES));
    await watching.done();

    await broker.restart();
    for (const [topic, records] of acked) await expectAll(broker, topic, records);
    for (const group of PROTOTYPE_NAMES) {
      const offsets = await ok(broker.http.get(`/v1/groups/${group}/offsets`), 200, `offsets of ${group}`);
      const got = new Map(offsets.body.offsets.map((o: { topic: string; offset: number; metadata: string }) => [o.topic, [o.offset, o.metadata]]));
      for (const [i, topic] of PROTOTYPE_NAMES.entries()) expect(got.get(topic), `${group} committed on ${topic}`).toEqual([i + 1, topic]);
    }
  });

  it('starts with a partition it cannot open, reports it, and serves the rest; error bodies show no server path', async () => {
    const broker = await startBroker({ env: { STRATA_TIER_INTERVAL_MS: '100' } });
    await ok(broker.http.post('/v1/topics', { name: 'split', partitions: 2 }), 201, 'create');
    const acked = await produce(broker, 'split', 30, 's');
    const kept = acked.filter((a) => a.partition === 1);
    await broker.stop();
    // Partition 0's directory becomes a file: its log cannot be opened (ENOTDIR) at the next start.
    const dir0 = join(broker.dataDir, 'split-0');
    expect(statSync(dir0).isDirectory()).toBe(true);
    rmSync(dir0, { recursive: true });
    writeFileSync(dir0, 'not a directory');

    await broker.restart(); // before: the broker exited at start
    const watching = watch(broker);
    const broken = await broker.http.get('/v1/topics/split/partitions/0/records?offset=0');
    expect(broken.status).toBe(503);
    expect(broken.body.error).toMatchObject({ code: 'STORAGE_ERROR', retriable: false });
    expect(broken.body.error.message).toContain('partition 0 of topic "split"');
    expect(JSON.stringify(broken.body)).not.toContain(broker.dataDir);
    await expectAll(broker, 'split', kept);
    const records = Array.from({ length: 10 }, (_, i) => ({ value: `after-${i}`, partition: 1 }));
    const produced = await ok(broker.http.post('/v1/topics/split/records?acks=all', { records }), 200, 'produce to the partition that opened');
    const more = produced.body.offsets.map((o: { partition: number; offset: number }, i: number) => ({ ...o, value: records[i]!.value }));
    const refused = await broker.http.post('/v1/topics/split/records?acks=all', { records: [{ value: 'v', partition: 0 }] });
    expect(JSON.stringify(refused.body)).toContain('STORAGE_ERROR');
    expect(JSON.stringify(refused.body)).not.toContain(broker.dataDir);
    const metrics = await ok(broker.http.get('/metrics'), 200, 'metrics');
    expect(metrics.body as string).toMatch(/^strata_offline_partitions 1$/m);
    const described = await ok(broker.http.get('/v1/topics/split'), 200, 'describe');
    expect(described.body.partitions.map((p: { partition: number; offline?: boolean }) => [p.partition, p.offline === true])).toEqual([[0, true], [1, false]]);
    expect(JSON.stringify(described.body)).not.toContain(broker.dataDir);

    // Uploads that fail on the server's disk: lastUploadError names no path.
    await ok(broker.http.post('/v1/topics', { name: 'noobjects', partitions: 1, configs: { 'segment.bytes': 1_048_576 } }), 201, 'create');
    const objects = join(broker.dataDir, '__strata', 'objects');
    rmSync(objects, { recursive: true, force: true });
    writeFileSync(objects, 'not a directory');
    const big = 'y'.repeat(100_000);
    for (let round = 0; round < 4; round++) {
      await ok(broker.http.post('/v1/topics/noobjects/records?acks=all', { records: Array.from({ length: 3 }, () => ({ value: big })) }), 200, 'produce big');
    }
    let lastUploadError: string | null = null;
    for (let i = 0; i < 100 && lastUploadError === null; i++) {
      lastUploadError = (await ok(broker.http.get('/v1/topics/noobjects'), 200, 'describe')).body.partitions[0].lastUploadError;
      if (lastUploadError === null) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`lastUploadError: ${lastUploadError}`);
    expect(lastUploadError).not.toBeNull();
    expect(lastUploadError).not.toContain(broker.dataDir);
    expect(lastUploadError).not.toMatch(/'\//);
    rmSync(objects);
    mkdirSync(objects);

    // Echoed input is cut: a 512 KiB unknown field and topic name, an 8,000-character group id.
    const huge = 'z'.repeat(512 * 1024);
    const answers = [
      await broker.http.post('/v1/topics', { name: 'fine', [huge]: 1 }),
      await broker.http.post('/v1/topics', { name: huge }),
      await broker.http.post(`/v1/groups/${huge.slice(0, 8_000)}/members`, { topics: ['split'] }),
      await broker.http.post('/v1/topics/split/records', { records: [{ value: 'v', [huge]: 1 }] }),
    ];
    for (const answer of answers) {
      const size = Buffer.byteLength(JSON.stringify(answer.body));
      console.log(`error ${answer.status} ${answer.body?.error?.code}: ${size} bytes`);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(size).toBeLessThan(ERROR_BODY_CEILING_BYTES);
    }
    expect((await broker.http.get('/v1/topics/fine')).status).toBe(404);
    await watching.done();
    await broker.restart();
    await expectAll(broker, 'split', [...kept, ...more]);
    expect(namesTooLong(broker.dataDir)).toEqual([]);
    // Deleting the topic removes what is on disk of the partition that never opened too.
    await ok(broker.http.delete('/v1/topics/split'), 200, 'delete');
    expect(existsSync(dir0)).toBe(false);
    expect((await ok(broker.http.get('/metrics'), 200, 'metrics')).body as string).toMatch(/^strata_offline_partitions 0$/m);
  });
});

/** One raw HTTP/1.1 exchange with `target` as the request target, as written (undici would normalize it). */
function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error(`no answer to GET ${target}`)));
    socket.on('connect', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('hostile request targets in a cluster', () => {
  const state = clusterPerTest();

  it('a read with an absolute-form target sent to a non-leader is forwarded by its path only', async () => {
    const cluster = (state.cluster = await Cluster.start({ brokers: 2 }));
    const b1 = cluster.broker('b1');
    await ok(b1.http.post('/v1/topics', { name: 'abs', partitions: 4, replicationFactor: 1 }), 201, 'create');
    const leaders = await cluster.awaitLeaders('abs', 4);
    // Any partition, read through the broker that does not lead it (placement may put all four on one).
    const [partition, leaderId] = [...leaders][0]!;
    const leader = cluster.broker(leaderId);
    const b2 = cluster.broker(leaderId === 'b1' ? 'b2' : 'b1');
    const records = Array.from({ length: 5 }, (_, i) => ({ value: `abs-${i}`, partition }));
    await ok(leader.http.post('/v1/topics/abs/records?acks=all', { records }), 200, 'produce');

    // Before: b2 forwarded to `<leader URL>http://evil.invalid/...`, failed, answered 503 NOT_LEADER
    // and dropped its cached leader. Now the path and query go to the leader, and nothing else.
    for (const target of [`http://evil.invalid/v1/topics/abs/partitions/${partition}/records?offset=0`, `//evil.invalid/v1/topics/abs/partitions/${partition}/records?offset=0`]) {
      const answer = await rawGet(b2.port, target);
      expect(answer.status, `${target}: ${answer.body.slice(0, 300)}`).toBe(200);
      const body = JSON.parse(answer.body) as { records: Array<{ value: string }> };
      expect(body.records.map((r) => r.value)).toEqual(records.map((r) => r.value));
    }
    const plain = await ok(b2.http.get(`/v1/topics/abs/partitions/${partition}/records?offset=0`), 200, 'a plain read through b2');
    expect(plain.body.records).toHaveLength(5);
    expect(leader.running && b2.running, 'both brokers stay up').toBe(true);
  });
});
