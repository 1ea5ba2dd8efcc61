// OffsetDelete (key 47), v0: removes a group's committed offsets for some partitions (KIP-496).
// Refused per partition with GROUP_SUBSCRIBED_TO_TOPIC while a member of the group subscribes to
// the topic (a classic member's subscription read from its "consumer" protocol metadata, a
// KIP-848 member's from the coordinator); GROUP_ID_NOT_FOUND when there is no such group.

import { ApiKey, KafkaError, consumerSubscriptionTopics } from '@strata/kafka-protocol';
import { isStrataError } from '@strata/protocol';
import type { GroupDescription } from '@strata/coord';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'OffsetDelete';

export function offsetDeleteHandler(deps: HandlerDeps): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.OffsetDelete, request);
    const answer = (code: number, perPartition: (topic: string, partition: number) => number = () => KafkaError.NONE): ReturnType<KafkaHandler> =>
      Promise.resolve(
        respond(ApiKey.OffsetDelete, request, {
          errorCode: countError(deps, API, code),
          topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: countError(deps, API, perPartition(t.name, p.partitionIndex)) })) })),
        }),
      );
    const refusal = deps.classic.check(body.groupId);
    if (refusal !== null) return answer(KafkaError[refusal]);
    try {
      const description = await deps.groups.summary(body.groupId, originOf(request), request.signal);
      if (description === null) return answer(KafkaError.GROUP_ID_NOT_FOUND);
      const subscribed = subscribedTopics(description);
      const flat = body.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
      const exists = await deps.groups.existing(flat);
      const codes = new Map<string, number>();
      const deleting: Array<{ topic: string; partition: number }> = [];
      flat.forEach((p, i) => {
        const code = !exists[i] ? KafkaError.UNKNOWN_TOPIC_OR_PARTITION : subscribed.has(p.topic) ? KafkaError.GROUP_SUBSCRIBED_TO_TOPIC : KafkaError.NONE;
        codes.set(`${p.topic}/${p.partition}`, code);
        if (code === KafkaError.NONE) deleting.push(p);
      });
      if (deleting.length > 0) await deps.groups.deleteOffsets(body.groupId, deleting, originOf(request), request.signal);
      return answer(KafkaError.NONE, (topic, partition) => codes.get(`${topic}/${partition}`) ?? KafkaError.NONE);
    } catch (e) {
      if (!isStrataError(e)) throw e;
      return answer(errorCode(deps, API, e));
    }
  };
}

function subscribedTopics(d: GroupDescription): Set<string> {
  const topics = new Set<string>();
  for (const m of d.members) for (const t of m.subscribedTopics) topics.add(t);
  if (d.classic?.protocolType === 'consumer') {
    for (const m of d.classic.members) for (const t of consumerSubscriptionTopics(Buffer.from(m.metadata, 'base64')) ?? []) topics.add(t);
  }
  return topics;
}
