/**
 * A kafkajs idempotent producer (acks=-1) keeps producing to a replication-factor-3 topic of a
 * three-broker cluster while (a) the leader of partition 0 is killed with -9, (b) a broker joins and
 * (c) a broker leaves gracefully; in each metadata mode (STRATA_KAFKA_METADATA_MODE):
 * - brokers: the client is bootstrapped with the brokers' own Kafka addresses and follows leaders
 *   by metadata (a refresh on NOT_LEADER_OR_FOLLOWER or a closed connection);
 * - one-address: the client knows only a TCP load balancer's address (RoundRobinProxy, what a cloud
 *   balancer in front of an autoscaled group does); a connection cut by a dying broker is
 *   reopened by the client and lands on a live one.
 * Every value is unique: each acknowledged record is read back exactly once (no loss, no duplicate
 * from a retried batch), a send the client gave up on is written at most once, and the client is
 * never restarted nor told anything by the test: it recovers by itself.
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Cluster, type BrokerProcess } from '../harness/index.js';
import { clusterPerTest } from '../support.js';
import { hasKcat, kcat, parseKcatJson } from './kafka-clients.js';
import { RoundRobinProxy } from './round-robin-proxy.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'faults';
const PARTITIONS = 3;
/**
 * Records per send, all to one partition (sends take turns over the partitions). One partition per
 * send because kafkajs 2.2.4 drops the batch of a partition whose leader died when its new leader
 * already answered for another partition of the same send() (producer/sendMessages.js keeps one
 * answer per broker and resends only to brokers without one), and resolves without it: a client
 * bug, likely tulios/kafkajs#1303, seen here as an acknowledged send whose answer lacks a partition.
 */
const RECORDS_PER_SEND = 12;
/** Records acknowledged after each event before the next one: proof that the client went on by itself. */
const RECORDS_PER_PHASE = 240;
/** Bounds every wait for progress; a producer stuck longer than this fails the test. */
const PHASE_TIMEOUT_MS = 45_000;

/**
 * Creates the topic with replication factor 3 and min.insync.replicas 2 (with 1, Kafka's default,
 * acks=all is acknowledged by a leader alone once its ISR shrinks, and a leader killed then loses
 * it: in Kafka too) once the broker sees the three live (a broker just started may not yet).
 */
