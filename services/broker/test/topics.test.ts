import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TopicMetadata } from '@strata/broker';
import { MemoryCoordinator, type Coordinator } from '@strata/coord';
import { call, createTopic, fetchRecords, startTestBroker, type TestBroker } from './helpers.js';

let t: TestBroker;
beforeEach(async () => {
  // Small segments (below Kafka 4.0's 1 MiB floor): the tests' escape hatch.
  t = await startTestBroker({ STRATA_MIN_SEGMENT_BYTES: '1024' });
});
afterEach(async () => {
  await t.stop();
});

async function partitionDirs(dataDir: string): Promise<string[]> {
  return (await readdir(dataDir)).filter((d) => d !== '__strata').sort();
}

describe('topics CRUD', () => {
  it('creates, lists, describes and deletes a topic', async () => {
    const created = await call(t.url, 'POST', '/v1/topics', { name: 'orders', partitions: 3, configs: { 'retention.ms': 60_000 } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/topics/orders');
    expect(created.body.name).toBe('orders');
    expect(created.body.replicationFactor).toBe(1);
    expect(created.body.configs['retention.ms']).toBe(60_000);
    expect(created.body.configOverrides).toEqual({ 'retention.ms': 60_000 });
    expect(created.body.partitions).toHaveLength(3);
    expect(created.body.partitions[2]).toMatchObject({
      partition: 2,
      leader: '0',
      replicas: ['0'],
      isr: ['0'],
      logStartOffset: 0,
      highWatermark: 0,
      localLogStartOffset: 0,
      remoteBytes: 0,
    });
    expect(await partitionDirs(t.dataDir)).toEqual(['orders-0', 'orders-1', 'orders-2']);

    await createTopic(t.url, 'audit');
    const list = await call(t.url, 'GET', '/v1/topics');
    expect(list.body).toEqual({
      topics: [
        { name: 'audit', partitions: 1, replicationFactor: 1, underReplicated: 0, leaderless: 0, offline: 0, uploadLagSegments: 0, uploadLagBytes: 0 },
        { name: 'orders', partitions: 3, replicationFactor: 1, underReplicated: 0, leaderless: 0, offline: 0, uploadLagSegments: 0, uploadLagBytes: 0 },
      ],
    });

    const described = await call(t.url, 'GET', '/v1/topics/orders');
    expect(described.status).toBe(200);
    expect(described.body.partitions.map((p: { partition: number }) => p.partition)).toEqual([0, 1, 2]);

    const deleted = await call(t.url, 'DELETE', '/v1/topics/orders');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ name: 'orders', deleted: true });
    expect(await partitionDirs(t.dataDir)).toEqual(['audit-0']);
    expect((await call(t.url, 'GET', '/v1/topics/orders')).body.error.code).toBe('UNKNOWN_TOPIC');
    expect((await call(t.url, 'DELETE', '/v1/topics/orders')).status).toBe(404);

    // Topics persist in the in-process coordinator's file (a single node is a cluster of one).
    const file = JSON.parse(await readFile(join(t.dataDir, '__strata', 'coord', 'cluster.json'), 'utf8'));
    expect(file.topics.map((x: TopicMetadata) => x.name)).toEqual(['audit']);
  });

  it('uses the broker defaults for omitted fields', async () => {
    const res = await call(t.url, 'POST', '/v1/topics', { name: 'plain' });
    expect(res.status).toBe(201);
    expect(res.body.partitions).toHaveLength(1);
    expect(res.body.configs).toMatchObject({ 'cleanup.policy': 'delete', 'min.insync.replicas': 1, 'max.message.bytes': 1_048_588 });
  });

  it('refuses a duplicate with 409 and a "." / "_" collision with INVALID_TOPIC', async () => {
    await createTopic(t.url, 'a.b');
    const dup = await call(t.url, 'POST', '/v1/topics', { name: 'a.b' });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'TOPIC_ALREADY_EXISTS', retriable: false });
    const clash = await call(t.url, 'POST', '/v1/topics', { name: 'a_b' });
    expect(clash.status).toBe(400);
    expect(clash.body.error.code).toBe('INVALID_TOPIC');
  });

  it('recreating a deleted topic starts empty', async () => {
    await createTopic(t.url, 'again');
    await call(t.url, 'POST', '/v1/topics/again/records', { records: [{ value: 'x' }] });
    await call(t.url, 'DELETE', '/v1/topics/again');
    await createTopic(t.url, 'again');
    const res = await call(t.url, 'GET', '/v1/topics/again/partitions/0/offsets?at=latest');
    expect(res.body.offset).toBe(0);
  });
});

