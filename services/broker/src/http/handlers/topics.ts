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
    listTopics: ({ origin }) => ({ status: 200, json: { topics: topics.list(origin) } satisfies ReplyBody<'listTopics'> }),
    createTopic: async ({ req, origin }) => {
      const view = await topics.create(await readRequestJson(req, 'createTopic', ctx.config.maxRequestBytes), origin);
      return { status: 201, json: view satisfies ReplyBody<'createTopic'>, headers: { Location: `/v1/topics/${encodeURIComponent(view.name)}` } };
    },
    describeTopic: ({ params, origin }) => ({ status: 200, json: topics.describe(params.topic!, origin) satisfies ReplyBody<'describeTopic'> }),
    deleteTopic: async ({ params, origin }) => {
      await topics.delete(params.topic!, origin);
      return { status: 200, json: { name: params.topic!, deleted: true } satisfies ReplyBody<'deleteTopic'> };
    },
    updateTopicConfigs: async ({ req, params, origin }) => {
      topics.checkTopic(origin, 'alter-configs', params.topic!); // 403, then 404, before reading the body
      ctx.registry.get(params.topic!);
      const body = await readRequestJson(req, 'updateTopicConfigs', ctx.config.maxRequestBytes);
      return { status: 200, json: (await topics.updateConfigs(params.topic!, body.configs, false, origin)) satisfies ReplyBody<'updateTopicConfigs'> };
    },
    addTopicPartitions: async ({ req, params, origin }) => {
      topics.checkTopic(origin, 'alter', params.topic!); // 403, then 404, before reading the body
      ctx.registry.get(params.topic!);
      const body = await readRequestJson(req, 'addTopicPartitions', ctx.config.maxRequestBytes);
      return { status: 200, json: (await topics.addPartitions(params.topic!, body.count, body.validateOnly ?? false, origin)) satisfies ReplyBody<'addTopicPartitions'> };
    },
  };
}
