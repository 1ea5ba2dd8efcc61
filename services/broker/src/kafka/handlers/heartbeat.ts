// Heartbeat (key 12), v0-4: a classic member says it is alive; the answer tells it to rejoin
// (REBALANCE_IN_PROGRESS), that it is out of date (ILLEGAL_GENERATION) or unknown (UNKNOWN_MEMBER_ID),
// or fenced by a newer instance of its static id (FENCED_INSTANCE_ID).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { countError, decodeBody, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'Heartbeat';

export function heartbeatHandler(deps: HandlerDeps): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.Heartbeat, request);
    const error = await deps.classic.heartbeat(body.groupId, body.memberId, body.groupInstanceId, body.generationId, originOf(request));
    return respond(ApiKey.Heartbeat, request, { errorCode: countError(deps, API, KafkaError[error]) });
  };
}
