// The in-process engine's topics: one list in cluster.json; a deleted topic's partitions stay as
// tombstones that keep the leader epoch.

import type { CallOptions, TopicConfigChange, TopicConfigValue, TopicMetadata } from '../coordinator.js';
import { coordError } from '../errors.js';
import { dictFrom } from '../dict.js';
import { compareNames } from '../results.js';
import { LIMITS, collisionKey } from '../validate.js';
import { partitionTombstone, sortedConfigs } from './documents.js';
import type { MemoryState } from './state.js';

export async function createTopic(s: MemoryState, topic: TopicMetadata, options?: CallOptions): Promise<void> {
  s.args.createTopic(topic);
  return s.serialize('createTopic', options, () =>
    s.changeCluster((draft) => {
      const key = collisionKey(topic.name);
      const clash = draft.topics.find((t) => collisionKey(t.name) === key);
      if (clash?.name === topic.name) return { error: coordError('TOPIC_EXISTS', { topic: topic.name }) };
      if (clash !== undefined) return { error: coordError('TOPIC_COLLISION', { topic: topic.name, existing: clash.name }) };
      draft.topics.push({
        name: topic.name,
        topicId: topic.topicId,
        partitions: topic.partitions,
        replicationFactor: topic.replicationFactor,
        configs: sortedConfigs(topic.configs),
        createdAtMs: topic.createdAtMs,
      });
      draft.topics.sort((a, b) => compareNames(a.name, b.name));
      return { next: draft, value: undefined };
    }),
  );
}

export async function getTopic(s: MemoryState, name: string, options?: CallOptions): Promise<TopicMetadata | null> {
  s.args.getTopic(name);
  return s.read('getTopic', options, () => s.cluster.topics.find((t) => t.name === name) ?? null);
}

export async function listTopics(s: MemoryState, options?: CallOptions): Promise<TopicMetadata[]> {
  return s.read('listTopics', options, () => s.cluster.topics);
}

export async function updateTopicConfigs(s: MemoryState, name: string, change: TopicConfigChange, options?: CallOptions): Promise<TopicMetadata> {
  s.args.updateTopicConfigs(name, change);
  return s.serialize('updateTopicConfigs', options, () =>
    s.changeCluster((draft) => {
      const topic = draft.topics.find((t) => t.name === name);
      if (topic === undefined) return { error: coordError('UNKNOWN_TOPIC', { topic: name }) };
      const configs = dictFrom<TopicConfigValue>(topic.configs);
      for (const key of change.remove ?? []) delete configs[key];
      Object.assign(configs, change.set ?? {});
      const count = Object.keys(configs).length;
      if (count > LIMITS.configsMax) return { error: coordError('TOO_MANY_CONFIGS', { topic: name, count, max: LIMITS.configsMax }) };
      topic.configs = sortedConfigs(configs);
      return { next: draft, value: structuredClone(topic) };
    }),
  );
}

export async function growTopicPartitions(s: MemoryState, name: string, topicId: string, partitions: number, options?: CallOptions): Promise<TopicMetadata> {
  s.args.growTopicPartitions(name, topicId, partitions);
  return s.serialize('growTopicPartitions', options, () =>
    s.changeCluster((draft) => {
      const topic = draft.topics.find((t) => t.name === name);
      if (topic === undefined || topic.topicId !== topicId) return { error: coordError('UNKNOWN_TOPIC', { topic: name }) };
      if (partitions < topic.partitions) return { error: coordError('PARTITIONS_SHRINK', { topic: name, current: topic.partitions, partitions }) };
      topic.partitions = partitions;
      return { next: draft, value: structuredClone(topic) };
    }),
  );
}

export async function deleteTopic(s: MemoryState, name: string, options?: CallOptions): Promise<boolean> {
  s.args.deleteTopic(name);
  return s.serialize('deleteTopic', options, async () => {
    const topic = s.cluster.topics.find((t) => t.name === name);
    if (topic === undefined) return false;
    await s.changeCluster((draft) => ({ next: { ...draft, topics: draft.topics.filter((t) => t.name !== name) }, value: undefined }));
    for (const doc of [...s.partitions.values()]) {
      if (doc.topic === name) await s.changePartition(name, doc.partition, () => ({ next: partitionTombstone(doc), value: undefined }));
    }
    return true;
  });
}
