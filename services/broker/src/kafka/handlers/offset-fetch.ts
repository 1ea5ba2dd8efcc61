// OffsetFetch (key 9), v0-9: a group's committed offsets (GroupsCore, shared with HTTP); v2 null
// topics = every committed partition, and a group-level error; v8 several groups at once, each
// with its own error. A partition with nothing committed answers offset -1. requireStable (v7):
// Strata has no transactions, so no offset is ever pending and every answer is stable.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { isStrataError } from '@strata/protocol';
import type { RequestOrigin } from '../../core/leader-client.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'OffsetFetch';
const GROUPS_VERSION = 8;
const GROUP_ERROR_VERSION = 2;

interface PartitionAnswer {
  partitionIndex: number;
  committedOffset: bigint;
  metadata: string;
  errorCode: number;
}

interface GroupAnswer {
  errorCode: number;
  topics: Array<{ name: string; partitions: PartitionAnswer[] }>;
}

export function offsetFetchHandler(deps: HandlerDeps): KafkaHandler {
  const fetchGroup = async (group: string, topics: ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null, origin: RequestOrigin, signal: AbortSignal): Promise<GroupAnswer> => {
    const refusal = deps.classic.check(group);
    if (refusal !== null) return { errorCode: countError(deps, API, KafkaError[refusal]), topics: [] };
    let committed;
    try {
      committed = await deps.groups.fetchOffsets(group, null, origin, signal);
    } catch (e) {
      if (!isStrataError(e)) throw e;
      return { errorCode: errorCode(deps, API, e), topics: [] };
    }
    const byTopic = new Map<string, Map<number, { offset: number; metadata: string }>>();
    for (const c of committed) {
      if (c.offset === null) continue;
      let m = byTopic.get(c.topic);
      if (m === undefined) byTopic.set(c.topic, (m = new Map()));
      m.set(c.partition, { offset: c.offset, metadata: c.metadata });
    }
    const wanted = topics ?? [...byTopic].map(([name, m]) => ({ name, partitionIndexes: [...m.keys()] }));
    // fetchOffsets left out the topics the principal may not describe; one it named is refused per partition, as Kafka's.
    const visible = topics === null ? null : deps.groups.topicsAllowed(origin, 'describe', topics.map((t) => t.name));
    for (const name of new Set(topics?.map((t) => t.name))) if (visible !== null && !visible.has(name)) deps.ctx.authorizer.denied(origin, 'describe', { type: 'topic', name });
    return {
      errorCode: KafkaError.NONE,
      topics: wanted.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          if (visible !== null && !visible.has(t.name)) return { partitionIndex: p, committedOffset: -1n, metadata: '', errorCode: countError(deps, API, KafkaError.TOPIC_AUTHORIZATION_FAILED) };
          const c = byTopic.get(t.name)?.get(p);
          return { partitionIndex: p, committedOffset: BigInt(c?.offset ?? -1), metadata: c?.metadata ?? '', errorCode: KafkaError.NONE };
        }),
      })),
    };
  };
  return async (request) => {
    const version = request.header.apiVersion;
    const body = decodeBody(ApiKey.OffsetFetch, request);
    if (version >= GROUPS_VERSION) {
      const groups = [];
      for (const g of body.groups) groups.push({ groupId: g.groupId, ...(await fetchGroup(g.groupId, g.topics, originOf(request), request.signal)) });
      return respond(ApiKey.OffsetFetch, request, { groups });
    }
    // v0-1 have no null topics (an empty list then means none) and no group-level error: it goes on every partition.
    const answer = await fetchGroup(body.groupId, version >= GROUP_ERROR_VERSION ? body.topics : (body.topics ?? []), originOf(request), request.signal);
    if (version < GROUP_ERROR_VERSION && answer.errorCode !== KafkaError.NONE) {
      const topics = (body.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, metadata: '', errorCode: answer.errorCode })),
      }));
      return respond(ApiKey.OffsetFetch, request, { topics });
    }
    return respond(ApiKey.OffsetFetch, request, { topics: answer.topics, errorCode: answer.errorCode });
  };
}
