// Metadata (key 3), v0-12: brokers, the cluster id, the controller and, for each topic asked (all
// when none is named), its id and its partitions' leaders, replicas and ISR as kafka/cluster-view.ts
// shapes them for the metadata mode. A topic this broker does not know is looked up in the
// coordinator first (cluster); it is created when the request allows it and
// STRATA_KAFKA_AUTO_CREATE_TOPICS is on (the broker's default partitions and replication).

import { ApiKey, AUTHORIZED_OPERATIONS_OMITTED, KafkaError, ZERO_UUID } from '@strata/kafka-protocol';
import { isStrataError } from '@strata/protocol';
import { toStrataError } from '../../core/errors.js';
import type { Topic } from '../../topics/topic-registry.js';
import { kafkaTopicId, topicByKafkaId } from '../cluster-view.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'Metadata';

export function metadataHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, view } = deps;
  return async (request) => {
    const version = request.header.apiVersion;
    const body = decodeBody(ApiKey.Metadata, request);
    // v0: an empty list means every topic; v1+: null does.
    const all = body.topics === null || (version === 0 && body.topics.length === 0);
    const asked = all ? [] : body.topics!;
    if (asked.some((t) => t.name !== null && !ctx.registry.has(t.name))) {
      await ctx.cluster.node.syncTopics().catch(() => undefined);
    }
    const autoCreate = ctx.config.kafka.autoCreateTopics && (version < 4 || body.allowAutoTopicCreation);
    const brokers = view.brokers();
    const reachable = new Set(brokers.map((b) => b.nodeId));

    const describe = (topic: Topic) => ({
      errorCode: KafkaError.NONE,
      name: topic.name,
      topicId: kafkaTopicId(topic),
      isInternal: false,
      partitions: Array.from({ length: topic.partitionCount }, (_, p) => {
        const handle = topic.handle(p);
        if (handle === undefined) {
          // Offline here (its log could not be opened): Kafka's answer for a partition without a usable replica.
          return { errorCode: countError(deps, API, KafkaError.LEADER_NOT_AVAILABLE), partitionIndex: p, leaderId: -1, leaderEpoch: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [] };
        }
        const v = view.partition(handle, reachable);
        return {
          errorCode: v.leaderId < 0 ? countError(deps, API, KafkaError.LEADER_NOT_AVAILABLE) : KafkaError.NONE,
          partitionIndex: p,
          leaderId: v.leaderId,
          leaderEpoch: v.leaderEpoch,
          replicaNodes: v.replicas,
          isrNodes: v.isr,
          offlineReplicas: [],
        };
      }),
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
    const failed = (name: string | null, topicId: string, code: number) => ({
      errorCode: countError(deps, API, code),
      name,
      topicId,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });

    const origin = originOf(request);
    /** TOPIC_AUTHORIZATION_FAILED, audited once. */
    const deniedCode = (name: string): number => errorCode(deps, API, deps.ctx.authorizer.denied(origin, 'describe', { type: 'topic', name }));
    const topics = [];
    if (all) {
      // Every topic the principal may describe, as Kafka lists them.
      for (const topic of ctx.registry.list()) if (deps.topics.mayTopic(origin, 'describe', topic.name)) topics.push(describe(topic));
    } else {
      for (const wanted of asked) {
        if (wanted.name === null) {
          // v12+: asked by id.
          const byId = topicByKafkaId(ctx, wanted.topicId);
          const allowed = byId !== undefined && deps.topics.mayTopic(origin, 'describe', byId.name);
          topics.push(allowed ? describe(byId) : failed(null, wanted.topicId, byId === undefined ? KafkaError.UNKNOWN_TOPIC_ID : deniedCode(wanted.name ?? byId.name)));
          continue;
        }
        if (!deps.topics.mayTopic(origin, 'describe', wanted.name) && !(autoCreate && !ctx.registry.has(wanted.name))) {
          topics.push(failed(wanted.name, ZERO_UUID, deniedCode(wanted.name)));
          continue;
        }
        if (ctx.registry.has(wanted.name)) {
          topics.push(describe(ctx.registry.get(wanted.name)));
          continue;
        }
        if (!autoCreate) {
          topics.push(failed(wanted.name, ZERO_UUID, KafkaError.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        try {
          await deps.topics.create({ name: wanted.name }, origin);
          topics.push(describe(ctx.registry.get(wanted.name)));
        } catch (e) {
          // Another client created it meanwhile: describe it as it is.
          if (isStrataError(e) && e.code === 'TOPIC_ALREADY_EXISTS' && ctx.registry.has(wanted.name)) {
            topics.push(describe(ctx.registry.get(wanted.name)));
            continue;
          }
          const { error, unexpected } = toStrataError(e);
          if (unexpected) ctx.logger.error('kafka metadata: auto-creating a topic failed', { topic: wanted.name, err: e });
          topics.push(failed(wanted.name, ZERO_UUID, errorCode(deps, API, error)));
        }
      }
    }
    return respond(ApiKey.Metadata, request, {
      throttleTimeMs: 0,
      brokers: brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: null })),
      clusterId: ctx.clusterId,
      controllerId: view.controllerId(),
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
  };
}
