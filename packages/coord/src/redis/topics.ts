// The Redis engine's topics: an index of names and a hash per topic; a deleted topic's partition
// states stay as tombstones that keep the leader epoch.

import type { CallOptions, TopicConfigChange, TopicMetadata } from '../coordinator.js';
import { LIMITS, collisionKey } from '../validate.js';
import { configField, configFields, decodeTopic, int, pairs, topicFields } from './codec.js';
import { PIPELINE_CHUNK, type RedisConnection } from './connection.js';

export async function createTopic(c: RedisConnection, topic: TopicMetadata, options?: CallOptions): Promise<void> {
  c.args.createTopic(topic);
  return c.call(`createTopic ${topic.name}`, { topic: topic.name }, options, async () => {
    await c.eval('create-topic', [c.keys.topics(), c.keys.topic(topic.name)], [topic.name, collisionKey(topic.name), ...topicFields(topic)]);
  });
}

export async function getTopic(c: RedisConnection, name: string, options?: CallOptions): Promise<TopicMetadata | null> {
  c.args.getTopic(name);
  return c.call(`getTopic ${name}`, { topic: name }, options, async () => {
    const h = await c.redis.hgetall(c.keys.topic(name));
    return Object.keys(h).length === 0 ? null : decodeTopic(h);
  });
}

export async function listTopics(c: RedisConnection, options?: CallOptions): Promise<TopicMetadata[]> {
  return c.call('listTopics', {}, options, async () => {
    const names = (await c.redis.hvals(c.keys.topics())).sort();
    const out: TopicMetadata[] = [];
    for (let at = 0; at < names.length; at += PIPELINE_CHUNK) {
      const chunk = names.slice(at, at + PIPELINE_CHUNK);
      const hashes = await c.pipelineExec((p) => chunk.forEach((n) => p.hgetall(c.keys.topic(n))));
      for (const h of hashes as Record<string, string>[]) if (Object.keys(h).length > 0) out.push(decodeTopic(h));
    }
    return out;
  });
}

export async function updateTopicConfigs(c: RedisConnection, name: string, change: TopicConfigChange, options?: CallOptions): Promise<TopicMetadata> {
  c.args.updateTopicConfigs(name, change);
  const remove = (change.remove ?? []).map(configField);
  const set = configFields(change.set ?? {});
  return c.call(`updateTopicConfigs ${name}`, { topic: name }, options, async () => {
    const reply = (await c.eval('update-topic-configs', [c.keys.topic(name)], [LIMITS.configsMax, remove.length, ...remove, ...set])) as unknown[];
    return decodeTopic(pairs(reply));
  });
}

export async function growTopicPartitions(c: RedisConnection, name: string, topicId: string, partitions: number, options?: CallOptions): Promise<TopicMetadata> {
  c.args.growTopicPartitions(name, topicId, partitions);
  return c.call(`growTopicPartitions ${name}`, { topic: name }, options, async () => {
    const reply = (await c.eval('grow-topic-partitions', [c.keys.topic(name)], [name, topicId, partitions])) as unknown[];
    return decodeTopic(pairs(reply));
  });
}

export async function deleteTopic(c: RedisConnection, name: string, options?: CallOptions): Promise<boolean> {
  c.args.deleteTopic(name);
  return c.call(`deleteTopic ${name}`, { topic: name }, options, async () => {
    const partitions = int(await c.eval('delete-topic', [c.keys.topics(), c.keys.topic(name)], [name, collisionKey(name)]), 'partitions');
    // Each partition is its own slot: plain commands (each atomic by itself) per partition. A crash
    // halfway leaves states that set-replicas and acquire-leadership refuse by topic id. The state
    // stays as a tombstone holding only the leader epoch: a topic recreated under the same name
    // continues the count, so a late write of the deleted topic's leader is fenced, never accepted.
    for (let at = 0; at < partitions; at += PIPELINE_CHUNK) {
      const end = Math.min(partitions, at + PIPELINE_CHUNK);
      await c.pipelineExec((p) => {
        for (let i = at; i < end; i++) {
          p.del(c.keys.partitionLease(name, i), c.keys.partitionSegments(name, i));
          p.hdel(c.keys.partitionState(name, i), 'replicas', 'leader', 'isr', 'hw', 'lso', 'hist', 'mepoch');
          p.hset(c.keys.partitionState(name, i), 'tid', '');
        }
      });
    }
    return partitions > 0;
  });
}
