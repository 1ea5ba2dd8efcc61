/**
 * KIP-848's ConsumerGroupHeartbeat and ConsumerGroupDescribe on a raw connection (requests built by
 * @strata/kafka-protocol), for what no client sends on purpose: a stale epoch, an unknown member, a
 * 10 KiB group id, a subscription of 100,000 topics, an assignor or a regex or a static member Strata
 * does not have, a full group. Each is answered with Kafka's error and changes nothing (the group
 * described before and after is the same). Also: v0's server-chosen member id, a subscription to a
 * topic created later, a Kafka member and an HTTP member in one group (one protocol: they share the
 * assignor, epochs and offsets), and ListGroups / DeleteGroups through kafkajs's and kafka-python's
 * admin clients and the raw codec (state and type filters).
 */
import { fileURLToPath } from 'node:url';
import { ApiKey, decodeResponse, encodeRequest, KafkaError, type RequestInput } from '@strata/kafka-protocol';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { pythonWith, run } from './kafka-clients.js';
import { RawKafkaConnection } from './raw-kafka.js';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'kip848-raw';
const PARTITIONS = 4;
/** STRATA_GROUP_MAX_SIZE for this broker: small, so a full group is cheap to reach. */
const GROUP_MAX_SIZE = 3;
const REBALANCE_TIMEOUT_MS = 30_000;

type GroupApi = typeof ApiKey.ConsumerGroupHeartbeat | typeof ApiKey.ConsumerGroupDescribe | typeof ApiKey.ListGroups | typeof ApiKey.DeleteGroups;

