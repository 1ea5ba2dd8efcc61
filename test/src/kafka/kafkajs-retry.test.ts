/**
 * kafkajs (idempotent, acks=-1, one request in flight) through a proxy that cuts the connection
 * after the broker appended a Produce and before the client saw the answer: kafkajs reconnects and
 * sends the batch again with the same sequence, the broker answers it as a duplicate, and every
 * record is in the log exactly once. The same cut under a producer without idempotence writes the
 * batch twice: that is what shows the cut fell after the append.
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { CutAfterAppendProxy } from './cut-after-append-proxy.js';

const { Kafka, logLevel } = kafkajs;

/** Records per send. */
const BATCH_RECORDS = 5;

describe('kafkajs retries a produce whose answer was lost after the append', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let proxy: CutAfterAppendProxy;

  beforeAll(async () => {
    proxy = await CutAfterAppendProxy.start();
    // Clients reach the broker only through the proxy: it is the advertised address.
    broker = await start({ kafka: true, env: { STRATA_KAFKA_ADVERTISED_ADDRESS: `127.0.0.1:${proxy.port}` } });
    proxy.targetPort = broker.kafkaPort!;
  });
  afterAll(async () => {
    await proxy?.close();
  });

  /** Three sends of BATCH_RECORDS records with the middle one cut after its append; the values in the log, in order. */
  const produceThroughCut = async (topic: string, idempotent: boolean): Promise<{ sent: string[]; stored: string[] }> => {
    expect((await broker.http.post('/v1/topics', { name: topic, partitions: 1 })).status).toBe(201);
    const client = new Kafka({ clientId: `cut-${topic}`, brokers: [`127.0.0.1:${proxy.port}`], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
    const producer = client.producer({ idempotent, maxInFlightRequests: 1, retry: { retries: 5, initialRetryTime: 100 } });
    await producer.connect();
    const sent: string[] = [];
    const cutsBefore = proxy.cuts;
    try {
      for (let send = 0; send < 3; send++) {
        const values = Array.from({ length: BATCH_RECORDS }, (_, i) => `${topic}-${send}-${i}`);
        if (send === 1) proxy.arm();
        const answer = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: 'k', value, partition: 0 })) });
        expect(answer[0]).toMatchObject({ topicName: topic, partition: 0, errorCode: 0 });
        sent.push(...values);
      }
    } finally {
      await producer.disconnect();
    }
    expect(proxy.cuts - cutsBefore, 'the proxy dropped one produce answer and cut its connection').toBe(1);
    const fetched = await broker.http.get(`/v1/topics/${topic}/partitions/0/records?offset=0&maxRecords=100`);
    expect(fetched.status).toBe(200);
    return { sent, stored: (fetched.body as { records: Array<{ value: string }> }).records.map((r) => r.value) };
  };

  it('an idempotent producer writes each record once and its send resolves', async () => {
    const { sent, stored } = await produceThroughCut('cut-idempotent', true);
    expect(stored).toEqual(sent);
  });

  it('without idempotence the same retry duplicates the batch (the cut came after the append)', async () => {
    const { sent, stored } = await produceThroughCut('cut-plain', false);
    const middle = sent.slice(BATCH_RECORDS, 2 * BATCH_RECORDS);
    expect(stored).toEqual([...sent.slice(0, BATCH_RECORDS), ...middle, ...middle, ...sent.slice(2 * BATCH_RECORDS)]);
  });
});
