// The Redis engine against a real redis-server started here: the conformance suite, then what
// only Redis has (scripts by SHA, NOSCRIPT reloads, key layout and hash slots, input that never
// reaches the server, failing scripts that change nothing, an unreachable server).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordKeys, RedisCoordinator, SCRIPT_NAMES, hashTag, loadScripts, type CoordinatorEvent } from '@strata/coord';
import { HOSTILE_GROUPS, HOSTILE_TOPICS, describeCoordinatorConformance, expectStrataError, segment, topicMeta } from './conformance.js';
// The one test Redis launcher: the harness' (test/src/harness), imported by path. Its modules use
// nothing but node: so a package's unit tests can share it without depending on @strata/test.
import { RedisServer } from '../../../test/src/harness/redis-server.js';

let server: RedisServer;
let admin: Redis;
let run = 0;
const open: RedisCoordinator[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  admin?.disconnect();
  await server?.kill();
});

function nextPrefix(): string {
  return `t${++run}-${Date.now().toString(36)}:`;
}

async function connect(prefix = nextPrefix(), extra: Parameters<typeof RedisCoordinator.connect>[0] = {}): Promise<RedisCoordinator> {
  const co = await RedisCoordinator.connect({ url: server.url, prefix, restartQuarantineMs: 0, ...extra });
  open.push(co);
  return co;
}

/** Every key of the prefix with its content (no TTLs: a lease renewal is not a change of state). */
async function dump(prefix: string): Promise<string> {
  const keys = (await admin.keys(new CoordKeys(prefix).pattern())).sort();
  const out: string[] = [];
  for (const key of keys) {
    const type = await admin.type(key);
    let value: unknown;
    if (type === 'hash') value = await admin.hgetall(key);
    else if (type === 'zset') value = await admin.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'string') value = await admin.get(key);
    else if (type === 'set') value = (await admin.smembers(key)).sort();
    else value = type;
    out.push(`${key} ${type} ${JSON.stringify(value)}`);
  }
  return out.join('\n');
}

/** Makes `ms` pass for a group: Redis' clock cannot be moved, so its stored times (members, commits, empty mark) move back. */
async function elapseGroup(prefix: string, group: string, ms: number): Promise<void> {
  const keys = new CoordKeys(prefix);
  for (const [field, value] of Object.entries(await admin.hgetall(keys.groupOffsets(group)))) {
    const space = value.indexOf(' ');
    await admin.hset(keys.groupOffsets(group), field, `${Number(value.slice(0, space)) - ms}${value.slice(space)}`);
  }
  const empty = await admin.hget(keys.groupMeta(group), 'empty');
  if (empty !== null) await admin.hset(keys.groupMeta(group), 'empty', String(Number(empty) - ms));
  const key = keys.groupMembers(group);
  for (const [id, text] of Object.entries(await admin.hgetall(key))) {
    const m = JSON.parse(text) as { lastHeartbeatAtMs: number; revokeDeadlineMs: number };
    m.lastHeartbeatAtMs -= ms;
    if (m.revokeDeadlineMs > 0) m.revokeDeadlineMs -= ms;
    await admin.hset(key, id, JSON.stringify(m));
  }
}

describeCoordinatorConformance('RedisCoordinator', async (options = {}) => {
  const prefix = nextPrefix();
  const coordinator = await RedisCoordinator.connect({ url: server.url, prefix, restartQuarantineMs: 0, ...options });
  return { coordinator, footprint: () => dump(prefix), elapse: (group, ms) => elapseGroup(prefix, group, ms), close: () => coordinator.close() };
});

