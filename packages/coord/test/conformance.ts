// The Coordinator conformance suite, written once and run against every engine
// (memory.test.ts, redis.test.ts). An engine that passes behaves like the others as far as a
// broker can tell: same outcomes, same errors (code and details.reason), same fencing.
// Leases use real time with short TTLs, so the suite stays fast and tests real expiry.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStrataError, type StrataError } from '@strata/protocol';
import { describeQuotaConformance } from './conformance-quotas.js';
import { describeUserConformance } from './conformance-users.js';
import { COORDINATOR_DEFAULTS, LIMITS, PRODUCER_IDS_PER_MS } from '@strata/coord';
import { describeAclConformance } from './conformance-acls.js';
import type { ClassicGroupState, Coordinator, GroupDescription, GroupHeartbeatRequest, GroupHeartbeatResponse, GroupLimits, RemoteSegment, TopicMetadata, TopicPartitions } from '@strata/coord';

export interface ConformanceTarget {
  coordinator: Coordinator;
  /** A fingerprint of everything the engine stores for this coordinator: equal before and after = nothing was written. */
  footprint(): Promise<string>;
  /** Makes `ms` pass for `group`: its sessions, commit times and empty mark (the memory engine's injected clock; Redis' stored times, moved back). */
  elapse(group: string, ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Engine options a test may set (the rest are the engine's defaults). */
export interface TargetOptions {
  groupLimits?: Partial<GroupLimits>;
}

/** A fresh, isolated coordinator per test (its own key prefix or directory). */
export type MakeTarget = (options?: TargetOptions) => Promise<ConformanceTarget>;

/** Rejects with a StrataError of `code` (and `reason`, when given); returns it for more checks. */
export async function expectStrataError(promise: Promise<unknown>, code: string, reason?: string): Promise<StrataError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a rejection with ${code}`).toBeDefined();
  if (!isStrataError(caught)) throw new Error(`expected a StrataError ${code}, got ${String(caught)}`, { cause: caught });
  expect(caught.code, caught.message).toBe(code);
  if (reason !== undefined) expect(caught.details?.['reason'], caught.message).toBe(reason);
  return caught;
}

export const LEASE_MS = 300;
const TOPIC_ID = 'tid-1';

export function topicMeta(name: string, overrides: Partial<TopicMetadata> = {}): TopicMetadata {
  return { name, topicId: TOPIC_ID, partitions: 3, replicationFactor: 1, configs: {}, createdAtMs: 1_700_000_000_000, ...overrides };
}

export function segment(baseOffset: number, lastOffset: number, epoch: number, extra: Partial<RemoteSegment> = {}): RemoteSegment {
  return {
    key: `topics/t/0/${String(baseOffset).padStart(20, '0')}-${String(lastOffset).padStart(20, '0')}-e${epoch}.seg`,
    baseOffset,
    lastOffset,
    objectBytes: 1000,
    dataBytes: 900,
    maxTimestamp: 1_700_000_000_000,
    epoch,
    uploadedAtMs: 1_700_000_000_500,
    ...extra,
  };
}

/** Names and values that must never reach a backend. */
export const HOSTILE_TOPICS: unknown[] = [
  '',
  '.',
  '..',
  '../etc',
  'a/b',
  'a{b}',
  '{x}',
  'a b',
  'a\nb',
  'a\r\nFLUSHALL',
  '*',
  'é',
  'x'.repeat(250),
  null,
  42,
  { name: 'x' },
];
export const HOSTILE_GROUPS: unknown[] = ['', '..', 'g/1', 'g{1}', 'g 1', 'g\n', 'g:1', '*', 'x'.repeat(250), undefined, 7];

/** A seeded PRNG (mulberry32): the randomized tests replay exactly from their seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function flat(list: readonly TopicPartitions[]): string[] {
  return list.flatMap((tp) => tp.partitions.map((p) => `${tp.topic}/${p}`)).sort();
}

export function unflat(keys: readonly string[]): TopicPartitions[] {
  const out = new Map<string, number[]>();
  for (const key of keys) {
    const [topic, p] = key.split('/') as [string, string];
    out.set(topic, [...(out.get(topic) ?? []), Number(p)].sort((x, y) => x - y));
  }
  return [...out].map(([topic, partitions]) => ({ topic, partitions }));
}

/** No partition in two members' assignment ∪ pendingRevocation; returns partition -> member. */
export function expectExclusive(d: GroupDescription | null): Map<string, string> {
  const owner = new Map<string, string>();
  for (const m of d?.members ?? []) {
    for (const key of [...flat(m.assignment), ...flat(m.pendingRevocation)]) {
      expect(owner.get(key), `${key} is held by ${owner.get(key)} and ${m.memberId}`).toBeUndefined();
      owner.set(key, m.memberId);
    }
  }
  return owner;
}

export function describeCoordinatorConformance(name: string, make: MakeTarget): void {
  describe(`Coordinator conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let co: Coordinator;
    beforeEach(async () => {
      target = await make();
      co = target.coordinator;
    });
    afterEach(async () => {
      await target?.close();
    });

    /** Assign t/p to `replicas` (controller epoch 1) and let replicas[0] lead from `start`. */
    async function leadership(topic: string, partition: number, replicas: string[], start = 0): Promise<number> {
      await co.setReplicas(topic, partition, { topicId: TOPIC_ID, replicas, controllerEpoch: 1 });
      const got = await co.acquireLeadership(topic, partition, { topicId: TOPIC_ID, brokerId: replicas[0]!, ttlMs: LEASE_MS, startOffset: start, knownEpoch: 0 });
      expect(got.acquired).toBe(true);
      return got.acquired ? got.epoch : -1;
    }

    describeQuotaConformance(() => target);
    describeUserConformance(() => ({ co, target }));
    describeAclConformance(() => ({ co, target }));

    // ---- brokers ----------------------------------------------------------------------------

    describe('broker registry', () => {
      const broker = (id: string, port = 8080) => ({
        id,
        url: `http://127.0.0.1:${port}`,
        internalUrl: `http://127.0.0.1:${port + 1}`,
        rack: id === 'b1' ? 'rack-a' : null,
        startedAtMs: 1_700_000_000_000,
        kafkaAddress: id === 'b1' ? `127.0.0.1:${port + 2}` : null,
      });

      it('registers, lists (sorted, with TTL), heartbeats and deregisters', async () => {
        await co.registerBroker(broker('b2', 9000), 5000);
        await co.registerBroker(broker('b1'), 5000);
        const brokers = await co.listBrokers();
        expect(brokers.map((b) => b.id)).toEqual(['b1', 'b2']);
        expect(brokers[0]).toMatchObject({ ...broker('b1') });
        expect(brokers[1]!.rack).toBeNull();
        expect(brokers[1]!.kafkaAddress).toBeNull();
        expect(brokers[0]!.expiresInMs).toBeGreaterThan(4000);
        expect(brokers[0]!.expiresInMs).toBeLessThanOrEqual(5000);
        expect(await co.heartbeatBroker('b1', 5000)).toBe(true);
        expect(await co.deregisterBroker('b1')).toBe(true);
        expect(await co.deregisterBroker('b1')).toBe(false);
        expect(await co.heartbeatBroker('b1', 5000)).toBe(false);
        expect((await co.listBrokers()).map((b) => b.id)).toEqual(['b2']);
      });

      it('drops a broker whose heartbeats stop, and a heartbeat then asks to register again', async () => {
        await co.registerBroker(broker('b1'), LEASE_MS);
        await co.registerBroker(broker('b2'), 10_000);
        await sleep(LEASE_MS / 2);
        expect(await co.heartbeatBroker('b2', 10_000)).toBe(true);
        await sleep(LEASE_MS);
        expect((await co.listBrokers()).map((b) => b.id)).toEqual(['b2']);
        expect(await co.heartbeatBroker('b1', LEASE_MS)).toBe(false);
      });

      it('replaces a registration when the broker registers again', async () => {
        await co.registerBroker(broker('b1', 8080), 5000);
        await co.registerBroker({ ...broker('b1', 7000), startedAtMs: 1_800_000_000_000 }, 5000);
        const [b] = await co.listBrokers();
        expect(b).toMatchObject({ url: 'http://127.0.0.1:7000', startedAtMs: 1_800_000_000_000 });
      });

      it('refuses malformed registrations before they are stored', async () => {
        const before = await target.footprint();
        await expectStrataError(co.registerBroker({ ...broker('b1'), id: 'b 1' }, 5000), 'INVALID_REQUEST');
        await expectStrataError(co.registerBroker({ ...broker('b1'), url: 'ftp://x' }, 5000), 'INVALID_REQUEST');
        await expectStrataError(co.registerBroker({ ...broker('b1'), internalUrl: 'not a url' }, 5000), 'INVALID_REQUEST');
        await expectStrataError(co.registerBroker({ ...broker('b1'), kafkaAddress: 'no-port' }, 5000), 'INVALID_REQUEST');
        await expectStrataError(co.registerBroker(broker('b1'), 0), 'INVALID_REQUEST');
        await expectStrataError(co.heartbeatBroker('b{1}', 5000), 'INVALID_REQUEST');
        expect(await target.footprint()).toBe(before);
      });
    });

    // ---- topics -------------------------------------------------------------------------------

    describe('topics', () => {
      it('creates, gets and lists topics with their configs (sorted by name)', async () => {
        const orders = topicMeta('orders', { partitions: 6, replicationFactor: 3, configs: { 'retention.ms': 86_400_000, 'cleanup.policy': 'delete' } });
        await co.createTopic(orders);
        await co.createTopic(topicMeta('audit.log'));
        expect(await co.getTopic('orders')).toEqual(orders);
        expect(await co.getTopic('missing')).toBeNull();
        expect((await co.listTopics()).map((t) => t.name)).toEqual(['audit.log', 'orders']);
      });

      it('creates atomically: a second create of the name fails and changes nothing', async () => {
        await co.createTopic(topicMeta('t', { configs: { 'segment.bytes': 1024 } }));
        const before = await target.footprint();
        await expectStrataError(co.createTopic(topicMeta('t', { topicId: 'other', partitions: 9 })), 'TOPIC_ALREADY_EXISTS');
        expect(await target.footprint()).toBe(before);
        expect((await co.getTopic('t'))!.partitions).toBe(3);
      });

      it('lets exactly one of many concurrent creates of a name win', async () => {
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => co.createTopic(topicMeta('race', { topicId: `id-${i}` }))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as StrataError).code).toBe('TOPIC_ALREADY_EXISTS');
      });

      it('refuses a name that collides with another after "." -> "_"', async () => {
        await co.createTopic(topicMeta('a.b'));
        const e = await expectStrataError(co.createTopic(topicMeta('a_b')), 'INVALID_TOPIC', 'TOPIC_COLLISION');
        expect(e.details?.['existing']).toBe('a.b');
      });

      it('patches configs atomically and returns the topic as it now is', async () => {
        await co.createTopic(topicMeta('t', { configs: { 'retention.ms': 1000, 'segment.bytes': 2048 } }));
        const updated = await co.updateTopicConfigs('t', { set: { 'retention.ms': 5000, 'cleanup.policy': 'delete' }, remove: ['segment.bytes'] });
        expect(updated.configs).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': 5000 });
        expect(await co.getTopic('t')).toEqual(updated);
        await expectStrataError(co.updateTopicConfigs('nope', { set: { 'retention.ms': 1 } }), 'UNKNOWN_TOPIC');
        await expectStrataError(co.updateTopicConfigs('t', { set: { 'retention.ms': 1 }, remove: ['retention.ms'] }), 'INVALID_CONFIG');
      });

      it('refuses a patch that would pass the config count limit, changing nothing', async () => {
        const many: Record<string, number> = {};
        for (let i = 0; i < 256; i++) many[`k${i}`] = i;
        await co.createTopic(topicMeta('t', { configs: many }));
        const before = await target.footprint();
        await expectStrataError(co.updateTopicConfigs('t', { set: { extra: 1 } }), 'INVALID_CONFIG', 'TOO_MANY_CONFIGS');
        expect(await target.footprint()).toBe(before);
        await co.updateTopicConfigs('t', { set: { extra: 1 }, remove: ['k0'] });
      });

      it('grows a topic\'s partition count, never shrinks it, and only for the incarnation named', async () => {
        await co.createTopic(topicMeta('t', { configs: { 'retention.ms': 1000 } }));
        const tid = (await co.getTopic('t'))!.topicId;
        const grown = await co.growTopicPartitions('t', tid, 5);
        expect(grown.partitions).toBe(5);
        expect(grown.configs).toEqual({ 'retention.ms': 1000 });
        expect(await co.getTopic('t')).toEqual(grown);
        expect((await co.growTopicPartitions('t', tid, 5)).partitions).toBe(5);
        const before = await target.footprint();
        await expectStrataError(co.growTopicPartitions('t', tid, 4), 'INVALID_PARTITIONS', 'PARTITIONS_SHRINK');
        await expectStrataError(co.growTopicPartitions('t', 'another-incarnation', 9), 'UNKNOWN_TOPIC');
        await expectStrataError(co.growTopicPartitions('nope', tid, 9), 'UNKNOWN_TOPIC');
        await expectStrataError(co.growTopicPartitions('t', tid, 0), 'INVALID_PARTITIONS');
        expect(await target.footprint()).toBe(before);
        expect((await co.getTopic('t'))!.partitions).toBe(5);
      });

      it('deletes a topic with its partitions, and the name can be used again', async () => {
        await co.createTopic(topicMeta('t'));
        const epoch = await leadership('t', 0, ['b1']);
        await co.commitSegment('t', 0, segment(0, 9, epoch));
        expect(await co.deleteTopic('t')).toBe(true);
        expect(await co.deleteTopic('t')).toBe(false);
        expect(await co.getTopic('t')).toBeNull();
        expect(await co.getPartitionState('t', 0)).toBeNull();
        expect((await co.loadManifest('t', 0)).segments).toEqual([]);
        await co.createTopic(topicMeta('t', { topicId: 'tid-2' }));
        expect((await co.getTopic('t'))!.topicId).toBe('tid-2');
      });

      it('refuses hostile topic names before anything is stored', async () => {
        const before = await target.footprint();
        for (const bad of HOSTILE_TOPICS) {
          await expectStrataError(co.createTopic(topicMeta(bad as string)), 'INVALID_TOPIC');
          await expectStrataError(co.getTopic(bad as string), 'INVALID_TOPIC');
          await expectStrataError(co.deleteTopic(bad as string), 'INVALID_TOPIC');
          await expectStrataError(co.setReplicas(bad as string, 0, { topicId: TOPIC_ID, replicas: ['b1'], controllerEpoch: 1 }), 'INVALID_TOPIC');
          await expectStrataError(co.commitSegment(bad as string, 0, segment(0, 1, 1)), 'INVALID_TOPIC');
          await expectStrataError(co.commitOffsets('g', null, [{ topic: bad as string, partition: 0, offset: 1 }]), 'INVALID_TOPIC');
        }
        expect(await target.footprint()).toBe(before);
      });

      it('refuses malformed topics and configs before anything is stored', async () => {
        const before = await target.footprint();
        await expectStrataError(co.createTopic(topicMeta('t', { partitions: 0 })), 'INVALID_PARTITIONS');
        await expectStrataError(co.createTopic(topicMeta('t', { topicId: 'a b' })), 'INVALID_REQUEST');
        await expectStrataError(co.createTopic(topicMeta('t', { configs: { 'Bad Key': 1 } })), 'INVALID_CONFIG');
        await expectStrataError(co.createTopic(topicMeta('t', { configs: { 'x.y': { nested: 1 } as unknown as number } })), 'INVALID_CONFIG');
        await expectStrataError(co.createTopic(topicMeta('t', { configs: { 'x.y': Number.NaN } })), 'INVALID_CONFIG');
        await expectStrataError(co.createTopic(topicMeta('t', { configs: { 'x.y': 'v'.repeat(5000) } })), 'INVALID_CONFIG');
        await expectStrataError(co.createTopic(topicMeta('t', { configs: { 'x.y': 'a\r\nb' } })), 'INVALID_CONFIG');
        await expectStrataError(co.updateTopicConfigs('t', { set: { '../x': 1 } }), 'INVALID_CONFIG');
        const many: Record<string, number> = {};
        for (let i = 0; i < 300; i++) many[`k${i}`] = i;
        await expectStrataError(co.createTopic(topicMeta('t', { configs: many })), 'INVALID_CONFIG');
        expect(await target.footprint()).toBe(before);
      });

      it('lists every problem of a request at once', async () => {
        const e = await expectStrataError(co.createTopic({ ...topicMeta('a b'), partitions: -1, configs: { 'Bad Key': 1 } }), 'INVALID_TOPIC');
        expect((e.details?.['problems'] as unknown[]).length).toBe(3);
      });
    });

