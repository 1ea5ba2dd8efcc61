// The cluster events feed: the bounded ring (entries and bytes), its queries, and GET /v1/events on
// a single node (a produce-driven upload appears; hostile query parameters are refused).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_MESSAGE_CHARS_MAX, type EventList } from '@strata/api';
import { EventLog, mergeEvents } from '../src/events/event-log.js';
import { recordingErrors } from '../src/events/error-events.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PeerEvents } from '../src/events/peer-events.js';
import { BrokerCredentials } from '../src/security/broker-credentials.js';
import { ClusterSecrets } from '../src/security/cluster-secrets.js';
import { createLogger, loadConfig } from '../src/index.js';
import { call, captureLogger, createTopic, produce, startTestBroker, type TestBroker } from './helpers.js';

describe('EventLog', () => {
  it('keeps at most keptMax events, the newest', () => {
    const log = new EventLog('b1', { keptMax: 16, keptBytesMax: 1 << 20 });
    for (let i = 0; i < 5_000; i++) log.record({ kind: 'segment-uploaded', topic: 't', partition: 0, message: `upload ${i}` });
    expect(log.size).toBe(16);
    const all = log.query({ limit: 1_000 });
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => 5_000 - 16 + i));
  });

  it('keeps at most keptBytesMax bytes, and cuts long messages', () => {
    const log = new EventLog('b1', { keptMax: 1_000_000, keptBytesMax: 64 * 1024 });
    for (let i = 0; i < 2_000; i++) log.record({ kind: 'error', message: 'x'.repeat(10_000) });
    expect(log.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(log.size).toBeGreaterThan(1);
    expect(log.size).toBeLessThan(2_000);
    expect(log.query({ limit: 1 })[0]!.message.length).toBe(EVENT_MESSAGE_CHARS_MAX);
  });

  it('answers the newest without since, the oldest at or after since, filtered by kind and topic', () => {
    let now = 1_000;
    const log = new EventLog('b1', { keptMax: 100, keptBytesMax: 1 << 20 }, () => now);
    for (let i = 0; i < 10; i++) {
      now += 10;
      log.record({ kind: i % 2 === 0 ? 'leadership-acquired' : 'isr-shrink', topic: i < 5 ? 'a' : 'b', partition: i, message: `e${i}` });
    }
    expect(log.query({ limit: 3 }).map((e) => e.message)).toEqual(['e7', 'e8', 'e9']);
    expect(log.query({ limit: 3, since: 1_050 }).map((e) => e.message)).toEqual(['e4', 'e5', 'e6']);
    expect(log.query({ limit: 100, kind: 'isr-shrink', topic: 'b' }).map((e) => e.message)).toEqual(['e5', 'e7', 'e9']);
  });

  it('merges brokers by time, then broker, then seq', () => {
    const e = (broker: string, seq: number, atMs: number) => ({ broker, seq, atMs, kind: 'error' as const, message: '' });
    const merged = mergeEvents([[e('b2', 0, 5), e('b2', 1, 9)], [e('b1', 0, 5), e('b1', 1, 7)]], { limit: 3 });
    expect(merged.map((x) => `${x.broker}:${x.seq}`)).toEqual(['b2:0', 'b1:1', 'b2:1']);
    expect(mergeEvents([[e('b2', 0, 5), e('b2', 1, 9)], [e('b1', 0, 5)]], { limit: 2, since: 5 }).map((x) => `${x.broker}:${x.seq}`)).toEqual(['b1:0', 'b2:0']);
  });

  it('records error log lines without their other fields', () => {
    const log = new EventLog('b1', { keptMax: 10, keptBytesMax: 1 << 20 });
    const lines: string[] = [];
    const logger = recordingErrors(captureLogger(lines), log).child({ component: 'x' });
    logger.warn('not an event');
    logger.error('segment read failed', { topic: 'orders', partition: 2, err: new Error('bad checksum'), password: 'hunter2' });
    const [event] = log.query({ limit: 10 });
    expect(log.size).toBe(1);
    expect(event).toMatchObject({ kind: 'error', topic: 'orders', partition: 2, message: 'segment read failed: bad checksum' });
    expect(JSON.stringify(event)).not.toContain('hunter2');
    expect(lines).toHaveLength(2);
  });
});

