// Request frames captured from real clients (scripts/capture.ts): each decodes
// with the fields the client meant, its records are valid RecordBatch v2 (CRC
// checked by @strata/protocol), and re-encoding gives the very same bytes.

import { describe, expect, it } from 'vitest';
import { decodeRecordBatch, validateBatches } from '@strata/protocol';
import {
  AlterConfigOp,
  ApiKey,
  ConfigResourceType,
  decodeRequest,
  decodeRequestHeader,
  encodeRequest,
  isKnownApiKey,
  ListOffsetsTimestamp,
  ZERO_UUID,
} from '@strata/kafka-protocol';
import { fixture, fixtureNames } from './helpers.js';

function decodeFixture(name: string) {
  const frame = fixture(name);
  const header = decodeRequestHeader(frame);
  if (!isKnownApiKey(header.apiKey)) throw new Error(`${name}: unknown API ${header.apiKey}`);
  return { frame, header, body: decodeRequest(header.apiKey, header.apiVersion, frame, header.bodyOffset) };
}

function decodeAs<K extends Parameters<typeof decodeRequest>[0]>(name: string, apiKey: K, version: number) {
  const frame = fixture(name);
  const header = decodeRequestHeader(frame);
  expect(header.apiKey).toBe(apiKey);
  expect(header.apiVersion).toBe(version);
  return { header, body: decodeRequest(apiKey, version, frame, header.bodyOffset) };
}

