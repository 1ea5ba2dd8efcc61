import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch } from '@strata/protocol';
import { ROUTES, type BrokerState } from '@strata/broker';
import type { BrokerContext } from '../src/context.js';
import { clusterHandlers } from '../src/http/handlers/cluster.js';
import type { RequestContext } from '../src/http/router.js';
import { call, createTopic, fetchRecords, postBatch, produce, startTestBroker, type TestBroker } from './helpers.js';

let t: TestBroker | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

describe('restart', () => {
  it('topics, configs and data survive a restart on the same data dir', async () => {
    // Small segments (below Kafka 4.0's 1 MiB floor) so the data spans several: the tests' escape hatch.
    t = await startTestBroker({ STRATA_MIN_SEGMENT_BYTES: '1024' });
    await createTopic(t.url, 'durable', 3, { 'segment.bytes': 1024 });
    const records = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: `value-${i}` }));
    const produced = await produce(t.url, 'durable', { records });
    await postBatch(t.url, 'durable', 2, encodeRecordBatch([{ value: Buffer.from('raw') }]));
    const clusterId = (await call(t.url, 'GET', '/v1/cluster')).body.clusterId;
    const before = await Promise.all([0, 1, 2].map((p) => fetchRecords(t!.url, 'durable', p, 'offset=0&maxRecords=1000')));

    await t.restart();
    expect((await call(t.url, 'GET', '/readyz')).status).toBe(200);
    expect((await call(t.url, 'GET', '/v1/cluster')).body.clusterId).toBe(clusterId);
    const described = await call(t.url, 'GET', '/v1/topics/durable');
    expect(described.body.configOverrides).toEqual({ 'segment.bytes': 1024 });
    const after = await Promise.all([0, 1, 2].map((p) => fetchRecords(t!.url, 'durable', p, 'offset=0&maxRecords=1000')));
    for (let p = 0; p < 3; p++) expect(after[p]!.body).toEqual(before[p]!.body);
    const total = after.reduce((n, r) => n + r.body.records.length, 0);
    expect(total).toBe(51);
    // Appends continue where they left off.
    const next = await produce(t.url, 'durable', { records: [{ value: 'after', partition: produced.body.offsets[0].partition }] });
    expect(next.body.offsets[0].offset).toBe(after[produced.body.offsets[0].partition]!.body.highWatermark);
  });

  it('keeps topics in the in-process coordinator, in a readable format', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'meta', 2);
    const doc = JSON.parse(await readFile(join(t.dataDir, '__strata', 'coord', 'cluster.json'), 'utf8'));
    expect(doc.version).toBe(1);
    expect(doc.topics).toHaveLength(1);
    expect(doc.topics[0]).toMatchObject({ name: 'meta', partitions: 2, replicationFactor: 1, configs: {} });
  });

  it('a deleted topic stays deleted after a restart', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'gone');
    await createTopic(t.url, 'kept');
    await call(t.url, 'DELETE', '/v1/topics/gone');
    await t.restart();
    expect((await call(t.url, 'GET', '/v1/topics')).body.topics.map((x: { name: string }) => x.name)).toEqual(['kept']);
  });
});

describe('orphan partition directories', () => {
  it('are reported at start, kept, and removed when a topic of that name is created', async () => {
    t = await startTestBroker();
    await mkdir(join(t.dataDir, 'ghost-0'));
    await writeFile(join(t.dataDir, 'ghost-0', 'junk'), 'left over');
    await t.restart();
    expect(t.logs.some((l) => l.includes('belongs to no topic') && l.includes('ghost-0'))).toBe(true);
    await createTopic(t.url, 'ghost');
    expect((await call(t.url, 'GET', '/v1/topics/ghost/partitions/0/offsets?at=latest')).body.offset).toBe(0);
    await expect(readFile(join(t.dataDir, 'ghost-0', 'junk'))).rejects.toThrow();
  });
});

