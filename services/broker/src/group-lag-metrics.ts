/**
 * Consumer-group lag in /metrics, per group and partition: records behind (high watermark −
 * committed offset) and seconds behind (the age of the batch holding the first record not yet
 * consumed). Read from the coordinator at scrape time, for at most `groupsMax` groups (by name),
 * so a scrape's cost and series stay bounded. A partition with nothing committed has no lag
 * series (its lag is unknown, not 0). In a cluster every broker reports the same values: alert
 * on max by (group, topic, partition).
 */
import { BROKER_ORIGIN } from './auth/authorizer.js';
import { Gauge, type Registry } from 'prom-client';
import type { GroupsCore } from './core/groups.js';
import type { TopicRegistry } from './topics/topic-registry.js';

/** RecordBatch v2: baseTimestamp is the int64 at byte 27 (after baseOffset, length, epoch, magic, crc, attributes, lastOffsetDelta). */
const BASE_TIMESTAMP_AT = 27;
/** Bytes read to find a batch header; the log returns at least one whole batch whatever the bound. */
const HEADER_READ_BYTES = 64;
/** Deadline of one scrape's coordinator reads, in milliseconds. */
const LAG_SCRAPE_TIMEOUT_MS = 5_000;

export interface GroupLagPartition {
  topic: string;
  partition: number;
  offset: number | null;
  lag: number | null;
}

export interface GroupLagSource {
  groupNames(signal: AbortSignal): Promise<string[]>;
  partitions(group: string, signal: AbortSignal): Promise<GroupLagPartition[]>;
  /** The base timestamp (ms) of the local batch holding `offset`, or null when it is not on this broker's disk. */
  batchTimestampMs(topic: string, partition: number, offset: number): Promise<number | null>;
}

export function batchBaseTimestampMs(batches: Buffer): number | null {
  if (batches.length < BASE_TIMESTAMP_AT + 8) return null;
  return Number(batches.readBigInt64BE(BASE_TIMESTAMP_AT));
}

export { HEADER_READ_BYTES };

export function registerGroupLagMetrics(registry: Registry, source: GroupLagSource, groupsMax: number, now: () => number): void {
  // One pass of reads fills both gauges, so the two always agree. prom-client starts every
  // metric's collect at once, in registration order: the first starts the pass, the second
  // waits for it.
  const seconds: { gauge?: Gauge<'group' | 'topic' | 'partition'> } = {};
  let pass: Promise<void> = Promise.resolve();
  const readLag = async (lagRecords: Gauge<'group' | 'topic' | 'partition'>): Promise<void> => {
    const age = seconds.gauge!;
    lagRecords.reset();
    age.reset();
    if (groupsMax === 0) return;
    const signal = AbortSignal.timeout(LAG_SCRAPE_TIMEOUT_MS);
    // The coordinator unreachable must not fail the whole scrape: the lag series are then absent
    // (no data, not a lag of 0), and every other metric is still reported.
    const all = await source.groupNames(signal).catch(() => [] as string[]);
    const names = all.sort().slice(0, groupsMax);
    for (const group of names) {
      const partitions = await source.partitions(group, signal).catch(() => []); // deleted meanwhile
      for (const p of partitions) {
        if (p.lag === null || p.offset === null) continue;
        const labels = { group, topic: p.topic, partition: String(p.partition) };
        lagRecords.set(labels, p.lag);
        if (p.lag === 0) {
          age.set(labels, 0);
          continue;
        }
        const timestampMs = await source.batchTimestampMs(p.topic, p.partition, p.offset).catch(() => null);
        if (timestampMs !== null) age.set(labels, Math.max(0, (now() - timestampMs) / 1000));
      }
    }
  };
  new Gauge({
    name: 'strata_consumer_group_lag_records',
    help: 'Records between a group\'s committed offset and the high watermark, per partition (none while nothing is committed).',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      pass = readLag(this);
      await pass;
    },
  });
  seconds.gauge = new Gauge({
    name: 'strata_consumer_group_lag_seconds',
    help: 'Age of the first record a group has not consumed (its batch\'s timestamp), per partition; 0 when caught up; absent when that record is not on this broker\'s disk.',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      await pass.catch(() => undefined); // the records gauge reports a failed pass
    },
  });
}

/** The lag's sources on a broker: the groups through its core, a batch's time from this broker's disk. */
export function groupLagSource(groups: GroupsCore, registry: TopicRegistry): GroupLagSource {
  return {
    groupNames: async (signal) => (await groups.list(BROKER_ORIGIN, signal)).map((g) => g.group),
    partitions: async (group, signal) => (await groups.describe(group, BROKER_ORIGIN, signal)).partitions,
    batchTimestampMs: async (topic, partition, offset) => {
      if (!registry.has(topic)) return null;
      const handle = registry.partition(topic, partition);
      if (offset < handle.log.logStartOffset) return null;
      const read = await handle.log.read(offset, { maxBytes: HEADER_READ_BYTES });
      try {
        return batchBaseTimestampMs(read.data);
      } finally {
        read.release?.();
      }
    },
  };
}
