/**
 * The plan of `strata groups reset-offsets` without `--execute`: per partition, the committed
 * offset now and the offset the reset would set, computed with the same rules as the broker
 * (earliest: log start across tiers; latest: the high watermark; an offset clamped into the log;
 * a timestamp: the first record at or after it, else the high watermark). Nothing is written.
 */
import { isStrataError, type ResetTarget } from '@strata/client';
import type { BrokerClient } from '../broker-client.js';
import { once } from '../broker-client.js';

export interface PlannedReset {
  topic: string;
  partition: number;
  /** null: the group has committed nothing there. */
  current: number | null;
  target: number;
}

export interface ResetPlan {
  rows: PlannedReset[];
  /** Members now in the group: a reset with members is refused (NON_EMPTY_GROUP). */
  members: number;
}

export async function planReset(
  client: BrokerClient,
  group: string,
  topic: string,
  target: ResetTarget,
  partitions: readonly number[] | undefined,
): Promise<ResetPlan> {
  const wanted = partitions ?? (await client.describeTopic(topic, once())).partitions.map((p) => p.partition);
  const [committed, members] = await Promise.all([committedOffsets(client, group, topic), memberCount(client, group)]);
  const targets = await targetOffsets(client, topic, target, wanted);
  const rows = wanted.map((partition): PlannedReset => ({
    topic,
    partition,
    current: committed.get(partition) ?? null,
    target: targets.get(partition) ?? 0,
  }));
  return { rows, members };
}

async function committedOffsets(client: BrokerClient, group: string, topic: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  try {
    for (const o of await client.groupOffsets(group, topic, once())) {
      if (o.offset !== null) out.set(o.partition, o.offset);
    }
  } catch (error) {
    // A group that does not exist yet has committed nothing; a reset creates its offsets.
    if (!(isStrataError(error) && error.code === 'NOT_FOUND')) throw error;
  }
  return out;
}

async function memberCount(client: BrokerClient, group: string): Promise<number> {
  try {
    return (await client.describeGroup(group, once())).members.length;
  } catch (error) {
    if (isStrataError(error) && error.code === 'NOT_FOUND') return 0;
    throw error;
  }
}

async function targetOffsets(client: BrokerClient, topic: string, target: ResetTarget, partitions: readonly number[]): Promise<Map<number, number>> {
  const lookup = async (spec: 'earliest' | 'latest' | { timestamp: number }): Promise<Map<number, number>> =>
    new Map((await client.listOffsets(topic, spec, partitions, once())).map((p) => [p.partition, p.offset]));
  if (target === 'earliest' || target === 'latest') return lookup(target);
  const latest = await lookup('latest');
  if ('offset' in target) {
    const earliest = await lookup('earliest');
    return new Map(partitions.map((p) => [p, Math.min(Math.max(target.offset, earliest.get(p) ?? 0), latest.get(p) ?? 0)]));
  }
  const found = await lookup(target);
  return new Map(partitions.map((p) => {
    const offset = found.get(p);
    return [p, offset === undefined || offset < 0 ? (latest.get(p) ?? 0) : offset];
  }));
}
