/**
 * Produce through the load-balancer pattern (every request to the next broker in turn, so two in
 * three are forwarded to their partition's leader) beside the same load sent straight to each
 * partition's leader, in the same run on the same 3-broker cluster: the ratio and the p99 that
 * forwarding adds are the figures (absolute numbers mean little on a shared machine).
 */
import { Cluster } from '@strata/test';
import { encodeRecordBatch, type RecordInput } from '@strata/protocol';
import { runLoad, type LoadResult } from './load.js';
import type { Row } from './broker-bench.js';

const PARTITIONS = 6;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

export async function runClusterBench(settings = { durationMs: 4000, concurrency: 12, repeats: 2, batchBytes: 16 * 1024 }): Promise<Row[]> {
  const cluster = await Cluster.start({ brokers: 3, env: { STRATA_LOG_LEVEL: 'warn' } });
  try {
    const first = cluster.broker('b1');
    const created = await first.http.post('/v1/topics', { name: 'lb', partitions: PARTITIONS });
    if (created.status !== 201) throw new Error(`create: ${created.status}`);
    const leaders = await cluster.awaitLeaders('lb', PARTITIONS);
    const urls = [...cluster.brokers.values()].map((b) => b.url);
    const leaderUrl = (p: number): string => cluster.broker(leaders.get(p)!).url;

    const value = Buffer.alloc(1000, 0x61);
    const records: RecordInput[] = [];
    for (let i = 0; i * 1030 < settings.batchBytes; i++) records.push({ key: Buffer.from(`k${i}`), value });
    const body = encodeRecordBatch(records);
    const path = (p: number): string => `/v1/topics/lb/partitions/${p}/batches?acks=1`;
    const headers = { 'content-type': RECORD_BATCH_TYPE };
    const load = (spread: boolean): Promise<LoadResult> =>
      runLoad({
        origin: urls[0]!,
        method: 'POST',
        concurrency: settings.concurrency,
        durationMs: settings.durationMs,
        request: (i) => {
          const p = i % PARTITIONS;
          // Spread: request i goes to broker i mod 3, whoever leads the partition.
          return { origin: spread ? urls[Math.floor(i / PARTITIONS) % urls.length]! : leaderUrl(p), path: path(p), body, headers };
        },
        account: () => ({ bytes: body.length, records: records.length }),
      });

    await load(false); // warm-up: connections, JIT, first segments
    const direct: LoadResult[] = [];
    const spread: LoadResult[] = [];
    for (let r = 0; r < settings.repeats; r++) {
      direct.push(await load(false));
      spread.push(await load(true));
    }
    const best = (results: LoadResult[]): LoadResult => results.reduce((a, b) => (b.bytes / b.seconds > a.bytes / a.seconds ? b : a));
    const d = best(direct);
    const s = best(spread);
    const forwarded = [...Array(PARTITIONS * urls.length).keys()].filter((i) => urls[Math.floor(i / PARTITIONS) % urls.length] !== leaderUrl(i % PARTITIONS)).length / (PARTITIONS * urls.length);
    const row = (name: string, x: LoadResult, forwardedShare: number): Row => ({
      name,
      'MB/s': Math.round((x.bytes / x.seconds / 1e6) * 10) / 10,
      'records/s': Math.round(x.records / x.seconds),
      'p50 ms': Math.round(x.p50Ms * 100) / 100,
      'p99 ms': Math.round(x.p99Ms * 100) / 100,
      forwarded: `${Math.round(forwardedShare * 100)}%`,
      errors: x.errors,
    });
    return [
      row(`direct to leader (${settings.batchBytes / 1024} KiB batches, acks=1, ${settings.concurrency} in flight)`, d, 0),
      row('spread over 3 brokers (load-balancer pattern)', s, forwarded),
      {
        name: 'ratio spread / direct',
        'MB/s': Math.round((s.bytes / s.seconds / (d.bytes / d.seconds)) * 100) / 100,
        'records/s': '',
        'p50 ms': Math.round((s.p50Ms - d.p50Ms) * 100) / 100,
        'p99 ms': Math.round((s.p99Ms - d.p99Ms) * 100) / 100,
        forwarded: 'added by forwarding ->',
        errors: '',
      },
    ];
  } finally {
    await cluster.stop();
  }
}
