/**
 * Classic consumer groups (issue #13) with kafkajs, each member its own process (kafkajs-member.mjs)
 * so that one can be killed: two members split a 12-partition topic, a third joins and the
 * partitions spread, one is killed with SIGKILL and its partitions move once its session expires,
 * every record is processed; the group's offsets committed through Kafka are what HTTP and the CLI
 * show, and a restarted member resumes from them (and from a CLI reset).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { runStrata } from '../harness/cli.js';
import { brokerLifecycle } from '../support.js';

const { Kafka, logLevel } = kafkajs;
const MEMBER_SCRIPT = fileURLToPath(new URL('./members/kafkajs-member.mjs', import.meta.url));
const TEST_DIR = fileURLToPath(new URL('../..', import.meta.url));
const PARTITIONS = 12;
/** Bounded waits: each polls until its condition holds or this passes. */
const WAIT_MS = 60_000;

interface Member {
  child: ChildProcess;
  /** The latest assignment, [] until the first join. */
  assigned: number[];
  records: Array<{ record: string; value: string | null }>;
  exited: Promise<number | null>;
}

function startMember(bootstrap: string, group: string, topic: string): Member {
  const child = spawn(process.execPath, [MEMBER_SCRIPT, bootstrap, group, topic], { cwd: TEST_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const member: Member = { child, assigned: [], records: [], exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const event = JSON.parse(line) as { assigned?: number[]; record?: string; value?: string | null };
      if (event.assigned !== undefined) member.assigned = event.assigned;
      if (event.record !== undefined) member.records.push({ record: event.record, value: event.value ?? null });
    }
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  return member;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, state: () => unknown = () => ''): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The members' assignments split the topic: disjoint, covering every partition, each within one of the others. */
function balanced(members: Member[]): boolean {
  const all = members.flatMap((m) => m.assigned);
  const sizes = members.map((m) => m.assigned.length);
  return all.length === PARTITIONS && new Set(all).size === PARTITIONS && Math.max(...sizes) - Math.min(...sizes) <= 1;
}

describe('kafkajs consumer groups (classic protocol)', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let bootstrap: string;
  let producer: ReturnType<InstanceType<typeof Kafka>['producer']>;
  let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;
  const members: Member[] = [];

  beforeAll(async () => {
    broker = await start({
      kafka: true,
      env: { STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '300', STRATA_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000' },
    });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    const client = new Kafka({ clientId: 'strata-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    admin = client.admin();
    await admin.connect();
    producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
  });
  afterAll(async () => {
    for (const m of members) m.child.kill('SIGKILL');
    await Promise.all(members.map((m) => m.exited));
    await producer?.disconnect();
    await admin?.disconnect();
  });

  async function produce(topic: string, from: number, count: number): Promise<string[]> {
    const values = Array.from({ length: count }, (_, i) => `v-${from + i}`);
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({ topic, messages: values.filter((_, i) => i % PARTITIONS === p).map((value) => ({ value, partition: p })) });
    }
    return values;
  }

  it('splits 12 partitions between two members, spreads them to a third, moves a killed member\'s partitions, and processes every record', async () => {
    const topic = 'group-split';
    const group = 'split-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const sent = await produce(topic, 0, 120);
    const a = startMember(bootstrap, group, topic);
    const b = startMember(bootstrap, group, topic);
    members.push(a, b);
    await until('two members to split the topic', () => balanced([a, b]), () => [a.assigned, b.assigned]);
    expect(a.assigned).toHaveLength(6);
    const c = startMember(bootstrap, group, topic);
    members.push(c);
    await until('three members to split the topic', () => balanced([a, b, c]), () => [a.assigned, b.assigned, c.assigned]);
    expect([a, b, c].map((m) => m.assigned.length)).toEqual([4, 4, 4]);
    // Through HTTP and the CLI, the same group: three classic members, each owning what kafkajs was given.
    const described = (await broker.http.get(`/v1/groups/${group}`)).body as { state: string; classic: { members: Array<{ assigned: Array<{ partitions: number[] }> }> }; partitions: Array<{ owner: string | null }> };
    expect(described.state).toBe('stable');
    expect(described.classic.members.map((m) => m.assigned.flatMap((t) => t.partitions).length)).toEqual([4, 4, 4]);
    expect(described.partitions.filter((p) => p.owner !== null)).toHaveLength(PARTITIONS);
    const cli = await runStrata(['groups', 'describe', group], { env: { STRATA_URL: broker.url } });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('classic (Kafka) generation');
    expect(cli.stdout).toContain('(leader)');
    // Kafka's admin lists it as a classic group of consumers (ListGroups), as HTTP does.
    expect((await admin.listGroups()).groups).toContainEqual({ groupId: group, protocolType: 'consumer' });
    const listed = (await broker.http.get('/v1/groups')).body as { groups: Array<{ group: string; type: string; protocolType: string }> };
    expect(listed.groups.find((g) => g.group === group)).toMatchObject({ type: 'classic', protocolType: 'consumer' });
    // Killed: no LeaveGroup, its session (3 s) expires and its partitions move to the other two.
    const killed = c.assigned;
    c.child.kill('SIGKILL');
    await c.exited;
    await until('the two survivors to take the killed member\'s partitions', () => balanced([a, b]), () => [a.assigned, b.assigned]);
    expect([...a.assigned, ...b.assigned]).toEqual(expect.arrayContaining(killed));
    const more = await produce(topic, 120, 60);
    const processed = () => new Set([...a.records, ...b.records, ...c.records].map((r) => r.value));
    await until('every record to be processed', () => [...sent, ...more].every((v) => processed().has(v)), () => [...sent, ...more].filter((v) => !processed().has(v)));
  }, 180_000);

  it('commits through Kafka what HTTP shows (offset and lag), and a restarted member resumes from the committed offsets and from a CLI reset', async () => {
    const topic = 'group-resume';
    const group = 'resume-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const first = await produce(topic, 0, 48);
    const m1 = startMember(bootstrap, group, topic);
    members.push(m1);
    await until('the first records to be processed', () => first.every((v) => m1.records.some((r) => r.value === v)));
    // A clean stop commits and leaves the group.
    m1.child.kill('SIGTERM');
    expect(await m1.exited).toBe(0);
    const offsets = await broker.http.get(`/v1/groups/${group}/offsets`);
    expect(offsets.status).toBe(200);
    const body = offsets.body as { offsets: Array<{ topic: string; partition: number; offset: number; lag: number }> };
    expect(body.offsets.filter((o) => o.topic === topic)).toHaveLength(PARTITIONS);
    for (const o of body.offsets) expect(o).toMatchObject({ offset: 4, lag: 0 });
    const second = await produce(topic, 48, 24);
    const m2 = startMember(bootstrap, group, topic);
    members.push(m2);
    await until('the new records to be processed', () => second.every((v) => m2.records.some((r) => r.value === v)));
    // Resumed from the committed offsets: nothing of the first batch again.
    expect(m2.records.filter((r) => first.includes(r.value ?? ''))).toEqual([]);
    m2.child.kill('SIGTERM');
    expect(await m2.exited).toBe(0);
    // The CLI shows the offsets Kafka committed: every partition at its end, lag 0.
    const described = await runStrata(['groups', 'describe', group], { env: { STRATA_URL: broker.url } });
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toContain('total lag 0');
    // A reset through the CLI to the earliest: the next member reads everything again.
    const reset = await runStrata(['groups', 'reset-offsets', group, '--topic', topic, '--to-earliest', '--execute'], { env: { STRATA_URL: broker.url } });
    expect(reset.code, reset.stderr).toBe(0);
    expect(((await broker.http.get(`/v1/groups/${group}/offsets`)).body as { offsets: Array<{ offset: number }> }).offsets.every((o) => o.offset === 0)).toBe(true);
    const m3 = startMember(bootstrap, group, topic);
    members.push(m3);
    await until('every record to be read again after the reset', () => [...first, ...second].every((v) => m3.records.some((r) => r.value === v)));
  }, 120_000);
});
