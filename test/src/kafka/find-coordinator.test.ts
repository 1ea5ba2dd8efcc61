/**
 * FindCoordinator on the Kafka port, through the codec on raw connections: a group's coordinator on
 * a single node (its own address; the advertised one in one-address mode), refusals (a transaction
 * key, an unknown key type, an invalid group id), and in a three-broker cluster in brokers mode
 * every broker names the same coordinator for a group, spread over the brokers.
 */
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import { describe, expect, it } from 'vitest';
import { Cluster } from '../harness/index.js';
import { brokerLifecycle, clusterPerTest } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

type Api = typeof ApiKey.FindCoordinator | typeof ApiKey.DescribeCluster | typeof ApiKey.ApiVersions | typeof ApiKey.ListGroups;

/** One request through the codec on a raw connection, its decoded answer. */
async function raw<K extends Api>(port: number, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  const c = await RawKafkaConnection.open(port);
  try {
    c.write(encodeRequest(apiKey, version, 11, 'raw', body));
    const [frame] = await c.frameCount(1);
    expect(frame, 'an answer').toBeDefined();
    return decodeResponse(apiKey, version, frame!).body;
  } finally {
    c.destroy();
  }
}

const findGroups = (port: number, keys: string[], keyType = 0) => raw(port, ApiKey.FindCoordinator, 4, { keyType, coordinatorKeys: keys });

describe('FindCoordinator on a single node', () => {
  const start = brokerLifecycle();

  it('a group is coordinated by this broker (v0, v3, v4); transactions, unknown key types and invalid group ids are refused', async () => {
    const broker = await start({ kafka: true });
    const port = broker.kafkaPort!;
    const v0 = await raw(port, ApiKey.FindCoordinator, 0, { key: 'g1' });
    expect(v0).toMatchObject({ errorCode: KafkaError.NONE, host: '127.0.0.1', port });
    const v3 = await raw(port, ApiKey.FindCoordinator, 3, { key: 'g1', keyType: 0 });
    expect(v3).toMatchObject({ errorCode: KafkaError.NONE, errorMessage: null, nodeId: v0.nodeId, host: '127.0.0.1', port });
    const v4 = await findGroups(port, ['g1', 'g2', '', 'bad/name']);
    expect(v4.coordinators.map((c) => [c.key, c.errorCode, c.nodeId, c.port])).toEqual([
      ['g1', KafkaError.NONE, v0.nodeId, port],
      ['g2', KafkaError.NONE, v0.nodeId, port],
      ['', KafkaError.INVALID_GROUP_ID, -1, -1],
      ['bad/name', KafkaError.INVALID_GROUP_ID, -1, -1],
    ]);
    const txn = await raw(port, ApiKey.FindCoordinator, 1, { key: 'txn-1', keyType: 1 });
    expect(txn).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST, nodeId: -1 });
    expect(txn.errorMessage).toMatch(/transactions/);
    const unknown = await findGroups(port, ['g1'], 7);
    expect(unknown.coordinators[0]).toMatchObject({ errorCode: KafkaError.INVALID_REQUEST, nodeId: -1 });
    // Advertised: the ApiVersions answer lists FindCoordinator 0-4.
    const versions = await raw(port, ApiKey.ApiVersions, 0, {});
    expect(versions.apiKeys.find((k) => k.apiKey === ApiKey.FindCoordinator)).toMatchObject({ minVersion: 0, maxVersion: 4 });
  });

  it('one-address mode: every group is coordinated at the advertised address', async () => {
    const broker = await start({ kafka: true, env: { STRATA_KAFKA_METADATA_MODE: 'one-address', STRATA_KAFKA_ADVERTISED_ADDRESS: 'balancer.example:19092' } });
    const answer = await findGroups(broker.kafkaPort!, ['a', 'b']);
    expect(answer.coordinators.map((c) => [c.key, c.errorCode, c.nodeId, c.host, c.port])).toEqual([
      ['a', KafkaError.NONE, 0, 'balancer.example', 19092],
      ['b', KafkaError.NONE, 0, 'balancer.example', 19092],
    ]);
  });
});

describe('FindCoordinator in a three-broker cluster (brokers mode)', () => {
  const state = clusterPerTest();

  it('every broker names the same coordinator for each group, and the groups spread over the brokers', async () => {
    const cluster = (state.cluster = await Cluster.start({ brokers: 3, kafka: true }));
    const ports = ['b1', 'b2', 'b3'].map((id) => cluster.broker(id).kafkaPort!);
    // Until each broker sees the other two registered with their Kafka addresses.
    for (const port of ports) {
      for (let attempt = 0; ; attempt++) {
        const described = await raw(port, ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false });
        if (described.brokers.length === 3) break;
        if (attempt >= 100) throw new Error(`broker at ${port} sees ${described.brokers.length} brokers`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const groups = Array.from({ length: 24 }, (_, i) => `group-${i}`);
    const answers = await Promise.all(ports.map((port) => findGroups(port, groups)));
    for (const answer of answers) expect(answer.coordinators.every((c) => c.errorCode === KafkaError.NONE)).toBe(true);
    const chosen = answers.map((a) => a.coordinators.map((c) => `${c.key}@${c.nodeId}/${c.host}:${c.port}`));
    expect(chosen[1]).toEqual(chosen[0]);
    expect(chosen[2]).toEqual(chosen[0]);
    const coordinatorPorts = new Set(answers[0]!.coordinators.map((c) => c.port));
    expect(coordinatorPorts.size, 'groups spread over the brokers').toBeGreaterThan(1);
    for (const p of coordinatorPorts) expect(ports).toContain(p);

    // ListGroups: each broker lists the groups it coordinates, so a client that asks every broker
    // (kafkajs, kafka-python) sees each group once, from its coordinator.
    const b1 = cluster.broker('b1');
    expect((await b1.http.post('/v1/topics', { name: 'listed', partitions: 1 })).status).toBe(201);
    for (const g of groups) expect((await b1.http.post(`/v1/groups/${g}/offsets`, { offsets: [{ topic: 'listed', partition: 0, offset: 0 }] })).status).toBe(200);
    const listed = await Promise.all(ports.map((port) => raw(port, ApiKey.ListGroups, 4, {})));
    const listedBy = listed.flatMap((answer, i) => answer.groups.map((g) => `${g.groupId}@${ports[i]}`)).sort();
    const expected = answers[0]!.coordinators.map((c) => `${c.key}@${c.port}`).sort();
    expect(listedBy).toEqual(expected);
  }, 120_000);
});
