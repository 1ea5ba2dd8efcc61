import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '@strata/coord';
import { describeCoordinatorConformance, expectStrataError, segment, topicMeta } from './conformance.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-coord-mem-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Every file under `dir` with its content, in order. */
async function files(dir: string): Promise<string> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    if (entry.isFile()) out.push(`${join(entry.parentPath, entry.name)}\n${await readFile(join(entry.parentPath, entry.name), 'utf8')}`);
  }
  return out.join('\n');
}

describeCoordinatorConformance('MemoryCoordinator', async (options = {}) => {
  const dir = await freshDir();
  let skewMs = 0;
  const coordinator = await MemoryCoordinator.open({ dir, clock: () => Date.now() + skewMs, ...options });
  return {
    coordinator,
    elapse: async (_group, ms) => {
      skewMs += ms;
    },
    // Broker registrations live in memory only: part of the footprint too.
    footprint: async () => `${await files(dir)}\n${JSON.stringify(await coordinator.listBrokers())}`,
    close: () => coordinator.close(),
  };
});

describe('MemoryCoordinator specifics', () => {
  it('keeps groups whose ids look like temp files or fill 249 characters across a restart, with every file name within 255 bytes', async () => {
    // Regression (issue #10, item 2): `<group>.json` plus the temp suffix passed 255 bytes for ids
    // of 232+ characters (every join failed), and a group id containing ".json.tmp-" was taken for a
    // leftover temp file and deleted at the next open.
    const dir = await freshDir();
    const groups = ['a.json.tmp-b', 'a.tmp-1-deadbeef', `g${'y'.repeat(248)}`, `h${'y'.repeat(231)}`];
    const first = await MemoryCoordinator.open({ dir });
    for (const group of groups) {
      const joined = await first.groupHeartbeat(group, { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000, topicPartitions: { t: 1 } });
      await first.commitOffsets(group, { memberId: 'm1', memberEpoch: joined.memberEpoch }, [{ topic: 't', partition: 0, offset: 5 }]);
    }
    await first.close();
    await writeFile(join(dir, 'groups', 'left-by-a-crash.json.tmp-123-0badc0de'), '{');
    const names = await readdir(dir, { recursive: true });
    expect(names.filter((n) => Buffer.byteLength(n.split('/').at(-1)!) > 255)).toEqual([]);

    const second = await MemoryCoordinator.open({ dir });
    for (const group of groups) expect((await second.fetchOffsets(group)).map((o) => o.offset), group.slice(0, 20)).toEqual([5]);
    expect(await readdir(join(dir, 'groups'))).not.toContain('left-by-a-crash.json.tmp-123-0badc0de');
    await second.close();
  });

  it('keeps a high watermark alone in memory (published every tick: no write each time); an ISR change writes it', async () => {
    const dir = await freshDir();
    const co = await MemoryCoordinator.open({ dir });
    await co.createTopic(topicMeta('hw'));
    await co.setReplicas('hw', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 1 });
    const got = await co.acquireLeadership('hw', 0, { topicId: 'tid-1', brokerId: 'b1', ttlMs: 60_000, startOffset: 0, knownEpoch: 0 });
    const onDisk = async (): Promise<number> => {
      const [file] = await readdir(join(dir, 'partitions'));
      return (JSON.parse(await readFile(join(dir, 'partitions', file!), 'utf8')) as { highWatermark: number }).highWatermark;
    };
    const before = await onDisk();
    await co.updatePartitionState('hw', 0, got.acquired ? got.epoch : 0, { highWatermark: 42 });
    expect((await co.getPartitionState('hw', 0))?.highWatermark).toBe(42);
    expect(await onDisk()).toBe(before);
    await co.updatePartitionState('hw', 0, got.acquired ? got.epoch : 0, { isr: ['b1'], highWatermark: 43 });
    expect(await onDisk()).toBe(43);
    await co.close();
  });

  it('persists state across a restart of the process (a new instance over the same directory)', async () => {
    const dir = await freshDir();
    const first = await MemoryCoordinator.open({ dir });
    await first.createTopic(topicMeta('t', { configs: { 'retention.ms': 1000 } }));
    await first.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 3 });
    const got = await first.acquireLeadership('t', 0, { topicId: 'tid-1', brokerId: 'b1', ttlMs: 60_000, startOffset: 0, knownEpoch: 0 });
    expect(got).toEqual({ acquired: true, epoch: 1 });
    await first.commitSegment('t', 0, segment(0, 9, 1));
    await first.acquireController({ brokerId: 'b1', ttlMs: 60_000 });
    const joined = await first.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000, topicPartitions: { t: 3 } });
    await first.commitOffsets('g', { memberId: 'm1', memberEpoch: joined.memberEpoch }, [{ topic: 't', partition: 0, offset: 5 }]);
    const bootId = (await first.status()).bootId;
    await first.close();

    const second = await MemoryCoordinator.open({ dir });
    expect(await second.getTopic('t')).toEqual(topicMeta('t', { configs: { 'retention.ms': 1000 } }));
    expect(await second.getPartitionState('t', 0)).toMatchObject({ leaderEpoch: 1, replicas: ['b1'], controllerEpoch: 3 });
    expect((await second.loadManifest('t', 0)).segments).toEqual([segment(0, 9, 1)]);
    expect((await second.getController()).epoch).toBe(1);
    expect((await second.fetchOffsets('g')).map((o) => o.offset)).toEqual([5]);
    // The member survived, with a fresh session (the time the process was down does not count).
    const group = await second.describeGroup('g');
    expect(group).toMatchObject({ groupEpoch: 1, state: 'stable', members: [{ memberId: 'm1', memberEpoch: 1, assignment: [{ topic: 't', partitions: [0, 1, 2] }] }] });
    expect(await second.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 1, sessionTimeoutMs: 1000, topicPartitions: { t: 3 } })).toMatchObject({ memberEpoch: 1 });
    expect((await second.status()).bootId).toBe(bootId);
    // The same broker, restarted, takes its partition again with a new epoch.
    expect(await second.acquireLeadership('t', 0, { topicId: 'tid-1', brokerId: 'b1', ttlMs: 1000, startOffset: 10, knownEpoch: 0 })).toEqual({ acquired: true, epoch: 2 });
    await second.close();
  });

  it('never hands out a producer id twice across a restart, even with a clock that went back', async () => {
    const dir = await freshDir();
    let now = 2_000;
    const first = await MemoryCoordinator.open({ dir, clock: () => now });
    expect(await first.allocateProducerIds('b1', 1000)).toEqual({ firstId: 2_000_000, size: 1000 });
    expect(await first.allocateProducerIds('b2', 10)).toEqual({ firstId: 2_001_000, size: 10 });
    await first.close();
    now = 1_000; // the clock floor is below what was handed out: the stored counter wins
    const second = await MemoryCoordinator.open({ dir, clock: () => now });
    expect(await second.allocateProducerIds('b1', 5)).toEqual({ firstId: 2_001_010, size: 5 });
    await second.close();
  });

  it('expires leases by the injected clock', async () => {
    let now = 1_000_000;
    const co = await MemoryCoordinator.open({ dir: await freshDir(), clock: () => now });
    await co.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 1 });
    await co.acquireLeadership('t', 0, { topicId: 'tid-1', brokerId: 'b1', ttlMs: 10_000, startOffset: 0, knownEpoch: 0 });
    now += 9_999;
    expect((await co.getPartitionState('t', 0))!.leaseRemainingMs).toBe(1);
    now += 1;
    expect((await co.getPartitionState('t', 0))!.leader).toBeNull();
    expect(await co.renewLeadership('t', 0, 'b1', 1, 10_000)).toBe(false);
    await co.close();
  });

  it('loads a version 1 group file (minimal membership): offsets kept, members dropped', async () => {
    const dir = await freshDir();
    await (await MemoryCoordinator.open({ dir })).close();
    const v1 = { version: 1, group: 'g', members: { m1: 3 }, offsets: { 't/0': { offset: 7, metadata: '', committedAtMs: 1 } } };
    await writeFile(join(dir, 'groups', 'g.json'), JSON.stringify(v1));
    const co = await MemoryCoordinator.open({ dir });
    expect((await co.fetchOffsets('g')).map((o) => o.offset)).toEqual([7]);
    expect(await co.describeGroup('g')).toMatchObject({ groupEpoch: 0, state: 'empty', members: [] });
    await co.close();
  });

  it('refuses to start over a corrupt file rather than lose state', async () => {
    const dir = await freshDir();
    await (await MemoryCoordinator.open({ dir })).close();
    await writeFile(join(dir, 'cluster.json'), '{"version": 1, "topics": ');
    await expectStrataError(MemoryCoordinator.open({ dir }), 'STORAGE_ERROR');
    await writeFile(join(dir, 'cluster.json'), '{"version": 99}');
    await expectStrataError(MemoryCoordinator.open({ dir }), 'STORAGE_ERROR');
  });

  it('leaves no temporary files behind', async () => {
    const dir = await freshDir();
    const co = await MemoryCoordinator.open({ dir });
    await co.createTopic(topicMeta('t'));
    await co.groupHeartbeat('g', { memberId: 'm', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000, topicPartitions: { t: 3 } });
    await co.close();
    const names = await readdir(dir, { recursive: true });
    expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('MemoryCoordinator.importState', () => {
  const manifest = { epoch: 0, logStartOffset: 0, segments: [segment(0, 9, 0), segment(10, 14, 0)] };

  it('fills an empty engine: the id, the topic, and each partition led by the importing broker alone, with its manifest', async () => {
    const dir = await freshDir();
    const co = await MemoryCoordinator.open({ dir });
    await co.importState({ clusterId: 'old-cluster-id', topics: [topicMeta('t', { partitions: 1 })], partitions: [{ topic: 't', partition: 0, brokerId: '0', manifest }] });
    await co.close();
    // Persisted: a reopened engine answers the same.
    const again = await MemoryCoordinator.open({ dir });
    expect((await again.status()).bootId).toBe('old-cluster-id');
    expect((await again.listTopics()).map((t) => t.name)).toEqual(['t']);
    expect(await again.loadManifest('t', 0)).toEqual(manifest);
    expect(await again.getPartitionState('t', 0)).toMatchObject({ replicas: ['0'], isr: ['0'], leaderEpoch: 0, epochHistory: [{ epoch: 0, startOffset: 0, leader: '0' }] });
    // The importing broker takes the lease in the next epoch, and commits after the imported segments.
    const grant = await again.acquireLeadership('t', 0, { topicId: topicMeta('t').topicId, brokerId: '0', ttlMs: 5000, startOffset: 20, knownEpoch: 0, clean: true });
    expect(grant).toMatchObject({ acquired: true, epoch: 1 });
    await again.commitSegment('t', 0, segment(15, 19, 1));
    expect((await again.loadManifest('t', 0)).segments.map((s) => s.baseOffset)).toEqual([0, 10, 15]);
    await again.close();
  });

  it('run again (an import interrupted halfway) changes nothing already imported, and refuses another topic of the same name', async () => {
    const dir = await freshDir();
    const co = await MemoryCoordinator.open({ dir });
    const state = { topics: [topicMeta('t', { partitions: 2 })], partitions: [{ topic: 't', partition: 0, brokerId: '0', manifest }] };
    await co.importState(state);
    const before = await co.loadManifest('t', 0);
    await co.importState({ ...state, partitions: [...state.partitions, { topic: 't', partition: 1, brokerId: '0', manifest: { epoch: 0, logStartOffset: 3, segments: [] } }] });
    expect(await co.loadManifest('t', 0)).toEqual(before);
    expect((await co.loadManifest('t', 1)).logStartOffset).toBe(3);
    await expectStrataError(co.importState({ topics: [topicMeta('t', { topicId: '00000000-0000-4000-8000-00000000beef' })], partitions: [] }), 'TOPIC_ALREADY_EXISTS');
    await co.close();
  });
});