describe('KIP-848 consumer protocol: raw requests, bad input, group admin', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let conn: RawKafkaConnection;
  let correlationId = 0;
  let topicId: string;

  beforeAll(async () => {
    broker = await start({ kafka: true, env: { STRATA_GROUP_MAX_SIZE: String(GROUP_MAX_SIZE) } });
    expect((await broker.http.post('/v1/topics', { name: TOPIC, partitions: PARTITIONS })).status).toBe(201);
    conn = await RawKafkaConnection.open(broker.kafkaPort!);
    const meta = await call(ApiKey.Metadata as never, 12, { topics: [{ name: TOPIC }] } as never);
    topicId = (meta as { topics: Array<{ topicId: string }> }).topics[0]!.topicId;
  });
  afterAll(() => conn?.destroy());

  /** One request on the shared connection, its decoded answer. */
  async function call<K extends GroupApi>(apiKey: K, version: number, body: RequestInput<K>) {
    const id = ++correlationId;
    const before = conn.frames.length;
    conn.write(encodeRequest(apiKey, version, id, 'raw-kip848', body));
    const frames = await conn.frameCount(before + 1);
    expect(frames.length, 'an answer (the connection stays open)').toBe(before + 1);
    const answer = decodeResponse(apiKey, version, frames[before]!);
    expect(answer.correlationId).toBe(id);
    return answer.body;
  }

  function heartbeat(body: RequestInput<typeof ApiKey.ConsumerGroupHeartbeat>, version = 1) {
    return call(ApiKey.ConsumerGroupHeartbeat, version, body);
  }

  function join(groupId: string, memberId: string, topics: string[] = [TOPIC], version = 1) {
    return heartbeat({ groupId, memberId, memberEpoch: 0, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS, subscribedTopicNames: topics, topicPartitions: [] }, version);
  }

  async function describeGroup(groupId: string) {
    const body = await call(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [groupId], includeAuthorizedOperations: false });
    return body.groups[0]!;
  }

  it('v0 join gets a member id from the coordinator; a heartbeat at a stale epoch is FENCED_MEMBER_EPOCH, an unknown member UNKNOWN_MEMBER_ID; nothing changes', async () => {
    const group = 'raw-fence';
    const joined = await join(group, '', [TOPIC], 0);
    expect(joined.errorCode).toBe(KafkaError.NONE);
    expect(joined.memberId).toMatch(/^[0-9a-f-]{36}$/);
    expect(joined.memberEpoch).toBeGreaterThan(0);
    expect(joined.assignment!.topicPartitions).toEqual([{ topicId, partitions: [0, 1, 2, 3] }]);
    const memberId = joined.memberId!;
    const before = await describeGroup(group);
    expect(before).toMatchObject({ errorCode: 0, groupState: 'Stable', assignorName: 'uniform', groupEpoch: joined.memberEpoch });
    expect(before.members).toHaveLength(1);
    expect(before.members[0]).toMatchObject({ memberId, memberEpoch: joined.memberEpoch, clientId: 'raw-kip848', subscribedTopicNames: [TOPIC] });
    expect(before.members[0]!.assignment.topicPartitions).toEqual([{ topicId, topicName: TOPIC, partitions: [0, 1, 2, 3] }]);

    const stale = await heartbeat({ groupId: group, memberId, memberEpoch: joined.memberEpoch + 5, topicPartitions: null });
    expect(stale.errorCode).toBe(KafkaError.FENCED_MEMBER_EPOCH);
    expect(stale.errorMessage).toMatch(/epoch/);
    const unknown = await heartbeat({ groupId: group, memberId: 'nobody', memberEpoch: 1 });
    expect(unknown.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
    const after = await describeGroup(group);
    expect({ ...after, members: after.members.map((m) => ({ ...m })) }).toEqual(before);

    // The current epoch is fine; a heartbeat that sends nothing changed keeps everything.
    const ok = await heartbeat({ groupId: group, memberId, memberEpoch: joined.memberEpoch });
    expect(ok).toMatchObject({ errorCode: 0, memberEpoch: joined.memberEpoch });
    expect(ok.assignment!.topicPartitions).toEqual([{ topicId, partitions: [0, 1, 2, 3] }]);
    // Leaving (epoch -1) empties the group at once.
    expect(await heartbeat({ groupId: group, memberId, memberEpoch: -1 })).toMatchObject({ errorCode: 0, memberEpoch: -1 });
    expect((await describeGroup(group)).groupState).toBe('Empty');
    expect((await heartbeat({ groupId: group, memberId, memberEpoch: -1 })).errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);
  });

  it('refuses what Strata does not have or what is malformed, with Kafka codes, and creates no group', async () => {
    const group = 'raw-refused';
    const base = { groupId: group, memberId: 'm1', memberEpoch: 0, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS, subscribedTopicNames: [TOPIC], topicPartitions: [] };
    const cases: Array<[string, RequestInput<typeof ApiKey.ConsumerGroupHeartbeat>, number, RegExp]> = [
      ['an assignor Strata does not have', { ...base, serverAssignor: 'range' }, KafkaError.UNSUPPORTED_ASSIGNOR, /uniform/],
      ['a topic regex', { ...base, subscribedTopicRegex: 'kip.*' }, KafkaError.INVALID_REQUEST, /regular expression/],
      ['a static member', { ...base, instanceId: 'host-1' }, KafkaError.INVALID_REQUEST, /group\.instance\.id/],
      ['a static member leaving', { ...base, memberEpoch: -2 }, KafkaError.INVALID_REQUEST, /static/],
      ['a join without a rebalance timeout', { ...base, rebalanceTimeoutMs: -1 }, KafkaError.INVALID_REQUEST, /rebalance timeout/],
      ['a join without a subscription', { ...base, subscribedTopicNames: null }, KafkaError.INVALID_REQUEST, /subscribed/],
      ['a join owning partitions', { ...base, topicPartitions: [{ topicId, partitions: [0] }] }, KafkaError.INVALID_REQUEST, /owned/],
      ['an empty member id (v1)', { ...base, memberId: '' }, KafkaError.INVALID_REQUEST, /member id/],
      ['100,000 subscribed topics', { ...base, subscribedTopicNames: Array.from({ length: 100_000 }, (_, i) => `topic-${i}`) }, KafkaError.INVALID_REQUEST, /subscribedTopics/],
      ['an epoch below -2', { ...base, memberEpoch: -3 }, KafkaError.INVALID_REQUEST, /epoch/],
      ['a 10 KiB group id', { ...base, groupId: 'g'.repeat(10 * 1024) }, KafkaError.INVALID_GROUP_ID, /group id/],
      ['an empty group id', { ...base, groupId: '' }, KafkaError.INVALID_GROUP_ID, /group id/],
    ];
    for (const [what, body, code, message] of cases) {
      const answer = await heartbeat(body);
      expect(answer.errorCode, what).toBe(code);
      expect(answer.errorMessage, what).toMatch(message);
    }
    expect((await describeGroup(group)).errorCode).toBe(KafkaError.GROUP_ID_NOT_FOUND);
    expect((await describeGroup('g'.repeat(10 * 1024))).errorCode).toBe(KafkaError.INVALID_GROUP_ID);
    expect((await broker.http.get('/v1/groups')).body.groups.map((g: { group: string }) => g.group)).not.toContain(group);
  });

  it('a full group refuses one more member with GROUP_MAX_SIZE_REACHED; its members keep their partitions', async () => {
    const group = 'raw-full';
    for (let i = 0; i < GROUP_MAX_SIZE; i++) expect((await join(group, `member-${i}`)).errorCode).toBe(KafkaError.NONE);
    const before = await describeGroup(group);
    const refused = await join(group, 'one-too-many');
    expect(refused.errorCode).toBe(KafkaError.GROUP_MAX_SIZE_REACHED);
    const after = await describeGroup(group);
    expect(after.members.map((m) => m.memberId)).toEqual(before.members.map((m) => m.memberId));
    expect(after.groupEpoch).toBe(before.groupEpoch);
    for (let i = 0; i < GROUP_MAX_SIZE; i++) await heartbeat({ groupId: group, memberId: `member-${i}`, memberEpoch: -1 });
  });

  it('a subscription to a topic that does not exist yet gets its partitions once it is created (Kafka\'s rule; HTTP refuses it)', async () => {
    const group = 'raw-later';
    const joined = await join(group, 'early', ['created-later']);
    expect(joined.errorCode).toBe(KafkaError.NONE);
    expect(joined.assignment!.topicPartitions).toEqual([]);
    expect((await broker.http.post('/v1/topics', { name: 'created-later', partitions: 2 })).status).toBe(201);
    let epoch = joined.memberEpoch;
    let partitions: number[] = [];
    for (let i = 0; i < 20 && partitions.length < 2; i++) {
      const beat = await heartbeat({ groupId: group, memberId: 'early', memberEpoch: epoch, subscribedTopicNames: ['created-later'], topicPartitions: [] });
      expect(beat.errorCode).toBe(KafkaError.NONE);
      epoch = beat.memberEpoch;
      partitions = beat.assignment!.topicPartitions.flatMap((t) => t.partitions);
    }
    expect(partitions).toEqual([0, 1]);
    expect((await broker.http.post(`/v1/groups/${group}-http/members`, { topics: ['not-created'] })).status).toBe(404);
    await heartbeat({ groupId: group, memberId: 'early', memberEpoch: -1 });
  });

  it('a Kafka member and an HTTP member share one group: the assignor splits the partitions, epochs fence commits from either door', async () => {
    const group = 'raw-mixed';
    const kafka = await join(group, 'kafka-member');
    expect(kafka.assignment!.topicPartitions[0]!.partitions).toEqual([0, 1, 2, 3]);
    const http = await broker.http.post(`/v1/groups/${group}/members`, { topics: [TOPIC], clientId: 'http-member' });
    expect(http.status).toBe(200);
    // The Kafka member gives up half, as told (it owns what it was told to keep), then the HTTP member gets them.
    let beat = await heartbeat({ groupId: group, memberId: 'kafka-member', memberEpoch: kafka.memberEpoch });
    const kept = beat.assignment!.topicPartitions.flatMap((t) => t.partitions);
    expect(kept).toHaveLength(2);
    beat = await heartbeat({ groupId: group, memberId: 'kafka-member', memberEpoch: beat.memberEpoch, topicPartitions: [{ topicId, partitions: kept }] });
    expect(beat.errorCode).toBe(KafkaError.NONE);
    const httpBeat = await broker.http.post(`/v1/groups/${group}/members/${http.body.memberId}/heartbeat`, { memberEpoch: http.body.memberEpoch });
    expect(httpBeat.status).toBe(200);
    const httpOwned = httpBeat.body.assignment.flatMap((a: { partitions: number[] }) => a.partitions);
    expect([...kept, ...httpOwned].sort()).toEqual([0, 1, 2, 3]);
    const described = await describeGroup(group);
    expect(described.members.map((m) => m.clientId).sort()).toEqual(['http-member', 'raw-kip848']);

    // A commit as the Kafka member, at its epoch, through HTTP; at a stale epoch it is refused, nothing committed.
    const epoch = described.members.find((m) => m.memberId === 'kafka-member')!.memberEpoch;
    const commit = (memberEpoch: number, offset: number) =>
      broker.http.post(`/v1/groups/${group}/offsets`, { memberId: 'kafka-member', memberEpoch, offsets: [{ topic: TOPIC, partition: kept[0], offset }] });
    expect((await commit(epoch, 0)).status).toBe(200);
    expect((await commit(epoch - 1, 0)).body.error.code).toBe('FENCED_MEMBER_EPOCH');
    await heartbeat({ groupId: group, memberId: 'kafka-member', memberEpoch: -1 });
    expect((await broker.http.delete(`/v1/groups/${group}/members/${http.body.memberId}`)).status).toBe(204);
  });

  it('ListGroups filters by state (v4) and type (v5); DeleteGroups answers per group', async () => {
    expect((await join('list-busy', 'busy-member')).errorCode).toBe(KafkaError.NONE);
    expect((await broker.http.post('/v1/groups/list-empty/offsets', { offsets: [{ topic: TOPIC, partition: 0, offset: 0 }] })).status).toBe(200);
    const all = await call(ApiKey.ListGroups, 5, {});
    expect(all.errorCode).toBe(0);
    expect(all.groups).toEqual(expect.arrayContaining([
      { groupId: 'list-busy', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' },
      { groupId: 'list-empty', protocolType: 'consumer', groupState: 'Empty', groupType: 'consumer' },
    ]));
    const stable = await call(ApiKey.ListGroups, 4, { statesFilter: ['stable'] });
    expect(stable.groups.map((g) => g.groupId)).toContain('list-busy');
    expect(stable.groups.map((g) => g.groupId)).not.toContain('list-empty');
    expect((await call(ApiKey.ListGroups, 5, { typesFilter: ['classic'] })).groups).toEqual([]);
    expect((await call(ApiKey.ListGroups, 0, {})).groups.map((g) => g.groupId)).toContain('list-empty');

    const deleted = await call(ApiKey.DeleteGroups, 2, { groupsNames: ['list-empty', 'list-busy', 'never-was', 'x'.repeat(300)] });
    expect(deleted.results.map(({ groupId, errorCode }) => ({ groupId, errorCode }))).toEqual([
      { groupId: 'list-empty', errorCode: KafkaError.NONE },
      { groupId: 'list-busy', errorCode: KafkaError.NON_EMPTY_GROUP },
      { groupId: 'never-was', errorCode: KafkaError.GROUP_ID_NOT_FOUND },
      { groupId: 'x'.repeat(300), errorCode: KafkaError.INVALID_GROUP_ID },
    ]);
    expect((await describeGroup('list-busy')).members).toHaveLength(1);
    expect((await broker.http.get('/v1/groups/list-empty')).status).toBe(404);
    await heartbeat({ groupId: 'list-busy', memberId: 'busy-member', memberEpoch: -1 });
  });

  it('kafkajs admin: listGroups and deleteGroups', async () => {
    const admin = new Kafka({ clientId: 'kip848-admin', brokers: [`127.0.0.1:${broker.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    await admin.connect();
    try {
      expect((await join('kafkajs-busy', 'm')).errorCode).toBe(KafkaError.NONE);
      expect((await broker.http.post('/v1/groups/kafkajs-done/offsets', { offsets: [{ topic: TOPIC, partition: 1, offset: 0 }] })).status).toBe(200);
      const { groups } = await admin.listGroups();
      expect(groups).toEqual(expect.arrayContaining([{ groupId: 'kafkajs-busy', protocolType: 'consumer' }, { groupId: 'kafkajs-done', protocolType: 'consumer' }]));
      expect(await admin.deleteGroups(['kafkajs-done'])).toEqual([{ groupId: 'kafkajs-done', errorCode: 0 }]);
      const refused = await admin.deleteGroups(['kafkajs-busy', 'kafkajs-never']).then(() => null, (e: { groups?: Array<{ groupId: string; error?: { type?: string } }> }) => e);
      expect(refused?.groups?.map((g) => [g.groupId, g.error?.type])).toEqual([
        ['kafkajs-busy', 'NON_EMPTY_GROUP'],
        ['kafkajs-never', 'GROUP_ID_NOT_FOUND'],
      ]);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('kafkajs-done');
    } finally {
      await admin.disconnect();
      await heartbeat({ groupId: 'kafkajs-busy', memberId: 'm', memberEpoch: -1 });
    }
  });

  const python = pythonWith('kafka');
  if (python === null) process.stderr.write('kafka-python group admin test skipped: no python3 imports kafka (apt-get install python3-kafka; .ci/run installs it)\n');
  it.skipIf(python === null)('kafka-python KafkaAdminClient: list_consumer_groups and delete_consumer_groups', async () => {
    expect((await join('py-busy', 'm')).errorCode).toBe(KafkaError.NONE);
    expect((await broker.http.post('/v1/groups/py-done/offsets', { offsets: [{ topic: TOPIC, partition: 2, offset: 0 }] })).status).toBe(200);
    const script = fileURLToPath(new URL('./python/kafka_python_group_admin.py', import.meta.url));
    const result = await run(python!, [script, `127.0.0.1:${broker.kafkaPort}`, 'py-done', 'py-busy', 'py-never'], '', 60_000);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    expect(out.listed).toEqual(expect.arrayContaining([['py-busy', 'consumer'], ['py-done', 'consumer']]));
    expect(out.deleted).toEqual([
      ['py-done', 'NoError'],
      ['py-busy', 'NonEmptyGroupError'],
      ['py-never', 'GroupIdNotFoundError'],
    ]);
    expect(out.after).not.toContain('py-done');
    expect(out.after).toContain('py-busy');
    await heartbeat({ groupId: 'py-busy', memberId: 'm', memberEpoch: -1 });
  });
});