describe('RedisCoordinator specifics', () => {
  it('ships one script per multi-key change, named <name>-<numKeys>.lua with a KEYS/ARGV/returns header', () => {
    const scripts = loadScripts();
    expect([...scripts.keys()].sort()).toEqual([...SCRIPT_NAMES].sort());
    for (const s of scripts.values()) {
      expect(s.file).toBe(`${s.name}-${s.numKeys}.lua`);
      expect(s.sha).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('runs scripts by SHA, never by sending their text again', async () => {
    const co = await connect();
    const monitor = await admin.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args[0]!.toLowerCase()));
    try {
      await co.createTopic(topicMeta('t'));
      await co.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 1 });
      await co.acquireLeadership('t', 0, { topicId: 'tid-1', brokerId: 'b1', ttlMs: 1000, startOffset: 0, knownEpoch: 0 });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      monitor.disconnect();
    }
    expect(commands.filter((c) => c === 'evalsha').length).toBeGreaterThanOrEqual(3);
    expect(commands).not.toContain('eval');
  });

  it('reloads its scripts after Redis forgot them (NOSCRIPT), and the call succeeds', async () => {
    const co = await connect();
    const events: CoordinatorEvent[] = [];
    co.onEvent((e) => events.push(e));
    await admin.script('FLUSH');
    await co.createTopic(topicMeta('t'));
    expect(await co.getTopic('t')).not.toBeNull();
    expect(events).toContainEqual({ type: 'scripts-loaded', count: SCRIPT_NAMES.length, reason: 'noscript' });
  });

  it('keeps every key under its prefix, and every script\'s keys in one hash slot', async () => {
    const prefix = nextPrefix();
    const co = await connect(prefix);
    await co.registerBroker({ id: 'b1', url: 'http://a:1', internalUrl: 'http://a:2', rack: null, startedAtMs: 1 }, 5000);
    await co.createTopic(topicMeta('orders.v1'));
    await co.acquireController({ brokerId: 'b1', ttlMs: 5000 });
    await co.setReplicas('orders.v1', 7, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 1 });
    const got = await co.acquireLeadership('orders.v1', 7, { topicId: 'tid-1', brokerId: 'b1', ttlMs: 5000, startOffset: 0, knownEpoch: 0 });
    await co.commitSegment('orders.v1', 7, segment(0, 9, got.acquired ? got.epoch : 0));
    const joined = await co.groupHeartbeat('grp-1', { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['orders.v1'], sessionTimeoutMs: 5000, topicPartitions: { 'orders.v1': 8 } });
    await co.commitOffsets('grp-1', { memberId: 'm1', memberEpoch: joined.memberEpoch }, [{ topic: 'orders.v1', partition: 7, offset: 3 }]);
    const keys = (await admin.keys(`${prefix}*`)).sort();
    expect(keys).toEqual(
      [
        `${prefix}{cluster}:boot`,
        `${prefix}{cluster}:broker:b1`,
        `${prefix}{cluster}:brokers`,
        `${prefix}{cluster}:controller`,
        `${prefix}{cluster}:groups`,
        `${prefix}{cluster}:topic:orders.v1`,
        `${prefix}{cluster}:topics`,
        `${prefix}g:{grp-1}:meta`,
        `${prefix}g:{grp-1}:members`,
        `${prefix}g:{grp-1}:offsets`,
        `${prefix}p:{orders.v1/7}:lease`,
        `${prefix}p:{orders.v1/7}:segs`,
        `${prefix}p:{orders.v1/7}:state`,
      ].sort(),
    );
    const k = new CoordKeys(prefix);
    const slots = (list: string[]) => new Set(list.map(hashTag));
    expect(slots([k.brokers(), k.broker('b1'), k.topics(), k.topic('x'), k.controller(), k.boot(), k.groups()])).toEqual(new Set(['cluster']));
    expect(slots([k.partitionLease('t', 3), k.partitionState('t', 3), k.partitionSegments('t', 3)])).toEqual(new Set(['t/3']));
    expect(slots([k.groupMeta('g'), k.groupMembers('g'), k.groupOffsets('g')])).toEqual(new Set(['g']));
    expect(() => new CoordKeys('a{b}')).toThrow();
  });

  it('never sends a hostile name to Redis (checked with MONITOR)', async () => {
    const co = await connect();
    const monitor = await admin.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
    try {
      for (const bad of HOSTILE_TOPICS) {
        await expectStrataError(co.createTopic(topicMeta(bad as string)), 'INVALID_TOPIC');
        await expectStrataError(co.getPartitionState(bad as string, 0), 'INVALID_TOPIC');
        await expectStrataError(co.loadManifest(bad as string, 0), 'INVALID_TOPIC');
      }
      for (const bad of HOSTILE_GROUPS) {
        await expectStrataError(co.fetchOffsets(bad as string), 'INVALID_GROUP_ID');
        await expectStrataError(co.groupHeartbeat(bad as string, { memberId: 'm', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000, topicPartitions: {} }), 'INVALID_GROUP_ID');
        await expectStrataError(co.leaveGroup(bad as string, 'm'), 'INVALID_GROUP_ID');
      }
      await expectStrataError(co.createTopic(topicMeta('ok', { configs: { 'x.y': 'a\r\nFLUSHALL' } })), 'INVALID_CONFIG');
      await co.getTopic('marker-topic'); // proves the monitor was listening
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      monitor.disconnect();
    }
    expect(seen.some((line) => line.includes('marker-topic'))).toBe(true);
    expect(seen.filter((line) => /\.\.\/etc|a\{b\}|\{x\}|FLUSHALL|g\{1\}|g\/1|x{250}/.test(line))).toEqual([]);
  });

  it('leaves nothing half-applied when a script fails on corrupt state', async () => {
    const prefix = nextPrefix();
    const co = await connect(prefix);
    await co.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 1 });
    const got = await co.acquireLeadership('t', 0, { topicId: 'tid-1', brokerId: 'b1', ttlMs: 5000, startOffset: 0, knownEpoch: 0 });
    const epoch = got.acquired ? got.epoch : 0;
    await co.commitSegment('t', 0, segment(0, 9, epoch));
    const k = new CoordKeys(prefix);
    await admin.hset(k.partitionState('t', 0), 'hist', 'not-a-history');
    const before = await dump(prefix);
    await expectStrataError(co.updatePartitionState('t', 0, epoch, { logStartOffset: 10, highWatermark: 10 }), 'INTERNAL_ERROR');
    expect(await dump(prefix)).toBe(before);
    await admin.hset(k.partitionState('t', 0), 'hist', '', 'lso', 'garbage');
    const before2 = await dump(prefix);
    await expectStrataError(co.commitSegment('t', 0, segment(10, 19, epoch)), 'INTERNAL_ERROR');
    await expectStrataError(co.getPartitionState('t', 0), 'INTERNAL_ERROR');
    expect(await dump(prefix)).toBe(before2);
  });

  it('leaves a group unchanged when its stored state is corrupt, and says so', async () => {
    const prefix = nextPrefix();
    const co = await connect(prefix);
    const k = new CoordKeys(prefix);
    const join = { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 5000, topicPartitions: { t: 4 } };
    await co.groupHeartbeat('g', join);
    await admin.hset(k.groupMembers('g'), 'm2', '{"memberEpoch": "x"}');
    const before = await dump(prefix);
    await expectStrataError(co.groupHeartbeat('g', { ...join, memberId: 'm3' }), 'INTERNAL_ERROR');
    await expectStrataError(co.leaveGroup('g', 'm1'), 'INTERNAL_ERROR');
    await expectStrataError(co.commitOffsets('g', { memberId: 'm1', memberEpoch: 1 }, [{ topic: 't', partition: 0, offset: 1 }]), 'INTERNAL_ERROR');
    expect(await dump(prefix)).toBe(before);
  });

  it('fails with a retriable STORAGE_ERROR when Redis does not answer, within its deadline', async () => {
    const co = await connect(nextPrefix(), { callTimeoutMs: 300 });
    server.pause();
    try {
      const started = Date.now();
      const e = await expectStrataError(co.getController(), 'STORAGE_ERROR');
      expect(e.retriable).toBe(true);
      expect(Date.now() - started).toBeLessThan(2000);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      await expectStrataError(co.getController({ signal: controller.signal }), 'REQUEST_TIMED_OUT');
    } finally {
      server.resume();
    }
    expect((await co.getController()).holder).toBeNull();
  });

  it('refuses to connect to nothing with a retriable STORAGE_ERROR', async () => {
    const e = await expectStrataError(
      RedisCoordinator.connect({ url: 'redis://127.0.0.1:1', callTimeoutMs: 300, redis: { retryStrategy: () => null } }),
      'STORAGE_ERROR',
    );
    expect(e.retriable).toBe(true);
  });

  it('refuses bad options', async () => {
    await expectStrataError(RedisCoordinator.connect({ url: server.url, prefix: '{x}' }), 'INVALID_CONFIG');
    await expectStrataError(RedisCoordinator.connect({ url: server.url, restartQuarantineMs: -1 }), 'INVALID_CONFIG');
  });
});
