// Fast cluster tests on the in-process harness (harness/in-process-cluster.ts): three real brokers
// in this process sharing one MemoryCoordinator and one object store dir. Replication with
// acks=all across a leader's stop, a group whose members talk to different brokers, and the
// harness's own contract (the brokers do not close the coordinator they were given).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Consumer, Fetcher, Producer, isStrataError, type ConsumerRecord } from '@strata/client';
import { startInProcessCluster, type InProcessCluster } from './harness/index.js';

let cluster: InProcessCluster;
const clients: Array<{ close(): Promise<void> }> = [];
const track = <T extends { close(): Promise<void> }>(client: T): T => {
  clients.push(client);
  return client;
};

beforeAll(async () => {
  cluster = await startInProcessCluster({ brokers: 3 });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await cluster?.close();
});

/** Waits (bounded) for a condition; the bound is generous, nothing is asserted about time. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Every record of a partition below `end`, offset -> value, read through `brokerUrl` (retrying a retriable answer, bounded). */
async function readAll(brokerUrl: string, topic: string, partition: number, end: number): Promise<Map<number, string>> {
  const fetcher = new Fetcher({ brokers: brokerUrl });
  const values = new Map<number, string>();
  try {
    let offset = 0;
    for (let attempt = 0; offset < end; attempt++) {
      if (attempt > 1_000) throw new Error(`read ${values.size} of ${end} records of ${topic}/${partition}`);
      try {
        const got = await fetcher.fetch(topic, partition, offset, { maxWaitMs: 200 });
        for (const r of got.records) values.set(r.offset, r.value!.toString());
        offset = got.nextOffset;
      } catch (e) {
        if (!(isStrataError(e) && e.retriable)) throw e;
        await sleep(50);
      }
    }
  } finally {
    await fetcher.close();
  }
  return values;
}

