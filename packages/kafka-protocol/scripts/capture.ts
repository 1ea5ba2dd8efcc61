// Capture the request bytes real Kafka clients send, as test fixtures.
//
// A loopback server answers ApiVersions, Metadata and the data-path requests
// with this package's own encoder (just well enough that each client goes on to
// its next request) and writes the first frame of each (client, API, version)
// to test/fixtures/<client>-<api>-v<version>.bin: the bytes after the 4-byte
// size prefix, exactly what the listener hands to decodeRequestHeader.
//
// Run: pnpm --filter @strata/kafka-protocol capture   (needs kcat, python3-kafka:
// apt-get install -y kcat python3-kafka; kafkajs and @platformatic/kafka are
// devDependencies). @platformatic/kafka is the one client here that speaks the
// flexible versions (Metadata 12, Produce 11, Fetch 17, CreateTopics 7, ...).
// Each client gets a bounded time; a client that hangs is killed, not waited for.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Kafka, CompressionTypes, logLevel } from 'kafkajs';
import {
  Admin,
  Connection,
  Producer,
  deleteRecordsV2,
  describeClusterV1,
  fetchV17,
  listOffsetsV7,
  offsetForLeaderEpochV4,
  stringSerializers,
} from '@platformatic/kafka';
import {
  ApiKey,
  KafkaError,
  SUPPORTED_APIS,
  apiKeyName,
  decodeRequest,
  decodeRequestHeader,
  encodeResponse,
} from '@strata/kafka-protocol';

const FIXTURES_DIR = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const FRAME_MAX_BYTES = 1 << 20;
const CLIENT_TIMEOUT_MS = 20_000;
const NODE_ID = 1;
const PARTITIONS = 1;
/** The id of every topic this server knows (clients that fetch by topic id need one). */
const TOPIC_ID = Buffer.alloc(16, 7).toString('base64url');

let client = 'unknown';
const written = new Set<string>();

function fixtureName(apiKey: number, apiVersion: number): string {
  const api = apiKeyName(apiKey)
    .replace(/\(\d+\)$/, '')
    .replace(/([a-z])([A-Z])/g, '$1-$2')
    .toLowerCase();
  return `${client}-${api}-v${apiVersion}.bin`;
}

function save(frame: Buffer, apiKey: number, apiVersion: number): void {
  const name = fixtureName(apiKey, apiVersion);
  if (written.has(name)) return;
  written.add(name);
  writeFileSync(FIXTURES_DIR + name, frame);
  console.log(`captured ${name} (${frame.length} bytes)`);
}

function advertisedApis() {
  const apis = [...SUPPORTED_APIS].map(([apiKey, span]) => ({ apiKey, minVersion: span.min, maxVersion: span.max }));
  // librdkafka 2.0.2 enables lz4 only when FindCoordinator v0 is advertised (see src/supported.ts).
  apis.push({ apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 0 });
  return apis;
}

