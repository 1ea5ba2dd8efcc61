/**
 * The Python Kafka clients Debian ships, against a broker's Kafka listener: kafka-python
 * (python3-kafka) and confluent-kafka (python3-confluent-kafka, on librdkafka) each create a topic,
 * produce keyed records with headers and read them back with assign() (no consumer group).
 */
import { fileURLToPath } from 'node:url';
import { partitionForKey } from '@strata/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { pythonWith, run } from './kafka-clients.js';

const CLIENTS = [
  { name: 'kafka-python', module: 'kafka', script: 'kafka_python_roundtrip.py' },
  { name: 'confluent-kafka', module: 'confluent_kafka', script: 'confluent_kafka_roundtrip.py' },
] as const;

describe('Python Kafka clients against the Kafka listener', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await start({ kafka: true });
  });

  for (const client of CLIENTS) {
    const python = pythonWith(client.module);
    if (python === null) process.stderr.write(`${client.name} test skipped: no python3 imports ${client.module} (apt-get install python3-${client.module === 'kafka' ? 'kafka' : 'confluent-kafka'}; .ci/run installs it)\n`);
    it.skipIf(python === null)(`${client.name}: creates a topic, produces keyed records with headers, reads them back with assign()`, async () => {
      const topic = `py-${client.module}`;
      const script = fileURLToPath(new URL(`./python/${client.script}`, import.meta.url));
      const result = await run(python!, [script, `127.0.0.1:${broker.kafkaPort}`, topic], '', 90_000);
      expect(result.code, result.stderr).toBe(0);
      const records = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Array<{ p: number; o: number; k: string; v: string; h: Array<[string, string]> }>;
      expect(records.map((r) => [r.k, r.v, r.h])).toEqual(Array.from({ length: 10 }, (_, i) => [`k${i}`, `v${i}`, [['h', `x${i}`]]]));
      // Both clients partition keys with Kafka's murmur2; offsets are dense from 0 in produce order.
      for (const r of records) expect(r.p, r.k).toBe(partitionForKey(Buffer.from(r.k), 2));
      for (const p of [0, 1]) {
        const inPartition = records.filter((r) => r.p === p).sort((a, b) => a.o - b.o);
        expect(inPartition.map((r) => r.o)).toEqual(inPartition.map((_, i) => i));
        expect(inPartition.map((r) => r.k)).toEqual([...inPartition.map((r) => r.k)].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
      }
      const described = await broker.http.get(`/v1/topics/${topic}`);
      expect(described.body.partitions).toHaveLength(2);
    });
  }
});
