/**
 * Replication: acks=all beside acks=1 in the same run, on the same 3-broker cluster (RF 3,
 * min.insync.replicas=2), raw batches sent straight to each partition's leader. acks=all waits
 * until both followers have fetched the batch (two more hops over the internal port), so the
 * figures are its added latency and the share of acks=1 throughput it keeps. The load is
 * stated in the row names: a closed loop with a fixed number of requests in flight, first a
 * moderate one (the p99 target, 15 ms, is stated at it), then a heavier one.
 */
import { Cluster } from '@strata/test';
import { encodeRecordBatch, type RecordInput } from '@strata/protocol';
import { runLoad, type LoadResult } from './load.js';
import type { Row } from './broker-bench.js';

const PARTITIONS = 6;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

/** The moderate load the p99 target is stated at, then a heavier one (both closed loops). */
const LOADS = [
  { concurrency: 2, batchBytes: 4 * 1024 },
  { concurrency: 6, batchBytes: 16 * 1024 },
];

export async function runReplicationBench(settings = { durationMs: 4000, repeats: 2 }): Promise<Row[]> {
  const cluster = await Cluster.start({ brokers: 3, env: { STRATA_LOG_LEVEL: 'warn' } });
  try {
    const first = cluster.broker('b1');
    for (let i = 0; ; i++) {
      const view = await first.http.get('/v1/cluster');
      if ((view.body.brokers as Array<{ live: boolean }>).filter((b) => b.live).length === 3) break;
      if (i > 200) throw new Error('brokers did not all join');
      await new Promise((r) => setTimeout(r, 50));
    }
    const created = await first.http.post('/v1/topics', { name: 'repl', partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': 2 } });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
    const leaders = await cluster.awaitLeaders('repl', PARTITIONS);
    const leaderUrl = (p: number): string => cluster.broker(leaders.get(p)!).url;
    // Wait for every ISR to fill: acks=all is refused below min.insync.replicas.
    for (let i = 0; ; i++) {
      const topic = await first.http.get('/v1/topics/repl');
      if ((topic.body.partitions as Array<{ isr: string[] }>).every((p) => p.isr.length === 3)) break;
      if (i > 400) throw new Error('ISRs did not fill');
      await new Promise((r) => setTimeout(r, 50));
    }

    const rows: Row[] = [];
    for (const shape of LOADS) rows.push(...(await measure(shape.concurrency, shape.batchBytes)));
    return rows;

    async function measure(concurrency: number, batchBytes: number): Promise<Row[]> {
      const value = Buffer.alloc(1000, 0x61);
      const records: RecordInput[] = [];
      for (let i = 0; i * 1030 < batchBytes; i++) records.push({ key: Buffer.from(`k${i}`), value });
      const body = encodeRecordBatch(records);
      const headers = { 'content-type': RECORD_BATCH_TYPE };
      const load = (acks: '1' | 'all'): Promise<LoadResult> =>
        runLoad({
          origin: leaderUrl(0),
          method: 'POST',
          concurrency,
          durationMs: settings.durationMs,
          request: (i) => {
            const p = i % PARTITIONS;
            return { origin: leaderUrl(p), path: `/v1/topics/repl/partitions/${p}/batches?acks=${acks}`, body, headers };
          },
          account: () => ({ bytes: body.length, records: records.length }),
        });

      await load('1'); // warm-up: connections, JIT, followers' long-polls
      await load('all');
      const one: LoadResult[] = [];
      const all: LoadResult[] = [];
      for (let r = 0; r < settings.repeats; r++) {
        one.push(await load('1'));
        all.push(await load('all'));
      }
      const best = (results: LoadResult[]): LoadResult => results.reduce((a, b) => (b.bytes / b.seconds > a.bytes / a.seconds ? b : a));
      const a1 = best(one);
      const aa = best(all);
      const row = (name: string, x: LoadResult): Row => ({
        name,
        'MB/s': Math.round((x.bytes / x.seconds / 1e6) * 10) / 10,
        'records/s': Math.round(x.records / x.seconds),
        'p50 ms': Math.round(x.p50Ms * 100) / 100,
        'p99 ms': Math.round(x.p99Ms * 100) / 100,
        errors: x.errors,
      });
      const shape = `${batchBytes / 1024} KiB batches, ${concurrency} in flight over ${PARTITIONS} partitions`;
      return [
        row(`acks=1 (${shape})`, a1),
        row(`acks=all (${shape}, min.insync.replicas=2)`, aa),
        {
          name: 'acks=all / acks=1',
          'MB/s': Math.round((aa.bytes / aa.seconds / (a1.bytes / a1.seconds)) * 100) / 100,
          'records/s': '',
          'p50 ms': Math.round((aa.p50Ms - a1.p50Ms) * 100) / 100,
          'p99 ms': Math.round((aa.p99Ms - a1.p99Ms) * 100) / 100,
          errors: 'ms added by acks=all ->',
        },
      ];
    }
  } finally {
    await cluster.stop();
  }
}
