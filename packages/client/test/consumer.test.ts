// Consumer (groups) against a real in-process broker: delivery from the committed offset,
// sharing partitions, hand-over without overlap, seek, pause/resume, manual commits, fencing,
// and the dead-letter helper.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Consumer, DEAD_LETTER_HEADERS, Fetcher, Producer, isStrataError, type ConsumerRecord } from '../src/index.js';
import { startTestBroker, type TestBroker } from './helpers.js';

let t: TestBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  t = await startTestBroker();
  admin = new Admin({ brokers: t.url });
  producer = new Producer({ brokers: t.url, lingerMs: 0 });
});
afterAll(async () => {
  await producer.close();
  await admin.close();
  await t.stop();
});

async function produceN(topic: string, n: number, prefix = 'v'): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, key: `k${i}`, value: `${prefix}${i}` })));
}

const FAST = { sessionTimeoutMs: 1_500, autoCommitIntervalMs: 100, maxWaitMs: 200 } as const;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('Consumer', () => {
  it('reads every record from earliest, commits, and a new member resumes after the commit', async () => {
    await admin.createTopic({ name: 'c1', partitions: 3 });
    await produceN('c1', 30);
    const seen: ConsumerRecord[] = [];
    const assigned: string[] = [];
    const c = new Consumer({ brokers: t.url, groupId: 'g-c1', topics: ['c1'], autoOffsetReset: 'earliest', ...FAST, onPartitionsAssigned: (ps) => void assigned.push(...ps.map((p) => `${p.topic}/${p.partition}`)) });
    const running = c.run({ eachRecord: (r) => void seen.push(r) });
    await until('30 records', () => seen.length >= 30);
    await c.close();
    await running;
    expect(assigned.sort()).toEqual(['c1/0', 'c1/1', 'c1/2']);
    expect(new Set(seen.map((r) => r.value!.toString())).size).toBe(30);
    const offsets = await admin.groupOffsets('g-c1');
    expect(offsets.map((o) => o.lag)).toEqual([0, 0, 0]);
    expect((await admin.describeGroup('g-c1')).members).toHaveLength(0); // close() left

    await produceN('c1', 6, 'w');
    const again: string[] = [];
    const c2 = new Consumer({ brokers: t.url, groupId: 'g-c1', topics: ['c1'], autoOffsetReset: 'earliest', ...FAST });
    for await (const r of c2) {
      again.push(r.value!.toString());
      if (again.length === 6) break;
    }
    await c2.close();
    expect(again.sort()).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
  });

  it('two members share the partitions without overlap; when one leaves the other takes over', async () => {
    await admin.createTopic({ name: 'c2', partitions: 6 });
    const seen = new Map<string, number>();
    const make = () => new Consumer({ brokers: t.url, groupId: 'g-c2', topics: ['c2'], autoOffsetReset: 'earliest', ...FAST });
    const a = make();
    const b = make();
    const runA = a.run({ eachRecord: (r) => void seen.set(r.value!.toString(), (seen.get(r.value!.toString()) ?? 0) + 1) });
    const runB = b.run({ eachRecord: (r) => void seen.set(r.value!.toString(), (seen.get(r.value!.toString()) ?? 0) + 1) });
    await until('both own 3', () => a.assignment().length === 3 && b.assignment().length === 3);
    const ownedA = a.assignment().map((p) => p.partition);
    const ownedB = b.assignment().map((p) => p.partition);
    expect([...ownedA, ...ownedB].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    await produceN('c2', 60);
    await until('60 records', () => seen.size >= 60);
    await a.close();
    await runA;
    await until('b owns all', () => b.assignment().length === 6);
    await produceN('c2', 60, 'x');
    await until('120 records', () => seen.size >= 120);
    await b.close();
    await runB;
    // Committed on close: every record exactly once here (no failures).
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('seek, pause and resume', async () => {
    await admin.createTopic({ name: 'c3', partitions: 1 });
    await produceN('c3', 10);
    const c = new Consumer({ brokers: t.url, groupId: 'g-c3', topics: ['c3'], autoOffsetReset: 'earliest', ...FAST });
    const got: number[] = [];
    let seeked = false;
    const running = c.run({
      eachRecord: (r) => {
        got.push(r.offset);
        if (r.offset === 4 && !seeked) {
          seeked = true;
          c.seek('c3', 0, 8);
        }
      },
    });
    await until('offset 9', () => got.includes(9));
    expect(got).toEqual([0, 1, 2, 3, 4, 8, 9]); // the rest of the batch in hand was skipped
    c.pause([{ topic: 'c3', partition: 0 }]);
    expect(c.paused()).toEqual([{ topic: 'c3', partition: 0 }]);
    const before = got.length;
    await produceN('c3', 3);
    await sleep(500);
    expect(got.length).toBe(before);
    c.resume([{ topic: 'c3', partition: 0 }]);
    await until('resumed', () => [10, 11, 12].every((o) => got.includes(o)));
    expect(got.slice(before)).toEqual([10, 11, 12]);
    await c.close();
    await running;
    expect(() => c.seek('c3', 0, 0)).toThrow(/closed/);
  });

  // Issue #15: a revocation waited for a whole fetch (up to 1 MiB of records) in the handler.
  it('hands the handler at most maxRecordsPerBatch records per batch, in order', async () => {
    await admin.createTopic({ name: 'c-max-records', partitions: 1 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'c-max-records', partition: 0, value: `v${i}` })));
    const c = new Consumer({ brokers: t.url, groupId: 'g-max-records', topics: ['c-max-records'], autoOffsetReset: 'earliest', maxRecordsPerBatch: 3, ...FAST });
    const sizes: number[] = [];
    const offsets: number[] = [];
    const running = c.run({
      eachBatch: (b) => {
        sizes.push(b.records.length);
        offsets.push(...b.records.map((r) => r.offset));
      },
    });
    await until('20 records', () => offsets.length >= 20);
    await c.close();
    await running;
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Math.max(...sizes)).toBe(3);
    expect(() => new Consumer({ brokers: t.url, groupId: 'g', topics: ['t'], maxRecordsPerBatch: 0 })).toThrow(/maxRecordsPerBatch/);
  });

  // Issue #15: the README's example threw "not assigned" at the seek, then UNKNOWN_MEMBER_ID "(it is rejoining)" at the commit.
  it('a seek right after run(), before the assignment, is applied when the partition is assigned; commit() before the join commits nothing', async () => {
    await admin.createTopic({ name: 'c-early-seek', partitions: 2 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'c-early-seek', partition: i % 2, value: `v${i}` })));
    const c = new Consumer({ brokers: t.url, groupId: 'g-early-seek', topics: ['c-early-seek'], autoOffsetReset: 'earliest', ...FAST });
    const got: string[] = [];
    const running = c.run({ eachRecord: (r) => void got.push(`${r.partition}:${r.offset}`) });
    c.seek('c-early-seek', 0, 6);
    await c.commit(); // not joined yet: nothing processed, nothing to commit
    await expect(c.commit([{ topic: 'c-early-seek', partition: 0, offset: 1 }])).rejects.toThrow(/has not joined the group yet/);
    expect(() => c.seek('elsewhere', 0, 1)).toThrow(/subscribes to c-early-seek, not to elsewhere/);
    expect((await admin.groupOffsets('g-early-seek')).every((o) => o.offset === null)).toBe(true);
    await until('both partitions read to their end', () => got.includes('0:9') && got.includes('1:9'));
    await c.close();
    await running;
    expect(got.filter((g) => g.startsWith('0:'))).toEqual(['0:6', '0:7', '0:8', '0:9']);
    expect(got.filter((g) => g.startsWith('1:'))).toHaveLength(10);
    expect((await admin.groupOffsets('g-early-seek')).map((o) => o.offset)).toEqual([10, 10]);
  });

  it('manual commits; a member that left cannot commit', async () => {
    await admin.createTopic({ name: 'c4', partitions: 1 });
    await produceN('c4', 5);
    const c = new Consumer({ brokers: t.url, groupId: 'g-c4', topics: ['c4'], autoOffsetReset: 'earliest', autoCommit: false, ...FAST });
    let n = 0;
    for await (const r of c) {
      n++;
      if (r.offset === 2) await c.commit([{ topic: 'c4', partition: 0, offset: 3 }]);
      if (n === 5) break;
    }
    await c.close();
    expect((await admin.groupOffsets('g-c4'))[0]!.offset).toBe(3); // autoCommit off: close did not commit
    const error = await c.commit([{ topic: 'c4', partition: 0, offset: 5 }]).catch((e: unknown) => e);
    expect(isStrataError(error) && error.code).toBe('UNKNOWN_MEMBER_ID');
    expect((await admin.groupOffsets('g-c4'))[0]!.offset).toBe(3);
  });

  it('admin resets a group to earliest while it has no members, and refuses while it has', async () => {
    await admin.createTopic({ name: 'c5', partitions: 2 });
    await produceN('c5', 10);
    await expect(admin.resetOffsets('g-c5', 'c5', 'latest')).resolves.toHaveLength(2);
    const c = new Consumer({ brokers: t.url, groupId: 'g-c5', topics: ['c5'], ...FAST });
    await c.start();
    await expect(admin.resetOffsets('g-c5', 'c5', 'earliest')).rejects.toMatchObject({ code: 'NON_EMPTY_GROUP' });
    await c.close();
    const set = await admin.resetOffsets('g-c5', 'c5', 'earliest');
    expect(set.map((o) => o.offset)).toEqual([0, 0]);
    expect((await admin.listGroups()).map((g) => g.group)).toContain('g-c5');
    await admin.deleteGroup('g-c5');
    await expect(admin.describeGroup('g-c5')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('dead letters: a record failing maxAttempts times goes to <topic>.dlq with headers; consumption moves on', async () => {
    await admin.createTopic({ name: 'c6', partitions: 1 });
    await produceN('c6', 5);
    const attempts = new Map<number, number>();
    const done: number[] = [];
    const c = new Consumer({ brokers: t.url, groupId: 'g-c6', topics: ['c6'], autoOffsetReset: 'earliest', ...FAST });
    const running = c.run({
      eachRecord: (r) => {
        attempts.set(r.offset, (attempts.get(r.offset) ?? 0) + 1);
        if (r.offset === 2) throw new Error('poison record');
        done.push(r.offset);
      },
      deadLetter: { producer, maxAttempts: 3, retryBackoffMs: 1 },
    });
    await until('all but the poison', () => done.length === 4);
    await c.close();
    await running;
    expect(attempts.get(2)).toBe(3);
    expect(done).toEqual([0, 1, 3, 4]);
    expect((await admin.groupOffsets('g-c6'))[0]!.offset).toBe(5);
    const fetcher = new Fetcher({ brokers: t.url });
    const dlq = await fetcher.fetch('c6.dlq', 0, 0);
    await fetcher.close();
    expect(dlq.records).toHaveLength(1);
    const header = (k: string) => dlq.records[0]!.headers.find((h) => h.key === k)?.value?.toString();
    expect(dlq.records[0]!.value!.toString()).toBe('v2');
    expect(header(DEAD_LETTER_HEADERS.topic)).toBe('c6');
    expect(header(DEAD_LETTER_HEADERS.partition)).toBe('0');
    expect(header(DEAD_LETTER_HEADERS.offset)).toBe('2');
    expect(header(DEAD_LETTER_HEADERS.error)).toBe('poison record');
    expect(header(DEAD_LETTER_HEADERS.attempts)).toBe('3');
  });

  it('a handler failure rejects run() and commits only what was processed', async () => {
    await admin.createTopic({ name: 'c7', partitions: 1 });
    await produceN('c7', 5);
    const c = new Consumer({ brokers: t.url, groupId: 'g-c7', topics: ['c7'], autoOffsetReset: 'earliest', ...FAST });
    await expect(
      c.run({
        eachRecord: (r) => {
          if (r.offset === 3) throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    await c.close();
    expect((await admin.groupOffsets('g-c7'))[0]!.offset).toBe(3);
  });

  it('autoOffsetReset none without a committed offset fails loudly', async () => {
    await admin.createTopic({ name: 'c8', partitions: 1 });
    const c = new Consumer({ brokers: t.url, groupId: 'g-c8', topics: ['c8'], autoOffsetReset: 'none', ...FAST });
    await expect(c.run({ eachRecord: () => undefined })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await c.close();
  });
});
