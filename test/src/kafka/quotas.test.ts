/**
 * Client quotas against a real broker process: quotas set through @platformatic/kafka's
 * AlterClientQuotas and read back by DescribeClientQuotas and GET /v1/quotas; a kafkajs producer and
 * consumer over their byte rates are answered throttle_time_ms > 0 and held near their rate
 * (bytes over a window, with a generous bound: never a timing assertion); the raw Produce and Fetch
 * answers carry the throttle time; HTTP is refused 429 with Retry-After; connection_creation_rate
 * refuses an IP address's connections past it. Short quota windows (10 x 100 ms) keep it fast.
 */
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import { encodeRecordBatch } from '@strata/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { runStrata, type BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

const { Kafka, logLevel } = kafkajs;

/** The quota windows of this broker: 11 x 100 ms, so a rate is measured over about 1 s. */
const WINDOW_MS = 100;
const SPAN_MS = 10 * WINDOW_MS;

async function metric(broker: BrokerProcess, name: string): Promise<number> {
  const text = String((await broker.http.get('/metrics')).body);
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe('client quotas', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let bootstrap: string;

  beforeAll(async () => {
    broker = await start({ kafka: true, env: { STRATA_QUOTA_WINDOW_MS: String(WINDOW_MS), STRATA_QUOTA_REFRESH_INTERVAL_MS: '500', STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '100' } });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
  });

  it('AlterClientQuotas and DescribeClientQuotas (@platformatic/kafka) round-trip, shared with /v1/quotas', async () => {
    const admin = new PlatformaticAdmin({ clientId: 'quota-admin', bootstrapBrokers: [bootstrap] });
    try {
      const altered = await admin.alterClientQuotas({
        entries: [
          { entities: [{ entityType: 'user', entityName: 'alice' }, { entityType: 'client-id', entityName: null }], ops: [{ key: 'producer_byte_rate', value: 4096, remove: false }] },
          { entities: [{ entityType: 'client-id', entityName: 'reports' }], ops: [{ key: 'consumer_byte_rate', value: 8192, remove: false }, { key: 'request_percentage', value: 25, remove: false }] },
        ],
      });
      expect(altered.map((e) => e.errorCode)).toEqual([KafkaError.NONE, KafkaError.NONE]);
      // A malformed entry is refused with its error (the client throws it); nothing of it is stored.
      await expect(
        admin.alterClientQuotas({ entries: [{ entities: [{ entityType: 'user', entityName: 'bob' }], ops: [{ key: 'producer_byte_rate', value: 1.5, remove: false }] }] }),
      ).rejects.toThrow();
      const described = await admin.describeClientQuotas({ components: [{ entityType: 'client-id', matchType: 0, match: 'reports' }], strict: true });
      expect(described).toEqual([
        { entity: [{ entityType: 'client-id', entityName: 'reports' }], values: expect.arrayContaining([{ key: 'consumer_byte_rate', value: 8192 }, { key: 'request_percentage', value: 25 }]) },
      ]);
      const listed = await broker.http.get('/v1/quotas');
      expect(listed.body.quotas).toEqual([
        { entity: { clientId: 'reports' }, values: { consumer_byte_rate: 8192, request_percentage: 25 } },
        { entity: { user: 'alice', clientId: null }, values: { producer_byte_rate: 4096 } },
      ]);
      // Removing them empties the store.
      await admin.alterClientQuotas({
        entries: [
          { entities: [{ entityType: 'user', entityName: 'alice' }, { entityType: 'client-id', entityName: null }], ops: [{ key: 'producer_byte_rate', remove: true }] },
          { entities: [{ entityType: 'client-id', entityName: 'reports' }], ops: [{ key: 'consumer_byte_rate', remove: true }, { key: 'request_percentage', remove: true }] },
        ],
      });
      expect((await broker.http.get('/v1/quotas')).body.quotas).toEqual([]);
    } finally {
      await admin.close();
    }
  });

  it('strata quotas set|list|delete round-trip (and refuse a malformed entity)', async () => {
    const cli = (...args: string[]) => runStrata([...args, '--broker', broker.url]);
    const set = await cli('quotas', 'set', '--user', 'dave', '--client-id-default', '--producer-byte-rate', '2048', '--request-percentage', '12.5');
    expect(set.code, set.stderr).toBe(0);
    expect((await broker.http.post('/v1/quotas', { changes: [{ entity: { ip: null }, set: { connection_creation_rate: 50 } }] })).status).toBe(200);
    const listed = await cli('quotas', 'list', '--json');
    expect(JSON.parse(listed.stdout).quotas).toEqual([
      { entity: { ip: null }, values: { connection_creation_rate: 50 } },
      { entity: { user: 'dave', clientId: null }, values: { producer_byte_rate: 2048, request_percentage: 12.5 } },
    ]);
    // Refused before anything is sent (the entity) and by the broker (the value): nothing changes.
    const bad = await cli('quotas', 'set', '--ip', '10.0.0.1', '--user', 'x', '--producer-byte-rate', '1');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--ip cannot be combined/);
    const refused = await cli('quotas', 'set', '--user', 'dave', '--producer-byte-rate', '1.5');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/INVALID_CONFIG.*producer_byte_rate/);
    expect((await cli('quotas', 'delete', '--user', 'dave', '--client-id-default')).code).toBe(0);
    expect((await broker.http.get('/v1/quotas')).body.quotas).toEqual([{ entity: { ip: null }, values: { connection_creation_rate: 50 } }]);
    expect((await broker.http.post('/v1/quotas', { changes: [{ entity: { ip: null }, remove: ['connection_creation_rate'] }] })).status).toBe(200);
  });

  it('/v1/quotas refuses a bad change whole, naming each problem', async () => {
    const answer = await broker.http.post('/v1/quotas', {
      changes: [
        { entity: { user: 'carol' }, set: { producer_byte_rate: 1000 } },
        { entity: { ip: '10.0.0.1', user: 'x' }, set: { connection_creation_rate: 1 } },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/ip cannot be combined/);
    expect((await broker.http.get('/v1/quotas')).body.quotas).toEqual([]);
  });

  it('a kafkajs producer over producer_byte_rate is told throttle_time_ms > 0 and held near its rate; another client is not', async () => {
    const rate = 100_000;
    expect((await broker.http.post('/v1/quotas', { changes: [{ entity: { clientId: 'noisy' }, set: { producer_byte_rate: rate } }] })).status).toBe(200);
    expect((await broker.http.post('/v1/topics', { name: 'quota-produce', partitions: 1 })).status).toBe(201);
    // kafkajs (KIP-219) reads throttle_time_ms of Produce v6+ as clientSideThrottleTime, and waits it out itself.
    const throttles: number[] = [];
    const kafka = new Kafka({
      clientId: 'noisy',
      brokers: [bootstrap],
      logLevel: logLevel.DEBUG,
      logCreator: () => (entry) => {
        const data = (entry.log as { data?: { clientSideThrottleTime?: number } }).data;
        if (String(entry.log.message).startsWith('Response Produce') && typeof data?.clientSideThrottleTime === 'number') throttles.push(data.clientSideThrottleTime);
      },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = Buffer.alloc(20_000, 7);
    const windowMs = 3_000;
    let acknowledged = 0;
    const until = Date.now() + windowMs;
    try {
      while (Date.now() < until) {
        await producer.send({ topic: 'quota-produce', acks: 1, messages: [{ value }] });
        acknowledged += value.length;
      }
    } finally {
      await producer.disconnect();
    }
    expect(throttles.some((t) => t > 0)).toBe(true);
    // Held to its rate: at most what the quota allows over the window plus the span it may burst
    // into, twice over for slack (unthrottled, loopback takes tens of MB in 3 s).
    expect(acknowledged).toBeLessThan(2 * rate * ((windowMs + SPAN_MS) / 1000) + 2 * value.length);
    expect(acknowledged).toBeGreaterThan(0);
    expect(await metric(broker, 'strata_kafka_connections_muted_total')).toBeGreaterThan(0);
    expect(await metric(broker, 'strata_quota_throttled_total{kind="produce"}')).toBeGreaterThan(0);

    // The raw answer carries the throttle time; a client with another id is not throttled.
    const raw = await RawKafkaConnection.open(broker.kafkaPort!);
    const produce = (clientId: string, correlationId: number) =>
      encodeRequest(ApiKey.Produce, 9, correlationId, clientId, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5_000,
        topicData: [{ name: 'quota-produce', partitionData: [{ index: 0, records: encodeRecordBatch([{ key: null, value: Buffer.alloc(300_000) }]) }] }],
      });
    raw.write(produce('noisy', 1));
    const [noisy] = await raw.frameCount(1);
    expect(decodeResponse(ApiKey.Produce, 9, noisy!).body.throttleTimeMs).toBeGreaterThan(0);
    raw.destroy();
    const quiet = await RawKafkaConnection.open(broker.kafkaPort!);
    quiet.write(produce('quiet', 2));
    const [calm] = await quiet.frameCount(1);
    expect(decodeResponse(ApiKey.Produce, 9, calm!).body.throttleTimeMs).toBe(0);
    quiet.destroy();
  });

  it('a consumer over consumer_byte_rate gets fewer bytes than it asks, and Fetch answers carry the throttle time', async () => {
    const rate = 200_000;
    expect((await broker.http.post('/v1/topics', { name: 'quota-fetch', partitions: 1 })).status).toBe(201);
    // 3 MB to read, written without a quota.
    const writer = new Kafka({ clientId: 'loader', brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer();
    await writer.connect();
    for (let i = 0; i < 30; i++) await writer.send({ topic: 'quota-fetch', acks: 1, messages: [{ value: Buffer.alloc(100_000, i) }] });
    await writer.disconnect();
    expect((await broker.http.post('/v1/quotas', { changes: [{ entity: { clientId: 'reader' }, set: { consumer_byte_rate: rate } }] })).status).toBe(200);

    const consumer = new Kafka({ clientId: 'reader', brokers: [bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: 'quota-readers', maxBytes: 10 * 1024 * 1024 });
    let received = 0;
    await consumer.connect();
    await consumer.subscribe({ topic: 'quota-fetch', fromBeginning: true });
    let firstAt = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (firstAt === 0) firstAt = Date.now();
        received += message.value?.length ?? 0;
      },
    });
    const windowMs = 3_000;
    const deadline = Date.now() + 30_000;
    while ((firstAt === 0 || Date.now() < firstAt + windowMs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const inWindow = received;
    await consumer.disconnect();
    expect(inWindow).toBeGreaterThan(0);
    expect(inWindow).toBeLessThan(2 * rate * ((windowMs + SPAN_MS) / 1000) + 200_000);
    expect(inWindow).toBeLessThan(3_000_000);

    const raw = await RawKafkaConnection.open(broker.kafkaPort!);
    const fetch = (correlationId: number) =>
      encodeRequest(ApiKey.Fetch, 11, correlationId, 'reader', {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 10 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'quota-fetch', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 10 * 1024 * 1024 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
    let throttled = 0;
    for (let i = 1; i <= 5 && throttled === 0; i++) {
      raw.write(fetch(i));
      const frames = await raw.frameCount(i);
      throttled = decodeResponse(ApiKey.Fetch, 11, frames[i - 1]!).body.throttleTimeMs;
    }
    raw.destroy();
    expect(throttled).toBeGreaterThan(0);
  });

  it('HTTP produce over the quota is refused 429 with Retry-After, nothing written', async () => {
    expect((await broker.http.post('/v1/quotas', { changes: [{ entity: { clientId: 'http-noisy' }, set: { producer_byte_rate: 1000 } }] })).status).toBe(200);
    expect((await broker.http.post('/v1/topics', { name: 'quota-http', partitions: 1 })).status).toBe(201);
    const headers = { 'x-client-id': 'http-noisy' };
    const big = { records: [{ value: 'x'.repeat(50_000) }] };
    expect((await broker.http.post('/v1/topics/quota-http/records', big, { headers, query: { acks: 1 } })).status).toBe(200);
    const refused = await broker.http.post('/v1/topics/quota-http/records', big, { headers, query: { acks: 1 } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('THROTTLING_QUOTA_EXCEEDED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await broker.http.get('/v1/topics/quota-http')).body.partitions[0].logEndOffset).toBe(1);
    // Another client id is served.
    expect((await broker.http.post('/v1/topics/quota-http/records', big, { headers: { 'x-client-id': 'other' }, query: { acks: 1 } })).status).toBe(200);
  });

  it('connection_creation_rate for an IP address closes its connections past the rate, counted', async () => {
    // 5/s over the ~1 s span: about 5 new connections, then refusals.
    expect((await broker.http.post('/v1/quotas', { changes: [{ entity: { ip: '127.0.0.1' }, set: { connection_creation_rate: 5 } }] })).status).toBe(200);
    const before = await metric(broker, 'strata_kafka_connections_closed_total{reason="connection_creation_rate"}');
    const connections = await Promise.all(Array.from({ length: 12 }, () => RawKafkaConnection.open(broker.kafkaPort!)));
    const refused = (await Promise.all(connections.map((c) => c.closedByBroker(2_000)))).filter(Boolean).length;
    for (const c of connections) c.destroy();
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(12);
    expect(await metric(broker, 'strata_kafka_connections_closed_total{reason="connection_creation_rate"}')).toBe(before + refused);
    expect((await broker.http.post('/v1/quotas', { changes: [{ entity: { ip: '127.0.0.1' }, remove: ['connection_creation_rate'] }] })).status).toBe(200);
  });
});
