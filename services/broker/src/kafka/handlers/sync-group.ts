// SyncGroup (key 14), v0-5: the leader hands in the generation's assignment and every member gets
// its own (core/classic-group.ts); a non-leader's assignments are ignored, as Kafka does. v5
// carries the protocol type and name both ways (INCONSISTENT_GROUP_PROTOCOL when they differ).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { countError, decodeBody, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'SyncGroup';
const EMPTY = Buffer.alloc(0);

export function syncGroupHandler(deps: HandlerDeps): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.SyncGroup, request);
    const answer = await deps.classic.sync(body.groupId, {
      memberId: body.memberId,
      groupInstanceId: body.groupInstanceId,
      generationId: body.generationId,
      protocolType: body.protocolType,
      protocolName: body.protocolName,
      assignments: body.assignments,
    }, originOf(request));
    if (!('assignment' in answer)) return respond(ApiKey.SyncGroup, request, { errorCode: countError(deps, API, KafkaError[answer.error]), assignment: EMPTY });
    return respond(ApiKey.SyncGroup, request, {
      errorCode: countError(deps, API, KafkaError[answer.error]),
      protocolType: answer.protocolType,
      protocolName: answer.protocolName,
      assignment: answer.assignment,
    });
  };
}
