// /v1/topics: create, list, describe, delete, configs, add partitions: parse (bodies by @strata/api's schemas),
// call the topics core (core/topics.ts), reply.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../../context.js';
import { TopicsCore } from '../../core/topics.js';
import { readRequestJson } from '../body.js';
import type { Handler } from '../router.js';

export { describeTopic } from '../../core/topics.js';

export function topicHandlers(ctx: BrokerContext): Record<'listTopics' | 'createTopic' | 'describeTopic' | 'deleteTopic' | 'updateTopicConfigs' | 'addTopicPartitions', Handler> {
  const topics = new TopicsCore(ctx);
  return {
    listTopics: () => ({ status: 200, json: { topics: topics.list() } satisfies ReplyBody<'listTopics'> }),
    createTopic: async ({ req }) => {
      const view = await topics.create(await readRequestJson(req, 'createTopic', ctx.config.maxRequestBytes));
      return { status: 201, json: view satisfies ReplyBody<'createTopic'>, headers: { Location: `/v1/topics/${encodeURIComponent(view.name)}` } };
    },
    describeTopic: ({ params }) => ({ status: 200, json: topics.describe(params.topic!) satisfies ReplyBody<'describeTopic'> }),
    deleteTopic: async ({ params }) => {
      await topics.delete(params.topic!);
      return { status: 200, json: { name: params.topic!, deleted: true } satisfies ReplyBody<'deleteTopic'> };
    },
    updateTopicConfigs: async ({ req, params }) => {
      ctx.registry.get(params.topic!); // 404 before reading the body
      const body = await readRequestJson(req, 'updateTopicConfigs', ctx.config.maxRequestBytes);
      return { status: 200, json: (await topics.updateConfigs(params.topic!, body.configs)) satisfies ReplyBody<'updateTopicConfigs'> };
    },
    addTopicPartitions: async ({ req, params }) => {
      ctx.registry.get(params.topic!); // 404 before reading the body
      const body = await readRequestJson(req, 'addTopicPartitions', ctx.config.maxRequestBytes);
      return { status: 200, json: (await topics.addPartitions(params.topic!, body.count, body.validateOnly ?? false)) satisfies ReplyBody<'addTopicPartitions'> };
    },
  };
}