describe('PeerEvents', () => {
  it('reports a broker that is down, one that hangs, one that answers too much and one that answers nonsense, and keeps the others', async () => {
    const cluster = loadConfig({ STRATA_REDIS_URL: 'redis://127.0.0.1:1', STRATA_CLUSTER_SECRET: 'a-test-secret-of-some-length' }, []).cluster!;
    const credentials = new BrokerCredentials('b1', await ClusterSecrets.load(cluster, createLogger({ level: 'silent' })), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const good = { broker: 'good', seq: 0, atMs: 5, kind: 'broker-joined', message: 'hello' };
    const servers: Server[] = [];
    const serve = async (answer: (res: import('node:http').ServerResponse) => void): Promise<string> => {
      const server = createServer((_req, res) => answer(res));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const peers = [
      { id: 'good', internalUrl: await serve((res) => res.end(JSON.stringify({ events: [good, { ...good, broker: 'someone-else' }] }))) },
      { id: 'down', internalUrl: 'http://127.0.0.1:1' },
      { id: 'hangs', internalUrl: await serve(() => undefined) },
      { id: 'huge', internalUrl: await serve((res) => res.end(JSON.stringify({ events: [], pad: 'x'.repeat(200_000) }))) },
      { id: 'nonsense', internalUrl: await serve((res) => res.end(JSON.stringify({ events: [{ broker: 'nonsense' }] }))) },
    ];
    const client = new PeerEvents(credentials, null, { peerTimeoutMs: 300, peerReplyBytesMax: 64 * 1024 });
    try {
      const { lists, sources } = await client.ask(peers, { limit: 10 }, AbortSignal.timeout(10_000));
      expect(lists).toEqual([[good]]);
      const byId = Object.fromEntries(sources.map((s) => [s.broker, s]));
      expect(byId.good).toEqual({ broker: 'good', ok: true });
      expect(byId.down).toMatchObject({ ok: false, error: expect.stringMatching(/could not be asked/) });
      expect(byId.hangs).toMatchObject({ ok: false, error: 'did not answer within 300 ms' });
      expect(byId.huge).toMatchObject({ ok: false, error: expect.stringMatching(/more than 65536 bytes/) });
      expect(byId.nonsense).toMatchObject({ ok: false, error: expect.stringMatching(/does not fit the schema/) });
    } finally {
      await client.close();
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });
});

describe('GET /v1/events (single node)', () => {
  let b: TestBroker;
  let objectsDir: string;

  beforeAll(async () => {
    objectsDir = await mkdtemp(join(tmpdir(), 'strata-events-objects-'));
    b = await startTestBroker({ STRATA_OBJECTS_DIR: objectsDir, STRATA_TIER_INTERVAL_MS: '20', STRATA_MIN_SEGMENT_BYTES: '1024', STRATA_BROKER_ID: 'solo' });
  });
  afterAll(async () => {
    await b.stop();
    await rm(objectsDir, { recursive: true, force: true });
  });

  it('shows the leadership of a new topic and a segment uploaded after a produce', async () => {
    await createTopic(b.url, 'uploads', 1, { 'segment.bytes': 2048 });
    // One record a request (a batch stays below max.message.bytes, which segment.bytes caps): segments roll every few.
    const value = 'v'.repeat(300);
    for (let i = 0; i < 24; i++) expect((await produce(b.url, 'uploads', { records: [{ value }] })).status).toBe(200);
    let list: EventList | undefined;
    for (let i = 0; i < 200; i++) {
      list = (await call<EventList>(b.url, 'GET', '/v1/events?topic=uploads&kind=segment-uploaded')).body;
      if (list.events.length > 0) break;
      await sleep(50);
    }
    expect(list!.events[0]).toMatchObject({ broker: 'solo', kind: 'segment-uploaded', topic: 'uploads', partition: 0 });
    expect(list!.events[0]!.message).toMatch(/^offsets 0\.\.\d+ uploaded/);
    expect(list!.brokers).toEqual([{ broker: 'solo', ok: true }]);

    const all = (await call<EventList>(b.url, 'GET', '/v1/events')).body;
    expect(all.events.some((e) => e.kind === 'leadership-acquired' && e.topic === 'uploads')).toBe(true);
    // Oldest first, and `next` continues from the last.
    const times = all.events.map((e) => e.atMs);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(all.next).toBe(times[times.length - 1]);
    const after = (await call<EventList>(b.url, 'GET', `/v1/events?since=${all.next}`)).body;
    expect(after.events.length).toBeGreaterThan(0);
    expect(after.events.every((e) => e.atMs >= all.next)).toBe(true);
    const few = (await call<EventList>(b.url, 'GET', '/v1/events?limit=1')).body;
    expect(few.events).toHaveLength(1);
  });

  it.each([
    ['since=-1', 'INVALID_REQUEST'],
    ['since=abc', 'INVALID_REQUEST'],
    ['since=1e3', 'INVALID_REQUEST'],
    ['since=99999999999999999999', 'INVALID_REQUEST'],
    ['limit=0', 'INVALID_REQUEST'],
    ['limit=1001', 'INVALID_REQUEST'],
    ['limit=10.5', 'INVALID_REQUEST'],
    ['kind=everything', 'INVALID_REQUEST'],
    ['kind=%00', 'INVALID_REQUEST'],
    ['topic=..%2F..%2Fetc', 'INVALID_TOPIC'],
    [`topic=${'t'.repeat(300)}`, 'INVALID_TOPIC'],
  ])('refuses %s with 400 %s', async (query, code) => {
    const res = await call(b.url, 'GET', `/v1/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
  });
});
