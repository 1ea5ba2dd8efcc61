/**
 * KIP-848's consumer protocol (ConsumerGroupHeartbeat, ConsumerGroupDescribe) with a real client:
 * @platformatic/kafka's Consumer with groupProtocol 'consumer' (kafkajs and librdkafka 2.0.2 speak
 * only the classic protocol). Two members split a 12-partition topic, a third joins and the partitions
 * spread, one leaves and its partitions move at once; in each of these phases every member reads every
 * record of its share, every record is read, and no partition is ever in two members' assignments
 * (sampled on the clients).
 *
 * Reads are counted as distinct records, never as deliveries: a partition that moves is read again
 * from its start by its new owner (no commits), and @platformatic/kafka 1.x also delivers the answer
 * of a fetch it sent before a revocation, after it acknowledged that revocation, so the old owner
 * reads records of a partition the new owner reads too (its Java counterpart drops them: KAFKA-16460).
 * Counting deliveries let a wait pass before a round was read at all (a CI flake: 240 of 360 read). The same group seen through HTTP shows
 * the same members and assignment, and an HTTP member may join it (one protocol, one assignor).
 * The consumers read from the earliest offset: committing and resuming through a Kafka client needs
 * OffsetCommit/OffsetFetch, which the classic-protocol work adds; here a Kafka member's commit goes
 * through HTTP with its own member id and epoch, fenced as any member's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, MessagesStreamModes, stringDeserializers, type MessagesStream } from '@platformatic/kafka';
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import type { Json } from '../harness/http.js';
import { brokerLifecycle } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

const TOPIC = 'kip848';
const PARTITIONS = 12;
const RECORDS_PER_ROUND = 120;
/** Each partition gets the same share of a round. */
const RECORDS_PER_PARTITION = RECORDS_PER_ROUND / PARTITIONS;
/** STRATA_KAFKA_GROUP_SESSION_TIMEOUT_MS here: a member that stops heartbeating is gone after this (long enough that a live member on a loaded machine never misses it: @platformatic/kafka does not rejoin after UNKNOWN_MEMBER_ID). */
const SESSION_TIMEOUT_MS = 10_000;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface Member {
  consumer: Consumer<string, string, string, string>;
  stream: MessagesStream<string, string, string, string>;
  /** "partition/offset/value" of every record this member was given, in order (a record may come twice). */
  read: string[];
  /** What the stream reported (a fetch racing a rebalance or the broker's stop is retried by the client). */
  errors: unknown[];
}

