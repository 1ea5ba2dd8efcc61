/**
 * Bad input to the classic group APIs (issue #13), with raw requests on a real broker: a JoinGroup
 * with 10,000 protocols or a blob past the bounds, group ids empty or 10 KiB long, a SyncGroup from
 * a non-leader, heartbeats and commits from unknown members or stale generations, an HTTP member
 * joining a live classic group. Each gets Kafka's error, the coordinator's state is unchanged, the
 * broker's memory stays bounded.
 */
import { ApiKey, decodeResponse, encodeRequest, KafkaError, type KnownApiKey, type RequestInput, type ResponseBody } from '@strata/kafka-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processStats, type BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

const MiB = 1024 * 1024;
const RSS_GROWTH_CEILING_BYTES = 192 * MiB;
/** A consumer's subscription metadata (ConsumerProtocolSubscription v0) naming one topic. */
function subscription(topic: string): Buffer {
  const name = Buffer.from(topic);
  const out = Buffer.alloc(2 + 4 + 2 + name.length + 4);
  out.writeInt32BE(1, 2);
  out.writeInt16BE(name.length, 6);
  name.copy(out, 8);
  return out;
}

describe('hostile input to the classic group APIs', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let baselineRss: number;
  const open: RawKafkaConnection[] = [];
  let correlation = 1;

  beforeAll(async () => {
    broker = await start({ kafka: true, env: { STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', STRATA_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000' } });
    baselineRss = processStats(broker.pid!).rssBytes;
    expect((await broker.http.post('/v1/topics', { name: 'hostile-groups', partitions: 2 })).status).toBe(201);
  });
  afterAll(() => {
    for (const c of open) c.destroy();
  });

  async function connection(): Promise<RawKafkaConnection> {
    const c = await RawKafkaConnection.open(broker.kafkaPort!);
    open.push(c);
    return c;
  }

  /** Sends one request on `c` and decodes its answer (undefined when the broker closed the connection instead). */
  async function call<K extends KnownApiKey>(c: RawKafkaConnection, apiKey: K, version: number, body: RequestInput<K>): Promise<ResponseBody<K> | undefined> {
    const before = c.frames.length;
    c.write(encodeRequest(apiKey, version, correlation++, 'hostile', body));
    const frames = await c.frameCount(before + 1, 30_000);
    const frame = frames[before];
    return frame === undefined ? undefined : decodeResponse(apiKey, version, frame).body;
  }

  const join = (groupId: string, memberId: string, protocols: Array<{ name: string; metadata: Buffer }>) => ({
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    protocolType: 'consumer',
    protocols,
  });

  async function groupStored(group: string): Promise<number> {
    return (await broker.http.get(`/v1/groups/${group}`)).status;
  }

  it('a JoinGroup with 10,000 protocols, or metadata past the bound, is INVALID_REQUEST and stores nothing; a 100 MiB blob closes the connection', async () => {
    const c = await connection();
    const many = Array.from({ length: 10_000 }, (_, i) => ({ name: `assignor-${i}`, metadata: Buffer.alloc(8) }));
    expect((await call(c, ApiKey.JoinGroup, 3, join('many-protocols', '', many)))?.errorCode).toBe(KafkaError.INVALID_REQUEST);
    const blob = Buffer.alloc(8 * MiB, 1);
    expect((await call(c, ApiKey.JoinGroup, 3, join('big-metadata', '', [{ name: 'range', metadata: blob }])))?.errorCode).toBe(KafkaError.INVALID_REQUEST);
    expect(await groupStored('many-protocols')).toBe(404);
    expect(await groupStored('big-metadata')).toBe(404);
    // Past the request cap (STRATA_KAFKA_MAX_REQUEST_BYTES, 16 MiB): the frame is refused before it is read.
    const huge = await connection();
    huge.write(encodeRequest(ApiKey.JoinGroup, 3, 1, 'hostile', join('huge', '', [{ name: 'range', metadata: Buffer.alloc(100 * MiB) }])));
    expect(await huge.closedByBroker(30_000)).toBe(true);
    expect(processStats(broker.pid!).rssBytes - baselineRss).toBeLessThan(RSS_GROWTH_CEILING_BYTES);
  });

  it('empty and 10 KiB group ids are INVALID_GROUP_ID on every group API', async () => {
    const c = await connection();
    for (const groupId of ['', 'g'.repeat(10 * 1024)]) {
      expect((await call(c, ApiKey.JoinGroup, 3, join(groupId, '', [{ name: 'range', metadata: subscription('hostile-groups') }])))?.errorCode).toBe(KafkaError.INVALID_GROUP_ID);
      expect((await call(c, ApiKey.SyncGroup, 3, { groupId, generationId: 1, memberId: 'm', groupInstanceId: null, assignments: [] }))?.errorCode).toBe(KafkaError.INVALID_GROUP_ID);
      expect((await call(c, ApiKey.Heartbeat, 3, { groupId, generationId: 1, memberId: 'm' }))?.errorCode).toBe(KafkaError.INVALID_GROUP_ID);
      const committed = await call(c, ApiKey.OffsetCommit, 7, { groupId, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'hostile-groups', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] }] });
      expect(committed?.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.INVALID_GROUP_ID);
      expect((await call(c, ApiKey.OffsetFetch, 5, { groupId, topics: null }))?.errorCode).toBe(KafkaError.INVALID_GROUP_ID);
    }
    expect((await broker.http.get('/v1/groups')).body).toEqual({ groups: [] });
  });

  it('static membership: a restarted instance takes its place and assignment without a rebalance; the old member id is fenced (FENCED_INSTANCE_ID)', async () => {
    const group = 'static-group';
    const c = await connection();
    const protocols = [{ name: 'range', metadata: subscription('hostile-groups') }];
    const joined = await call(c, ApiKey.JoinGroup, 5, { ...join(group, '', protocols), groupInstanceId: 'instance-1' });
    expect(joined).toMatchObject({ errorCode: KafkaError.NONE, generationId: 1 });
    const oldId = joined!.memberId;
    const synced = await call(c, ApiKey.SyncGroup, 3, { groupId: group, generationId: 1, memberId: oldId, groupInstanceId: 'instance-1', assignments: [{ memberId: oldId, assignment: Buffer.from('mine') }] });
    expect(synced?.assignment.toString()).toBe('mine');
    // The instance restarts (no LeaveGroup) and joins without a member id: a new id, the same generation.
    const again = await call(c, ApiKey.JoinGroup, 5, { ...join(group, '', protocols), groupInstanceId: 'instance-1' });
    expect(again).toMatchObject({ errorCode: KafkaError.NONE, generationId: 1 });
    expect(again!.memberId).not.toBe(oldId);
    const resynced = await call(c, ApiKey.SyncGroup, 3, { groupId: group, generationId: 1, memberId: again!.memberId, groupInstanceId: 'instance-1', assignments: [] });
    expect(resynced?.assignment.toString()).toBe('mine');
    expect((await call(c, ApiKey.Heartbeat, 3, { groupId: group, generationId: 1, memberId: oldId, groupInstanceId: 'instance-1' }))?.errorCode).toBe(KafkaError.FENCED_INSTANCE_ID);
    expect((await call(c, ApiKey.Heartbeat, 3, { groupId: group, generationId: 1, memberId: again!.memberId, groupInstanceId: 'instance-1' }))?.errorCode).toBe(KafkaError.NONE);
    const stale = await call(c, ApiKey.OffsetCommit, 7, { groupId: group, generationIdOrMemberEpoch: 1, memberId: oldId, groupInstanceId: 'instance-1', topics: [{ name: 'hostile-groups', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] }] });
    expect(stale?.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.FENCED_INSTANCE_ID);
    const described = (await broker.http.get(`/v1/groups/${group}`)).body as { classic: { members: Array<{ memberId: string; groupInstanceId: string }> } };
    expect(described.classic.members).toMatchObject([{ memberId: again!.memberId, groupInstanceId: 'instance-1' }]);
    // A static member leaves by instance id (LeaveGroup v3).
    const left = await call(c, ApiKey.LeaveGroup, 3, { groupId: group, members: [{ memberId: '', groupInstanceId: 'instance-1' }] });
    expect(left?.members.map((m) => m.errorCode)).toEqual([KafkaError.NONE]);
  });

  it('a SyncGroup from a non-leader is ignored (every member gets the leader\'s assignment); stale generations and unknown members are refused, offsets unchanged', async () => {
    const group = 'sync-order';
    const leaderConn = await connection();
    const otherConn = await connection();
    const protocols = [{ name: 'range', metadata: subscription('hostile-groups') }];
    // v3: no MEMBER_ID_REQUIRED round trip. The first member forms generation 1 alone.
    const first = await call(leaderConn, ApiKey.JoinGroup, 3, join(group, '', protocols));
    expect(first).toMatchObject({ errorCode: KafkaError.NONE, generationId: 1 });
    const leaderId = first!.memberId;
    expect(first!.leader).toBe(leaderId);
    expect((await call(leaderConn, ApiKey.SyncGroup, 3, { groupId: group, generationId: 1, memberId: leaderId, groupInstanceId: null, assignments: [{ memberId: leaderId, assignment: Buffer.from('all') }] }))?.assignment.toString()).toBe('all');
    // A second member: its join waits for the leader to rejoin (told by its heartbeat).
    const secondJoin = call(otherConn, ApiKey.JoinGroup, 3, join(group, '', protocols));
    let beat: number | undefined;
    for (let i = 0; i < 50 && beat !== KafkaError.REBALANCE_IN_PROGRESS; i++) beat = (await call(leaderConn, ApiKey.Heartbeat, 3, { groupId: group, generationId: 1, memberId: leaderId }))?.errorCode;
    expect(beat).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    const rejoin = await call(leaderConn, ApiKey.JoinGroup, 3, join(group, leaderId, protocols));
    const second = await secondJoin;
    expect(rejoin).toMatchObject({ errorCode: KafkaError.NONE, generationId: 2, leader: leaderId });
    expect(rejoin!.members.map((m) => m.memberId).sort()).toEqual([leaderId, second!.memberId].sort());
    expect(second).toMatchObject({ errorCode: KafkaError.NONE, generationId: 2, leader: leaderId, members: [] });
    const otherId = second!.memberId;
    // The non-leader sends assignments first: ignored; it waits for the leader's.
    const otherSync = call(otherConn, ApiKey.SyncGroup, 3, {
      groupId: group,
      generationId: 2,
      memberId: otherId,
      groupInstanceId: null,
      assignments: [{ memberId: otherId, assignment: Buffer.from('stolen') }, { memberId: leaderId, assignment: Buffer.from('nothing') }],
    });
    const leaderSync = await call(leaderConn, ApiKey.SyncGroup, 3, {
      groupId: group,
      generationId: 2,
      memberId: leaderId,
      groupInstanceId: null,
      assignments: [{ memberId: leaderId, assignment: Buffer.from('p0') }, { memberId: otherId, assignment: Buffer.from('p1') }],
    });
    expect(leaderSync?.assignment.toString()).toBe('p0');
    expect((await otherSync)?.assignment.toString()).toBe('p1');
    // Stale generation and unknown member: refused, nothing committed.
    const stale = await call(leaderConn, ApiKey.OffsetCommit, 7, { groupId: group, generationIdOrMemberEpoch: 1, memberId: leaderId, topics: [{ name: 'hostile-groups', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] }] });
    expect(stale?.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.ILLEGAL_GENERATION);
    const stranger = await call(leaderConn, ApiKey.OffsetCommit, 7, { groupId: group, generationIdOrMemberEpoch: 2, memberId: 'stranger', topics: [{ name: 'hostile-groups', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] }] });
    expect(stranger?.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    const standalone = await call(leaderConn, ApiKey.OffsetCommit, 7, { groupId: group, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 'hostile-groups', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] }] });
    expect(standalone?.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    expect((await call(leaderConn, ApiKey.Heartbeat, 3, { groupId: group, generationId: 2, memberId: 'stranger' }))?.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    expect((await call(leaderConn, ApiKey.Heartbeat, 3, { groupId: group, generationId: 1, memberId: leaderId }))?.errorCode).toBe(KafkaError.ILLEGAL_GENERATION);
    expect((await broker.http.get(`/v1/groups/${group}/offsets`)).body).toEqual({ offsets: [] });
    // The right generation commits; HTTP shows it.
    const good = await call(leaderConn, ApiKey.OffsetCommit, 7, { groupId: group, generationIdOrMemberEpoch: 2, memberId: leaderId, topics: [{ name: 'hostile-groups', partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: 'kafka' }] }] });
    expect(good?.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.NONE);
    const offsets = (await broker.http.get(`/v1/groups/${group}/offsets`)).body as { offsets: Array<{ partition: number; offset: number; metadata: string }> };
    expect(offsets.offsets).toMatchObject([{ partition: 0, offset: 0, metadata: 'kafka' }]);
    // An HTTP member cannot join the live classic group.
    const http = await broker.http.post(`/v1/groups/${group}/members`, { topics: ['hostile-groups'] });
    expect(http.status).toBe(409);
    expect(JSON.stringify(http.body)).toContain('INCONSISTENT_GROUP_PROTOCOL');
    // Both leave (LeaveGroup v3, batched): the group is empty, the offsets stay.
    const left = await call(leaderConn, ApiKey.LeaveGroup, 3, { groupId: group, members: [{ memberId: leaderId, groupInstanceId: null }, { memberId: otherId, groupInstanceId: null }, { memberId: 'stranger', groupInstanceId: null }] });
    expect(left?.members.map((m) => m.errorCode)).toEqual([KafkaError.NONE, KafkaError.NONE, KafkaError.UNKNOWN_MEMBER_ID]);
    const described = (await broker.http.get(`/v1/groups/${group}`)).body as { state: string; members: unknown[] };
    expect(described.state).toBe('empty');
  });
});