function answer(frame: Buffer, port: number): Buffer[] | undefined {
  const h = decodeRequestHeader(frame);
  save(frame, h.apiKey, h.apiVersion);
  const v = h.apiVersion;
  switch (h.apiKey) {
    case ApiKey.ApiVersions:
      if (v > 3) return encodeResponse(ApiKey.ApiVersions, 0, h.correlationId, { errorCode: KafkaError.UNSUPPORTED_VERSION, apiKeys: advertisedApis() });
      return encodeResponse(ApiKey.ApiVersions, v, h.correlationId, { errorCode: 0, apiKeys: advertisedApis() });
    case ApiKey.Metadata: {
      const req = decodeRequest(ApiKey.Metadata, v, frame, h.bodyOffset);
      const names = req.topics === null || req.topics.length === 0 ? ['captured'] : req.topics.map((t) => t.name ?? 'captured');
      return encodeResponse(ApiKey.Metadata, v, h.correlationId, {
        brokers: [{ nodeId: NODE_ID, host: '127.0.0.1', port }],
        clusterId: 'capture-cluster',
        controllerId: NODE_ID,
        topics: names.map((name) => ({
          errorCode: 0,
          name,
          topicId: TOPIC_ID,
          partitions: Array.from({ length: PARTITIONS }, (_, i) => ({
            errorCode: 0,
            partitionIndex: i,
            leaderId: NODE_ID,
            replicaNodes: [NODE_ID],
            isrNodes: [NODE_ID],
          })),
        })),
      });
    }
    case ApiKey.CreateTopics: {
      const req = decodeRequest(ApiKey.CreateTopics, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.CreateTopics, v, h.correlationId, {
        topics: req.topics.map((t) => ({ name: t.name, topicId: TOPIC_ID, errorCode: 0, numPartitions: PARTITIONS, replicationFactor: 1 })),
      });
    }
    case ApiKey.DeleteTopics: {
      const req = decodeRequest(ApiKey.DeleteTopics, v, frame, h.bodyOffset);
      const names = v >= 6 ? req.topics.map((t) => t.name) : req.topicNames;
      return encodeResponse(ApiKey.DeleteTopics, v, h.correlationId, { responses: names.map((name) => ({ name, topicId: TOPIC_ID, errorCode: 0 })) });
    }
    case ApiKey.CreatePartitions: {
      const req = decodeRequest(ApiKey.CreatePartitions, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.CreatePartitions, v, h.correlationId, { results: req.topics.map((t) => ({ name: t.name, errorCode: 0 })) });
    }
    case ApiKey.DescribeConfigs: {
      const req = decodeRequest(ApiKey.DescribeConfigs, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.DescribeConfigs, v, h.correlationId, {
        results: req.resources.map((r) => ({
          errorCode: 0,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [{ name: 'retention.ms', value: '604800000', readOnly: false, isSensitive: false, configSource: 5 }],
        })),
      });
    }
    case ApiKey.IncrementalAlterConfigs: {
      const req = decodeRequest(ApiKey.IncrementalAlterConfigs, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.IncrementalAlterConfigs, v, h.correlationId, {
        responses: req.resources.map((r) => ({ errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName })),
      });
    }
    case ApiKey.DescribeCluster:
      return encodeResponse(ApiKey.DescribeCluster, v, h.correlationId, {
        errorCode: 0,
        clusterId: 'capture-cluster',
        controllerId: NODE_ID,
        brokers: [{ brokerId: NODE_ID, host: '127.0.0.1', port }],
      });
    case ApiKey.OffsetForLeaderEpoch: {
      const req = decodeRequest(ApiKey.OffsetForLeaderEpoch, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.OffsetForLeaderEpoch, v, h.correlationId, {
        topics: req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ errorCode: 0, partition: p.partition, leaderEpoch: 0, endOffset: 0n })) })),
      });
    }
    case ApiKey.DeleteRecords: {
      const req = decodeRequest(ApiKey.DeleteRecords, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.DeleteRecords, v, h.correlationId, {
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: p.offset, errorCode: 0 })) })),
      });
    }
    case ApiKey.InitProducerId:
      return encodeResponse(ApiKey.InitProducerId, v, h.correlationId, { errorCode: 0, producerId: 4242n, producerEpoch: 0 });
    case ApiKey.Produce: {
      const req = decodeRequest(ApiKey.Produce, v, frame, h.bodyOffset);
      if (req.acks === 0) return undefined;
      return encodeResponse(ApiKey.Produce, v, h.correlationId, {
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0n })),
        })),
      });
    }
    case ApiKey.ListOffsets: {
      const req = decodeRequest(ApiKey.ListOffsets, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.ListOffsets, v, h.correlationId, {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) =>
            v === 0 ? { partitionIndex: p.partitionIndex, errorCode: 0, oldStyleOffsets: [0n] } : { partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1n, offset: 0n },
          ),
        })),
      });
    }
    case ApiKey.Fetch: {
      // An empty partition at its end: consumers that stop at the end (kcat -e) stop.
      // Empty records, not null: librdkafka refuses a null record set (MessageSetSize -1).
      const req = decodeRequest(ApiKey.Fetch, v, frame, h.bodyOffset);
      return encodeResponse(ApiKey.Fetch, v, h.correlationId, {
        responses: req.topics.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partition,
            errorCode: 0,
            highWatermark: p.fetchOffset,
            lastStableOffset: p.fetchOffset,
            logStartOffset: 0n,
            records: Buffer.alloc(0),
          })),
        })),
      });
    }
    default:
      return undefined;
  }
}

