// Consumer group endpoints (docs/architecture.md#groups, #http-api) on a single node: join, heartbeat, hand-over,
// commit (fenced), offsets with lag, reset, describe, list, leave, delete, and the bad inputs
// of issue #6, each with a clear error and nothing changed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTopic, produce, startTestBroker, type Loose, type TestBroker } from './helpers.js';

let t: TestBroker;

beforeAll(async () => {
  t = await startTestBroker();
  // The records below carry 1970 timestamps: without retention.ms=-1, a maintenance pass would roll,
  // upload and delete them by retention while the tests run (the earliest offset then moved: a flaky test).
  await createTopic(t.url, 'orders', 4, { 'retention.ms': -1, 'local.retention.ms': -2 });
  await createTopic(t.url, 'other', 1);
  const records = Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 4, timestamp: 1_000 + i }));
  const res = await produce(t.url, 'orders', { records });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await t.stop();
});

const join = (group: string, body: unknown) => call(t.url, 'POST', `/v1/groups/${group}/members`, body);
const beat = (group: string, member: string, body: unknown) => call(t.url, 'POST', `/v1/groups/${group}/members/${member}/heartbeat`, body);
const commit = (group: string, body: unknown) => call(t.url, 'POST', `/v1/groups/${group}/offsets`, body);
const offsets = (group: string, query = '') => call(t.url, 'GET', `/v1/groups/${group}/offsets${query}`);
const describeGroup = (group: string) => call(t.url, 'GET', `/v1/groups/${group}`);
const partitionsOf = (assignment: Loose[]): number[] => assignment.flatMap((a: Loose) => a.partitions as number[]).sort((a, b) => a - b);