describe('topic validation: every bad case gets the right code and creates nothing', () => {
  const cases: Array<[string, unknown, string, number]> = [
    ['empty name', { name: '' }, 'INVALID_TOPIC', 400],
    ['"."', { name: '.' }, 'INVALID_TOPIC', 400],
    ['".."', { name: '..' }, 'INVALID_TOPIC', 400],
    ['a slash', { name: 'a/b' }, 'INVALID_TOPIC', 400],
    ['a space', { name: 'a b' }, 'INVALID_TOPIC', 400],
    ['non-ASCII', { name: 'tópico' }, 'INVALID_TOPIC', 400],
    ['250 characters', { name: 'x'.repeat(250) }, 'INVALID_TOPIC', 400],
    ['a number as name', { name: 42 }, 'INVALID_TOPIC', 400],
    ['no name', { partitions: 1 }, 'INVALID_TOPIC', 400],
    ['0 partitions', { name: 't', partitions: 0 }, 'INVALID_PARTITIONS', 400],
    ['negative partitions', { name: 't', partitions: -3 }, 'INVALID_PARTITIONS', 400],
    ['fractional partitions', { name: 't', partitions: 1.5 }, 'INVALID_PARTITIONS', 400],
    ['string partitions', { name: 't', partitions: '2' }, 'INVALID_PARTITIONS', 400],
    ['partitions over the broker cap', { name: 't', partitions: 10_001 }, 'INVALID_PARTITIONS', 400],
    ['replicationFactor 3 on one broker', { name: 't', replicationFactor: 3 }, 'INVALID_CONFIG', 400],
    ['replicationFactor 0', { name: 't', replicationFactor: 0 }, 'INVALID_CONFIG', 400],
    ['an unknown config', { name: 't', configs: { 'retention.msec': 1 } }, 'INVALID_CONFIG', 400],
    ['a negative segment.bytes', { name: 't', configs: { 'segment.bytes': -5 } }, 'INVALID_CONFIG', 400],
    ['segment.bytes too small', { name: 't', configs: { 'segment.bytes': 10 } }, 'INVALID_CONFIG', 400],
    ['retention.ms -2', { name: 't', configs: { 'retention.ms': -2 } }, 'INVALID_CONFIG', 400],
    ['a non-numeric retention.bytes', { name: 't', configs: { 'retention.bytes': 'lots' } }, 'INVALID_CONFIG', 400],
    ['flush.messages 0', { name: 't', configs: { 'flush.messages': 0 } }, 'INVALID_CONFIG', 400],
    ['index.interval.bytes 0', { name: 't', configs: { 'index.interval.bytes': 0 } }, 'INVALID_CONFIG', 400],
    ['cleanup.policy compact', { name: 't', configs: { 'cleanup.policy': 'compact' } }, 'INVALID_CONFIG', 400],
    ['cleanup.policy bogus', { name: 't', configs: { 'cleanup.policy': 'shred' } }, 'INVALID_CONFIG', 400],
    ['min.insync.replicas above RF', { name: 't', configs: { 'min.insync.replicas': 2 } }, 'INVALID_CONFIG', 400],
    ['max.message.bytes over the request cap', { name: 't', configs: { 'max.message.bytes': 2 ** 31 - 1 } }, 'INVALID_CONFIG', 400],
    ['configs not an object', { name: 't', configs: [1] }, 'INVALID_CONFIG', 400],
    ['an unknown field', { name: 't', partitons: 3 }, 'INVALID_REQUEST', 400],
    ['an array body', [{ name: 't' }], 'INVALID_REQUEST', 400],
  ];
  it.each(cases)('%s', async (_label, body, code, status) => {
    const res = await call(t.url, 'POST', '/v1/topics', body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.retriable).toBe(false);
    expect((await call(t.url, 'GET', '/v1/topics')).body.topics).toEqual([]);
    expect(await partitionDirs(t.dataDir)).toEqual([]);
  });

  it('lists every config problem in one answer', async () => {
    const res = await call(t.url, 'POST', '/v1/topics', {
      name: 't',
      configs: { 'segment.bytes': 'big', 'retention.ms': -7, bogus: 1, 'cleanup.policy': 'compact' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_CONFIG');
    const fields = res.body.error.details.problems.map((p: { field: string }) => p.field).sort();
    expect(fields).toEqual(['configs.bogus', 'configs.cleanup.policy', 'configs.retention.ms', 'configs.segment.bytes']);
    expect(res.body.error.message).toContain('not supported yet');
  });

  it('accepts Kafka-style string values and -1 where it means unlimited', async () => {
    const res = await call(t.url, 'POST', '/v1/topics', {
      name: 't',
      configs: { 'retention.ms': '-1', 'retention.bytes': -1, 'segment.bytes': '1048576', 'cleanup.policy': 'delete' },
    });
    expect(res.status).toBe(201);
    expect(res.body.configs).toMatchObject({ 'retention.ms': -1, 'retention.bytes': -1, 'segment.bytes': 1_048_576 });
  });

  it('topic creation is all or nothing when the metadata write fails', async () => {
    await t.stop();
    let fail = true;
    let engine: MemoryCoordinator | undefined;
    // The broker's own in-process coordinator, whose topic write fails while `fail` holds (a fault, not a mock).
    t = await startTestBroker({}, async (dataDir) => {
      engine = await MemoryCoordinator.open({ dir: join(dataDir, '__strata', 'coord') });
      const real = engine;
      const coordinator = new Proxy(real, {
        get(target, key) {
          if (key === 'createTopic') {
            return async (...args: Parameters<Coordinator['createTopic']>) => {
              if (fail) throw new Error('disk on fire');
              return target.createTopic(...args);
            };
          }
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      return { coordinator };
    });
    const res = await call(t.url, 'POST', '/v1/topics', { name: 'doomed', partitions: 4 });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'STORAGE_ERROR', retriable: true });
    expect(await partitionDirs(t.dataDir)).toEqual([]);
    expect((await call(t.url, 'GET', '/v1/topics')).body.topics).toEqual([]);
    fail = false;
    expect((await call(t.url, 'POST', '/v1/topics', { name: 'doomed', partitions: 4 })).status).toBe(201);
    await t.broker.close();
    await engine!.close();
  });
});

describe('PATCH /v1/topics/{t}/configs', () => {
  it('sets and resets overrides, and they apply', async () => {
    await createTopic(t.url, 'cfg');
    const set = await call(t.url, 'PATCH', '/v1/topics/cfg/configs', { configs: { 'retention.ms': 1000, 'max.message.bytes': 200 } });
    expect(set.status).toBe(200);
    expect(set.body.configOverrides).toEqual({ 'retention.ms': 1000, 'max.message.bytes': 200 });
    const big = await call(t.url, 'POST', '/v1/topics/cfg/records', { records: [{ value: 'x'.repeat(500) }] });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('MESSAGE_TOO_LARGE');
    const reset = await call(t.url, 'PATCH', '/v1/topics/cfg/configs', { configs: { 'max.message.bytes': null } });
    expect(reset.body.configOverrides).toEqual({ 'retention.ms': 1000 });
    expect(reset.body.configs['max.message.bytes']).toBe(1_048_588);
    expect((await call(t.url, 'POST', '/v1/topics/cfg/records', { records: [{ value: 'x'.repeat(500) }] })).status).toBe(200);
  });

  it('validates everything before changing anything', async () => {
    await createTopic(t.url, 'cfg');
    const res = await call(t.url, 'PATCH', '/v1/topics/cfg/configs', {
      configs: { 'retention.ms': 5000, 'segment.ms': 0, 'cleanup.policy': 'compact', nope: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_CONFIG');
    expect(res.body.error.details.problems).toHaveLength(3);
    expect((await call(t.url, 'GET', '/v1/topics/cfg')).body.configOverrides).toEqual({});
  });

  it('404 for an unknown topic, 400 for a malformed body', async () => {
    expect((await call(t.url, 'PATCH', '/v1/topics/ghost/configs', { configs: {} })).status).toBe(404);
    await createTopic(t.url, 'cfg');
    const bad = await call(t.url, 'PATCH', '/v1/topics/cfg/configs', { 'retention.ms': 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
  });

  it('survives a restart', async () => {
    await createTopic(t.url, 'cfg', 2, { 'segment.bytes': 4096 });
    await call(t.url, 'PATCH', '/v1/topics/cfg/configs', { configs: { 'retention.bytes': 1_000_000 } });
    await t.restart();
    const res = await call(t.url, 'GET', '/v1/topics/cfg');
    expect(res.body.configOverrides).toEqual({ 'segment.bytes': 4096, 'retention.bytes': 1_000_000 });
    expect(res.body.partitions).toHaveLength(2);
  });
});

describe('POST /v1/topics/{t}/partitions (grow a topic)', () => {
  it('adds partitions, leaves the existing ones and their records untouched, and the new ones take produce', async () => {
    await createTopic(t.url, 'grow', 2);
    expect((await call(t.url, 'POST', '/v1/topics/grow/records', { records: [{ partition: 1, value: 'old' }] })).status).toBe(200);
    const grown = await call(t.url, 'POST', '/v1/topics/grow/partitions', { count: 5 });
    expect(grown.status).toBe(200);
    expect(grown.body.partitions.map((p: { partition: number }) => p.partition)).toEqual([0, 1, 2, 3, 4]);
    expect(grown.body.partitions[1].highWatermark).toBe(1);
    expect(await partitionDirs(t.dataDir)).toEqual(['grow-0', 'grow-1', 'grow-2', 'grow-3', 'grow-4']);
    const produced = await call(t.url, 'POST', '/v1/topics/grow/records', { records: [{ partition: 4, value: 'new' }] });
    expect(produced.status).toBe(200);
    expect(produced.body.offsets[0]).toMatchObject({ partition: 4, offset: 0 });
    const old = await fetchRecords(t.url, 'grow', 1, 'offset=0');
    expect(old.body.records.map((r: { value: string }) => r.value)).toEqual(['old']);
    await t.restart();
    const after = await call(t.url, 'GET', '/v1/topics/grow');
    expect(after.body.partitions).toHaveLength(5);
    expect(after.body.partitions[4].highWatermark).toBe(1);
  });

  it('refuses a count not above the current one, a bad body and an unknown topic, changing nothing; validateOnly changes nothing', async () => {
    await createTopic(t.url, 'grow', 3);
    for (const count of [3, 2, 0]) {
      const res = await call(t.url, 'POST', '/v1/topics/grow/partitions', { count });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_PARTITIONS');
    }
    expect((await call(t.url, 'POST', '/v1/topics/grow/partitions', { count: 'many' })).body.error.code).toBe('INVALID_PARTITIONS');
    expect((await call(t.url, 'POST', '/v1/topics/grow/partitions', { partitions: 4 })).status).toBe(400);
    expect((await call(t.url, 'POST', '/v1/topics/ghost/partitions', { count: 4 })).status).toBe(404);
    const checked = await call(t.url, 'POST', '/v1/topics/grow/partitions', { count: 4, validateOnly: true });
    expect(checked.status).toBe(200);
    expect(checked.body.partitions).toHaveLength(3);
    expect(await partitionDirs(t.dataDir)).toEqual(['grow-0', 'grow-1', 'grow-2']);
    expect((await call(t.url, 'GET', '/v1/topics/grow')).body.partitions).toHaveLength(3);
  });
});

describe('segment.bytes floor (issue #10: tiny segments exhausted file descriptors)', () => {
  it('refuses segment.bytes below 1 MiB (Kafka 4.0, KIP-1030) at create and at update, and changes nothing', async () => {
    const strict = await startTestBroker();
    try {
      for (const bytes of [14, 1024, 1_048_575]) {
        const res = await call(strict.url, 'POST', '/v1/topics', { name: 'tiny', configs: { 'segment.bytes': bytes } });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('INVALID_CONFIG');
        expect(res.body.error.message).toMatch(/segment\.bytes .* at least 1048576 \(STRATA_MIN_SEGMENT_BYTES\)/);
      }
      expect((await call(strict.url, 'GET', '/v1/topics/tiny')).status).toBe(404);
      expect((await call(strict.url, 'POST', '/v1/topics', { name: 'ok', configs: { 'segment.bytes': 1_048_576 } })).status).toBe(201);
      const patched = await call(strict.url, 'PATCH', '/v1/topics/ok/configs', { configs: { 'segment.bytes': 4096 } });
      expect(patched.status).toBe(400);
      expect((await call(strict.url, 'GET', '/v1/topics/ok')).body.configs['segment.bytes']).toBe(1_048_576);
    } finally {
      await strict.stop();
    }
  });
});