function serve(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket: Socket) => {
      let pending = Buffer.alloc(0);
      socket.on('error', () => socket.destroy());
      socket.on('data', (data: Buffer) => {
        pending = Buffer.concat([pending, data]);
        while (pending.length >= 4) {
          const size = pending.readInt32BE(0);
          if (size < 0 || size > FRAME_MAX_BYTES) return void socket.destroy();
          if (pending.length < 4 + size) return;
          const frame = Buffer.from(pending.subarray(4, 4 + size));
          pending = pending.subarray(4 + size);
          let reply: Buffer[] | undefined;
          try {
            reply = answer(frame, (server.address() as { port: number }).port);
          } catch (e) {
            console.error(`${client}: cannot answer: ${(e as Error).message}`);
            return void socket.destroy();
          }
          if (reply !== undefined) socket.write(Buffer.concat(reply));
        }
      });
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

function run(command: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { timeout: CLIENT_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error !== null) console.error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`);
      resolve();
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function kafkajs(port: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'capture', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'captured', numPartitions: PARTITIONS }] });
  await admin.fetchTopicOffsets('captured');
  await admin.fetchTopicOffsetsByTimestamp('captured', 1_700_000_000_000);
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
  await producer.connect();
  await producer.send({
    topic: 'captured',
    compression: CompressionTypes.GZIP,
    messages: [
      { key: 'k1', value: 'v1', headers: { h: 'x' }, timestamp: '1700000000000' },
      { key: null, value: null, timestamp: '1700000000001' },
    ],
  });
  await producer.disconnect();
}

async function platformatic(port: number): Promise<void> {
  const options = { clientId: 'capture', bootstrapBrokers: [`127.0.0.1:${port}`], retries: 0 };
  const admin = new Admin(options);
  await admin.createTopics({ topics: ['captured'], partitions: PARTITIONS, replicas: 1 });
  await admin.metadata({ topics: ['captured'] });
  await admin.createPartitions({ topics: [{ name: 'captured', count: 2, assignments: [] }] });
  await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: 'captured', configurationKeys: ['retention.ms'] }] });
  await admin.incrementalAlterConfigs({
    resources: [{ resourceType: 2, resourceName: 'captured', configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }] }],
  });
  await admin.close();

  const producer = new Producer({ ...options, idempotent: true, acks: -1, serializers: stringSerializers });
  await producer.send({ messages: [{ topic: 'captured', partition: 0, key: 'k1', value: 'v1', headers: { h: 'x' }, timestamp: 1700000000000n }] });
  await producer.close();

  // The consumer-side APIs one by one on a connection (consumers need groups, issue #12 part 2).
  const connection = new Connection('capture');
  await connection.connect('127.0.0.1', port);
  // @platformatic/kafka takes uuids in their dashed hex form.
  const topicId = Buffer.from(TOPIC_ID, 'base64url').toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
  const partition = { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 1048576 };
  await fetchV17.api.async(connection, 500, 1, 52428800, 0, 0, -1, [{ topicId, partitions: [partition] }], [], '');
  await listOffsetsV7.api.async(connection, -1, 0, [{ name: 'captured', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3n }] }]);
  await offsetForLeaderEpochV4.api.async(connection, -1, [{ name: 'captured', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }]);
  await deleteRecordsV2.api.async(connection, [{ name: 'captured', partitions: [{ partitionIndex: 0, offset: 5n }] }], 1000);
  await describeClusterV1.api.async(connection, false, 1);
  await connection.close();

  const cleanup = new Admin(options);
  await cleanup.deleteTopics({ topics: ['captured'] });
  await cleanup.close();
}

async function main(): Promise<void> {
  if (!existsSync(FIXTURES_DIR)) mkdirSync(FIXTURES_DIR, { recursive: true });
  const { server, port } = await serve();
  const broker = `127.0.0.1:${port}`;

  client = 'kafkajs';
  await kafkajs(port).catch((e: unknown) => console.error(`kafkajs: ${(e as Error).message}`));

  client = 'platformatic';
  await platformatic(port).catch((e: unknown) => console.error(`platformatic: ${(e as Error).message}`, e));

  client = 'kcat';
  await run('kcat', ['-b', broker, '-L']);
  await run('kcat', ['-b', broker, '-P', '-t', 'captured', '-K', ':', '-H', 'h1=v1', '-X', 'enable.idempotence=true', '-X', 'linger.ms=0'], 'k1:v1\nk2:v2\n');
  await run('kcat', ['-b', broker, '-C', '-t', 'captured', '-o', 'beginning', '-e']);
  client = 'kcat-query';
  await run('kcat', ['-b', broker, '-Q', '-t', 'captured:0:1700000000000']);

  client = 'kafka-python';
  await run('/usr/bin/python3', [
    '-c',
    [
      'from kafka import KafkaProducer, KafkaConsumer, TopicPartition',
      `p = KafkaProducer(bootstrap_servers='${broker}', acks=1)`,
      "p.send('captured', key=b'k1', value=b'v1', headers=[('h', b'x')], timestamp_ms=1700000000000).get(timeout=10)",
      'p.close()',
      `c = KafkaConsumer(bootstrap_servers='${broker}', consumer_timeout_ms=2000)`,
      "tp = TopicPartition('captured', 0)",
      'c.assign([tp]); c.seek_to_beginning(tp); list(c); c.close()',
    ].join('\n'),
  ]);

  server.close();
}

await main();
