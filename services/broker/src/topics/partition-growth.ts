// Growing a topic (Kafka's CreatePartitions): the count check, and opening the new partitions all or
// nothing. The registry calls these under its admin lock, for a local request and for a growth
// another broker made (docs/architecture.md#kafka).

import { StrataError, isPermanentFsError, isStrataError } from '@strata/protocol';
import type { Logger } from '../logger.js';
import type { Tiering } from '../tiering/tiering.js';
import { errnoSummary, settleLimited } from './registry-helpers.js';
import type { PartitionHandle } from './topic.js';
import { describe, type TopicConfigs } from './topic-config.js';

/**
 * The new partition count, or why not: above the current one (a topic never shrinks, as in Kafka),
 * and within the room left under STRATA_MAX_PARTITIONS.
 */
export function checkGrowth(topic: string, current: number, count: unknown, room: number, maxPartitions: number): number {
  if (!Number.isSafeInteger(count) || (count as number) <= current) {
    throw new StrataError('INVALID_PARTITIONS', `topic "${topic}" has ${current} partitions: the new count must be an integer above it (a topic never shrinks), got ${describe(count)}`, {
      details: { topic, partitions: current, requested: count },
    });
  }
  const wanted = count as number;
  if (wanted - current > room) {
    throw new StrataError('INVALID_PARTITIONS', `${wanted - current} new partitions exceed the room left on this broker (${room} of ${maxPartitions}, STRATA_MAX_PARTITIONS)`, {
      details: { topic, partitions: current, requested: wanted, room },
    });
  }
  return wanted;
}

export interface GrowthContext {
  open(topic: string, partition: number, configs: TopicConfigs): Promise<PartitionHandle>;
  tiering: Tiering;
  openCloseConcurrency: number;
  logger: Logger;
}

/** Opens partitions [from, to) empty, then runs `commit`; on any failure closes and removes them all, and throws. */
export async function openNewPartitions(ctx: GrowthContext, topic: string, from: number, to: number, configs: TopicConfigs, commit: () => Promise<void>): Promise<PartitionHandle[]> {
  const handles: PartitionHandle[] = [];
  try {
    for (let p = from; p < to; p++) handles.push(await ctx.open(topic, p, configs));
    await commit();
    return handles;
  } catch (e) {
    for (const h of handles) ctx.tiering.removePartition(h.tier);
    await settleLimited(handles, ctx.openCloseConcurrency, (h) => h.log.destroy());
    ctx.logger.error('adding partitions failed; rolled back', { topic, from, to, err: e });
    if (isStrataError(e)) throw e;
    throw new StrataError('STORAGE_ERROR', `cannot add partitions to topic "${topic}": ${errnoSummary(e)}`, { cause: e, retriable: !isPermanentFsError(e) });
  }
}
