// OffsetCommit (key 8), v0-9: a group's committed offsets, stored where the HTTP API's are
// (GroupsCore): one truth for HTTP, the CLI and Kafka tools. A classic member is fenced by its
// generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS), a KIP-848 member by its
// epoch (v9, generationIdOrMemberEpoch), a standalone commit (generation -1, no member) only while
// the group has no members. Per partition: an unknown one gets UNKNOWN_TOPIC_OR_PARTITION, an offset
// outside [0, 2^53) INVALID_COMMIT_OFFSET_SIZE, metadata past STRATA_OFFSET_METADATA_MAX_BYTES
// OFFSET_METADATA_TOO_LARGE; the rest are committed together. v1's commit timestamp and v2-4's
// retention time are not honoured: STRATA_OFFSETS_RETENTION_MS applies to every offset, as it does
// in Kafka from v5 on.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { isStrataError } from '@strata/protocol';
import type { OffsetCommit } from '@strata/coord';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'OffsetCommit';

export function offsetCommitHandler(deps: HandlerDeps): KafkaHandler {
  const metadataMaxBytes = deps.ctx.config.groups.limits.offsetMetadataMaxBytes;
  return async (request) => {
    const body = decodeBody(ApiKey.OffsetCommit, request);
    const flat = body.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, p })));
    const codes = new Array<number>(flat.length).fill(KafkaError.NONE);
    const origin = originOf(request);
    try {
      deps.groups.checkGroup(origin, 'read', body.groupId);
    } catch (e) {
      if (!isStrataError(e)) throw e;
      const code = errorCode(deps, API, e);
      return respond(ApiKey.OffsetCommit, request, { topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })) });
    }
    // A topic the principal may not read is refused per partition (audited once each); the others are committed.
    const readable = deps.groups.topicsAllowed(origin, 'read', flat.map((f) => f.topic));
    const deniedCode = new Map<string, number>();
    for (const f of flat) {
      if (readable.has(f.topic) || deniedCode.has(f.topic)) continue;
      deps.ctx.authorizer.denied(origin, 'read', { type: 'topic', name: f.topic });
      deniedCode.set(f.topic, KafkaError.TOPIC_AUTHORIZATION_FAILED); // counted with the answer's codes below
    }
    const exists = await deps.groups.existing(flat.map((f) => ({ topic: f.topic, partition: f.p.partitionIndex })));
    const offsets: OffsetCommit[] = [];
    const committing: number[] = [];
    flat.forEach((f, i) => {
      const offset = f.p.committedOffset;
      const metadata = f.p.committedMetadata ?? '';
      if (deniedCode.has(f.topic)) codes[i] = deniedCode.get(f.topic)!;
      else if (!exists[i]) codes[i] = KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
      else if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) codes[i] = KafkaError.INVALID_COMMIT_OFFSET_SIZE;
      else if (Buffer.byteLength(metadata) > metadataMaxBytes) codes[i] = KafkaError.OFFSET_METADATA_TOO_LARGE;
      else {
        offsets.push({ topic: f.topic, partition: f.p.partitionIndex, offset: Number(offset), metadata });
        committing.push(i);
      }
    });
    if (offsets.length > 0 || flat.length === 0) {
      let groupCode: number = KafkaError.NONE;
      try {
        const refusal = await deps.classic.commit(body.groupId, body.memberId, body.groupInstanceId, body.generationIdOrMemberEpoch, offsets, origin, request.signal);
        groupCode = KafkaError[refusal];
      } catch (e) {
        if (!isStrataError(e)) throw e;
        groupCode = errorCode(deps, API, e);
      }
      for (const i of committing) codes[i] = groupCode;
    }
    let at = 0;
    return respond(ApiKey.OffsetCommit, request, {
      topics: body.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: countError(deps, API, codes[at++]!) })),
      })),
    });
  };
}
