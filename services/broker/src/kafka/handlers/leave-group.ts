// LeaveGroup (key 13), v0-5: members leave a classic group; v0-2 one member by id, from v3 a batch
// of members by id or group instance id, each answered on its own (KIP-345).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { countError, decodeBody, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'LeaveGroup';
const BATCHED_VERSION = 3;

export function leaveGroupHandler(deps: HandlerDeps): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.LeaveGroup, request);
    const batched = request.header.apiVersion >= BATCHED_VERSION;
    const leaving = batched ? body.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: body.memberId, groupInstanceId: null }];
    const outcome = await deps.classic.leave(body.groupId, leaving, originOf(request));
    if (outcome.error !== 'NONE') return respond(ApiKey.LeaveGroup, request, { errorCode: countError(deps, API, KafkaError[outcome.error]), members: [] });
    if (!batched) return respond(ApiKey.LeaveGroup, request, { errorCode: countError(deps, API, KafkaError[outcome.members[0]!.error]), members: [] });
    return respond(ApiKey.LeaveGroup, request, {
      errorCode: KafkaError.NONE,
      members: outcome.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: countError(deps, API, KafkaError[m.error]) })),
    });
  };
}