describe('captured client frames', () => {
  it('covers the three clients and the data-path APIs', () => {
    const names = fixtureNames();
    for (const prefix of ['kcat-', 'kafkajs-', 'kafka-python-', 'platformatic-']) expect(names.some((n) => n.startsWith(prefix))).toBe(true);
    for (const api of [
      'api-versions',
      'metadata',
      'produce',
      'fetch',
      'list-offsets',
      'create-topics',
      'delete-topics',
      'create-partitions',
      'describe-configs',
      'incremental-alter-configs',
      'describe-cluster',
      'offset-for-leader-epoch',
      'delete-records',
      'init-producer-id',
      'consumer-group-heartbeat',
      'consumer-group-describe',
      'list-groups',
      'delete-groups',
    ]) {
      expect(names.some((n) => n.includes(`-${api}-v`)), api).toBe(true);
    }
  });

  it.each(fixtureNames())('%s re-encodes to the same bytes', (name) => {
    const { frame, header, body } = decodeFixture(name);
    expect(name).toMatch(new RegExp(`-v${header.apiVersion}\\.bin$`));
    const encoded = Buffer.concat(encodeRequest(header.apiKey as 0, header.apiVersion, header.correlationId, header.clientId, body as never));
    expect(encoded.readInt32BE(0)).toBe(frame.length);
    expect(encoded.subarray(4).equals(frame)).toBe(true);
  });

  it('@platformatic/kafka ConsumerGroupHeartbeat v1 (KIP-848 join): a client-chosen member id, epoch 0, no regex, empty owned partitions', () => {
    const { header, body } = decodeAs('platformatic-consumer-group-heartbeat-v1.bin', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(header.headerVersion).toBe(2);
    expect(body).toMatchObject({ groupId: 'captured-group', memberEpoch: 0, instanceId: null, rackId: null, subscribedTopicNames: ['captured'], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [] });
    expect(body.memberId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.rebalanceTimeoutMs).toBeGreaterThan(0);
    expect(decodeAs('platformatic-consumer-group-describe-v0.bin', ApiKey.ConsumerGroupDescribe, 0).body).toEqual({ groupIds: ['captured-group'], includeAuthorizedOperations: false });
  });

  it('ListGroups: filters from v4 (platformatic v5 sends both), none before; DeleteGroups names', () => {
    expect(decodeAs('platformatic-list-groups-v5.bin', ApiKey.ListGroups, 5).body).toEqual({ statesFilter: ['STABLE'], typesFilter: ['CONSUMER'] });
    expect(decodeAs('kafkajs-list-groups-v2.bin', ApiKey.ListGroups, 2).body).toEqual({ statesFilter: [], typesFilter: [] });
    expect(decodeAs('kafka-python-list-groups-v1.bin', ApiKey.ListGroups, 1).body).toEqual({ statesFilter: [], typesFilter: [] });
    expect(decodeAs('platformatic-delete-groups-v2.bin', ApiKey.DeleteGroups, 2).body.groupsNames).toEqual(['captured-group']);
    expect(decodeAs('kafkajs-delete-groups-v1.bin', ApiKey.DeleteGroups, 1).body.groupsNames).toEqual(['captured-none']);
    expect(decodeAs('kafka-python-delete-groups-v1.bin', ApiKey.DeleteGroups, 1).body.groupsNames).toEqual(['a', 'b', 'c']);
  });

  it('kcat ApiVersions v3: flexible body and request header v2 with a non-compact client id', () => {
    const { header, body } = decodeAs('kcat-api-versions-v3.bin', ApiKey.ApiVersions, 3);
    expect(header).toMatchObject({ headerVersion: 2, clientId: 'rdkafka', correlationId: 1 });
    expect(body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
  });

  it('kafka-python probes with ApiVersions v0 and Metadata v0 (all topics) then v1 (null = all topics)', () => {
    expect(decodeAs('kafka-python-api-versions-v0.bin', ApiKey.ApiVersions, 0).header.clientId).toBe('kafka-python-producer-1');
    expect(decodeAs('kafka-python-metadata-v0.bin', ApiKey.Metadata, 0).body.topics).toEqual([]);
    expect(decodeAs('kafka-python-metadata-v1.bin', ApiKey.Metadata, 1).body.topics).toBeNull();
    const kcat = decodeAs('kcat-query-metadata-v4.bin', ApiKey.Metadata, 4).body;
    expect(kcat.topics!.map((t) => t.name)).toEqual(['captured']);
    expect(kcat.allowAutoTopicCreation).toBe(false);
  });

  it('kcat Produce v7 (idempotent, keyed, with headers): acks=all and a valid batch slice carrying the producer id', () => {
    const frame = fixture('kcat-produce-v7.bin');
    const { body } = decodeAs('kcat-produce-v7.bin', ApiKey.Produce, 7);
    expect(body.acks).toBe(-1);
    expect(body.transactionalId).toBeNull();
    const records = body.topicData[0]!.partitionData[0]!.records!;
    expect(body.topicData[0]!.name).toBe('captured');
    expect(body.topicData[0]!.partitionData[0]!.index).toBe(0);
    // A slice of the frame, not a copy.
    expect(records.buffer).toBe(frame.buffer);
    const [batch] = validateBatches(records);
    expect(batch).toBeDefined();
    const decoded = decodeRecordBatch(records);
    expect(decoded.header.producerId).toBe(4242);
    expect(decoded.header.baseSequence).toBe(0);
    expect(decoded.records.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([
      ['k1', 'v1'],
      ['k2', 'v2'],
    ]);
    expect(decoded.records[0]!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['h1', 'v1']]);
  });

  it('kafkajs Produce v7 (idempotent, gzip): a null key and a null value survive', () => {
    const { body } = decodeAs('kafkajs-produce-v7.bin', ApiKey.Produce, 7);
    const records = body.topicData[0]!.partitionData[0]!.records!;
    validateBatches(records);
    const decoded = decodeRecordBatch(records);
    expect(decoded.header.attributes & 0x7).toBe(1);
    expect(decoded.records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null, r.timestamp])).toEqual([
      ['k1', 'v1', 1700000000000],
      [null, null, 1700000000001],
    ]);
  });

  it('kafka-python Produce v7: a keyed record with a header', () => {
    const { body } = decodeAs('kafka-python-produce-v7.bin', ApiKey.Produce, 7);
    expect(body.acks).toBe(1);
    const decoded = decodeRecordBatch(body.topicData[0]!.partitionData[0]!.records!);
    expect(decoded.records[0]!.key!.toString()).toBe('k1');
    expect(decoded.records[0]!.headers[0]!.key).toBe('h');
  });

  it('Fetch v11 (kcat) and v4 (kafka-python): topic, partition, offsets and bounds', () => {
    const kcat = decodeAs('kcat-fetch-v11.bin', ApiKey.Fetch, 11).body;
    expect(kcat).toMatchObject({ replicaId: -1, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, rackId: '' });
    expect(kcat.topics[0]).toMatchObject({ topic: 'captured', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1048576 }] });
    const py = decodeAs('kafka-python-fetch-v4.bin', ApiKey.Fetch, 4).body;
    expect(py.topics[0]!.topic).toBe('captured');
    expect(py.maxBytes).toBeGreaterThan(0);
  });

  it('ListOffsets: earliest (kcat -o beginning), latest (kafkajs) and by timestamp (kcat -Q)', () => {
    const ts = (name: string, version: number) => decodeAs(name, ApiKey.ListOffsets, version).body.topics[0]!.partitions[0]!.timestamp;
    expect(ts('kcat-list-offsets-v2.bin', 2)).toBe(ListOffsetsTimestamp.EARLIEST);
    expect(ts('kafka-python-list-offsets-v1.bin', 1)).toBe(ListOffsetsTimestamp.EARLIEST);
    expect(ts('kafkajs-list-offsets-v3.bin', 3)).toBe(ListOffsetsTimestamp.LATEST);
    expect(ts('kcat-query-list-offsets-v2.bin', 2)).toBe(1700000000000n);
  });

  it('kafkajs CreateTopics v3 and InitProducerId from both clients', () => {
    expect(decodeAs('kafkajs-create-topics-v3.bin', ApiKey.CreateTopics, 3).body.topics[0]).toMatchObject({ name: 'captured', numPartitions: 1, replicationFactor: -1 });
    expect(decodeAs('kafkajs-init-producer-id-v1.bin', ApiKey.InitProducerId, 1).body).toMatchObject({ transactionalId: null, producerId: -1n });
    expect(decodeAs('kcat-init-producer-id-v4.bin', ApiKey.InitProducerId, 4).body).toMatchObject({ transactionalId: null, producerId: -1n, producerEpoch: -1 });
  });

  describe('flexible versions, from @platformatic/kafka', () => {
    it('Metadata v12: compact strings and arrays, a topic asked by name with a zero topic id', () => {
      const { header, body } = decodeAs('platformatic-metadata-v12.bin', ApiKey.Metadata, 12);
      expect(header.headerVersion).toBe(2);
      expect(body.topics).toEqual([{ topicId: ZERO_UUID, name: 'captured' }]);
      expect(body.includeTopicAuthorizedOperations).toBe(true);
    });

    it('Produce v11: the records slice is a valid batch with the key and header', () => {
      const { body } = decodeAs('platformatic-produce-v11.bin', ApiKey.Produce, 11);
      expect(body.acks).toBe(-1);
      const records = body.topicData[0]!.partitionData[0]!.records!;
      validateBatches(records);
      const decoded = decodeRecordBatch(records);
      expect(decoded.records.map((r) => [r.key?.toString(), r.value?.toString(), r.timestamp])).toEqual([['k1', 'v1', 1700000000000]]);
      expect(decoded.records[0]!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['h', 'x']]);
    });

    it('Fetch v17: topics by id, no inline replica id (it moved to a tagged field in v15)', () => {
      const { body } = decodeAs('platformatic-fetch-v17.bin', ApiKey.Fetch, 17);
      expect(body.topics[0]!.topicId).toBe(Buffer.alloc(16, 7).toString('base64url'));
      expect(body.topics[0]!.topic).toBe('');
      expect(body.topics[0]!.partitions[0]).toMatchObject({ partition: 0, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 1048576 });
      expect(body.replicaState).toEqual({ replicaId: -1, replicaEpoch: -1n });
      expect(body).toMatchObject({ maxWaitMs: 500, minBytes: 1, sessionId: 0, sessionEpoch: -1 });
    });

    it('ListOffsets v7: max timestamp', () => {
      expect(decodeAs('platformatic-list-offsets-v7.bin', ApiKey.ListOffsets, 7).body.topics[0]!.partitions[0]!.timestamp).toBe(ListOffsetsTimestamp.MAX_TIMESTAMP);
    });

    it('admin requests: CreateTopics v7, CreatePartitions v3, DeleteTopics v6, DescribeConfigs v4, IncrementalAlterConfigs v1', () => {
      expect(decodeAs('platformatic-create-topics-v7.bin', ApiKey.CreateTopics, 7).body.topics[0]).toMatchObject({ name: 'captured', numPartitions: 1, replicationFactor: 1 });
      expect(decodeAs('platformatic-create-partitions-v3.bin', ApiKey.CreatePartitions, 3).body.topics).toEqual([{ name: 'captured', count: 2, assignments: [] }]);
      expect(decodeAs('platformatic-delete-topics-v6.bin', ApiKey.DeleteTopics, 6).body.topics).toEqual([{ name: 'captured', topicId: ZERO_UUID }]);
      expect(decodeAs('platformatic-describe-configs-v4.bin', ApiKey.DescribeConfigs, 4).body.resources).toEqual([
        { resourceType: ConfigResourceType.TOPIC, resourceName: 'captured', configurationKeys: ['retention.ms'] },
      ]);
      expect(decodeAs('platformatic-incremental-alter-configs-v1.bin', ApiKey.IncrementalAlterConfigs, 1).body.resources[0]!.configs).toEqual([
        { name: 'retention.ms', configOperation: AlterConfigOp.SET, value: '1000' },
      ]);
    });

    it('cluster requests: DescribeCluster v1, OffsetForLeaderEpoch v4, DeleteRecords v2, InitProducerId v4', () => {
      expect(decodeAs('platformatic-describe-cluster-v1.bin', ApiKey.DescribeCluster, 1).body).toMatchObject({ includeClusterAuthorizedOperations: false, endpointType: 1 });
      expect(decodeAs('platformatic-offset-for-leader-epoch-v4.bin', ApiKey.OffsetForLeaderEpoch, 4).body).toEqual({
        replicaId: -1,
        topics: [{ topic: 'captured', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
      });
      expect(decodeAs('platformatic-delete-records-v2.bin', ApiKey.DeleteRecords, 2).body).toEqual({
        topics: [{ name: 'captured', partitions: [{ partitionIndex: 0, offset: 5n }] }],
        timeoutMs: 1000,
      });
      expect(decodeAs('platformatic-init-producer-id-v4.bin', ApiKey.InitProducerId, 4).body).toMatchObject({ transactionalId: null, transactionTimeoutMs: 5000 });
    });
  });
});
