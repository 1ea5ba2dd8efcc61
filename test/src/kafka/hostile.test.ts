/**
 * Bad input on the Kafka port of a real broker: a 2 GiB size field, truncated frames, unknown API
 * keys and versions, garbage after a valid header, 1,000 idle connections, a produce with a bad
 * CRC. Each gets Kafka's error or a closed connection; the broker stays up, its memory bounded,
 * and nothing is written.
 */
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import { encodeRecordBatch } from '@strata/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processStats, StatsSampler, type BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

const MiB = 1024 * 1024;
/** What a broker may grow by while it is attacked: far below the 2 GiB a naive framer would allocate. */
const RSS_GROWTH_CEILING_BYTES = 192 * MiB;

describe('hostile input on the Kafka listener', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let baselineRss: number;
  const open: RawKafkaConnection[] = [];

  beforeAll(async () => {
    broker = await start({ kafka: true });
    baselineRss = processStats(broker.pid!).rssBytes;
  });
  afterAll(() => {
    for (const c of open) c.destroy();
  });

  async function connection(): Promise<RawKafkaConnection> {
    const c = await RawKafkaConnection.open(broker.kafkaPort!);
    open.push(c);
    return c;
  }

  /** The broker still answers a well-formed ApiVersions on a new connection. */
  async function expectAlive(): Promise<void> {
    const c = await connection();
    c.write(encodeRequest(ApiKey.ApiVersions, 0, 42, 'probe', {}));
    const [frame] = await c.frameCount(1);
    expect(frame, 'an ApiVersions answer').toBeDefined();
    expect(decodeResponse(ApiKey.ApiVersions, 0, frame!).body.errorCode).toBe(KafkaError.NONE);
    c.destroy();
  }

  /** A request header by hand (v1: api key, version, correlation id, null client id) and `body`. */
  function handmade(apiKey: number, version: number, correlationId: number, body: Buffer, flexible = false): Buffer {
    const header = Buffer.alloc(flexible ? 11 : 10);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(version, 2);
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(-1, 8); // client id: null
    if (flexible) header[10] = 0; // no tagged fields
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + body.length);
    return Buffer.concat([size, header, body]);
  }

  it('a size field of 2 GiB closes the connection without allocating it', async () => {
    const sampler = new StatsSampler(broker.pid!);
    const c = await connection();
    c.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0, 0, 0, 0, 1]));
    expect(await c.closedByBroker()).toBe(true);
    expect(c.frames).toHaveLength(0);
    const negative = await connection();
    negative.write(Buffer.from([0x80, 0, 0, 0]));
    expect(await negative.closedByBroker()).toBe(true);
    await expectAlive();
    expect(sampler.stop().rssBytes - baselineRss).toBeLessThan(RSS_GROWTH_CEILING_BYTES);
  });

  it('a truncated frame, then the client leaves: nothing is answered, the broker carries on', async () => {
    const c = await connection();
    const request = Buffer.concat(encodeRequest(ApiKey.Metadata, 1, 5, 'cut', { topics: null }));
    c.write(request.subarray(0, request.length - 3));
    const prefixOnly = await connection();
    prefixOnly.write(Buffer.from([0, 0, 0, 100, 0, 3]));
    await new Promise((r) => setTimeout(r, 100));
    expect(c.frames).toHaveLength(0);
    c.destroy();
    prefixOnly.destroy();
    await expectAlive();
  });

  it('an unknown api key closes the connection, after the answers to the requests before it', async () => {
    const c = await connection();
    c.write([...encodeRequest(ApiKey.ApiVersions, 1, 1, 'x', {}), handmade(999, 0, 2, Buffer.alloc(0)), ...encodeRequest(ApiKey.ApiVersions, 1, 3, 'x', {})]);
    expect(await c.closedByBroker()).toBe(true);
    expect(c.frames.map((f) => f.readInt32BE(0))).toEqual([1]);
    await expectAlive();
  });

  it('ApiVersions in a version newer than supported gets a v0 answer: UNSUPPORTED_VERSION and the supported ranges', async () => {
    const c = await connection();
    c.write(handmade(ApiKey.ApiVersions, 99, 7, Buffer.from([0, 0, 0]), true));
    const [frame] = await c.frameCount(1);
    const { correlationId, body } = decodeResponse(ApiKey.ApiVersions, 0, frame!);
    expect(correlationId).toBe(7);
    expect(body.errorCode).toBe(KafkaError.UNSUPPORTED_VERSION);
    const ranges = new Map(body.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
    expect(ranges.get(ApiKey.ApiVersions)).toEqual([0, 3]);
    expect(ranges.get(ApiKey.Produce)?.[1]).toBeGreaterThanOrEqual(7);
    expect(c.closed).toBe(false);
  });

  it('an unsupported version of another api closes the connection (as Kafka does)', async () => {
    const c = await connection();
    c.write(handmade(ApiKey.Metadata, 99, 8, Buffer.alloc(0), true));
    expect(await c.closedByBroker()).toBe(true);
    expect(c.frames).toHaveLength(0);
  });

  it('garbage after a valid header closes the connection', async () => {
    const c = await connection();
    // Metadata v1: a topics array claiming 1e9 entries, then noise.
    const body = Buffer.concat([Buffer.from([0x3b, 0x9a, 0xca, 0x00]), Buffer.from('not a topic list at all')]);
    c.write(handmade(ApiKey.Metadata, 1, 9, body));
    expect(await c.closedByBroker()).toBe(true);
    const trailing = await connection();
    // A valid Metadata v1 (null topics) with bytes after it.
    trailing.write(handmade(ApiKey.Metadata, 1, 10, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])));
    expect(await trailing.closedByBroker()).toBe(true);
    await expectAlive();
  });

  it('a produce with a bad CRC is CORRUPT_MESSAGE for its partition and nothing is written; its neighbour is appended', async () => {
    expect((await broker.http.post('/v1/topics', { name: 'crc', partitions: 2 })).status).toBe(201);
    const good = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('fine') }]);
    const bad = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('flipped') }]);
    bad[bad.length - 2]! ^= 0xff; // a record byte: covered by the CRC
    const c = await connection();
    c.write(
      encodeRequest(ApiKey.Produce, 7, 11, 'crc', {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5_000,
        topicData: [{ name: 'crc', partitionData: [{ index: 0, records: bad }, { index: 1, records: good }] }],
      }),
    );
    const [frame] = await c.frameCount(1);
    const { body } = decodeResponse(ApiKey.Produce, 7, frame!);
    const byPartition = new Map(body.responses[0]!.partitionResponses.map((p) => [p.index, p]));
    expect(byPartition.get(0)!.errorCode).toBe(KafkaError.CORRUPT_MESSAGE);
    expect(byPartition.get(1)!).toMatchObject({ errorCode: KafkaError.NONE, baseOffset: 0n });
    const topic = (await broker.http.get('/v1/topics/crc')).body;
    expect(topic.partitions.map((p: { logEndOffset: number }) => p.logEndOffset)).toEqual([0, 1]);
  });

  it('acks=0: no answer, the records appended in order with the next request; a refused one closes the connection', async () => {
    expect((await broker.http.post('/v1/topics', { name: 'fire-and-forget', partitions: 1 })).status).toBe(201);
    const produce = (correlationId: number, acks: number, records: Buffer) =>
      encodeRequest(ApiKey.Produce, 7, correlationId, 'acks0', { transactionalId: null, acks, timeoutMs: 5_000, topicData: [{ name: 'fire-and-forget', partitionData: [{ index: 0, records }] }] });
    const c = await connection();
    const batch = () => encodeRecordBatch([{ key: null, value: Buffer.from('quiet') }]);
    // Two acks=0 requests, then an acks=1 one: only the last is answered, after the first two were appended.
    c.write([...produce(1, 0, batch()), ...produce(2, 0, batch()), ...produce(3, 1, batch())]);
    const [frame] = await c.frameCount(1);
    const { correlationId, body } = decodeResponse(ApiKey.Produce, 7, frame!);
    expect(correlationId).toBe(3);
    expect(body.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: KafkaError.NONE, baseOffset: 2n });
    const corrupt = batch();
    corrupt[corrupt.length - 1]! ^= 0xff;
    c.write(produce(4, 0, corrupt));
    expect(await c.closedByBroker()).toBe(true);
    expect(c.frames).toHaveLength(1);
    expect((await broker.http.get('/v1/topics/fire-and-forget')).body.partitions[0].logEndOffset).toBe(3);
  });

  /** Waits (bounded) until the broker holds no Kafka connection (its strata_kafka_connections gauge). */
  async function noKafkaConnections(): Promise<void> {
    for (const c of open.splice(0)) c.destroy();
    for (let i = 0; i < 100; i++) {
      const metrics = await fetch(`${broker.url}/metrics`).then((r) => r.text());
      if (/^strata_kafka_connections 0$/m.test(metrics)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the broker still holds Kafka connections');
  }

  it('1,000 idle connections: held within the per-address limit, memory bounded, the broker answers; the next one is refused', async () => {
    await noKafkaConnections();
    const sampler = new StatsSampler(broker.pid!);
    const idle: RawKafkaConnection[] = [];
    for (let i = 0; i < 1000; i++) idle.push(await RawKafkaConnection.open(broker.kafkaPort!));
    open.push(...idle);
    // STRATA_KAFKA_MAX_CONNECTIONS_PER_ADDRESS (1,000 by default): one more from this address is closed at once.
    const extra = await RawKafkaConnection.open(broker.kafkaPort!);
    open.push(extra);
    expect(await extra.closedByBroker()).toBe(true);
    expect((await broker.http.get('/healthz')).status).toBe(200);
    expect(idle.filter((c) => c.closed)).toHaveLength(0);
    const peak = sampler.stop();
    expect(peak.rssBytes - baselineRss).toBeLessThan(RSS_GROWTH_CEILING_BYTES);
    for (const c of idle) c.destroy();
    // The broker sees the closes in its own time: a new client gets in once it has.
    for (let attempt = 0; ; attempt++) {
      const c = await connection();
      c.write(encodeRequest(ApiKey.ApiVersions, 0, 1, 'after', {}));
      const frames = await c.frameCount(1, 2_000);
      c.destroy();
      if (frames.length === 1) break;
      expect(attempt, 'a new connection after the idle ones left').toBeLessThan(20);
    }
  });
});