    // ---- controller -------------------------------------------------------------------------

    describe('controller lease', () => {
      it('grants a free lease, refuses it to others while held, renews and releases', async () => {
        const a = await co.acquireController({ brokerId: 'b1', ttlMs: 5000 });
        expect(a).toEqual({ acquired: true, epoch: 1 });
        const b = await co.acquireController({ brokerId: 'b2', ttlMs: 5000 });
        expect(b).toMatchObject({ acquired: false, reason: 'held', holder: 'b1', epoch: 1 });
        if (!b.acquired) expect(b.retryAfterMs).toBeGreaterThan(4000);
        expect(await co.getController()).toMatchObject({ holder: 'b1', epoch: 1 });
        expect(await co.renewController('b1', 1, 5000)).toBe(true);
        expect(await co.renewController('b2', 1, 5000)).toBe(false);
        expect(await co.releaseController('b2', 1)).toBe(false);
        expect(await co.releaseController('b1', 1)).toBe(true);
        expect(await co.getController()).toEqual({ holder: null, epoch: 1, remainingMs: 0 });
        expect(await co.acquireController({ brokerId: 'b2', ttlMs: 5000 })).toEqual({ acquired: true, epoch: 2 });
        expect(await co.renewController('b1', 1, 5000)).toBe(false);
      });

      it('grants an expired lease with a higher epoch, past the caller\'s known epoch', async () => {
        expect(await co.acquireController({ brokerId: 'b1', ttlMs: LEASE_MS })).toEqual({ acquired: true, epoch: 1 });
        await sleep(LEASE_MS + 50);
        expect(await co.renewController('b1', 1, LEASE_MS)).toBe(false);
        expect(await co.acquireController({ brokerId: 'b2', ttlMs: LEASE_MS, knownEpoch: 41 })).toEqual({ acquired: true, epoch: 42 });
        // The holder may take its own lease again: a new epoch every time.
        expect(await co.acquireController({ brokerId: 'b2', ttlMs: LEASE_MS })).toEqual({ acquired: true, epoch: 43 });
      });

      it('gives the lease to exactly one of many concurrent candidates', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => co.acquireController({ brokerId: `b${i}`, ttlMs: 5000 })));
        expect(results.filter((r) => r.acquired)).toHaveLength(1);
      });
    });

    // ---- producer ids -------------------------------------------------------------------------

    describe('producer ids', () => {
      it('hands out disjoint, increasing blocks to concurrent brokers, at or above the backend clock x PRODUCER_IDS_PER_MS', async () => {
        const before = Date.now();
        const blocks = await Promise.all(Array.from({ length: 8 }, (_, i) => co.allocateProducerIds(`b${i % 3}`, 1000)));
        const sorted = [...blocks].sort((a, b) => a.firstId - b.firstId);
        for (const block of sorted) expect(block.size).toBe(1000);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.firstId).toBeGreaterThanOrEqual(sorted[i - 1]!.firstId + 1000);
        // Within a few seconds of this machine's clock (the backend's clock may differ a little).
        expect(sorted[0]!.firstId).toBeGreaterThanOrEqual((before - 5_000) * PRODUCER_IDS_PER_MS);
        expect(Number.isSafeInteger(sorted.at(-1)!.firstId + 999)).toBe(true);
        const next = await co.allocateProducerIds('b1', 1);
        expect(next.firstId).toBeGreaterThanOrEqual(sorted.at(-1)!.firstId + 1000);
      });

      it('refuses a bad broker id or block size and writes nothing', async () => {
        const before = await target.footprint();
        for (const size of [0, -1, 1.5, LIMITS.producerIdBlockMax + 1, Number.NaN, '10' as unknown as number]) {
          await expectStrataError(co.allocateProducerIds('b1', size), 'INVALID_REQUEST');
        }
        await expectStrataError(co.allocateProducerIds('a b', 10), 'INVALID_REQUEST');
        expect(await target.footprint()).toBe(before);
      });
    });

    // ---- partitions ---------------------------------------------------------------------------

    describe('partition leadership', () => {
      it('has no state before an assignment, and the assignment is readable', async () => {
        expect(await co.getPartitionState('t', 0)).toBeNull();
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1', 'b2', 'b3'], controllerEpoch: 1 });
        expect(await co.getPartitionState('t', 0)).toEqual({
          topic: 't',
          partition: 0,
          topicId: TOPIC_ID,
          replicas: ['b1', 'b2', 'b3'],
          controllerEpoch: 1,
          leader: null,
          leaseRemainingMs: 0,
          leaderEpoch: 0,
          isr: [],
          highWatermark: 0,
          logStartOffset: 0,
          epochHistory: [],
        });
      });

      it('lets only the assigned leader of this topic id acquire', async () => {
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1', 'b2'], controllerEpoch: 1 });
        const req = { topicId: TOPIC_ID, brokerId: 'b2', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0 };
        expect(await co.acquireLeadership('t', 0, req)).toMatchObject({ acquired: false, reason: 'not-assigned' });
        expect(await co.acquireLeadership('t', 0, { ...req, brokerId: 'b1', topicId: 'old-id' })).toMatchObject({ acquired: false, reason: 'not-assigned' });
        expect(await co.acquireLeadership('t', 1, { ...req, brokerId: 'b1' })).toMatchObject({ acquired: false, reason: 'not-assigned' });
      });

      it('grants the lease with epoch 1 and records it in the history, ISR and leader', async () => {
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1', 'b2'], controllerEpoch: 1 });
        const got = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: 5000, startOffset: 0, knownEpoch: 0 });
        expect(got).toEqual({ acquired: true, epoch: 1 });
        const state = await co.getPartitionState('t', 0);
        expect(state).toMatchObject({ leader: 'b1', leaderEpoch: 1, isr: ['b1'], epochHistory: [{ epoch: 1, startOffset: 0, leader: 'b1' }] });
        expect(state!.leaseRemainingMs).toBeGreaterThan(4000);
      });

      it('does not let a lease be taken while it is held, and lets an expired one be taken with a higher epoch', async () => {
        const e1 = await leadership('t', 0, ['b1', 'b2']);
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b2', 'b1'], controllerEpoch: 2 });
        const req = { topicId: TOPIC_ID, brokerId: 'b2', ttlMs: LEASE_MS, startOffset: 100, knownEpoch: 0 };
        const held = await co.acquireLeadership('t', 0, req);
        expect(held).toMatchObject({ acquired: false, reason: 'held', holder: 'b1', epoch: e1 });
        if (!held.acquired) expect(held.retryAfterMs).toBeGreaterThan(0);
        await sleep(LEASE_MS + 50);
        expect(await co.renewLeadership('t', 0, 'b1', e1, LEASE_MS)).toBe(false);
        const got = await co.acquireLeadership('t', 0, req);
        expect(got).toEqual({ acquired: true, epoch: e1 + 1 });
        const state = await co.getPartitionState('t', 0);
        expect(state!.epochHistory).toEqual([
          { epoch: 1, startOffset: 0, leader: 'b1' },
          { epoch: 2, startOffset: 100, leader: 'b2' },
        ]);
        expect(state!.leader).toBe('b2');
      });

      it('clean election: a first grant puts every replica in the ISR', async () => {
        await co.setReplicas('t', 1, { topicId: TOPIC_ID, replicas: ['b1', 'b2', 'b3'], controllerEpoch: 1 });
        const got = await co.acquireLeadership('t', 1, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0, clean: true });
        expect(got).toEqual({ acquired: true, epoch: 1 });
        expect((await co.getPartitionState('t', 1))!.isr).toEqual(['b1', 'b2', 'b3']);
      });

      it('clean election: only a member of the ISR whose log reaches the high watermark is granted', async () => {
        const e1 = await leadership('t', 0, ['b1', 'b2', 'b3']);
        await co.updatePartitionState('t', 0, e1, { isr: ['b1', 'b2'], highWatermark: 50 });
        expect(await co.releaseLeadership('t', 0, 'b1', e1)).toBe(true);
        const req = { topicId: TOPIC_ID, ttlMs: LEASE_MS, knownEpoch: 0, clean: true };
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b3', 'b1', 'b2'], controllerEpoch: 2 });
        expect(await co.acquireLeadership('t', 0, { ...req, brokerId: 'b3', startOffset: 60 })).toMatchObject({ acquired: false, reason: 'not-in-isr' });
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b2', 'b1', 'b3'], controllerEpoch: 3 });
        // In the ISR, but its log ends below the high watermark (it lost its disk): refused too.
        expect(await co.acquireLeadership('t', 0, { ...req, brokerId: 'b2', startOffset: 40 })).toMatchObject({ acquired: false, reason: 'not-in-isr' });
        expect(await co.acquireLeadership('t', 0, { ...req, brokerId: 'b2', startOffset: 55 })).toEqual({ acquired: true, epoch: e1 + 1 });
        // The ISR is kept as it was (the new leader shrinks it); unclean election (the default) takes anyone.
        expect((await co.getPartitionState('t', 0))!.isr).toEqual(['b1', 'b2']);
        expect(await co.releaseLeadership('t', 0, 'b2', e1 + 1)).toBe(true);
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b3'], controllerEpoch: 4 });
        expect(await co.acquireLeadership('t', 0, { ...req, clean: false, brokerId: 'b3', startOffset: 0 })).toEqual({ acquired: true, epoch: e1 + 2 });
        expect((await co.getPartitionState('t', 0))!.isr).toEqual(['b3']);
      });

      it('keeps a renewed lease alive past its first TTL, and a released one is free at once', async () => {
        // Renewed with a longer lease than LEASE_MS: a loaded machine may stall a LEASE_MS / 3 sleep past LEASE_MS.
        const ttlMs = 5 * LEASE_MS;
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1'], controllerEpoch: 1 });
        const got = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs, startOffset: 0, knownEpoch: 0 });
        if (!got.acquired) throw new Error('b1 could not lead');
        const epoch = got.epoch;
        for (let i = 0; i < 4; i++) {
          await sleep(ttlMs / 3);
          expect(await co.renewLeadership('t', 0, 'b1', epoch, ttlMs)).toBe(true);
        }
        expect((await co.getPartitionState('t', 0))!.leader).toBe('b1');
        expect(await co.renewLeadership('t', 0, 'b2', epoch, LEASE_MS)).toBe(false);
        expect(await co.releaseLeadership('t', 0, 'b2', epoch)).toBe(false);
        expect(await co.releaseLeadership('t', 0, 'b1', epoch)).toBe(true);
        expect(await co.renewLeadership('t', 0, 'b1', epoch, LEASE_MS)).toBe(false);
        expect((await co.getPartitionState('t', 0))!.leader).toBeNull();
        const again = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0 });
        expect(again).toEqual({ acquired: true, epoch: epoch + 1 });
      });

      it('continues the leader epoch of a deleted topic when it is recreated, so a late write of the old leader is fenced', async () => {
        await co.createTopic(topicMeta('t', { partitions: 1 }));
        const old = await leadership('t', 0, ['b1']);
        const again = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0 });
        expect(again).toEqual({ acquired: true, epoch: old + 1 });
        expect(await co.deleteTopic('t')).toBe(true);
        expect(await co.getPartitionState('t', 0)).toBeNull();
        const recreated = topicMeta('t', { partitions: 1, topicId: 'second-incarnation' });
        await co.createTopic(recreated);
        await co.setReplicas('t', 0, { topicId: 'second-incarnation', replicas: ['b2'], controllerEpoch: 5 });
        const fresh = await co.acquireLeadership('t', 0, { topicId: 'second-incarnation', brokerId: 'b2', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0 });
        expect(fresh).toEqual({ acquired: true, epoch: old + 2 });
        // The deleted topic's leader, late, at its own epoch: refused.
        await expectStrataError(co.commitSegment('t', 0, segment(0, 9, old + 1)), 'FENCED_LEADER_EPOCH');
        expect((await co.loadManifest('t', 0)).segments).toEqual([]);
      });

      it('transfers a lease straight to the assigned leader, never leaving the partition without one', async () => {
        const e1 = await leadership('t', 0, ['b1']);
        // Not reassigned yet: nobody to hand to.
        expect(await co.transferLeadership('t', 0, { brokerId: 'b1', leaderEpoch: e1, ttlMs: LEASE_MS, startOffset: 7 })).toEqual({
          transferred: false,
          reason: 'no-successor',
        });
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b2'], controllerEpoch: 2 });
        // Only the holder at its epoch may hand it over.
        expect(await co.transferLeadership('t', 0, { brokerId: 'b2', leaderEpoch: e1, ttlMs: LEASE_MS, startOffset: 7 })).toEqual({ transferred: false, reason: 'fenced' });
        // Only to the expected successor, when one is named.
        expect(await co.transferLeadership('t', 0, { brokerId: 'b1', leaderEpoch: e1, ttlMs: LEASE_MS, startOffset: 7, successor: 'b9' })).toEqual({
          transferred: false,
          reason: 'successor-moved',
        });
        expect(await co.transferLeadership('t', 0, { brokerId: 'b1', leaderEpoch: e1, ttlMs: LEASE_MS, startOffset: 7 })).toEqual({
          transferred: true,
          epoch: e1 + 1,
          successor: 'b2',
        });
        const state = (await co.getPartitionState('t', 0))!;
        // b2 came from the bucket (it was not in the ISR): added to it; b1 stays until b2 shrinks it.
        expect(state).toMatchObject({ leader: 'b2', leaderEpoch: e1 + 1, isr: ['b2', 'b1'] });
        expect(state.epochHistory.at(-1)).toEqual({ epoch: e1 + 1, startOffset: 7, leader: 'b2' });
        // The old leader is fenced from here on; the successor takes the lease as its own.
        expect(await co.renewLeadership('t', 0, 'b1', e1, LEASE_MS)).toBe(false);
        await expectStrataError(co.commitSegment('t', 0, segment(0, 6, e1)), 'FENCED_LEADER_EPOCH');
        expect(await co.transferLeadership('t', 0, { brokerId: 'b1', leaderEpoch: e1, ttlMs: LEASE_MS, startOffset: 7 })).toEqual({ transferred: false, reason: 'fenced' });
        const own = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b2', ttlMs: LEASE_MS, startOffset: 7, knownEpoch: e1 + 1 });
        expect(own).toEqual({ acquired: true, epoch: e1 + 2 });
        const before = await target.footprint();
        await expectStrataError(co.transferLeadership('t', 0, { brokerId: 'b2', leaderEpoch: e1 + 2, ttlMs: 0, startOffset: -1 }), 'INVALID_REQUEST');
        expect(await target.footprint()).toBe(before);
      });

      // A broker stopping while a leader handed it a partition never took the lease up; the controller
      // then named another replica. Once the lease expired, the in-sync replicas must still be
      // electable (the ISR was the successor alone: the partition stayed without a leader).
      it('keeps the ISR through a transfer: a successor that never takes the lease up strands nothing', async () => {
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1', 'b2', 'b3'], controllerEpoch: 1 });
        const clean = { topicId: TOPIC_ID, ttlMs: LEASE_MS, knownEpoch: 0, clean: true };
        expect(await co.acquireLeadership('t', 0, { ...clean, brokerId: 'b1', startOffset: 0 })).toEqual({ acquired: true, epoch: 1 });
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b3', 'b2', 'b1'], controllerEpoch: 2 });
        expect(await co.transferLeadership('t', 0, { brokerId: 'b1', leaderEpoch: 1, ttlMs: LEASE_MS, startOffset: 0, successor: 'b3' })).toEqual({
          transferred: true,
          epoch: 2,
          successor: 'b3',
        });
        expect((await co.getPartitionState('t', 0))!.isr).toEqual(['b1', 'b2', 'b3']);
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b2', 'b1'], controllerEpoch: 3 });
        await sleep(LEASE_MS + 50);
        expect(await co.acquireLeadership('t', 0, { ...clean, brokerId: 'b2', startOffset: 0, knownEpoch: 2 })).toEqual({ acquired: true, epoch: 3 });
      });

      it('bumps the epoch past the caller\'s known epoch, and epochs strictly increase', async () => {
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1'], controllerEpoch: 1 });
        const seen: number[] = [];
        for (const knownEpoch of [0, 41, 0, 10]) {
          const got = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: seen.length * 10, knownEpoch });
          if (got.acquired) seen.push(got.epoch);
        }
        expect(seen).toEqual([1, 42, 43, 44]);
        expect((await co.getPartitionState('t', 0))!.epochHistory.map((e) => e.epoch)).toEqual([1, 42, 43, 44]);
      });

      it('drops history entries the new leader\'s log does not cover', async () => {
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1'], controllerEpoch: 1 });
        const req = { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0 };
        await co.acquireLeadership('t', 0, req);
        await co.acquireLeadership('t', 0, { ...req, startOffset: 50 });
        await co.acquireLeadership('t', 0, { ...req, startOffset: 80 });
        await co.acquireLeadership('t', 0, { ...req, startOffset: 60 });
        expect((await co.getPartitionState('t', 0))!.epochHistory).toEqual([
          { epoch: 1, startOffset: 0, leader: 'b1' },
          { epoch: 2, startOffset: 50, leader: 'b1' },
          { epoch: 4, startOffset: 60, leader: 'b1' },
        ]);
      });

      it('refuses an acquisition whose log ends below the log start', async () => {
        const epoch = await leadership('t', 0, ['b1']);
        await co.updatePartitionState('t', 0, epoch, { logStartOffset: 100 });
        await expectStrataError(
          co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 99, knownEpoch: 0 }),
          'INVALID_REQUEST',
          'BELOW_LOG_START',
        );
        expect((await co.getPartitionState('t', 0))!.leaderEpoch).toBe(epoch);
      });

      it('fences state updates by leader epoch', async () => {
        const e1 = await leadership('t', 0, ['b1', 'b2']);
        await co.updatePartitionState('t', 0, e1, { isr: ['b1', 'b2'], highWatermark: 10 });
        await co.releaseLeadership('t', 0, 'b1', e1);
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b2', 'b1'], controllerEpoch: 2 });
        const e2 = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b2', ttlMs: LEASE_MS, startOffset: 10, knownEpoch: 0 });
        expect(e2).toEqual({ acquired: true, epoch: e1 + 1 });
        const before = await target.footprint();
        const e = await expectStrataError(co.updatePartitionState('t', 0, e1, { highWatermark: 20 }), 'FENCED_LEADER_EPOCH', 'FENCED_LEADER_EPOCH');
        expect(e.details).toMatchObject({ epoch: e1, currentEpoch: e1 + 1, topic: 't', partition: 0 });
        await expectStrataError(co.advanceLogStart('t', 0, e1, 5), 'FENCED_LEADER_EPOCH');
        expect(await target.footprint()).toBe(before);
        expect(await co.updatePartitionState('t', 0, e1 + 1, { highWatermark: 20 })).toMatchObject({ highWatermark: 20, isr: ['b1', 'b2'] });
      });

      it('refuses an epoch it never granted, remembers it, and never grants it', async () => {
        const e1 = await leadership('t', 0, ['b1']);
        // As after a backend that lost the grant of epoch e1 + 5 to someone:
        await expectStrataError(co.updatePartitionState('t', 0, e1 + 5, { highWatermark: 1 }), 'FENCED_LEADER_EPOCH', 'EPOCH_FORGOTTEN_BY_COORDINATOR');
        await expectStrataError(co.updatePartitionState('t', 0, e1 + 5, { highWatermark: 1 }), 'FENCED_LEADER_EPOCH', 'EPOCH_FORGOTTEN_BY_COORDINATOR');
        await expectStrataError(co.commitSegment('t', 0, segment(0, 1, e1 + 5)), 'FENCED_LEADER_EPOCH');
        expect(await co.renewLeadership('t', 0, 'b1', e1 + 5, LEASE_MS)).toBe(false);
        await expectStrataError(co.updatePartitionState('t', 0, e1, { highWatermark: 1 }), 'FENCED_LEADER_EPOCH', 'FENCED_LEADER_EPOCH');
        expect(await co.releaseLeadership('t', 0, 'b1', e1)).toBe(false);
        const next = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0 });
        expect(next).toEqual({ acquired: true, epoch: e1 + 6 });
      });

      it('keeps the ISR a subset of the replicas containing the leader, and the HW at or above the log start', async () => {
        const epoch = await leadership('t', 0, ['b1', 'b2', 'b3']);
        expect(await co.updatePartitionState('t', 0, epoch, { isr: ['b1', 'b3'], highWatermark: 50 })).toEqual({
          isr: ['b1', 'b3'],
          highWatermark: 50,
          logStartOffset: 0,
          removed: [],
        });
        const before = await target.footprint();
        await expectStrataError(co.updatePartitionState('t', 0, epoch, { isr: ['b2', 'b3'] }), 'INVALID_REQUEST', 'INVALID_ISR');
        await expectStrataError(co.updatePartitionState('t', 0, epoch, { isr: ['b1', 'b9'] }), 'INVALID_REQUEST', 'INVALID_ISR');
        await expectStrataError(co.updatePartitionState('t', 0, epoch, { isr: ['b1', 'b1'] }), 'INVALID_REQUEST');
        await expectStrataError(co.updatePartitionState('t', 0, epoch, { highWatermark: 5, logStartOffset: 10 }), 'INVALID_REQUEST', 'BELOW_LOG_START');
        expect(await target.footprint()).toBe(before);
        // The log start moves forward only, and pulls the HW along.
        expect(await co.updatePartitionState('t', 0, epoch, { logStartOffset: 70 })).toMatchObject({ logStartOffset: 70, highWatermark: 70 });
        expect(await co.updatePartitionState('t', 0, epoch, { logStartOffset: 20 })).toMatchObject({ logStartOffset: 70 });
      });

      it('fences assignments by controller epoch, and resets a state left by an earlier topic id', async () => {
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1'], controllerEpoch: 5 });
        const before = await target.footprint();
        await expectStrataError(co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b2'], controllerEpoch: 4 }), 'FENCED_LEADER_EPOCH', 'STALE_CONTROLLER_EPOCH');
        expect(await target.footprint()).toBe(before);
        const got = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: 5000, startOffset: 0, knownEpoch: 7 });
        expect(got).toEqual({ acquired: true, epoch: 8 });
        await co.commitSegment('t', 0, segment(0, 9, 8));
        await co.setReplicas('t', 0, { topicId: 'tid-new', replicas: ['b2'], controllerEpoch: 5 });
        const state = await co.getPartitionState('t', 0);
        expect(state).toMatchObject({ topicId: 'tid-new', replicas: ['b2'], leader: null, leaderEpoch: 8, epochHistory: [], logStartOffset: 0 });
        expect(await co.loadManifest('t', 0)).toEqual({ epoch: 0, logStartOffset: 0, segments: [] });
        const next = await co.acquireLeadership('t', 0, { topicId: 'tid-new', brokerId: 'b2', ttlMs: 5000, startOffset: 0, knownEpoch: 0 });
        expect(next).toEqual({ acquired: true, epoch: 9 });
      });

      it('refuses malformed partition calls before anything is stored', async () => {
        await co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1'], controllerEpoch: 1 });
        const before = await target.footprint();
        const req = { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 0, knownEpoch: 0 };
        await expectStrataError(co.getPartitionState('t', -1), 'INVALID_REQUEST');
        await expectStrataError(co.getPartitionState('t', 1.5), 'INVALID_REQUEST');
        await expectStrataError(co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: [], controllerEpoch: 1 }), 'INVALID_REQUEST');
        await expectStrataError(co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b1', 'b1'], controllerEpoch: 1 }), 'INVALID_REQUEST');
        await expectStrataError(co.setReplicas('t', 0, { topicId: TOPIC_ID, replicas: ['b,1'], controllerEpoch: 1 }), 'INVALID_REQUEST');
        await expectStrataError(co.acquireLeadership('t', 0, { ...req, ttlMs: 10 * 60 * 60 * 1000 }), 'INVALID_REQUEST');
        await expectStrataError(co.acquireLeadership('t', 0, { ...req, knownEpoch: 2 ** 31 }), 'INVALID_REQUEST');
        await expectStrataError(co.acquireLeadership('t', 0, { ...req, startOffset: -1 }), 'INVALID_REQUEST');
        await expectStrataError(co.acquireLeadership('t', 0, { ...req, brokerId: 'b:1' }), 'INVALID_REQUEST');
        await expectStrataError(co.updatePartitionState('t', 0, 0, { highWatermark: 1 }), 'INVALID_REQUEST');
        await expectStrataError(co.updatePartitionState('t', 0, 1, { highWatermark: 2 ** 53 }), 'INVALID_REQUEST');
        expect(await target.footprint()).toBe(before);
      });
    });

    // ---- manifest -----------------------------------------------------------------------------

    describe('remote manifest', () => {
      it('is empty before anything was committed', async () => {
        expect(await co.loadManifest('t', 0)).toEqual({ epoch: 0, logStartOffset: 0, segments: [] });
      });

      it('commits contiguous segments; the first may start past the log start and moves it', async () => {
        const epoch = await leadership('t', 0, ['b1']);
        expect(await co.commitSegment('t', 0, segment(100, 199, epoch))).toEqual({ logStartOffset: 100, endOffset: 200 });
        expect(await co.commitSegment('t', 0, segment(200, 250, epoch))).toEqual({ logStartOffset: 100, endOffset: 251 });
        const manifest = await co.loadManifest('t', 0);
        expect(manifest).toEqual({ epoch, logStartOffset: 100, segments: [segment(100, 199, epoch), segment(200, 250, epoch)] });
        expect((await co.getPartitionState('t', 0))!.logStartOffset).toBe(100);
      });

      it('refuses gaps and overlaps, changing nothing', async () => {
        const epoch = await leadership('t', 0, ['b1']);
        await co.commitSegment('t', 0, segment(0, 99, epoch));
        const before = await target.footprint();
        const gap = await expectStrataError(co.commitSegment('t', 0, segment(101, 200, epoch)), 'INVALID_REQUEST', 'NOT_CONTIGUOUS');
        expect(gap.details).toMatchObject({ endOffset: 100, baseOffset: 101 });
        await expectStrataError(co.commitSegment('t', 0, segment(50, 150, epoch)), 'INVALID_REQUEST', 'NOT_CONTIGUOUS');
        await expectStrataError(co.commitSegment('t', 0, segment(0, 99, epoch, { key: 'topics/t/0/other.seg' })), 'INVALID_REQUEST', 'NOT_CONTIGUOUS');
        await expectStrataError(co.commitSegment('t', 0, segment(200, 100, epoch)), 'INVALID_REQUEST');
        expect(await target.footprint()).toBe(before);
      });

      it('treats the same segment committed again as a retry (no-op)', async () => {
        const epoch = await leadership('t', 0, ['b1']);
        await co.commitSegment('t', 0, segment(0, 99, epoch));
        await co.commitSegment('t', 0, segment(100, 199, epoch));
        expect(await co.commitSegment('t', 0, segment(0, 99, epoch))).toEqual({ logStartOffset: 0, endOffset: 200 });
        expect((await co.loadManifest('t', 0)).segments).toHaveLength(2);
      });

      it('fences commits by the uploader\'s leader epoch', async () => {
        const e1 = await leadership('t', 0, ['b1']);
        await co.commitSegment('t', 0, segment(0, 99, e1));
        const e2 = await co.acquireLeadership('t', 0, { topicId: TOPIC_ID, brokerId: 'b1', ttlMs: LEASE_MS, startOffset: 100, knownEpoch: 0 });
        expect(e2).toEqual({ acquired: true, epoch: e1 + 1 });
        const before = await target.footprint();
        await expectStrataError(co.commitSegment('t', 0, segment(100, 199, e1)), 'FENCED_LEADER_EPOCH', 'FENCED_LEADER_EPOCH');
        expect(await target.footprint()).toBe(before);
        await co.commitSegment('t', 0, segment(100, 199, e1 + 1));
        expect((await co.loadManifest('t', 0)).epoch).toBe(e1 + 1);
      });

      it('advances the log start (fenced, forward only), removing and returning the segments wholly below it', async () => {
        const epoch = await leadership('t', 0, ['b1']);
        for (const [b, l] of [[0, 99], [100, 199], [200, 299]] as const) await co.commitSegment('t', 0, segment(b, l, epoch));
        const first = await co.advanceLogStart('t', 0, epoch, 150);
        expect(first).toEqual({ logStartOffset: 150, removed: [segment(0, 99, epoch)] });
        expect(await co.loadManifest('t', 0)).toEqual({ epoch, logStartOffset: 150, segments: [segment(100, 199, epoch), segment(200, 299, epoch)] });
        expect(await co.advanceLogStart('t', 0, epoch, 120)).toEqual({ logStartOffset: 150, removed: [] });
        expect(await co.advanceLogStart('t', 0, epoch, 300)).toEqual({ logStartOffset: 300, removed: [segment(100, 199, epoch), segment(200, 299, epoch)] });
        // Empty again: the next segment continues at the log start.
        await expectStrataError(co.commitSegment('t', 0, segment(299, 310, epoch)), 'INVALID_REQUEST', 'NOT_CONTIGUOUS');
        expect(await co.commitSegment('t', 0, segment(300, 310, epoch))).toEqual({ logStartOffset: 300, endOffset: 311 });
      });

      it('keeps offsets near 2^53 exact', async () => {
        const big = Number.MAX_SAFE_INTEGER - 1000;
        const epoch = await leadership('t', 0, ['b1'], big);
        const s = segment(big, big + 499, epoch, { maxTimestamp: 8_640_000_000_000_000 / 1000, uploadedAtMs: 4_102_444_800_000 });
        expect(await co.commitSegment('t', 0, s)).toEqual({ logStartOffset: big, endOffset: big + 500 });
        expect(await co.commitSegment('t', 0, segment(big + 500, Number.MAX_SAFE_INTEGER - 1, epoch))).toEqual({
          logStartOffset: big,
          endOffset: Number.MAX_SAFE_INTEGER,
        });
        expect((await co.loadManifest('t', 0)).segments[0]).toEqual(s);
        expect(await co.updatePartitionState('t', 0, epoch, { highWatermark: Number.MAX_SAFE_INTEGER })).toMatchObject({ highWatermark: Number.MAX_SAFE_INTEGER });
        const state = await co.getPartitionState('t', 0);
        expect(state).toMatchObject({ logStartOffset: big, highWatermark: Number.MAX_SAFE_INTEGER, epochHistory: [{ epoch, startOffset: big, leader: 'b1' }] });
        expect((await co.advanceLogStart('t', 0, epoch, big + 500)).removed).toEqual([s]);
      });
    });

    // ---- groups -------------------------------------------------------------------------------

    // ---- groups -------------------------------------------------------------------------------

    describe('consumer groups', () => {
      const SESSION_MS = 10_000;
      const COUNTS = { a: 12, b: 4 };

      /** A well-behaved client: owns what it was given, and says so in every heartbeat. */
      interface Client {
        id: string;
        epoch: number;
        owned: TopicPartitions[];
        topics: string[];
      }

      async function join(group: string, id: string, topics: string[] = ['a'], extra: Partial<GroupHeartbeatRequest> = {}): Promise<Client> {
        const r = await co.groupHeartbeat(group, { memberId: id, memberEpoch: 0, subscribedTopics: topics, sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS, ...extra });
        expect(r.memberId).toBe(id);
        return { id, epoch: r.memberEpoch, owned: r.assignment, topics };
      }

      async function beat(group: string, c: Client, extra: Partial<GroupHeartbeatRequest> = {}): Promise<Client> {
        const r = await co.groupHeartbeat(group, { memberId: c.id, memberEpoch: c.epoch, ownedPartitions: c.owned, sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS, ...extra });
        expect(r.memberEpoch).toBeGreaterThanOrEqual(c.epoch);
        c.epoch = r.memberEpoch;
        c.owned = r.assignment;
        return c;
      }

      /** Heartbeats every client in rounds until the group is stable. */
      async function settle(group: string, clients: Client[], roundsMax = 10, topicPartitions: Record<string, number> = COUNTS): Promise<GroupDescription> {
        for (let round = 0; round < roundsMax; round++) {
          for (const c of clients) await beat(group, c, { topicPartitions });
          const d = (await co.describeGroup(group))!;
          expectExclusive(d);
          if (d.state === 'stable') return d;
        }
        throw new Error(`group ${group} is not stable after ${roundsMax} rounds`);
      }

      const counts = (d: GroupDescription) => d.members.map((m) => flat(m.assignment).length);
      const targetOf = (d: GroupDescription) => new Map(d.members.flatMap((m) => flat(m.target).map((k) => [k, m.memberId] as const)));

      it('gives a lone member every partition at once, and describes the group', async () => {
        expect(await co.describeGroup('g')).toBeNull();
        const r = await co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['a', 'b'], sessionTimeoutMs: 9000, topicPartitions: { a: 2, b: 1 }, clientId: 'app-1' });
        // A join is answered with the short interval (members started together join moments apart).
        expect(r).toEqual({
          memberId: 'm1',
          memberEpoch: 1,
          groupEpoch: 1,
          heartbeatIntervalMs: COORDINATOR_DEFAULTS.groupReconcilingHeartbeatIntervalMs,
          assignment: [{ topic: 'a', partitions: [0, 1] }, { topic: 'b', partitions: [0] }],
        });
        const steady = await co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 1, ownedPartitions: r.assignment, topicPartitions: { a: 2, b: 1 } });
        expect(steady.heartbeatIntervalMs).toBe(3000); // stable: a third of the session
        const d = await co.describeGroup('g');
        expect(d).toMatchObject({
          group: 'g',
          groupEpoch: 1,
          assignmentEpoch: 1,
          state: 'stable',
          topicPartitions: { a: 2, b: 1 },
          members: [{ memberId: 'm1', clientId: 'app-1', memberEpoch: 1, subscribedTopics: ['a', 'b'], pendingRevocation: [], sessionTimeoutMs: 9000, rebalanceTimeoutMs: 300_000 }],
        });
        expect(d!.members[0]!.target).toEqual(d!.members[0]!.assignment);
        expect(d!.members[0]!.lastHeartbeatAtMs).toBeGreaterThan(1_600_000_000_000);
        // A heartbeat that changes nothing keeps the epochs.
        expect(await co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 1, sessionTimeoutMs: 9000, topicPartitions: { a: 2, b: 1 } })).toMatchObject({ memberEpoch: 1, groupEpoch: 1 });
        expect(await co.listGroups()).toEqual([{ group: 'g', members: 1, state: 'stable', type: 'consumer', protocolType: 'consumer' }]);
      });

      it('balances 12 partitions 4/4/4; a 4th member moves exactly 3; a leaver moves only its own', async () => {
        const clients = [await join('g', 'm1'), await join('g', 'm2'), await join('g', 'm3')];
        let d = await settle('g', clients);
        expect(counts(d)).toEqual([4, 4, 4]);
        const before = targetOf(d);
        clients.push(await join('g', 'm4'));
        d = (await co.describeGroup('g'))!;
        const after = targetOf(d);
        expect([...after].filter(([k, m]) => before.get(k) !== m).map(([, m]) => m)).toEqual(['m4', 'm4', 'm4']);
        d = await settle('g', clients);
        expect(counts(d)).toEqual([3, 3, 3, 3]);
        const stable = targetOf(d);
        expect(await co.leaveGroup('g', 'm2')).toBe(true);
        expect(await co.leaveGroup('g', 'm2')).toBe(false);
        const rest = clients.filter((c) => c.id !== 'm2');
        d = await settle('g', rest);
        expect(counts(d)).toEqual([4, 4, 4]);
        for (const [k, m] of targetOf(d)) if (stable.get(k) !== 'm2') expect(m).toBe(stable.get(k));
        expect(flat(d.members.flatMap((m) => m.assignment))).toHaveLength(12);
      });

      it('hands a partition over only after its old owner released it, revoking first', async () => {
        const m1 = await join('g', 'm1');
        expect(flat(m1.owned)).toHaveLength(12);
        const m2 = await join('g', 'm2');
        // m1 still owns everything: m2 is at the new epoch but gets nothing yet.
        expect(m2.owned).toEqual([]);
        expect(m2.epoch).toBe(2);
        let d = (await co.describeGroup('g'))!;
        expect(d.state).toBe('reconciling');
        expect(flat(d.members[1]!.target)).toHaveLength(6);
        // m1 is told its smaller assignment; its epoch waits for the release.
        await beat('g', m1);
        expect(flat(m1.owned)).toHaveLength(6);
        expect(m1.epoch).toBe(1);
        d = (await co.describeGroup('g'))!;
        expect(flat(d.members[0]!.pendingRevocation)).toHaveLength(6);
        expectExclusive(d);
        expect((await beat('g', m2)).owned).toEqual([]);
        // A heartbeat that still reports the revoked partitions releases nothing.
        const stale = await co.groupHeartbeat('g', {
          memberId: 'm1',
          memberEpoch: 1,
          ownedPartitions: [{ topic: 'a', partitions: [...Array(12).keys()] }],
          sessionTimeoutMs: SESSION_MS,
          topicPartitions: COUNTS,
        });
        expect(stale.memberEpoch).toBe(1);
        expect((await beat('g', m2)).owned).toEqual([]);
        // m1 leaves them out: released, m1 reaches epoch 2, and m2 takes them on its next heartbeat.
        await beat('g', m1);
        expect(m1.epoch).toBe(2);
        await beat('g', m2);
        expect(flat(m2.owned)).toHaveLength(6);
        d = (await co.describeGroup('g'))!;
        expect(d.state).toBe('stable');
        expect(new Set([...flat(m1.owned), ...flat(m2.owned)]).size).toBe(12);
      });

      it('expires a silent member by the backend clock; its partitions go to the others at once; a zombie cannot commit', async () => {
        const m1 = await join('g', 'm1');
        const m2 = await join('g', 'm2');
        await settle('g', [m1, m2]);
        await target.elapse('g', SESSION_MS / 2);
        await beat('g', m1);
        await target.elapse('g', SESSION_MS / 2 + 1);
        // m2 has been silent for a whole session: the next call removes it.
        const before = m1.epoch;
        await beat('g', m1);
        expect(flat(m1.owned)).toHaveLength(12);
        expect(m1.epoch).toBeGreaterThan(before);
        await expectStrataError(co.commitOffsets('g', { memberId: 'm2', memberEpoch: m2.epoch }, [{ topic: 'a', partition: 0, offset: 1 }]), 'UNKNOWN_MEMBER_ID', 'UNKNOWN_MEMBER_ID');
        await expectStrataError(beat('g', m2), 'UNKNOWN_MEMBER_ID', 'UNKNOWN_MEMBER_ID');
        // Expiry needs no heartbeat of anyone: a describe sweeps too.
        await target.elapse('g', SESSION_MS);
        expect(await co.describeGroup('g')).toMatchObject({ state: 'empty', members: [] });
      });

      // Issue #15: a second member got its share only after ~3.4 s, the first member's steady heartbeat.
      it('answers the short heartbeat interval after a join and to every member while the group reconciles', async () => {
        const short = COORDINATOR_DEFAULTS.groupReconcilingHeartbeatIntervalMs;
        const steadyMs = Math.floor(SESSION_MS / 3);
        const m1 = await join('g', 'm1');
        let d = await settle('g', [m1]);
        expect((await co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: m1.epoch, ownedPartitions: m1.owned, topicPartitions: COUNTS })).heartbeatIntervalMs).toBe(steadyMs);
        const r2 = await co.groupHeartbeat('g', { memberId: 'm2', memberEpoch: 0, subscribedTopics: ['a'], sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS });
        expect(r2.heartbeatIntervalMs).toBe(short);
        const m2: Client = { id: 'm2', epoch: r2.memberEpoch, owned: r2.assignment, topics: ['a'] };
        // m1 must give up half: it is told to come back soon, and so is m2, which waits for them.
        const a1 = await co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: m1.epoch, ownedPartitions: m1.owned, topicPartitions: COUNTS });
        expect(a1.heartbeatIntervalMs).toBe(short);
        const a2 = await co.groupHeartbeat('g', { memberId: 'm2', memberEpoch: m2.epoch, ownedPartitions: m2.owned, topicPartitions: COUNTS });
        expect(a2.heartbeatIntervalMs).toBe(short);
        m1.epoch = a1.memberEpoch;
        m1.owned = a1.assignment;
        m2.epoch = a2.memberEpoch;
        m2.owned = a2.assignment;
        d = await settle('g', [m1, m2]);
        expect(counts(d)).toEqual([6, 6]);
        const calm = await co.groupHeartbeat('g', { memberId: 'm2', memberEpoch: m2.epoch, ownedPartitions: m2.owned, topicPartitions: COUNTS });
        expect(calm.heartbeatIntervalMs).toBe(steadyMs);
      });

      it('keeps the session timeout a member joined with when a heartbeat leaves it out; a join that leaves it out gets the default', async () => {
        // Regression (issue #11): a heartbeat without sessionTimeoutMs reset it to 45 s, so a member
        // that joined with 6 s and then went silent kept its partitions for 45 s. Omitted means unchanged.
        const joined = await co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['a'], sessionTimeoutMs: 6000, topicPartitions: COUNTS });
        expect(joined.heartbeatIntervalMs).toBe(COORDINATOR_DEFAULTS.groupReconcilingHeartbeatIntervalMs);
        const m1: Client = { id: 'm1', epoch: joined.memberEpoch, owned: joined.assignment, topics: ['a'] };
        const r2 = await co.groupHeartbeat('g', { memberId: 'm2', memberEpoch: 0, subscribedTopics: ['a'], topicPartitions: COUNTS });
        const m2: Client = { id: 'm2', epoch: r2.memberEpoch, owned: r2.assignment, topics: ['a'] };
        /** A heartbeat that says nothing of its session timeout. */
        const quiet = async (c: Client): Promise<GroupHeartbeatResponse> => {
          const r = await co.groupHeartbeat('g', { memberId: c.id, memberEpoch: c.epoch, ownedPartitions: c.owned, topicPartitions: COUNTS });
          c.epoch = r.memberEpoch;
          c.owned = r.assignment;
          return r;
        };
        for (let round = 0; round < 10 && (await co.describeGroup('g'))!.state !== 'stable'; round++) {
          expect((await quiet(m1)).heartbeatIntervalMs).toBe(COORDINATOR_DEFAULTS.groupReconcilingHeartbeatIntervalMs);
          await quiet(m2);
        }
        const d = (await co.describeGroup('g'))!;
        expect(d.state).toBe('stable');
        expect((await quiet(m1)).heartbeatIntervalMs).toBe(2000); // stable: a third of the 6 s it joined with
        expect(d.members.map((m) => [m.memberId, m.sessionTimeoutMs])).toEqual([
          ['m1', 6000],
          ['m2', COORDINATOR_DEFAULTS.groupSessionTimeoutMs],
        ]);
        // m1 goes silent: after 6 s (not 45) its partitions go to m2.
        await target.elapse('g', 5000);
        await quiet(m2);
        expect(flat(m2.owned)).toHaveLength(6);
        await target.elapse('g', 1001);
        await quiet(m2);
        expect(flat(m2.owned)).toHaveLength(12);
        await expectStrataError(quiet(m1), 'UNKNOWN_MEMBER_ID', 'UNKNOWN_MEMBER_ID');
      });

      it('removes a member that does not give up its partitions within its rebalance timeout', async () => {
        const m1 = await join('g', 'm1', ['a'], { rebalanceTimeoutMs: 5000 });
        const m2 = await join('g', 'm2');
        await beat('g', m1); // told to give up 6
        expect(flat(m1.owned)).toHaveLength(6);
        m1.owned = [{ topic: 'a', partitions: [...Array(12).keys()] }]; // keeps reporting them all
        await target.elapse('g', 3000);
        await beat('g', m1);
        await beat('g', m2);
        expect(m2.owned).toEqual([]);
        await target.elapse('g', 2001);
        await beat('g', m2);
        expect(flat(m2.owned)).toHaveLength(12);
        await expectStrataError(beat('g', m1), 'UNKNOWN_MEMBER_ID', 'UNKNOWN_MEMBER_ID');
      });

      it('fences a heartbeat at a wrong epoch; accepts the previous one with a subset of the assignment; a rejoin gets a fresh epoch', async () => {
        const m1 = await join('g', 'm1');
        const m2 = await join('g', 'm2');
        await settle('g', [m1, m2]);
        expect(m1.epoch).toBe(2);
        const e = await expectStrataError(
          co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 7, sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS }),
          'FENCED_MEMBER_EPOCH',
          'FENCED_MEMBER_EPOCH',
        );
        expect(e.details).toMatchObject({ group: 'g', memberId: 'm1', memberEpoch: 7, currentEpoch: 2 });
        // Epoch 1 was m1's previous epoch: it passes with a subset of its assignment, not without one.
        await expectStrataError(co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 1, sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS }), 'FENCED_MEMBER_EPOCH', 'FENCED_MEMBER_EPOCH');
        await expectStrataError(
          co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 1, ownedPartitions: [{ topic: 'a', partitions: [...Array(12).keys()] }], sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS }),
          'FENCED_MEMBER_EPOCH',
          'FENCED_MEMBER_EPOCH',
        );
        expect(await co.groupHeartbeat('g', { memberId: 'm1', memberEpoch: 1, ownedPartitions: m1.owned, sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS })).toMatchObject({
          memberEpoch: 2,
        });
        await expectStrataError(co.groupHeartbeat('g', { memberId: 'nobody', memberEpoch: 2, sessionTimeoutMs: SESSION_MS, topicPartitions: COUNTS }), 'UNKNOWN_MEMBER_ID', 'UNKNOWN_MEMBER_ID');
        // A fenced member rejoins with epoch 0: it owns nothing now, and gets its partitions back at a new epoch.
        const again = await join('g', 'm1');
        expect(again.epoch).toBe(3);
        expect(flat(again.owned)).toEqual(flat(m1.owned));
        await expectStrataError(co.commitOffsets('g', { memberId: 'm1', memberEpoch: 2 }, [{ topic: 'a', partition: 0, offset: 1 }]), 'FENCED_MEMBER_EPOCH', 'FENCED_MEMBER_EPOCH');
      });

      it('bumps the group epoch on a subscription change and on a partition count change, not otherwise', async () => {
        const m1 = await join('g', 'm1', ['a']);
        const m2 = await join('g', 'm2', ['a']);
        await settle('g', [m1, m2]);
        expect((await co.describeGroup('g'))!.groupEpoch).toBe(2);
        await beat('g', m2, { subscribedTopics: ['a'] });
        expect((await co.describeGroup('g'))!.groupEpoch).toBe(2);
        await beat('g', m2, { subscribedTopics: ['b', 'a'] });
        let d = await settle('g', [m1, m2]);
        expect(d.groupEpoch).toBe(3);
        expect(d.members[1]!.subscribedTopics).toEqual(['a', 'b']);
        expect(flat(d.members[0]!.assignment).every((k) => k.startsWith('a/'))).toBe(true);
        expect(counts(d)).toEqual([8, 8]);
        // b grows to 6 partitions: seen on the next heartbeat that says so.
        await beat('g', m1, { topicPartitions: { a: 12, b: 6 } });
        d = await settle('g', [m1, m2], 10, { a: 12, b: 6 });
        expect(d.groupEpoch).toBe(4);
        expect(d.topicPartitions).toEqual({ a: 12, b: 6 });
        // A topic the caller does not know gets no partitions.
        const m3 = await join('g', 'm3', ['c'], { topicPartitions: { a: 12, b: 6 } });
        expect(m3.owned).toEqual([]);
        expect((await co.describeGroup('g'))!.topicPartitions).toMatchObject({ c: 0 });
      });

      it('keeps members with the same subscription within one partition of each other under mixed subscriptions', async () => {
        const clients = [await join('g', 'x1', ['a']), await join('g', 'x2', ['a', 'b']), await join('g', 'x3', ['a']), await join('g', 'x4', ['b']), await join('g', 'x5', ['a', 'b'])];
        const d = await settle('g', clients);
        const byClass = new Map<string, number[]>();
        for (const m of d.members) byClass.set(m.subscribedTopics.join(','), [...(byClass.get(m.subscribedTopics.join(',')) ?? []), flat(m.assignment).length]);
        for (const list of byClass.values()) expect(Math.max(...list) - Math.min(...list)).toBeLessThanOrEqual(1);
        expect(flat(d.members.flatMap((m) => m.assignment))).toHaveLength(16);
        for (const m of d.members) for (const tp of m.assignment) expect(m.subscribedTopics).toContain(tp.topic);
      });

      it('keeps partitions exclusive and epochs growing through a seeded random interleaving, then converges', async () => {
        const random = prng(848);
        const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
        const counts2 = { a: 6, b: 4 };
        const live: (Client & { stalled: boolean; slow: boolean })[] = [];
        const lastEpoch = new Map<string, number>();
        let next = 0;
        let groupEpoch = 0;
        const fresh = async () => {
          const topics = pick([['a'], ['a', 'b'], ['b', 'a']]);
          const c = await join('r', `m${next++}`, topics, { topicPartitions: counts2, rebalanceTimeoutMs: 8000 });
          live.push({ ...c, stalled: false, slow: random() < 0.3 });
        };
        for (let step = 0; step < 300; step++) {
          await target.elapse('r', 1000);
          const roll = random();
          if (live.length < 3 || (roll < 0.1 && live.length < 6)) await fresh();
          else if (roll < 0.15) {
            const c = pick(live);
            await co.leaveGroup('r', c.id);
            live.splice(live.indexOf(c), 1);
          } else if (roll < 0.2) pick(live).stalled = true;
          else if (roll < 0.25) {
            // A stale heartbeat: the epoch before, with what the client owns. Accepted or fenced, never harmful.
            const c = pick(live);
            await co.groupHeartbeat('r', { memberId: c.id, memberEpoch: Math.max(1, c.epoch - 1), ownedPartitions: c.owned, sessionTimeoutMs: SESSION_MS, topicPartitions: counts2 }).catch((e: StrataError) => {
              expect(['FENCED_MEMBER_EPOCH', 'UNKNOWN_MEMBER_ID']).toContain(e.details?.['reason']);
            });
          } else if (roll < 0.27 && counts2.b === 4) counts2.b = 5;
          else {
            const ready = live.filter((x) => !x.stalled);
            if (ready.length === 0) continue;
            const c = pick(ready);
            const owned = c.owned;
            try {
              const r = await co.groupHeartbeat('r', { memberId: c.id, memberEpoch: c.epoch, ownedPartitions: owned, sessionTimeoutMs: SESSION_MS, topicPartitions: counts2 });
              expect(r.memberEpoch).toBeGreaterThanOrEqual(c.epoch);
              c.epoch = r.memberEpoch;
              // A slow client keeps what it was told to give up until its next heartbeat.
              const given = new Set(flat(r.assignment));
              const kept = c.slow ? flat(owned).filter((k) => !given.has(k)) : [];
              c.owned = unflat([...given, ...kept]);
            } catch (e) {
              expect((e as StrataError).details?.['reason'], (e as Error).message).toBe('UNKNOWN_MEMBER_ID');
              live.splice(live.indexOf(c), 1);
            }
          }
          const d = (await co.describeGroup('r'))!;
          expectExclusive(d);
          expect(d.groupEpoch).toBeGreaterThanOrEqual(groupEpoch);
          groupEpoch = d.groupEpoch;
          for (const m of d.members) {
            expect(m.memberEpoch).toBeGreaterThanOrEqual(lastEpoch.get(m.memberId) ?? 0);
            expect(m.memberEpoch).toBeLessThanOrEqual(d.groupEpoch);
            lastEpoch.set(m.memberId, m.memberEpoch);
          }
          // What the live clients really own never overlaps.
          const held = live.filter((c) => !c.stalled && d.members.some((m) => m.memberId === c.id)).flatMap((c) => flat(c.owned));
          expect(new Set(held).size).toBe(held.length);
          // Stalled clients are gone once their session has passed; they do not come back.
          for (const c of live.filter((x) => x.stalled)) if (!d.members.some((m) => m.memberId === c.id)) live.splice(live.indexOf(c), 1);
        }
        // Converge: the rest heartbeat what they were given, cooperatively now, while the stalled ones expire.
        const rest: Client[] = live.filter((c) => !c.stalled);
        for (let i = 0; i <= SESSION_MS / 1000; i++) {
          await target.elapse('r', 1000);
          for (const c of [...rest]) {
            await beat('r', c, { topicPartitions: counts2 }).catch((e: StrataError) => {
              expect(e.details?.['reason'], e.message).toBe('UNKNOWN_MEMBER_ID'); // a slow one past its rebalance timeout
              rest.splice(rest.indexOf(c), 1);
            });
          }
        }
        if (rest.length === 0) rest.push(await join('r', 'last', ['a', 'b'], { topicPartitions: counts2 }));
        const d = await settle('r', rest, 12, counts2);
        const all = d.members.flatMap((m) => m.assignment);
        const wanted = new Set(d.members.flatMap((m) => m.subscribedTopics));
        const expected = Object.entries(counts2).filter(([t]) => wanted.has(t)).reduce((n, [, count]) => n + count, 0);
        expect(new Set(flat(all)).size).toBe(expected);
        const byClass = new Map<string, number[]>();
        for (const m of d.members) byClass.set(m.subscribedTopics.join(','), [...(byClass.get(m.subscribedTopics.join(',')) ?? []), flat(m.assignment).length]);
        for (const list of byClass.values()) expect(Math.max(...list) - Math.min(...list)).toBeLessThanOrEqual(1);
      });

      it('lists groups and deletes only an empty one', async () => {
        await join('g1', 'm1');
        await co.commitOffsets('g2', null, [{ topic: 'a', partition: 0, offset: 1 }]);
        expect(await co.listGroups()).toEqual([
          { group: 'g1', members: 1, state: 'stable', type: 'consumer', protocolType: 'consumer' },
          { group: 'g2', members: 0, state: 'empty', type: 'consumer', protocolType: 'consumer' },
        ]);
        await expectStrataError(co.deleteGroup('g1'), 'NON_EMPTY_GROUP', 'NON_EMPTY_GROUP');
        expect(await co.deleteGroup('g2')).toBe(true);
        expect(await co.deleteGroup('g2')).toBe(false);
        expect(await co.describeGroup('g2')).toBeNull();
        expect(await co.leaveGroup('g1', 'm1')).toBe(true);
        expect(await co.describeGroup('g1')).toMatchObject({ state: 'empty', groupEpoch: 2 });
        expect(await co.deleteGroup('g1')).toBe(true);
        expect(await co.listGroups()).toEqual([]);
      });

      it('refuses malformed heartbeats before anything is stored', async () => {
        const ok: GroupHeartbeatRequest = { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['a'], sessionTimeoutMs: SESSION_MS, topicPartitions: { a: 3 } };
        const before = await target.footprint();
        const bad: [Partial<GroupHeartbeatRequest> | Record<string, unknown>, string][] = [
          [{ memberId: 'm 1' }, 'INVALID_REQUEST'],
          [{ memberId: 'x'.repeat(129) }, 'INVALID_REQUEST'],
          [{ memberEpoch: -1 }, 'INVALID_REQUEST'],
          [{ subscribedTopics: undefined }, 'INVALID_REQUEST'],
          [{ subscribedTopics: [] }, 'INVALID_REQUEST'],
          [{ subscribedTopics: ['a', 'a'] }, 'INVALID_REQUEST'],
          [{ subscribedTopics: ['a/b'] }, 'INVALID_TOPIC'],
          [{ sessionTimeoutMs: 10 }, 'INVALID_REQUEST'],
          [{ sessionTimeoutMs: 3_600_000 }, 'INVALID_REQUEST'],
          [{ rebalanceTimeoutMs: 0 }, 'INVALID_REQUEST'],
          [{ topicPartitions: { a: -1 } }, 'INVALID_PARTITIONS'],
          [{ topicPartitions: { 'a{b}': 1 } }, 'INVALID_TOPIC'],
          [{ topicPartitions: null as unknown as Record<string, number> }, 'INVALID_REQUEST'],
          [{ ownedPartitions: [{ topic: 'a', partitions: [0, 0] }] }, 'INVALID_REQUEST'],
          [{ ownedPartitions: [{ topic: 'a', partitions: [-1] }] }, 'INVALID_REQUEST'],
          [{ ownedPartitions: [{ topic: 'a', partitions: [0] }, { topic: 'a', partitions: [1] }] }, 'INVALID_REQUEST'],
          [{ clientId: 'a\nb' }, 'INVALID_REQUEST'],
        ];
        for (const [change, code] of bad) await expectStrataError(co.groupHeartbeat('g', { ...ok, ...change } as GroupHeartbeatRequest), code);
        for (const group of HOSTILE_GROUPS) {
          await expectStrataError(co.groupHeartbeat(group as string, ok), 'INVALID_GROUP_ID', 'INVALID_GROUP_ID');
          await expectStrataError(co.leaveGroup(group as string, 'm1'), 'INVALID_GROUP_ID', 'INVALID_GROUP_ID');
          await expectStrataError(co.describeGroup(group as string), 'INVALID_GROUP_ID', 'INVALID_GROUP_ID');
          await expectStrataError(co.deleteGroup(group as string), 'INVALID_GROUP_ID', 'INVALID_GROUP_ID');
        }
        const all = await expectStrataError(co.groupHeartbeat('g', { ...ok, memberId: '', sessionTimeoutMs: 1, subscribedTopics: [] }), 'INVALID_REQUEST');
        expect((all.details?.['problems'] as unknown[]).length).toBe(3);
        // Refusals by the group (unknown member) store nothing either.
        await expectStrataError(co.groupHeartbeat('g', { ...ok, memberEpoch: 3 }), 'UNKNOWN_MEMBER_ID', 'UNKNOWN_MEMBER_ID');
        expect(await co.leaveGroup('g', 'm1')).toBe(false);
        expect(await target.footprint()).toBe(before);
      });
    });

    describe('user names that are Object.prototype members, and the longest names', () => {
      // Regression (issue #10, item 8): the topic catalogue of a heartbeat and the assignment were
      // plain objects, so a topic named `__proto__` set a prototype instead of a key (the topic was
      // never assigned), and `constructor` read Object's function as a partition count.
      const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
      const counts = (): Record<string, number> => Object.fromEntries(NAMES.map((t) => [t, 2]));

      it('assigns, commits and describes topics, groups and members named __proto__, constructor, ...', async () => {
        for (const group of NAMES) {
          const joined = await co.groupHeartbeat(group, { memberId: '__proto__', memberEpoch: 0, subscribedTopics: NAMES, sessionTimeoutMs: 10_000, topicPartitions: counts() });
          expect(flat(joined.assignment).sort(), `${group}: every partition of every topic`).toEqual(NAMES.flatMap((t) => [`${t}/0`, `${t}/1`]).sort());
          await co.commitOffsets(group, { memberId: '__proto__', memberEpoch: joined.memberEpoch }, NAMES.map((topic, i) => ({ topic, partition: 1, offset: i, metadata: topic })));
          const described = await co.describeGroup(group);
          expect(described?.members.map((m) => m.memberId)).toEqual(['__proto__']);
          expect(Object.keys(described!.topicPartitions).sort()).toEqual([...NAMES].sort());
          expect(Object.getOwnPropertyDescriptor(described!.topicPartitions, '__proto__')?.value).toBe(2);
          const offsets = await co.fetchOffsets(group);
          expect(offsets.map((o) => [o.topic, o.offset, o.metadata]).sort()).toEqual(NAMES.map((t, i) => [t, i, t]).sort());
          // A member id that is an Object.prototype member but never joined: unknown, not a crash.
          await expectStrataError(
            co.groupHeartbeat(group, { memberId: 'constructor', memberEpoch: 1, sessionTimeoutMs: 10_000, topicPartitions: counts() }),
            'UNKNOWN_MEMBER_ID',
          );
        }
        expect((await co.listGroups()).map((g) => g.group).sort()).toEqual([...NAMES].sort());
      });

      it('keeps groups, topics and members of the longest names (249 characters)', async () => {
        const topic = `t${'x'.repeat(248)}`;
        const group = `g${'y'.repeat(248)}`;
        const memberId = `m${'z'.repeat(127)}`;
        const joined = await co.groupHeartbeat(group, { memberId, memberEpoch: 0, subscribedTopics: [topic], sessionTimeoutMs: 10_000, topicPartitions: { [topic]: 3 } });
        expect(flat(joined.assignment)).toEqual([`${topic}/0`, `${topic}/1`, `${topic}/2`]);
        await co.commitOffsets(group, { memberId, memberEpoch: joined.memberEpoch }, [{ topic, partition: 2, offset: 7 }]);
        expect((await co.fetchOffsets(group)).map((o) => [o.topic, o.partition, o.offset])).toEqual([[topic, 2, 7]]);
        await co.createTopic(topicMeta(topic));
        await leadership(topic, 0, ['b1']);
        expect(await co.getPartitionState(topic, 0)).toMatchObject({ leaderEpoch: 1 });
      });
    });

    describe('group offsets', () => {
      async function member(group: string, id: string): Promise<{ memberId: string; memberEpoch: number }> {
        const r = await co.groupHeartbeat(group, { memberId: id, memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 10_000, topicPartitions: { t: 2 } });
        return { memberId: id, memberEpoch: r.memberEpoch };
      }

      it('commits for a member at its epoch and fetches them (sorted, per topic)', async () => {
        const m1 = await member('g', 'm1');
        await co.commitOffsets('g', m1, [
          { topic: 'b', partition: 1, offset: 10 },
          { topic: 'a', partition: 2, offset: 20, metadata: 'meta "x"' },
          { topic: 'a', partition: 0, offset: Number.MAX_SAFE_INTEGER },
        ]);
        const all = await co.fetchOffsets('g');
        expect(all.map((o) => [o.topic, o.partition, o.offset, o.metadata])).toEqual([
          ['a', 0, Number.MAX_SAFE_INTEGER, ''],
          ['a', 2, 20, 'meta "x"'],
          ['b', 1, 10, ''],
        ]);
        expect(all[0]!.committedAtMs).toBeGreaterThan(1_600_000_000_000);
        expect((await co.fetchOffsets('g', { topic: 'b' })).map((o) => o.offset)).toEqual([10]);
        expect(await co.fetchOffsets('other')).toEqual([]);
      });

      it('fences commits by member id and epoch, all or nothing', async () => {
        const m1 = await member('g', 'm1');
        expect(m1.memberEpoch).toBe(1);
        await co.commitOffsets('g', m1, [{ topic: 't', partition: 0, offset: 5 }]);
        const before = await target.footprint();
        const fenced = await expectStrataError(
          co.commitOffsets('g', { memberId: 'm1', memberEpoch: 2 }, [
            { topic: 't', partition: 0, offset: 6 },
            { topic: 't', partition: 1, offset: 6 },
          ]),
          'FENCED_MEMBER_EPOCH',
          'FENCED_MEMBER_EPOCH',
        );
        expect(fenced.details).toMatchObject({ memberEpoch: 2, currentEpoch: 1, group: 'g' });
        await expectStrataError(co.commitOffsets('g', { memberId: 'm9', memberEpoch: 1 }, [{ topic: 't', partition: 0, offset: 6 }]), 'UNKNOWN_MEMBER_ID', 'UNKNOWN_MEMBER_ID');
        await expectStrataError(co.commitOffsets('g', null, [{ topic: 't', partition: 0, offset: 6 }]), 'NON_EMPTY_GROUP', 'NON_EMPTY_GROUP');
        expect(await target.footprint()).toBe(before);
        // m1 rejoins: a new epoch, and the old one is fenced.
        const again = await member('g', 'm1');
        expect(again.memberEpoch).toBe(2);
        await expectStrataError(co.commitOffsets('g', m1, [{ topic: 't', partition: 0, offset: 6 }]), 'FENCED_MEMBER_EPOCH');
        // Kafka does not check a commit against the member's assignment: neither does this.
        await co.commitOffsets('g', again, [{ topic: 't', partition: 0, offset: 6 }, { topic: 'other', partition: 9, offset: 1 }]);
        expect((await co.fetchOffsets('g', { topic: 't' })).map((o) => o.offset)).toEqual([6]);
      });

      it('resets offsets only while the group has no members', async () => {
        await member('g', 'm1');
        const before = await target.footprint();
        await expectStrataError(co.resetOffsets('g', [{ topic: 't', partition: 0, offset: 0 }]), 'NON_EMPTY_GROUP', 'NON_EMPTY_GROUP');
        expect(await target.footprint()).toBe(before);
        expect(await co.leaveGroup('g', 'm1')).toBe(true);
        await co.resetOffsets('g', [
          { topic: 't', partition: 0, offset: 0 },
          { topic: 't', partition: 1, offset: 7 },
        ]);
        expect((await co.fetchOffsets('g')).map((o) => o.offset)).toEqual([0, 7]);
        // A standalone consumer may commit to an empty group.
        await co.commitOffsets('g', null, [{ topic: 't', partition: 0, offset: 3 }]);
        expect((await co.fetchOffsets('g')).map((o) => o.offset)).toEqual([3, 7]);
        // An expired member does not keep the group non-empty.
        await member('g', 'm2');
        await target.elapse('g', 10_000);
        await co.resetOffsets('g', [{ topic: 't', partition: 0, offset: 1 }]);
      });

      it('refuses hostile group names and malformed commits before anything is stored', async () => {
        const before = await target.footprint();
        for (const bad of HOSTILE_GROUPS) {
          await expectStrataError(co.commitOffsets(bad as string, null, [{ topic: 't', partition: 0, offset: 1 }]), 'INVALID_GROUP_ID', 'INVALID_GROUP_ID');
          await expectStrataError(co.fetchOffsets(bad as string), 'INVALID_GROUP_ID', 'INVALID_GROUP_ID');
          await expectStrataError(co.resetOffsets(bad as string, [{ topic: 't', partition: 0, offset: 1 }]), 'INVALID_GROUP_ID', 'INVALID_GROUP_ID');
        }
        await expectStrataError(co.commitOffsets('g', { memberId: 'm 1', memberEpoch: 1 }, [{ topic: 't', partition: 0, offset: 1 }]), 'INVALID_REQUEST');
        await expectStrataError(co.commitOffsets('g', null, []), 'INVALID_REQUEST');
        await expectStrataError(co.commitOffsets('g', null, [{ topic: 't', partition: 0, offset: -1 }]), 'INVALID_REQUEST');
        await expectStrataError(co.commitOffsets('g', null, [{ topic: 't', partition: 0, offset: 1, metadata: 'm'.repeat(5000) }]), 'OFFSET_METADATA_TOO_LARGE');
        await expectStrataError(
          co.commitOffsets('g', null, [
            { topic: 't', partition: 0, offset: 1 },
            { topic: 't', partition: 0, offset: 2 },
          ]),
          'INVALID_REQUEST',
        );
        expect(await target.footprint()).toBe(before);
      });
    });

    // ---- bounds on what groups store (issue #10, item 5) --------------------------------------

    describe('group limits and expiry', () => {
      /** A coordinator of this engine with the given limits, closed after `fn`. */
      async function withLimits(groupLimits: Partial<GroupLimits>, fn: (t: ConformanceTarget) => Promise<void>): Promise<void> {
        const t = await make({ groupLimits });
        try {
          await fn(t);
        } finally {
          await t.close();
        }
      }
      const joinReq = (id: string): GroupHeartbeatRequest => ({ memberId: id, memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 600_000, topicPartitions: { t: 4 } });
      const RETENTION_MS = 60_000;
      const pass = (c: Coordinator, cursor?: string) => c.expireGroups({ offsetsRetentionMs: RETENTION_MS, groupsMax: 100, ...(cursor === undefined ? {} : { cursor }) });

      it('refuses a new group past groupsMax (join, standalone commit, reset) and changes nothing; existing groups still work', async () => {
        await withLimits({ groupsMax: 3 }, async (t) => {
          const c = t.coordinator;
          await c.groupHeartbeat('g1', joinReq('m1'));
          await c.commitOffsets('g2', null, [{ topic: 't', partition: 0, offset: 1 }]);
          await c.resetOffsets('g3', [{ topic: 't', partition: 0, offset: 1 }]);
          const before = await t.footprint();
          const refused = await expectStrataError(c.groupHeartbeat('g4', joinReq('m1')), 'GROUP_LIMIT_REACHED', 'GROUP_LIMIT_REACHED');
          expect(refused.details).toMatchObject({ group: 'g4', groups: 3, max: 3 });
          expect(refused.retriable).toBe(false);
          await expectStrataError(c.commitOffsets('g4', null, [{ topic: 't', partition: 0, offset: 1 }]), 'GROUP_LIMIT_REACHED');
          await expectStrataError(c.resetOffsets('g4', [{ topic: 't', partition: 0, offset: 1 }]), 'GROUP_LIMIT_REACHED');
          expect(await t.footprint()).toBe(before);
          // The groups that exist go on: a second member, a commit, a reset.
          await c.groupHeartbeat('g1', joinReq('m2'));
          await c.commitOffsets('g2', null, [{ topic: 't', partition: 1, offset: 2 }]);
          await c.resetOffsets('g3', [{ topic: 't', partition: 1, offset: 2 }]);
          expect((await c.listGroups()).map((g) => g.group)).toEqual(['g1', 'g2', 'g3']);
          // Deleting one frees its place.
          expect(await c.deleteGroup('g2')).toBe(true);
          await c.groupHeartbeat('g4', joinReq('m1'));
          expect((await c.listGroups()).map((g) => g.group)).toEqual(['g1', 'g3', 'g4']);
        });
      });

      it('refuses a member past groupMembersMax (GROUP_MAX_SIZE_REACHED); a rejoin of a member is not a new one', async () => {
        await withLimits({ groupMembersMax: 2 }, async (t) => {
          const c = t.coordinator;
          await c.groupHeartbeat('g', joinReq('m1'));
          await c.groupHeartbeat('g', joinReq('m2'));
          await expectStrataError(c.groupHeartbeat('g', joinReq('m3')), 'GROUP_MAX_SIZE_REACHED', 'GROUP_MAX_SIZE_REACHED');
          await c.groupHeartbeat('g', joinReq('m2'));
          expect((await c.describeGroup('g'))!.members.map((m) => m.memberId)).toEqual(['m1', 'm2']);
        });
      });

      it('bounds offsets per commit and metadata per offset (UTF-8 bytes) and per group, all or nothing', async () => {
        await withLimits({ offsetsPerCommitMax: 3, offsetMetadataMaxBytes: 10, groupMetadataMaxBytes: 25 }, async (t) => {
          const c = t.coordinator;
          const before = await t.footprint();
          const four = [0, 1, 2, 3].map((p) => ({ topic: 't', partition: p, offset: 1 }));
          await expectStrataError(c.commitOffsets('g', null, four), 'INVALID_REQUEST', 'TOO_MANY_OFFSETS');
          await expectStrataError(c.resetOffsets('g', four), 'INVALID_REQUEST', 'TOO_MANY_OFFSETS');
          // 6 characters, 12 bytes.
          const tooLarge = await expectStrataError(c.commitOffsets('g', null, [{ topic: 't', partition: 0, offset: 1, metadata: 'é'.repeat(6) }]), 'OFFSET_METADATA_TOO_LARGE', 'OFFSET_METADATA_TOO_LARGE');
          expect(tooLarge.message).toContain('12 bytes');
          // Three offsets of 10 bytes each are 30 bytes in one commit: over the group's 25.
          const three = [0, 1, 2].map((p) => ({ topic: 't', partition: p, offset: 1, metadata: 'x'.repeat(10) }));
          await expectStrataError(c.commitOffsets('g', null, three), 'OFFSET_METADATA_TOO_LARGE', 'GROUP_METADATA_TOO_LARGE');
          expect(await t.footprint()).toBe(before);
          // 20 bytes stored; a third 10-byte metadata would make 30: refused by the engine, nothing written.
          await c.commitOffsets('g', null, three.slice(0, 2));
          const stored = await t.footprint();
          const over = await expectStrataError(c.commitOffsets('g', null, [three[2]!, { topic: 't', partition: 3, offset: 9 }]), 'OFFSET_METADATA_TOO_LARGE', 'GROUP_METADATA_TOO_LARGE');
          expect(over.details).toMatchObject({ group: 'g', bytes: 30, max: 25 });
          expect(await t.footprint()).toBe(stored);
          // Replacing an offset's metadata counts once, not twice; offsets without metadata always pass.
          await c.commitOffsets('g', null, [{ topic: 't', partition: 0, offset: 2, metadata: 'y'.repeat(10) }, { topic: 't', partition: 3, offset: 9 }]);
          await c.resetOffsets('g', [{ topic: 't', partition: 0, offset: 0 }]);
          await c.commitOffsets('g', null, [three[2]!]);
          expect((await c.fetchOffsets('g')).map((o) => [o.partition, o.metadata.length])).toEqual([
            [0, 0],
            [1, 10],
            [2, 10],
            [3, 0],
          ]);
        });
      });

      it('refuses engine options outside the ceilings', async () => {
        await expect(make({ groupLimits: { groupsMax: 0 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
        await expect(make({ groupLimits: { offsetsPerCommitMax: 1_000_000 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
        await expectStrataError(co.expireGroups({ offsetsRetentionMs: 0, groupsMax: 10 }), 'INVALID_REQUEST');
        await expectStrataError(co.expireGroups({ offsetsRetentionMs: 1000, groupsMax: 0 }), 'INVALID_REQUEST');
      });

      it("expires an empty group's offsets once it has been empty and they were committed a retention ago, then the group", async () => {
        const m = await co.groupHeartbeat('g', joinReq('m1'));
        await co.commitOffsets('g', { memberId: 'm1', memberEpoch: m.memberEpoch }, [{ topic: 't', partition: 0, offset: 5 }]);
        await target.elapse('g', RETENTION_MS + 1000);
        // Members: nothing expires, however old the commits.
        expect(await pass(co)).toMatchObject({ cursor: '', groupsVisited: 1, offsetsExpired: 0, groupsDeleted: 0 });
        expect(await co.leaveGroup('g', 'm1')).toBe(true);
        // The first pass that sees it empty starts its clock: the offsets stay.
        expect(await pass(co)).toMatchObject({ offsetsExpired: 0, groupsDeleted: 0 });
        expect((await co.fetchOffsets('g')).map((o) => o.offset)).toEqual([5]);
        await target.elapse('g', RETENTION_MS);
        expect(await pass(co)).toMatchObject({ offsetsExpired: 1, groupsDeleted: 1 });
        expect(await co.describeGroup('g')).toBeNull();
        expect(await co.fetchOffsets('g')).toEqual([]);
        expect(await co.listGroups()).toEqual([]);
      });

      it('expires each offset of an empty group by its own commit time; a member that comes back restarts the clock', async () => {
        await co.commitOffsets('s', null, [{ topic: 't', partition: 0, offset: 1 }]);
        await pass(co);
        await target.elapse('s', RETENTION_MS);
        await co.commitOffsets('s', null, [{ topic: 't', partition: 1, offset: 2 }]);
        expect(await pass(co)).toMatchObject({ offsetsExpired: 1, groupsDeleted: 0 });
        expect((await co.fetchOffsets('s')).map((o) => o.partition)).toEqual([1]);
        // A member joins and leaves: the group was not empty all along, so its clock starts again.
        await target.elapse('s', RETENTION_MS);
        await co.groupHeartbeat('s', joinReq('m1'));
        expect(await co.leaveGroup('s', 'm1')).toBe(true);
        expect(await pass(co)).toMatchObject({ offsetsExpired: 0, groupsDeleted: 0 });
        expect((await co.fetchOffsets('s')).map((o) => o.partition)).toEqual([1]);
        await target.elapse('s', RETENTION_MS);
        expect(await pass(co)).toMatchObject({ offsetsExpired: 1, groupsDeleted: 1 });
      });

      it('deletes an empty group without offsets, which frees its place; visits the groups in bounded passes', async () => {
        await withLimits({ groupsMax: 5 }, async (t) => {
          const c = t.coordinator;
          for (let i = 0; i < 5; i++) {
            await c.groupHeartbeat(`g${i}`, joinReq('m1'));
            expect(await c.leaveGroup(`g${i}`, 'm1')).toBe(true);
          }
          await expectStrataError(c.groupHeartbeat('g5', joinReq('m1')), 'GROUP_LIMIT_REACHED');
          let cursor: string | undefined;
          let visited = 0;
          let deleted = 0;
          for (let round = 0; round < 10; round++) {
            const r = await c.expireGroups({ offsetsRetentionMs: RETENTION_MS, groupsMax: 2, ...(cursor === undefined ? {} : { cursor }) });
            // Redis' SSCAN returns a small set whole; the memory engine takes exactly groupsMax.
            expect(r.groupsVisited).toBeLessThanOrEqual(128);
            visited += r.groupsVisited;
            deleted += r.groupsDeleted;
            cursor = r.cursor;
            if (cursor === '') break;
          }
          expect(cursor).toBe('');
          expect(visited).toBe(5);
          expect(deleted).toBe(5);
          await c.groupHeartbeat('g5', joinReq('m1'));
          expect((await c.listGroups()).map((g) => g.group)).toEqual(['g5']);
        });
      });
    });

    // ---- cross-cutting ------------------------------------------------------------------------

    describe('classic groups (Kafka JoinGroup generations)', () => {
      function classic(generation: number, ids: string[], state: 'empty' | 'reconciling' | 'stable' = 'stable'): ClassicGroupState {
        return {
          generation,
          protocolType: 'consumer',
          protocol: ids.length === 0 ? '' : 'range',
          leader: ids[0] ?? '',
          state: ids.length === 0 ? 'empty' : state,
          members: ids.map((memberId) => ({
            memberId,
            groupInstanceId: memberId === 'static-1' ? 'instance-1' : null,
            clientId: 'kafkajs',
            clientHost: '/127.0.0.1',
            sessionTimeoutMs: 10_000,
            rebalanceTimeoutMs: 60_000,
            metadata: Buffer.from(`meta-${memberId}`).toString('base64'),
            assignment: state === 'stable' ? Buffer.from(`assign-${memberId}`).toString('base64') : '',
          })),
        };
      }

      it('stores and loads a generation; a newer stored generation refuses an older one (ILLEGAL_GENERATION), state unchanged', async () => {
        expect(await co.loadClassicGroup('cg')).toBeNull();
        await co.storeClassicGroup('cg', classic(1, ['m-a', 'static-1'], 'reconciling'));
        await co.storeClassicGroup('cg', classic(1, ['m-a', 'static-1']));
        expect(await co.loadClassicGroup('cg')).toEqual(classic(1, ['m-a', 'static-1']));
        await co.storeClassicGroup('cg', classic(2, ['m-a']));
        const before = await target.footprint();
        await expectStrataError(co.storeClassicGroup('cg', classic(1, ['m-b'])), 'ILLEGAL_GENERATION', 'ILLEGAL_GENERATION');
        expect(await target.footprint()).toBe(before);
        expect((await co.loadClassicGroup('cg'))?.members.map((m) => m.memberId)).toEqual(['m-a']);
      });

      it('describes and lists a classic group with its members; reset, delete and standalone commits wait until it is empty', async () => {
        await co.storeClassicGroup('cg', classic(3, ['m-a', 'm-b']));
        const d = await co.describeGroup('cg');
        expect(d?.state).toBe('stable');
        expect(d?.members).toEqual([]);
        expect(d?.classic?.members.map((m) => m.memberId)).toEqual(['m-a', 'm-b']);
        expect((await co.listGroups()).find((g) => g.group === 'cg')).toEqual({ group: 'cg', members: 2, state: 'stable', type: 'classic', protocolType: 'consumer' });
        await expectStrataError(co.resetOffsets('cg', [{ topic: 't', partition: 0, offset: 1 }]), 'NON_EMPTY_GROUP');
        await expectStrataError(co.commitOffsets('cg', null, [{ topic: 't', partition: 0, offset: 1 }]), 'NON_EMPTY_GROUP');
        await expectStrataError(co.deleteGroup('cg'), 'NON_EMPTY_GROUP');
        await co.storeClassicGroup('cg', classic(4, []));
        await co.resetOffsets('cg', [{ topic: 't', partition: 0, offset: 1 }]);
        expect((await co.describeGroup('cg'))?.state).toBe('empty');
        expect(await co.deleteGroup('cg')).toBe(true);
        expect(await co.loadClassicGroup('cg')).toBeNull();
      });

      it('fences classic commits by member and generation, all or nothing', async () => {
        await co.storeClassicGroup('cg', classic(5, ['m-a']));
        await co.commitOffsets('cg', { memberId: 'm-a', generationId: 5 }, [{ topic: 't', partition: 0, offset: 7, metadata: 'kafka' }]);
        const before = await target.footprint();
        const stale = await expectStrataError(co.commitOffsets('cg', { memberId: 'm-a', generationId: 4 }, [{ topic: 't', partition: 0, offset: 8 }]), 'ILLEGAL_GENERATION');
        expect(stale.details).toMatchObject({ generationId: 4, currentGeneration: 5 });
        await expectStrataError(co.commitOffsets('cg', { memberId: 'm-z', generationId: 5 }, [{ topic: 't', partition: 0, offset: 8 }]), 'UNKNOWN_MEMBER_ID');
        // A KIP-848 style commit names no member of this group either.
        await expectStrataError(co.commitOffsets('cg', { memberId: 'm-a', memberEpoch: 5 }, [{ topic: 't', partition: 0, offset: 8 }]), 'UNKNOWN_MEMBER_ID');
        expect(await target.footprint()).toBe(before);
        expect((await co.fetchOffsets('cg')).map((o) => [o.offset, o.metadata])).toEqual([[7, 'kafka']]);
      });

      it('one protocol per group id: a classic store into a group with KIP-848 members, and a KIP-848 join into a classic group, are INCONSISTENT_GROUP_PROTOCOL', async () => {
        await co.groupHeartbeat('mixed', { memberId: 'h1', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 10_000, topicPartitions: { t: 2 } });
        const before = await target.footprint();
        await expectStrataError(co.storeClassicGroup('mixed', classic(1, ['m-a'])), 'INCONSISTENT_GROUP_PROTOCOL', 'INCONSISTENT_GROUP_PROTOCOL');
        expect(await target.footprint()).toBe(before);
        await co.storeClassicGroup('cg', classic(1, ['m-a']));
        const cgBefore = await target.footprint();
        const refused = await expectStrataError(
          co.groupHeartbeat('cg', { memberId: 'h1', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 10_000, topicPartitions: { t: 2 } }),
          'INCONSISTENT_GROUP_PROTOCOL',
        );
        expect(refused.message).toContain('classic');
        expect(await target.footprint()).toBe(cgBefore);
        // Once the classic members are gone, the id is free for either protocol.
        await co.storeClassicGroup('cg', classic(2, []));
        await co.groupHeartbeat('cg', { memberId: 'h1', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 10_000, topicPartitions: { t: 2 } });
      });

      it('deletes offsets (OffsetDelete): answers how many existed', async () => {
        await co.commitOffsets('od', null, [{ topic: 't', partition: 0, offset: 1 }, { topic: 't', partition: 1, offset: 2 }]);
        expect(await co.deleteOffsets('od', [{ topic: 't', partition: 0 }, { topic: 'u', partition: 0 }])).toBe(1);
        expect((await co.fetchOffsets('od')).map((o) => o.partition)).toEqual([1]);
        expect(await co.deleteOffsets('nothing', [{ topic: 't', partition: 0 }])).toBe(0);
      });

      it('refuses a generation with too many members or invalid fields, before anything is written', async () => {
        const before = await target.footprint();
        await expectStrataError(co.storeClassicGroup('cg', { ...classic(1, ['m-a']), leader: 'bad id!' }), 'INVALID_REQUEST');
        await expectStrataError(co.storeClassicGroup('', classic(1, ['m-a'])), 'INVALID_GROUP_ID');
        expect(await target.footprint()).toBe(before);
      });
    });

    describe('calls', () => {
      it('rejects an aborted call with REQUEST_TIMED_OUT and writes nothing', async () => {
        const before = await target.footprint();
        const signal = AbortSignal.abort();
        await expectStrataError(co.createTopic(topicMeta('t'), { signal }), 'REQUEST_TIMED_OUT');
        await expectStrataError(co.acquireController({ brokerId: 'b1', ttlMs: 1000 }, { signal }), 'REQUEST_TIMED_OUT');
        expect(await target.footprint()).toBe(before);
      });

      it('reports its backend identity', async () => {
        const status = await co.status();
        expect(['redis', 'memory']).toContain(status.engine);
        expect(status.serverRunId).not.toBe('');
        expect(status.bootId).not.toBe('');
        expect(status.quarantineRemainingMs).toBe(0);
        expect(co.description).toMatch(/^(redis|memory)\(/);
      });
    });
  });
}