describe('membership', () => {
  it('a member joins, gets every partition, heartbeats; a second one takes half after the first releases', async () => {
    const a = await join('g1', { topics: ['orders'], sessionTimeoutMs: 10_000, clientId: 'test-a' });
    expect(a.status).toBe(200);
    expect(a.body.memberId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.body.memberEpoch).toBeGreaterThan(0);
    expect(a.body.heartbeatIntervalMs).toBeLessThanOrEqual(5_000);
    expect(partitionsOf(a.body.assignment)).toEqual([0, 1, 2, 3]);

    const b = await join('g1', { topics: ['orders'], sessionTimeoutMs: 10_000 });
    expect(b.status).toBe(200);
    expect(partitionsOf(b.body.assignment)).toEqual([]); // a still owns them all

    // a is told to give up two; while it still reports them, b gets nothing.
    const a2 = await beat('g1', a.body.memberId, { memberEpoch: a.body.memberEpoch, sessionTimeoutMs: 10_000 });
    expect(a2.status).toBe(200);
    const kept = partitionsOf(a2.body.assignment);
    expect(kept).toHaveLength(2);
    // a releases: it reports only what it keeps.
    const a3 = await beat('g1', a.body.memberId, { memberEpoch: a2.body.memberEpoch, ownedPartitions: [{ topic: 'orders', partitions: kept }], sessionTimeoutMs: 10_000 });
    expect(a3.status).toBe(200);
    const b2 = await beat('g1', b.body.memberId, { memberEpoch: b.body.memberEpoch, ownedPartitions: [], sessionTimeoutMs: 10_000 });
    expect(b2.status).toBe(200);
    expect(partitionsOf(b2.body.assignment)).toEqual([0, 1, 2, 3].filter((p) => !kept.includes(p)));

    const d = await describeGroup('g1');
    expect(d.status).toBe(200);
    expect(d.body.members).toHaveLength(2);
    const owners = d.body.partitions.map((p: Loose) => p.owner);
    expect(owners.filter((o: Loose) => o === a.body.memberId)).toHaveLength(2);
    expect(owners.filter((o: Loose) => o === b.body.memberId)).toHaveLength(2);
    expect(d.body.members.find((m: Loose) => m.memberId === a.body.memberId).clientId).toBe('test-a');

    const list = await call(t.url, 'GET', '/v1/groups');
    expect(list.body.groups).toContainEqual(expect.objectContaining({ group: 'g1', members: 2 }));

    // b leaves: its partitions go back to a.
    expect((await call(t.url, 'DELETE', `/v1/groups/g1/members/${b.body.memberId}`)).status).toBe(204);
    expect((await call(t.url, 'DELETE', `/v1/groups/g1/members/${b.body.memberId}`)).body.error.code).toBe('UNKNOWN_MEMBER_ID');
    const a4 = await beat('g1', a.body.memberId, { memberEpoch: a3.body.memberEpoch, sessionTimeoutMs: 10_000 });
    expect(partitionsOf(a4.body.assignment)).toEqual([0, 1, 2, 3]);
    expect((await call(t.url, 'DELETE', `/v1/groups/g1/members/${a.body.memberId}`)).status).toBe(204);
  });

  it('heartbeats of unknown members and stale epochs are refused with the group codes', async () => {
    const a = await join('g2', { topics: ['orders'] });
    const unknown = await beat('g2', 'nobody', { memberEpoch: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_MEMBER_ID', retriable: false });
    const fenced = await beat('g2', a.body.memberId, { memberEpoch: a.body.memberEpoch + 5 });
    expect(fenced.status).toBe(409);
    expect(fenced.body.error).toMatchObject({ code: 'FENCED_MEMBER_EPOCH', retriable: false });
    await call(t.url, 'DELETE', `/v1/groups/g2/members/${a.body.memberId}`);
  });
});

describe('offsets', () => {
  it('commits fenced by member and epoch; offsets answer high watermark and lag', async () => {
    const a = await join('g3', { topics: ['orders'] });
    const member = { memberId: a.body.memberId, memberEpoch: a.body.memberEpoch };
    const ok = await commit('g3', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 2, metadata: 'm' }, { topic: 'orders', partition: 1, offset: 5 }] });
    expect(ok.status).toBe(200);
    const got = await offsets('g3');
    expect(got.status).toBe(200);
    expect(got.body.offsets).toEqual([
      expect.objectContaining({ topic: 'orders', partition: 0, offset: 2, highWatermark: 5, lag: 3, metadata: 'm' }),
      expect.objectContaining({ topic: 'orders', partition: 1, offset: 5, highWatermark: 5, lag: 0 }),
    ]);
    expect((await offsets('g3', '?topic=other')).body.offsets).toEqual([]);

    // A stale epoch commits nothing.
    const stale = await commit('g3', { memberId: a.body.memberId, memberEpoch: a.body.memberEpoch - 1, offsets: [{ topic: 'orders', partition: 0, offset: 4 }] });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('FENCED_MEMBER_EPOCH');
    expect((await offsets('g3')).body.offsets[0].offset).toBe(2);

    // Reset needs an empty group.
    const busy = await call(t.url, 'POST', '/v1/groups/g3/offsets/reset', { topic: 'orders', to: 'earliest' });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('NON_EMPTY_GROUP');
    const del = await call(t.url, 'DELETE', '/v1/groups/g3');
    expect(del.body.error.code).toBe('NON_EMPTY_GROUP');
    await call(t.url, 'DELETE', `/v1/groups/g3/members/${a.body.memberId}`);

    // A member that left cannot commit.
    const gone = await commit('g3', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 4 }] });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('UNKNOWN_MEMBER_ID');

    for (const [to, value, expected] of [
      ['earliest', undefined, [0, 0, 0, 0]],
      ['latest', undefined, [5, 5, 5, 5]],
      ['offset', 3, [3, 3, 3, 3]],
      ['offset', 99, [5, 5, 5, 5]], // clamped to the high watermark
      ['timestamp', 1_010, [3, 3, 2, 2]], // records i = 10.. have timestamps 1010..; partition = i % 4
    ] as const) {
      const reset = await call(t.url, 'POST', '/v1/groups/g3/offsets/reset', { topic: 'orders', to, ...(value !== undefined ? { value } : {}) });
      expect(reset.status, JSON.stringify(reset.body)).toBe(200);
      expect(reset.body.offsets.map((o: Loose) => o.offset)).toEqual(expected);
    }
    const some = await call(t.url, 'POST', '/v1/groups/g3/offsets/reset', { topic: 'orders', partitions: [1], to: 'earliest' });
    expect(some.body.offsets).toEqual([{ topic: 'orders', partition: 1, offset: 0 }]);
    expect((await offsets('g3')).body.offsets.map((o: Loose) => o.offset)).toEqual([3, 0, 2, 2]);

    expect((await call(t.url, 'DELETE', '/v1/groups/g3')).status).toBe(204);
    expect((await describeGroup('g3')).status).toBe(404);
    expect((await offsets('g3')).body.offsets).toEqual([]);
  });
});