describe('in-process cluster', () => {
  it('starts three brokers on one coordinator, each with its own ports and data dir', async () => {
    expect(cluster.ids).toEqual(['b1', 'b2', 'b3']);
    expect(new Set(cluster.urls()).size).toBe(3);
    expect(new Set(cluster.running().map(([, b]) => b.config.dataDir)).size).toBe(3);
    expect(new Set(cluster.running().map(([, b]) => b.clusterId))).toEqual(new Set([(await cluster.coordinator.status()).bootId]));
    expect((await cluster.coordinator.listBrokers()).map((b) => b.id).sort()).toEqual(['b1', 'b2', 'b3']);
  });

  it('serves a topic through every broker as soon as another broker has created it, however close together the requests come', async () => {
    // A broker that does not know a topic reads the coordinator before answering. A read that had
    // started before the creation, or one skipped because another ran within the last 100 ms, once
    // answered UNKNOWN_TOPIC here (CI: a Producer's first send failed right after createTopic).
    const [urlA, urlB, urlC] = cluster.urls();
    const admin = track(new Admin({ brokers: urlA! }));
    const others = [track(new Admin({ brokers: urlB! })), track(new Admin({ brokers: urlC! }))];
    for (let i = 0; i < 20; i++) {
      await admin.createTopic({ name: `fresh-${i}`, partitions: 1, replicationFactor: 1 });
      for (const other of others) expect((await other.describeTopic(`fresh-${i}`)).partitions).toHaveLength(1);
    }
  });

  it('keeps every acks=all record when the leader stops: a new leader is elected, the log is whole, writes go on', async () => {
    const admin = track(new Admin({ brokers: cluster.urls()[0]! }));
    await admin.createTopic({ name: 'orders', partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': 2 } });
    const leader = await cluster.awaitLeader('orders', 0);
    const epochBefore = (await cluster.coordinator.getPartitionState('orders', 0))!.leaderEpoch;
    // The client talks to a broker that stays: it forwards to whichever broker leads.
    const survivor = cluster.ids.find((id) => id !== leader)!;
    const producer = track(new Producer({ brokers: cluster.broker(survivor).url, acks: 'all', lingerMs: 0 }));
    const acked = await Promise.all(Array.from({ length: 40 }, (_, i) => producer.send({ topic: 'orders', partition: 0, value: `v${i}` })));
    expect(new Set(acked.map((m) => m.offset)).size).toBe(40);

    await cluster.stopBroker(leader);
    const next = await cluster.awaitLeader('orders', 0, { not: leader });
    const state = (await cluster.coordinator.getPartitionState('orders', 0))!;
    expect(state.leaderEpoch).toBeGreaterThan(epochBefore);
    expect(state.isr).toContain(next);

    const values = await readAll(cluster.broker(survivor).url, 'orders', 0, 40);
    for (const [i, m] of acked.entries()) expect(values.get(m.offset), `acknowledged offset ${m.offset}`).toBe(`v${i}`);

    // Two of three in sync still meet min.insync.replicas=2: acks=all goes on, right after the log.
    const after = await producer.send({ topic: 'orders', partition: 0, value: 'after' });
    expect(after.offset).toBe(40);

    // The stopped broker comes back on its data dir and serves the same log.
    const back = await cluster.restartBroker(leader);
    const again = await readAll(back.url, 'orders', 0, 41);
    expect(again.get(40)).toBe('after');
    for (const [i, m] of acked.entries()) expect(again.get(m.offset)).toBe(`v${i}`);
  });

  it('runs a group whose members talk to different brokers: the partitions are shared, every record is delivered', async () => {
    const [urlA, urlB] = cluster.urls();
    const admin = track(new Admin({ brokers: urlA! }));
    await admin.createTopic({ name: 'events', partitions: 4, replicationFactor: 2 });
    const fast = { groupId: 'g-events', topics: ['events'], autoOffsetReset: 'earliest', sessionTimeoutMs: 1_500, autoCommitIntervalMs: 100, maxWaitMs: 200 } as const;
    const a = track(new Consumer({ brokers: urlA!, ...fast }));
    const b = track(new Consumer({ brokers: urlB!, ...fast }));
    const seenBy = new Map<string, string>(); // "partition/offset" -> member
    const record = (who: string) => (r: ConsumerRecord) => void seenBy.set(`${r.partition}/${r.offset}`, who);
    const runs = [a.run({ eachRecord: record('a') }), b.run({ eachRecord: record('b') })];
    await until('both members own two partitions', () => a.assignment().length === 2 && b.assignment().length === 2);
    const ownedA = a.assignment().map((p) => p.partition);
    const ownedB = b.assignment().map((p) => p.partition);
    expect([...ownedA, ...ownedB].sort()).toEqual([0, 1, 2, 3]);

    const producer = track(new Producer({ brokers: cluster.urls()[2]!, acks: 'all', lingerMs: 0 }));
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => producer.send({ topic: 'events', key: `k${i}`, value: `e${i}` })));
    await until('every record delivered', () => seenBy.size >= 40);
    for (const m of sent) {
      const who = seenBy.get(`${m.partition}/${m.offset}`);
      expect(who, `${m.partition}/${m.offset}`).toBe(ownedA.includes(m.partition) ? 'a' : 'b');
    }
    const group = await cluster.coordinator.describeGroup('g-events');
    expect(group?.members).toHaveLength(2);

    await Promise.all([a.close(), b.close()]);
    await Promise.all(runs);
    // Committed through two brokers into the one coordinator: no lag left.
    const offsets = await admin.groupOffsets('g-events', 'events');
    expect(offsets.map((o) => o.lag)).toEqual([0, 0, 0, 0]);
  });

  it('grows a topic through one broker: every broker serves the new partitions, each gets replicas and a leader, produce and fetch work there', async () => {
    const [urlA, , urlC] = cluster.urls();
    const admin = track(new Admin({ brokers: urlA! }));
    await admin.createTopic({ name: 'growing', partitions: 2, replicationFactor: 2 });
    const producer = track(new Producer({ brokers: urlC!, acks: 'all', lingerMs: 0 }));
    const old = await producer.send({ topic: 'growing', partition: 1, value: 'old' });
    const grown = await admin.addPartitions('growing', 5);
    expect(grown.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4]);
    expect((await cluster.coordinator.getTopic('growing'))!.partitions).toBe(5);
    for (let p = 2; p < 5; p++) {
      await cluster.awaitLeader('growing', p);
      // The controller assigns min(replication factor, live brokers): a broker whose heartbeat is late
      // on a loaded machine counts out for a tick, and the partition gets its second replica the next.
      await until(`growing/${p} has two replicas`, async () => (await cluster.coordinator.getPartitionState('growing', p))?.replicas.length === 2);
    }
    // Through a broker other than the one that grew it: it learnt the new count from the coordinator.
    let sent: Awaited<ReturnType<typeof producer.send>> | undefined;
    await until('broker C serves partition 4', async () => {
      try {
        sent = await producer.send({ topic: 'growing', partition: 4, value: 'new' });
        return true;
      } catch (e) {
        if (isStrataError(e) && (e.code === 'UNKNOWN_PARTITION' || e.retriable)) return false;
        throw e;
      }
    });
    expect(sent!.offset).toBe(0);
    expect((await readAll(urlC!, 'growing', 4, 1)).get(0)).toBe('new');
    expect((await readAll(urlA!, 'growing', 1, old.offset + 1)).get(old.offset)).toBe('old');
    await expect(admin.addPartitions('growing', 4)).rejects.toMatchObject({ code: 'INVALID_PARTITIONS' });
    expect((await cluster.coordinator.getTopic('growing'))!.partitions).toBe(5);
  });

  it('a stopped broker leaves the shared coordinator open for the others', async () => {
    const id = await cluster.addBroker();
    await cluster.stopBroker(id);
    // The coordinator still answers, and the running brokers still serve.
    expect((await cluster.coordinator.status()).bootId).toBe(cluster.broker('b1').clusterId);
    const admin = track(new Admin({ brokers: cluster.urls()[0]! }));
    expect((await admin.listTopics()).map((t) => t.name)).toEqual(expect.arrayContaining(['orders', 'events']));
  });
});
