/**
 * Classic consumer groups (issue #13) with librdkafka and Python clients: kcat -G with two
 * processes splits a topic; kafka-python's KafkaConsumer(group_id=...) and confluent-kafka's
 * Consumer subscribe, consume, commit, and a second run resumes from the commit; the offsets are
 * the ones HTTP shows. Skipped (with a message) where a client is not installed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { hasKcat, kcat, KCAT, pythonWith, run } from './kafka-clients.js';

const SCRIPT = fileURLToPath(new URL('./python/group_consume.py', import.meta.url));
const WAIT_MS = 60_000;

describe('classic consumer groups with kcat and Python clients', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let bootstrap: string;

  beforeAll(async () => {
    broker = await start({ kafka: true, env: { STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '500', STRATA_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000' } });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
  });

  async function topicWith(name: string, partitions: number, values: string[]): Promise<void> {
    expect((await broker.http.post('/v1/topics', { name, partitions })).status).toBe(201);
    await append(name, partitions, values);
  }

  /** Record i on partition i mod partitions: each partition gets its share. */
  async function append(name: string, partitions: number, values: string[]): Promise<void> {
    const records = values.map((value, i) => ({ value, partition: i % partitions }));
    expect((await broker.http.post(`/v1/topics/${name}/records`, { records })).status).toBe(200);
  }

  it.skipIf(!hasKcat())('kcat -G: two processes split the partitions and read every record between them', async () => {
    const values = Array.from({ length: 40 }, (_, i) => `kcat-${i}`);
    await topicWith('kcat-group', 4, values);
    const members = [0, 1].map(() => {
      const child = spawn(KCAT, ['-b', bootstrap, '-u', '-G', 'kcat-group-g', 'kcat-group', '-J', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=500', '-X', 'auto.offset.reset=earliest'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const state = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('exit', resolve)) };
      child.stdout.on('data', (d: Buffer) => (state.stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (state.stderr += d.toString('utf8')));
      return state;
    });
    const seen = () => members.map((m) => m.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { partition: number; payload: string }));
    /** The partitions of each member's latest assignment, from kcat's "% Group ... rebalanced ... assigned:" lines. */
    const assigned = () =>
      members.map((m) => {
        const lines = m.stderr.split('\n').filter((l) => l.includes('assigned:'));
        const last = lines[lines.length - 1] ?? '';
        return [...last.matchAll(/kcat-group \[(\d+)\]/g)].map((x) => Number(x[1]));
      });
    try {
      const deadline = Date.now() + WAIT_MS;
      const done = () => {
        const a = assigned();
        const all = new Set(seen().flat().map((r) => r.payload));
        return a[0]!.length === 2 && a[1]!.length === 2 && new Set([...a[0]!, ...a[1]!]).size === 4 && values.every((v) => all.has(v));
      };
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(assigned().map((a) => a.length), members.map((m) => m.stderr).join('\n')).toEqual([2, 2]);
      const [a, b] = seen();
      expect(new Set([...a!, ...b!].map((r) => r.payload))).toEqual(new Set(values));
      // Balanced: after the split, each read only its own partitions' records at the end.
      expect(a!.length).toBeGreaterThan(0);
      expect(b!.length).toBeGreaterThan(0);
    } finally {
      for (const m of members) m.child.kill('SIGTERM');
      await Promise.all(members.map((m) => m.exited));
    }
    // The group is visible through HTTP.
    expect((await broker.http.get('/v1/groups')).body.groups.map((g: { group: string }) => g.group)).toContain('kcat-group-g');
    expect(await kcat(bootstrap, ['-L', '-J'])).toContain('kcat-group');
  }, 120_000);

  for (const client of ['kafka-python', 'confluent'] as const) {
    const python = pythonWith(client === 'kafka-python' ? 'kafka' : 'confluent_kafka');
    it.skipIf(python === null)(`${client}: subscribe, consume, commit; a second run resumes from the commit, the offsets HTTP shows`, async () => {
      const topic = `py-${client}`;
      const group = `py-${client}-g`;
      const first = Array.from({ length: 12 }, (_, i) => `first-${i}`);
      await topicWith(topic, 3, first);
      const runOnce = async (count: number): Promise<string[]> => {
        const r = await run(python!, [SCRIPT, client, bootstrap, topic, group, String(count)], '', WAIT_MS + 10_000);
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
      };
      expect((await runOnce(12)).sort()).toEqual([...first].sort());
      const offsets = (await broker.http.get(`/v1/groups/${group}/offsets`)).body as { offsets: Array<{ offset: number; lag: number }> };
      expect(offsets.offsets).toHaveLength(3);
      for (const o of offsets.offsets) expect(o).toMatchObject({ offset: 4, lag: 0 });
      const second = Array.from({ length: 6 }, (_, i) => `second-${i}`);
      await append(topic, 3, second);
      expect((await runOnce(6)).sort()).toEqual([...second].sort());
    }, 150_000);
  }
});
