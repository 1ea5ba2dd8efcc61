// A broker's start: every topic's partition logs opened (recovered) with bounded parallelism. A
// partition that cannot be opened does not stop the broker: it is logged and kept as offline.

import { isStrataError } from '@strata/protocol';
import type { Logger } from '../logger.js';
import { publicMessage } from '../redact.js';
import type { TopicMetadata } from './metadata-store.js';
import { errnoSummary, runLimited } from './registry-helpers.js';
import { Topic, type OfflinePartition, type PartitionHandle } from './topic.js';
import { effectiveConfigs, type TopicConfigs } from './topic-config.js';

export async function recoverTopics(
  metas: readonly TopicMetadata[],
  defaults: TopicConfigs,
  open: (topic: string, partition: number, configs: TopicConfigs) => Promise<PartitionHandle>,
  concurrency: number,
  logger: Logger,
): Promise<Topic[]> {
  const jobs: Array<() => Promise<void>> = [];
  const opened = new Map<string, PartitionHandle[]>();
  const offline = new Map<string, Map<number, OfflinePartition>>();
  for (const meta of metas) {
    const handles: PartitionHandle[] = new Array(meta.partitions);
    opened.set(meta.name, handles);
    const configs = effectiveConfigs(defaults, meta.configs);
    for (let p = 0; p < meta.partitions; p++) {
      jobs.push(async () => {
        try {
          handles[p] = await open(meta.name, p, configs);
        } catch (e) {
          const reason = publicMessage(isStrataError(e) ? e.message : errnoSummary(e));
          logger.error('partition log could not be opened; the broker starts without it', { topic: meta.name, partition: p, err: e });
          let topicOffline = offline.get(meta.name);
          if (topicOffline === undefined) offline.set(meta.name, (topicOffline = new Map()));
          topicOffline.set(p, { topic: meta.name, partition: p, reason });
        }
      });
    }
  }
  await runLimited(jobs, concurrency);
  return metas.map((meta) => new Topic(meta, effectiveConfigs(defaults, meta.configs), opened.get(meta.name)!, offline.get(meta.name)));
}
