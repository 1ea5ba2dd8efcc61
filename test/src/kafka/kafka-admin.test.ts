/**
 * The Kafka admin APIs with real clients against a broker's Kafka listener: CreatePartitions
 * (kafkajs createPartitions; kcat -L sees the new count; a produce to a new partition), DescribeConfigs
 * (kafkajs and @platformatic/kafka with synonyms; topic and broker resources), IncrementalAlterConfigs
 * (@platformatic/kafka: kafkajs only has the legacy AlterConfigs), DescribeCluster
 * (@platformatic/kafka's metadata goes through Metadata: DescribeCluster through the raw codec) and
 * OffsetForLeaderEpoch (no client API exposes it: the codec's encoder on a raw connection).
 */
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { ApiKey, ConfigResourceType, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { hasKcat, kcat } from './kafka-clients.js';
import { RawKafkaConnection } from './raw-kafka.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

describe('Kafka admin APIs with real clients', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;
  let producer: ReturnType<InstanceType<typeof Kafka>['producer']>;
  let platformatic: PlatformaticAdmin;
  let bootstrap: string;

  beforeAll(async () => {
    broker = await start({ kafka: true });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    const client = new Kafka({ clientId: 'strata-admin-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    admin = client.admin();
    await admin.connect();
    producer = client.producer();
    await producer.connect();
    platformatic = new PlatformaticAdmin({ clientId: 'strata-admin-test', bootstrapBrokers: [bootstrap] });
  });
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await platformatic?.close();
  });

  /** One request through the codec on a raw connection, its decoded answer. */
  async function raw<K extends typeof ApiKey.DescribeCluster | typeof ApiKey.OffsetForLeaderEpoch | typeof ApiKey.InitProducerId>(apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
    const c = await RawKafkaConnection.open(broker.kafkaPort!);
    try {
      c.write(encodeRequest(apiKey, version, 7, 'raw', body));
      const [frame] = await c.frameCount(1);
      expect(frame, 'an answer').toBeDefined();
      return decodeResponse(apiKey, version, frame!).body;
    } finally {
      c.destroy();
    }
  }

  it('createPartitions grows a topic: the records stay, the new partitions take produce, kcat -L sees the count; a shrink is INVALID_PARTITIONS', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'grows', numPartitions: 2 }] })).toBe(true);
    await producer.send({ topic: 'grows', messages: [{ partition: 1, value: 'before' }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'grows', count: 5 }] });
    const meta = await admin.fetchTopicMetadata({ topics: ['grows'] });
    expect(meta.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3, 4]);
    // A producer that looks the topic up now (kafkajs keeps its metadata for metadataMaxAge, as Kafka's clients do).
    const fresh = new Kafka({ clientId: 'strata-admin-test', brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer();
    await fresh.connect();
    try {
      const [sent] = await fresh.send({ topic: 'grows', messages: [{ partition: 4, value: 'after' }] });
      expect(sent).toMatchObject({ partition: 4, baseOffset: '0' });
    } finally {
      await fresh.disconnect();
    }
    const offsets = await admin.fetchTopicOffsets('grows');
    expect(offsets.sort((a, b) => a.partition - b.partition).map((o) => o.high)).toEqual(['0', '1', '0', '0', '1']);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'grows', count: 3 }] })).rejects.toThrow(/partition/i);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'no-such-topic', count: 3 }] })).rejects.toThrow();
    // validateOnly (through @platformatic/kafka: kafkajs has no such option here) changes nothing.
    await platformatic.createPartitions({ topics: [{ name: 'grows', count: 9 }], validateOnly: true });
    expect((await broker.http.get('/v1/topics/grows')).body.partitions).toHaveLength(5);
    if (hasKcat()) {
      const listed = await kcat(bootstrap, ['-L', '-t', 'grows']);
      expect(listed).toMatch(/topic "grows" with 5 partitions/);
    }
  });

  it('describeConfigs answers every topic config with value, source and synonyms, and the broker\'s settings read-only', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'described', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })).toBe(true);
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'described' }] });
    expect(resources[0]!.errorCode).toBe(0);
    const byName = new Map(resources[0]!.configEntries.map((e) => [e.configName, e]));
    expect(byName.get('retention.ms')).toMatchObject({ configValue: '3600000', readOnly: false, isDefault: false, isSensitive: false, configSource: 1 });
    expect(byName.get('max.message.bytes')).toMatchObject({ configValue: '1048588', configSource: 5 });
    expect(byName.get('cleanup.policy')?.configValue).toBe('delete');

    const [topic, brokerRes] = await platformatic.describeConfigs({
      includeSynonyms: true,
      resources: [
        { resourceType: ConfigResourceType.TOPIC, resourceName: 'described', configurationKeys: ['retention.ms', 'segment.bytes'] },
        { resourceType: ConfigResourceType.BROKER, resourceName: '', configurationKeys: null },
      ],
    });
    expect(topic!.configs.map((c) => c.name).sort()).toEqual(['retention.ms', 'segment.bytes']);
    const retention = topic!.configs.find((c) => c.name === 'retention.ms')!;
    expect(retention).toMatchObject({ value: '3600000', configSource: 1 });
    expect(retention.synonyms.map((s) => [s.name, s.source])).toEqual([['retention.ms', 1], ['log.retention.ms', 5]]);
    expect(topic!.configs.find((c) => c.name === 'segment.bytes')).toMatchObject({ configSource: 5 });
    const settings = new Map(brokerRes!.configs.map((c) => [c.name, c]));
    expect(settings.get('auto.create.topics.enable')).toMatchObject({ readOnly: true, configSource: 4 });
    expect(settings.get('num.partitions')?.value).toBe('1');

    const unknown = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'no-such-topic' }] }).catch((e: Error) => e);
    expect(String(unknown)).toMatch(/topic|partition/i);
  });

  it('incrementalAlterConfigs sets and deletes topic configs through the HTTP validation, refuses APPEND on a non-list, brokers, and bad values, changing nothing', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'altered', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })).toBe(true);
    await platformatic.incrementalAlterConfigs({
      resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: 'altered', configs: [
        { name: 'max.message.bytes', configOperation: 0, value: '2000' },
        { name: 'retention.ms', configOperation: 1 },
      ] }],
    });
    expect((await broker.http.get('/v1/topics/altered')).body.configOverrides).toEqual({ 'max.message.bytes': 2000 });

    const refusals: Array<[string, Parameters<PlatformaticAdmin['incrementalAlterConfigs']>[0]['resources'][number]]> = [
      ['a bad value', { resourceType: ConfigResourceType.TOPIC, resourceName: 'altered', configs: [{ name: 'retention.ms', configOperation: 0, value: 'soon' }] }],
      ['an unknown key', { resourceType: ConfigResourceType.TOPIC, resourceName: 'altered', configs: [{ name: 'colour', configOperation: 0, value: 'red' }] }],
      ['APPEND to a non-list', { resourceType: ConfigResourceType.TOPIC, resourceName: 'altered', configs: [{ name: 'retention.ms', configOperation: 2, value: '5' }] }],
      ['a broker', { resourceType: ConfigResourceType.BROKER, resourceName: '', configs: [{ name: 'num.partitions', configOperation: 0, value: '3' }] }],
    ];
    for (const [what, resource] of refusals) {
      await expect(platformatic.incrementalAlterConfigs({ resources: [resource] }), what).rejects.toThrow();
    }
    // validate_only: a valid change is checked and not applied.
    await platformatic.incrementalAlterConfigs({ validateOnly: true, resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: 'altered', configs: [{ name: 'retention.ms', configOperation: 0, value: '5000' }] }] });
    expect((await broker.http.get('/v1/topics/altered')).body.configOverrides).toEqual({ 'max.message.bytes': 2000 });
    // The change applies: a record over the new max.message.bytes is refused.
    await expect(producer.send({ topic: 'altered', messages: [{ value: 'x'.repeat(5000) }] })).rejects.toThrow(/large|size/i);
  });

  it('DescribeCluster names this broker at its Kafka address, the controller and the cluster id', async () => {
    for (const version of [0, 1]) {
      const body = await raw(ApiKey.DescribeCluster, version, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      expect(body.errorCode).toBe(KafkaError.NONE);
      expect(body.brokers).toEqual([expect.objectContaining({ host: '127.0.0.1', port: broker.kafkaPort })]);
      expect(body.controllerId).toBe(body.brokers[0]!.brokerId);
      expect(body.clusterId.length).toBeGreaterThan(0);
    }
    const controllers = await raw(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
    expect(controllers.errorCode).toBe(KafkaError.UNSUPPORTED_ENDPOINT_TYPE);
    const described = await platformatic.metadata({ topics: [] });
    expect(described.brokers.size).toBe(1);
  });

  it('deleteTopicRecords moves the log start (fetchTopicOffsets and reads follow it, a restart keeps it); beyond the high watermark is refused', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'trimmed', numPartitions: 2 }] })).toBe(true);
    await producer.send({ topic: 'trimmed', messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
    await producer.send({ topic: 'trimmed', messages: [{ partition: 1, value: 'w0' }, { partition: 1, value: 'w1' }] });
    // kafkajs finds the leaders in the admin's cached metadata: load the new topic's first.
    await admin.fetchTopicMetadata({ topics: ['trimmed'] });
    await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '-1' }] });
    const offsets = (await admin.fetchTopicOffsets('trimmed')).sort((a, b) => a.partition - b.partition);
    expect(offsets.map((o) => [o.low, o.high])).toEqual([['4', '10'], ['2', '2']]);
    // Reads below the new start are out of range; from it, the records are whole.
    expect((await broker.http.get('/v1/topics/trimmed/partitions/0/records?offset=0')).body.error.code).toBe('OFFSET_OUT_OF_RANGE');
    const read = await broker.http.get('/v1/topics/trimmed/partitions/0/records?offset=4');
    expect(read.body.records.map((r: { value: string }) => r.value)).toEqual(['v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
    // An earlier offset changes nothing; one past the high watermark is refused.
    await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '2' }] });
    await expect(admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '11' }] })).rejects.toThrow();
    expect((await broker.http.get('/v1/topics/trimmed')).body.partitions.map((p: { logStartOffset: number }) => p.logStartOffset)).toEqual([4, 2]);
    if (hasKcat()) {
      const out = await kcat(bootstrap, ['-C', '-t', 'trimmed', '-p', '0', '-o', 'beginning', '-e', '-f', '%o %s\\n']);
      expect(out.trim().split('\n')).toEqual(['4 v4', '5 v5', '6 v6', '7 v7', '8 v8', '9 v9']);
    }
    await broker.restart();
    expect((await broker.http.get('/v1/topics/trimmed')).body.partitions.map((p: { logStartOffset: number }) => p.logStartOffset)).toEqual([4, 2]);
  });

  it('InitProducerId: kafkajs and kcat idempotent producers write each record once; ids are distinct; a transactional id is refused', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'idempotent', numPartitions: 2 }] })).toBe(true);
    const idempotent = new Kafka({ clientId: 'strata-idem', brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await idempotent.connect();
    try {
      for (let round = 0; round < 3; round++) {
        await idempotent.send({ topic: 'idempotent', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `kjs-${round}-${i}` })) });
      }
    } finally {
      await idempotent.disconnect();
    }
    const values = async (partition: number) => (await broker.http.get(`/v1/topics/idempotent/partitions/${partition}/records?offset=0`)).body.records.map((r: { value: string }) => r.value);
    expect(await values(0)).toEqual(Array.from({ length: 15 }, (_, i) => `kjs-${Math.floor(i / 5)}-${i % 5}`));

    if (hasKcat()) {
      const lines = Array.from({ length: 20 }, (_, i) => `kcat-${i}`);
      await kcat(bootstrap, ['-P', '-t', 'idempotent', '-p', '1', '-X', 'enable.idempotence=true', '-X', 'acks=all'], lines.join('\n') + '\n');
      expect(await values(1)).toEqual(lines);
    }

    const init = (transactionalId: string | null) =>
      raw(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    const [a, b] = [await init(null), await init(null)];
    expect([a.errorCode, b.errorCode]).toEqual([KafkaError.NONE, KafkaError.NONE]);
    expect(a.producerId).not.toBe(b.producerId);
    expect(a.producerEpoch).toBe(0);
    const transactional = await init('tx-1');
    expect(transactional.errorCode).toBe(KafkaError.INVALID_REQUEST);
    expect(transactional.producerId).toBe(-1n);
  });

  it('OffsetForLeaderEpoch answers the end of an epoch from the log, and checks current_leader_epoch', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'epochs' }] })).toBe(true);
    await producer.send({ topic: 'epochs', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    const ask = (leaderEpoch: number, currentLeaderEpoch: number, topic = 'epochs', partition = 0) =>
      raw(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }] }).then((b) => b.topics[0]!.partitions[0]!);
    // A single node is a cluster of one: it leads in the epoch of its first lease (1); that epoch ends at the high watermark.
    expect(await ask(1, -1)).toMatchObject({ errorCode: 0, leaderEpoch: 1, endOffset: 3n });
    expect(await ask(1, 1)).toMatchObject({ errorCode: 0, leaderEpoch: 1, endOffset: 3n });
    expect((await ask(1, 2)).errorCode).toBe(KafkaError.UNKNOWN_LEADER_EPOCH);
    expect(await ask(5, -1)).toMatchObject({ errorCode: 0, leaderEpoch: -1, endOffset: -1n });
    expect((await ask(0, -1, 'no-such-topic')).errorCode).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await ask(0, -1, 'epochs', 9)).errorCode).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