describe('maintenance', () => {
  it('rolls by segment.ms and applies retention.ms on a timer', async () => {
    t = await startTestBroker({ STRATA_MAINTENANCE_INTERVAL_MS: '20' });
    await createTopic(t.url, 'ret', 1, { 'segment.ms': 30, 'retention.ms': 60_000 });
    // Old timestamps: once their segment is sealed, retention removes it.
    await produce(t.url, 'ret', { records: [{ value: 'old-1', timestamp: 1000 }, { value: 'old-2', timestamp: 1000 }] });
    const deadline = Date.now() + 10_000;
    let start = 0;
    while (Date.now() < deadline) {
      start = (await call(t.url, 'GET', '/v1/topics/ret/partitions/0/offsets?at=earliest')).body.offset;
      if (start === 2) break;
      await sleep(20);
    }
    expect(start).toBe(2);
    const res = await fetchRecords(t.url, 'ret', 0, 'offset=0');
    expect(res.status).toBe(416);
    expect(res.body.error.details).toMatchObject({ logStartOffset: 2, highWatermark: 2 });
    // New appends still work and start at the right offset.
    const next = await produce(t.url, 'ret', { records: [{ value: 'new' }] });
    expect(next.body.offsets[0].offset).toBe(2);
  });
});

describe('operational routes', () => {
  it('/healthz and /readyz', async () => {
    t = await startTestBroker();
    expect(await call(t.url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await call(t.url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('/readyz answers 503 unless the broker is ready', async () => {
    const roomy = { reason: () => null, freeBytes: 1 << 30 };
    const fake = (state: BrokerState) => ({ state: () => state, disk: roomy }) as unknown as BrokerContext;
    for (const state of ['starting', 'closing', 'closed'] as const) {
      const reply = await clusterHandlers(fake(state), () => ({})).readyz({} as RequestContext);
      expect(reply).toEqual({ status: 503, json: { status: state } });
    }
    expect(await clusterHandlers(fake('ready'), () => ({})).readyz({} as RequestContext)).toEqual({ status: 200, json: { status: 'ready' } });
    // A full data disk is not ready (issue #10): the reason says why.
    const full = { state: () => 'ready', disk: { reason: () => 'the data disk has 0 bytes free', freeBytes: 0 } } as unknown as BrokerContext;
    expect(await clusterHandlers(full, () => ({})).readyz({} as RequestContext)).toEqual({
      status: 503,
      json: { status: 'read-only', reason: 'the data disk has 0 bytes free', freeBytes: 0 },
    });
  });

  it('close() lets an in-flight request finish, then flushes and stops', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'drain');
    const batch = encodeRecordBatch([{ value: Buffer.from('in flight') }]);
    // A raw produce whose body we send in two halves, with close() called in between.
    let push!: (chunk: Uint8Array | null) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(chunk));
      },
    });
    const pending = fetch(`${t.url}/v1/topics/drain/partitions/0/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    push(batch.subarray(0, 20));
    await sleep(100);
    const closing = t.broker.close();
    expect(t.broker.state).toBe('closing');
    await sleep(50);
    expect(t.broker.state).toBe('closing');
    push(batch.subarray(20));
    push(null);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toMatchObject({ baseOffset: 0, lastOffset: 0 });
    await closing;
    expect(t.broker.state).toBe('closed');
    await t.restart();
    const got = await fetchRecords(t.url, 'drain', 0, 'offset=0');
    expect(got.body.records.map((r: { value: string }) => r.value)).toEqual(['in flight']);
  });

  it('close() is bounded by STRATA_SHUTDOWN_TIMEOUT_MS when a request never finishes', async () => {
    t = await startTestBroker({ STRATA_SHUTDOWN_TIMEOUT_MS: '200' });
    await createTopic(t.url, 'stuck');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
      },
    });
    const pending = fetch(`${t.url}/v1/topics/stuck/partitions/0/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
      body: stream,
      duplex: 'half',
    } as RequestInit).catch((e: unknown) => e);
    await sleep(100);
    const started = Date.now();
    await t.broker.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await pending).toBeInstanceOf(Error);
    expect(t.logs.some((l) => l.includes('did not finish before the shutdown timeout'))).toBe(true);
  });

  it('GET /v1/openapi.json is OpenAPI 3.1 and lists every route', async () => {
    t = await startTestBroker();
    const res = await call(t.url, 'GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers[0].url).toBe(t.url);
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item)) if (method !== 'parameters') documented.add(`${method.toUpperCase()} ${path}`);
    }
    const served = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    expect([...documented].sort()).toEqual([...served].sort());
    // Every $ref resolves.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      const path = ref.split('/');
      let node: unknown = doc;
      for (const part of path) node = (node as Record<string, unknown>)[part];
      expect(node, ref).toBeDefined();
    }
    // Path parameters are declared for every templated path.
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = ((item.parameters as Array<{ $ref: string }>) ?? []).map((p) => p.$ref.split('/').pop());
      expect(declared.sort(), path).toEqual(names.sort());
    }
    expect(doc.components.schemas.ErrorObject.properties.code.enum).toContain('OFFSET_OUT_OF_RANGE');
    expect(Object.keys(doc.components.schemas.TopicConfigs.properties)).toContain('min.insync.replicas');
  });

  it('/metrics exposes the expected metrics', async () => {
    t = await startTestBroker();
    await createTopic(t.url, 'm', 2);
    await produce(t.url, 'm', { records: [{ value: 'x', partition: 1 }, { value: 'y', partition: 1 }] });
    await postBatch(t.url, 'm', 0, encodeRecordBatch([{ value: Buffer.from('z') }]));
    await fetchRecords(t.url, 'm', 1, 'offset=0');
    const raw = await fetch(`${t.url}/v1/topics/m/partitions/0/batches?offset=0`);
    expect(decodeRecordBatches(Buffer.from(await raw.arrayBuffer()))).toHaveLength(1);
    await call(t.url, 'GET', '/v1/topics/nope');
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const name of [
      'strata_http_requests_total',
      'strata_http_request_duration_seconds_bucket',
      'strata_produce_records_total',
      'strata_produce_bytes_total',
      'strata_fetch_bytes_total',
      'strata_fetch_records_total',
      'strata_log_end_offset',
      'strata_log_start_offset',
      'strata_log_size_bytes',
      'strata_log_segments',
      'strata_fetch_waiters',
      'strata_topics',
      'strata_broker_ready',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).toContain(name);
    }
    expect(text).toContain('strata_produce_records_total{topic="m",partition="1"} 2');
    expect(text).toContain('strata_log_end_offset{topic="m",partition="1"} 2');
    expect(text).toContain('strata_log_end_offset{topic="m",partition="0"} 1');
    expect(text).toMatch(/strata_http_requests_total\{method="GET",route="\/v1\/topics\/\{topic\}",status="404"\} 1/);
    expect(text).toMatch(/strata_http_requests_total\{method="POST",route="\/v1\/topics\/\{topic\}\/records",status="200"\} 1/);
  });
});

describe('data dir lock', () => {
  it('refuses a second broker on the same data dir, and frees it on close', async () => {
    t = await startTestBroker();
    const { loadConfig, startBroker } = await import('@strata/broker');
    const config = loadConfig({ STRATA_DATA_DIR: t.dataDir, STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_LOG_LEVEL: 'error' }, []);
    await expect(startBroker(config)).rejects.toMatchObject({ code: 'STORAGE_ERROR', message: expect.stringMatching(/in use by another broker/) });
    await t.restart(); // close() released it
    expect((await call(t.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('takes over a stale lock left by a dead process', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-lock-'));
    await mkdir(join(dataDir, '__strata'));
    await writeFile(join(dataDir, '__strata', 'broker.lock'), '2147483646\n'); // no such pid
    const { loadConfig, startBroker } = await import('@strata/broker');
    const broker = await startBroker(loadConfig({ STRATA_DATA_DIR: dataDir, STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_LOG_LEVEL: 'error' }, []));
    expect(broker.state).toBe('ready');
    await broker.close();
  });
});
