// /v1/topics: create, list, describe, delete, configs.

import type { BrokerContext } from '../../context.js';
import { highWatermark } from '../../fetch.js';
import type { Topic } from '../../topics/topic-registry.js';
import { readJson } from '../body.js';
import type { Handler } from '../router.js';

export function describeTopic(topic: Topic, brokerId: string): Record<string, unknown> {
  return {
    name: topic.name,
    topicId: topic.meta.topicId,
    replicationFactor: topic.meta.replicationFactor,
    configs: { ...topic.configs },
    configOverrides: { ...topic.meta.configs },
    partitions: topic.partitions.map((h) => {
      const stats = h.log.stats();
      const lag = h.tier.uploadLag();
      return {
        partition: h.partition,
        leader: brokerId,
        replicas: [brokerId],
        isr: [brokerId],
        logStartOffset: h.tier.logStartOffset(),
        logEndOffset: stats.logEndOffset,
        highWatermark: highWatermark(h),
        localLogStartOffset: stats.logStartOffset,
        localBytes: stats.sizeBytes,
        remoteBytes: h.tier.remoteBytes(),
        remoteLogStartOffset: h.tier.manifest.segments[0]?.baseOffset ?? null,
        remoteLogEndOffset: h.tier.remoteEndOffset,
        remoteSegments: h.tier.manifest.segments.length,
        uploadLagSegments: lag.segments,
        uploadLagBytes: lag.bytes,
        lastUploadError: h.tier.lastError,
      };
    }),
  };
}

export function topicHandlers(ctx: BrokerContext): Record<'listTopics' | 'createTopic' | 'describeTopic' | 'deleteTopic' | 'updateTopicConfigs', Handler> {
  const brokerId = ctx.config.brokerId;
  return {
    listTopics: () => ({
      status: 200,
      json: { topics: ctx.registry.list().map((t) => ({ name: t.name, partitions: t.partitionCount, replicationFactor: t.meta.replicationFactor })) },
    }),
    createTopic: async ({ req }) => {
      const body = await readJson(req, ctx.config.maxRequestBytes);
      const topic = await ctx.registry.create(body);
      return { status: 201, json: describeTopic(topic, brokerId), headers: { Location: `/v1/topics/${encodeURIComponent(topic.name)}` } };
    },
    describeTopic: ({ params }) => ({ status: 200, json: describeTopic(ctx.registry.get(params.topic!), brokerId) }),
    deleteTopic: async ({ params }) => {
      await ctx.registry.delete(params.topic!);
      return { status: 200, json: { name: params.topic!, deleted: true } };
    },
    updateTopicConfigs: async ({ req, params }) => {
      ctx.registry.get(params.topic!); // 404 before reading the body
      const body = await readJson(req, ctx.config.maxRequestBytes);
      const topic = await ctx.registry.updateConfigs(params.topic!, body);
      return { status: 200, json: describeTopic(topic, brokerId) };
    },
  };
}