describe('bad input: a clear error and nothing changed', () => {
  let member: { memberId: string; memberEpoch: number };
  beforeAll(async () => {
    const a = await join('bad', { topics: ['orders'] });
    member = { memberId: a.body.memberId, memberEpoch: a.body.memberEpoch };
    expect((await commit('bad', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 1 }] })).status).toBe(200);
  });

  const cases: Array<{ name: string; request: () => Promise<{ status: number; body: Loose }>; status: number; code: string }> = [
    { name: 'commit for an unknown topic', request: () => commit('bad', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 3 }, { topic: 'nope', partition: 0, offset: 1 }] }), status: 404, code: 'UNKNOWN_TOPIC' },
    { name: 'commit for an unknown partition', request: () => commit('bad', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 3 }, { topic: 'orders', partition: 9, offset: 1 }] }), status: 404, code: 'UNKNOWN_PARTITION' },
    { name: 'commit of a negative offset', request: () => commit('bad', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: -1 }] }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'commit of a fractional offset', request: () => commit('bad', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 1.5 }] }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'commit at a stale member epoch', request: () => commit('bad', { ...member, memberEpoch: member.memberEpoch - 1, offsets: [{ topic: 'orders', partition: 0, offset: 3 }] }), status: 409, code: 'FENCED_MEMBER_EPOCH' },
    { name: 'commit by an unknown member', request: () => commit('bad', { memberId: 'ghost', memberEpoch: 1, offsets: [{ topic: 'orders', partition: 0, offset: 3 }] }), status: 404, code: 'UNKNOWN_MEMBER_ID' },
    { name: 'standalone commit while the group has members', request: () => commit('bad', { offsets: [{ topic: 'orders', partition: 0, offset: 3 }] }), status: 409, code: 'NON_EMPTY_GROUP' },
    { name: 'commit with no offsets', request: () => commit('bad', { ...member, offsets: [] }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'commit with an unknown field', request: () => commit('bad', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 3 }], extra: 1 }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'commit of malformed JSON', request: () => call(t.url, 'POST', '/v1/groups/bad/offsets', '{"offsets": ['), status: 400, code: 'INVALID_REQUEST' },
    { name: 'commit to an invalid group id', request: () => commit('bad%20group', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 3 }] }), status: 400, code: 'INVALID_GROUP_ID' },
    { name: 'commit to a non-ASCII group id', request: () => commit('gr%C3%BCppe', { ...member, offsets: [{ topic: 'orders', partition: 0, offset: 3 }] }), status: 400, code: 'INVALID_GROUP_ID' },
    { name: 'join with an invalid group id', request: () => join('a*b', { topics: ['orders'] }), status: 400, code: 'INVALID_GROUP_ID' },
    { name: 'join with a 250-character group id', request: () => join('g'.repeat(250), { topics: ['orders'] }), status: 400, code: 'INVALID_GROUP_ID' },
    { name: 'join without topics', request: () => join('bad', {}), status: 400, code: 'INVALID_REQUEST' },
    { name: 'join to an unknown topic', request: () => join('bad', { topics: ['nope'] }), status: 404, code: 'UNKNOWN_TOPIC' },
    { name: 'join with a session timeout below the minimum', request: () => join('bad', { topics: ['orders'], sessionTimeoutMs: 1 }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'heartbeat without an epoch', request: () => beat('bad', member.memberId, {}), status: 400, code: 'INVALID_REQUEST' },
    { name: 'heartbeat with malformed owned partitions', request: () => beat('bad', member.memberId, { memberEpoch: member.memberEpoch, ownedPartitions: [{ topic: 'orders', partitions: [-1] }] }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'reset with a bad target', request: () => call(t.url, 'POST', '/v1/groups/bad/offsets/reset', { topic: 'orders', to: 'middle' }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'reset to an offset without a value', request: () => call(t.url, 'POST', '/v1/groups/bad/offsets/reset', { topic: 'orders', to: 'offset' }), status: 400, code: 'INVALID_REQUEST' },
    { name: 'reset of an unknown topic', request: () => call(t.url, 'POST', '/v1/groups/bad/offsets/reset', { topic: 'nope', to: 'earliest' }), status: 404, code: 'UNKNOWN_TOPIC' },
    { name: 'describe an invalid group id', request: () => describeGroup('a%2Fb'), status: 400, code: 'INVALID_GROUP_ID' },
    { name: 'describe an unknown group', request: () => describeGroup('never-was'), status: 404, code: 'NOT_FOUND' },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const res = await c.request();
      expect(res.status, JSON.stringify(res.body)).toBe(c.status);
      expect(res.body.error.code).toBe(c.code);
      expect(typeof res.body.error.message).toBe('string');
      expect(res.body.error.message.length).toBeGreaterThan(10);
      // Nothing changed: the one committed offset is still there, alone.
      const after = await offsets('bad');
      expect(after.body.offsets.map((o: Loose) => [o.topic, o.partition, o.offset])).toEqual([['orders', 0, 1]]);
      expect((await describeGroup('bad')).body.members).toHaveLength(1);
    });
  }
});