describe('KIP-848 consumer protocol with @platformatic/kafka (groupProtocol consumer)', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let bootstrap: string;
  const members: Member[] = [];

  beforeAll(async () => {
    broker = await start({ kafka: true, env: { STRATA_KAFKA_GROUP_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) } });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    expect((await broker.http.post('/v1/topics', { name: TOPIC, partitions: PARTITIONS })).status).toBe(201);
  });
  afterAll(async () => {
    for (const m of members) await leave(m);
  });

  /** Stops the member's stream, then the consumer: it leaves the group (epoch -1). */
  async function leave(m: Member): Promise<void> {
    await m.stream.close().catch(() => undefined);
    await m.consumer.close().catch(() => undefined);
    members.splice(members.indexOf(m), 1);
  }

  async function join(group: string, clientId: string): Promise<Member> {
    const consumer = new Consumer({
      clientId,
      groupId: group,
      bootstrapBrokers: [bootstrap],
      groupProtocol: 'consumer',
      deserializers: stringDeserializers,
      autocommit: false,
      maxWaitTime: 200,
      retries: 3,
    });
    const stream = await consumer.consume({ topics: [TOPIC], mode: MessagesStreamModes.EARLIEST });
    const member: Member = { consumer, stream, read: [], errors: [] };
    stream.on('data', (m) => member.read.push(`${m.partition}/${m.offset}/${m.value}`));
    stream.on('error', (e) => member.errors.push(e));
    consumer.on('error', (e) => member.errors.push(e));
    members.push(member);
    return member;
  }

  /** Record i of a round goes to partition i % PARTITIONS, so every member has records to read. */
  const valueOf = (round: number, i: number): string => `r${round}-${i}`;

  async function produceRound(round: number): Promise<void> {
    const records = Array.from({ length: RECORDS_PER_ROUND }, (_, i) => ({ partition: i % PARTITIONS, value: valueOf(round, i) }));
    const answer = await broker.http.post(`/v1/topics/${TOPIC}/records?acks=1`, { records });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  }

  /** The group as the coordinator holds it (HTTP describe). */
  async function describeGroup(group: string): Promise<Json> {
    const answer = await broker.http.get(`/v1/groups/${group}`);
    expect(answer.status).toBe(200);
    return answer.body;
  }

  function clientPartitions(m: Member): number[] {
    return (m.consumer.assignments ?? []).filter((a) => a.topic === TOPIC).flatMap((a) => a.partitions).sort((a, b) => a - b);
  }

  /** Waits for the group to settle with these members, each with its share, as the clients see it too. */
  async function settled(group: string, live: Member[]): Promise<Json> {
    let last: Json = null;
    await until(`group ${group} stable over ${live.length} members`, async () => {
      last = await describeGroup(group);
      if (last.state !== 'stable' || last.members.length !== live.length) return false;
      const share = live.map((m) => clientPartitions(m).length);
      return share.reduce((a, b) => a + b, 0) === PARTITIONS && Math.max(...share) - Math.min(...share) <= 1;
    });
    return last;
  }

  /** Each member's partitions now: together, every partition of the topic once. */
  function ownership(live: Member[]): Map<Member, number[]> {
    const owners = new Map(live.map((m) => [m, clientPartitions(m)]));
    expect([...owners.values()].flat().sort((x, y) => x - y)).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
    return owners;
  }

  /** The values of `round` the member read from these partitions, each once. */
  function roundValuesRead(m: Member, round: number, partitions: readonly number[]): Set<string> {
    const prefix = `r${round}-`;
    const values = new Set<string>();
    for (const entry of m.read) {
      const [partition, , value] = entry.split('/');
      if (value!.startsWith(prefix) && partitions.includes(Number(partition))) values.add(value!);
    }
    return values;
  }

  /**
   * Waits until every owner has read every record of the round in its share (so every record of the
   * round is read, by the member the group gave it to); deliveries of other records do not count.
   */
  async function roundRead(round: number, owners: Map<Member, number[]>): Promise<void> {
    const missing = (): string[] =>
      [...owners].filter(([m, partitions]) => roundValuesRead(m, round, partitions).size < partitions.length * RECORDS_PER_PARTITION).map(([m]) => m.consumer.clientId);
    await until(`round ${round} read by the owners of its partitions`, () => missing().length === 0).catch((e: Error) => {
      throw new Error(`${e.message}: ${missing().join(', ')} did not read their share`);
    });
  }

  it('two members split the topic, a third joins, one leaves: each partition has one owner, every record is read', async () => {
    const group = 'kip848-split';
    // Ownership sampled on the clients for the whole test: a partition is never in two members' assignments.
    let sampling = true;
    let overlaps = 0;
    const sampler = (async () => {
      while (sampling) {
        const seen = new Set<number>();
        for (const m of members) for (const p of clientPartitions(m)) {
          if (seen.has(p)) overlaps++;
          seen.add(p);
        }
        await sleep(10);
      }
    })();

    const a = await join(group, 'member-a');
    const b = await join(group, 'member-b');
    let described = await settled(group, [a, b]);
    expect(described.members.map((m: Json) => m.clientId).sort()).toEqual(['member-a', 'member-b']);
    // The coordinator's view and the clients' agree.
    for (const m of [a, b]) {
      const server = described.members.find((d: Json) => d.memberId === m.consumer.memberId);
      expect(server, 'the Kafka member is a member of the group').toBeDefined();
      expect(server.assignment.flatMap((t: Json) => t.partitions).sort((x: number, y: number) => x - y)).toEqual(clientPartitions(m));
    }
    const owners1 = ownership([a, b]);
    await produceRound(1);
    await roundRead(1, owners1);

    const c = await join(group, 'member-c');
    described = await settled(group, [a, b, c]);
    expect([a, b, c].map((m) => clientPartitions(m).length)).toEqual([4, 4, 4]);
    const owners2 = ownership([a, b, c]);
    await produceRound(2);
    await roundRead(2, owners2);

    // b leaves (epoch -1): its partitions move at once, not after a session timeout.
    await leave(b);
    described = await settled(group, [a, c]);
    expect([a, c].map((m) => clientPartitions(m).length)).toEqual([6, 6]);
    const owners3 = ownership([a, c]);
    await produceRound(3);
    await roundRead(3, owners3);

    sampling = false;
    await sampler;
    expect(overlaps, 'samples in which two members held one partition').toBe(0);
    // Every record, from the partition it was written to, and nothing else: distinct records, as a
    // partition that moved was read again from its start by its new owner (no commits).
    const distinct = new Set([...a.read, ...b.read, ...c.read]);
    expect(distinct.size).toBe(3 * RECORDS_PER_ROUND);
    const expected = [1, 2, 3].flatMap((round) => Array.from({ length: RECORDS_PER_ROUND }, (_, i) => `${i % PARTITIONS}/${valueOf(round, i)}`));
    expect([...distinct].map((entry) => entry.split('/')).map(([p, , v]) => `${p}/${v}`).sort()).toEqual(expected.sort());
    await leave(a);
    await leave(c);
    expect((await describeGroup(group)).state).toBe('empty');
  });

  it('a member that stops heartbeating (a killed process) loses its partitions after the session timeout', async () => {
    const group = 'kip848-expiry';
    // The dead member: it joins on a raw connection and never heartbeats again.
    const conn = await RawKafkaConnection.open(broker.kafkaPort!);
    try {
      conn.write(encodeRequest(ApiKey.ConsumerGroupHeartbeat, 1, 1, 'dead', {
        groupId: group, memberId: 'dead-member', memberEpoch: 0, rebalanceTimeoutMs: 60_000, subscribedTopicNames: [TOPIC], topicPartitions: [],
      }));
      const [frame] = await conn.frameCount(1);
      const joined = decodeResponse(ApiKey.ConsumerGroupHeartbeat, 1, frame!).body;
      expect(joined.errorCode).toBe(KafkaError.NONE);
      expect(joined.assignment!.topicPartitions[0]!.partitions).toHaveLength(PARTITIONS);
      const described = await describeGroup(group);
      expect(described.members[0].sessionTimeoutMs).toBe(SESSION_TIMEOUT_MS);
    } finally {
      conn.destroy();
    }
    const live = await join(group, 'survivor');
    // The survivor gets nothing while the dead member holds every partition, then all of them.
    await until('the survivor owns every partition', () => clientPartitions(live).length === PARTITIONS);
    const described = await describeGroup(group);
    expect(described.members.map((m: Json) => m.memberId)).toEqual([live.consumer.memberId]);
    expect(described.state).toBe('stable');
    await leave(live);
  });
});
