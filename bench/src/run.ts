/**
 * `pnpm bench`: every benchmark, each printed as a table (and all of them as one JSON line at
 * the end, for tooling). Not a test: nothing here asserts a time.
 */
import { runBrokerBench } from './broker-bench.js';
import { runClusterBench } from './cluster-bench.js';
import { runCodecBench } from './codec.js';
import { runCompressionBench } from './codec-bench.js';
import { runGroupsBench } from './groups-bench.js';
import { runKafkaGroupsBench } from './kafka-groups-bench.js';
import { runKafkaBench } from './kafka-bench.js';
import { runLatencyBench } from './latency-bench.js';
import { runQuotasBench } from './quotas-bench.js';
import { runProducerBench } from './producer-bench.js';
import { runPeersBench } from './peers/peers-bench.js';
import { runReplicationBench } from './replication-bench.js';
import { runTierBench } from './tier-bench.js';

const only = process.argv[2];
const results: Record<string, unknown[]> = {};

if (!only || only === 'codec') {
  console.log('\n## codec (CRC-32C, batch validation, decoding)');
  const rows = await runCodecBench();
  console.table(rows);
  results.codec = rows;
}
if (!only || only === 'codecs') {
  console.log('\n## codecs (gzip, snappy, lz4, zstd): encode and decode MB/s of uncompressed bytes, median (min-max) of 7 rounds');
  const rows = await runCompressionBench();
  console.table(rows);
  results.codecs = rows;
}
if (!only || only === 'broker') {
  console.log('\n## broker vs baseline (plain node:http server appending to a file), same run');
  const rows = await runBrokerBench();
  console.table(rows);
  results.broker = rows;
}
if (only === 'latency') {
  console.log('\n## produce latency: sequential single-record produces, one keep-alive connection, a fresh broker per trial, p50/p99 median (min-max) of STRATA_BENCH_ROUNDS (3)');
  const rows = await runLatencyBench();
  console.table(rows);
  results.latency = rows;
}
if (!only || only === 'tier') {
  console.log('\n## tiered storage vs the same object store, same run (s3rver on loopback)');
  const rows = await runTierBench();
  console.table(rows);
  results.tier = rows;
}
if (!only || only === 'cluster') {
  console.log('\n## cluster: produce spread over 3 brokers (most forwarded) vs straight to each leader, same run');
  const rows = await runClusterBench();
  console.table(rows);
  results.cluster = rows;
}
if (!only || only === 'groups') {
  console.log('\n## consumer groups through the client (one broker process): latency and throughput by member count');
  const rows = await runGroupsBench();
  console.table(rows);
  results.groups = rows;
  console.log('\n## Kafka consumer groups (kafkajs, classic protocol), same broker build: latency, throughput by member count, a member killed');
  const kafkaRows = await runKafkaGroupsBench();
  console.table(kafkaRows);
  results.kafkaGroups = kafkaRows;
}
if (!only || only === 'producer') {
  console.log('\n## client Producer (default settings, acks all, idempotent, one partition): records/s at 100 B, latency of 1 KiB sends; median (min-max) of STRATA_BENCH_ROUNDS (3)');
  const rows = await runProducerBench();
  console.table(rows);
  results.producer = rows;
}
if (!only || only === 'replication') {
  console.log('\n## replication: acks=all beside acks=1, 3 brokers, RF 3, min.insync.replicas=2, same run');
  const rows = await runReplicationBench();
  console.table(rows);
  results.replication = rows;
}
if (!only || only === 'kafka') {
  console.log('\n## Kafka listener: kafkajs and kcat beside HTTP binary produce/fetch and the raw-append baseline, same run; a fresh process per trial, systems in turn, median (min-max) of STRATA_BENCH_ROUNDS (3)');
  const rows = await runKafkaBench();
  console.table(rows);
  results.kafka = rows;
}
if (!only || only === 'quotas') {
  console.log('\n## quotas: two producers (each its own process) share a broker through the Kafka listener, one over a 1 MiB/s producer_byte_rate; a fresh broker per trial, alone and shared in turn, median (min–max) of STRATA_BENCH_ROUNDS (3)');
  const rows = await runQuotasBench();
  console.table(rows);
  results.quotas = rows;
}
if (!only || only === 'peers') {
  console.log('\n## peers: Strata beside NATS JetStream and Redis Streams, same run; a fresh server per trial, systems in turn, median (min-max) of STRATA_BENCH_ROUNDS (3); record values counted, not framing');
  const tables = await runPeersBench();
  for (const [title, rows] of Object.entries(tables)) {
    console.log(`\n### ${title}`);
    console.table(rows);
  }
  results.peers = Object.values(tables).flat();
}
console.log(JSON.stringify({ bench: results, node: process.version, at: new Date().toISOString() }));
