// /v1/topics: create, list, describe, delete, configs.

import type { ReplyBody, Topic as TopicView } from '@strata/api';
import type { ClusterNode } from '../../cluster/cluster-node.js';
import type { BrokerContext } from '../../context.js';
import type { Topic } from '../../topics/topic-registry.js';
import { readRequestJson } from '../body.js';
import type { Handler } from '../router.js';

export function describeTopic(topic: Topic, brokerId: string, cluster: ClusterNode | null = null): TopicView {
  return {
    name: topic.name,
    topicId: topic.meta.topicId,
    replicationFactor: topic.meta.replicationFactor,
    configs: { ...topic.configs },
    configOverrides: { ...topic.meta.configs },
    partitions: [...topic.partitions.map((h) => {
      const stats = h.log.stats();
      const lag = h.tier.uploadLag();
      const view = cluster?.partitionView(h) ?? { leader: brokerId, leaderEpoch: 0, replicas: [brokerId], isr: [brokerId], highWatermark: h.log.logEndOffset };
      // A partition led elsewhere: the leader's figures as last published; this broker's disk holds none of its tail.
      const here = view.leader === brokerId;
      return {
        partition: h.partition,
        leader: view.leader,
        leaderUrl: cluster === null || view.leader === null ? null : (cluster.brokers().find((b) => b.id === view.leader)?.url ?? null),
        leaderEpoch: view.leaderEpoch,
        replicas: view.replicas,
        isr: view.isr,
        logStartOffset: here ? h.tier.logStartOffset() : (h.tier.manifest.segments[0]?.baseOffset ?? h.tier.manifest.logStartOffset),
        logEndOffset: here ? stats.logEndOffset : view.highWatermark,
        highWatermark: view.highWatermark,
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
    }), ...[...topic.offline.values()].map((o) => ({ partition: o.partition, offline: true as const, error: o.reason }))].sort((a, b) => a.partition - b.partition),
  };
}

export function topicHandlers(ctx: BrokerContext): Record<'listTopics' | 'createTopic' | 'describeTopic' | 'deleteTopic' | 'updateTopicConfigs', Handler> {
  const brokerId = ctx.config.brokerId;
  const describe = (topic: Topic) => describeTopic(topic, brokerId, ctx.cluster?.node ?? null);
  return {
    listTopics: () => ({
      status: 200,
      json: {
        topics: ctx.registry.list().map((t) => ({ name: t.name, partitions: t.partitionCount, replicationFactor: t.meta.replicationFactor })),
      } satisfies ReplyBody<'listTopics'>,
    }),
    createTopic: async ({ req }) => {
      const body = await readRequestJson(req, 'createTopic', ctx.config.maxRequestBytes);
      const topic = await ctx.registry.create(body);
      // In a cluster, answer once every partition has a leader (or after a bound), so a produce right after works.
      await ctx.cluster?.node.awaitLeaders(topic, 10_000);
      return { status: 201, json: describe(topic), headers: { Location: `/v1/topics/${encodeURIComponent(topic.name)}` } };
    },
    describeTopic: ({ params }) => ({ status: 200, json: describe(ctx.registry.get(params.topic!)) }),
    deleteTopic: async ({ params }) => {
      await ctx.registry.delete(params.topic!);
      return { status: 200, json: { name: params.topic!, deleted: true } satisfies ReplyBody<'deleteTopic'> };
    },
    updateTopicConfigs: async ({ req, params }) => {
      ctx.registry.get(params.topic!); // 404 before reading the body
      const body = await readRequestJson(req, 'updateTopicConfigs', ctx.config.maxRequestBytes);
      const topic = await ctx.registry.updateConfigs(params.topic!, body);
      return { status: 200, json: describe(topic) };
    },
  };
}