async function createOnThree(broker: BrokerProcess): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const answer = await broker.http.post('/v1/topics', { name: TOPIC, partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': 2 } });
    if (answer.status === 201) return;
    const placeable = answer.status === 400 && /replicationFactor/.test(JSON.stringify(answer.body));
    if (!placeable || attempt >= 100) throw new Error(`create ${TOPIC}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The producer loop's outcome: the values acknowledged and those of sends the client gave up on. */
class ProducerRun {
  readonly acked: string[] = [];
  readonly failed: string[] = [];
  readonly failures: string[] = [];
  /** Where each acknowledged send landed (partition@base offset), to tell a lost record's story. */
  readonly answers: string[] = [];
  /** kafkajs's own warnings and errors (retries, metadata refreshes): what the client went through. */
  readonly clientLog: string[] = [];
  #stop = false;
  #done: Promise<void> = Promise.resolve();

  start(producer: kafkajs.Producer): void {
    this.#done = (async () => {
      for (let send = 0; !this.#stop && send < 10_000; send++) {
        const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `v-${send}-${i}`);
        const partition = send % PARTITIONS;
        try {
          const answers = await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value, i) => ({ partition, key: `k-${i}`, value })) });
          const answer = answers.find((a) => a.partition === partition);
          if (answer === undefined) {
            // kafkajs answered without this partition (see RECORDS_PER_SEND): not an acknowledgement.
            this.failed.push(...values);
            this.failures.push(`send ${send}: kafkajs resolved without an answer for partition ${partition}`);
            continue;
          }
          this.acked.push(...values);
          this.answers.push(`send ${send}: p${partition}@${answer.baseOffset}`);
        } catch (e) {
          this.failed.push(...values);
          this.failures.push(`send ${send}: ${(e as Error).message}`);
        }
      }
    })();
  }

  /** Waits until `count` more records are acknowledged than now. */
  async progress(count: number, what: string): Promise<void> {
    const target = this.acked.length + count;
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    while (this.acked.length < target) {
      if (Date.now() > deadline) throw new Error(`the producer acknowledged ${this.acked.length}/${target} records ${what} (failures: ${this.failures.slice(-3).join(' | ')})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/** Every value on the topic with how many times it is there, read with kcat from the beginning. */
async function readBack(bootstrap: string): Promise<{ counts: Map<string, number>; where: Map<string, string> }> {
  const counts = new Map<string, number>();
  const where = new Map<string, string>();
  const records = parseKcatJson(await kcat(bootstrap, ['-C', '-t', TOPIC, '-o', 'beginning', '-e', '-J', '-X', 'topic.metadata.refresh.interval.ms=500']));
  for (const r of records) {
    counts.set(r.payload!, (counts.get(r.payload!) ?? 0) + 1);
    where.set(`p${r.partition}@${r.offset}`, r.payload!);
  }
  return { counts, where };
}

/**
 * The scenario, for one mode: `bootstrap` gives the client's bootstrap list (the brokers' or the
 * balancer's address) as the cluster is at the time.
 */
async function produceThroughFaults(cluster: Cluster, bootstrap: () => string[]): Promise<void> {
  await createOnThree(cluster.broker('b1'));
  const leaders = await cluster.awaitLeaders(TOPIC, PARTITIONS);

  const run = new ProducerRun();
  const client = new Kafka({
    clientId: 'strata-faults',
    brokers: bootstrap(),
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ log }) => {
        if (run.clientLog.length < 1_000) run.clientLog.push(`${log.message} ${String(log.error ?? '')}`);
      },
  });
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  run.start(producer);
  try {
    await run.progress(RECORDS_PER_PHASE, 'before any fault');

    // (a) The leader of partition 0 dies with -9: its lease expires, another replica leads.
    const victim = leaders.get(0)!;
    await cluster.broker(victim).kill();
    await run.progress(RECORDS_PER_PHASE, `after ${victim} was killed`);

    // (b) A broker joins.
    await cluster.addBroker();
    await run.progress(RECORDS_PER_PHASE, 'after a broker joined');

    // (c) A broker leaves gracefully (SIGTERM: it hands its partitions over): one that leads now.
    const { claims } = await cluster.leaders();
    const leaving = [...claims.values()].map((c) => c[0]!).find((id) => id !== victim) ?? [...cluster.running()][0]![0];
    await cluster.broker(leaving).stop(30_000);
    await run.progress(RECORDS_PER_PHASE, `after ${leaving} left`);
  } finally {
    await run.stop();
    await producer.disconnect();
  }

  const { counts, where } = await readBack(bootstrap().join(','));
  const lost = run.acked.filter((v) => !counts.has(v));
  if (lost.length > 0) {
    const sends = new Set(lost.map((v) => v.split('-')[1]));
    const story = run.answers.filter((a) => sends.has(a.split(' ')[1]!.replace(':', '')));
    const there = story.flatMap((a) => a.split(' ').slice(2)).map((at) => `${at}=${where.get(at) ?? 'nothing'}`);
    process.stderr.write(`lost ${lost.join(' ')}; acknowledged as ${story.join('; ')}; read back there: ${there.join(' ')}\n`);
  }
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  const unknown = [...counts.keys()].filter((v) => !run.acked.includes(v) && !run.failed.includes(v));
  const refreshes = run.clientLog.filter((l) => /NOT_LEADER|leader|metadata|Connection|ECONNREFUSED|closed/i.test(l)).length;
  process.stderr.write(
    `${run.acked.length} acknowledged, ${run.failed.length} in sends given up, ${counts.size} distinct read back; kafkajs logged ${run.clientLog.length} warnings (${refreshes} about leaders, metadata or connections): ${[...new Set(run.clientLog.map((l) => l.slice(0, 120)))].join(' | ')}\n`,
  );
  expect(lost, 'acknowledged records lost').toEqual([]);
  expect(duplicated, 'records written twice').toEqual([]);
  expect(unknown, 'records nobody sent').toEqual([]);
  // The client went on by itself through every event: no send was given up.
  expect(run.failures, 'sends the client gave up on').toEqual([]);
  // ... and it did go through them: the dead leader's connection failed or a broker said it no longer leads.
  expect(refreshes, 'kafkajs never noticed a fault').toBeGreaterThan(0);
}

const available = hasKcat();
if (!available) process.stderr.write('kafka cluster fault tests skipped: kcat is not installed (.ci/run installs it)\n');

describe.skipIf(!available)('a kafkajs idempotent producer through faults of a three-broker cluster', () => {
  const state = clusterPerTest();

  it('brokers mode: a leader killed with -9, a broker joining, a broker leaving: every acknowledged record once', async () => {
    const cluster = (state.cluster = await Cluster.start({ brokers: 3, kafka: true, env: { STRATA_KAFKA_METADATA_MODE: 'brokers' } }));
    await produceThroughFaults(cluster, () => cluster.running().map(([, b]) => `127.0.0.1:${b.kafkaPort}`));
  }, 240_000);

  it('one-address mode behind a TCP balancer: a leader killed with -9, a broker joining, a broker leaving: every acknowledged record once', async () => {
    // The balancer sends each new connection to the next running broker (a dead one is skipped).
    const proxy = await RoundRobinProxy.start(() => state.cluster?.running().map(([, b]) => b.kafkaPort!) ?? []);
    state.extras.push(proxy);
    const address = `127.0.0.1:${proxy.port}`;
    const cluster = (state.cluster = await Cluster.start({
      brokers: 3,
      kafka: true,
      env: { STRATA_KAFKA_METADATA_MODE: 'one-address', STRATA_KAFKA_ADVERTISED_ADDRESS: address },
    }));
    await produceThroughFaults(cluster, () => [address]);
  }, 240_000);
});
