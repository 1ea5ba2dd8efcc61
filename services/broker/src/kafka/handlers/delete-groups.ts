// DeleteGroups (key 42), v0-2: deletes each named group with its committed offsets through
// GroupsCore.delete (the same call as DELETE /v1/groups/{g}). Per group: INVALID_GROUP_ID for an id
// Strata's group names refuse, GROUP_ID_NOT_FOUND for a group the coordinator does not hold,
// NON_EMPTY_GROUP while it has members (nothing deleted). A name given twice is answered once (the
// answer is keyed by group id). More distinct groups than the coordinator may hold
// (STRATA_MAX_GROUPS) are refused INVALID_REQUEST each, nothing deleted: a request cannot make the
// broker run an unbounded number of coordinator calls.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { groupIdProblem } from '@strata/protocol';
import { countError, decodeBody, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';
import { groupErrorCode } from './groups-common.js';

const API = 'DeleteGroups';

export function deleteGroupsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.DeleteGroups, request);
    const names = [...new Set(body.groupsNames)];
    const groupsMax = ctx.config.groups.limits.groupsMax;
    if (names.length > groupsMax) {
      ctx.logger.debug('kafka DeleteGroups naming more groups than the coordinator may hold refused', { remote: request.remote, groups: names.length, groupsMax });
      const results = names.map((groupId) => ({ groupId, errorCode: countError(deps, API, KafkaError.INVALID_REQUEST) }));
      return respond(ApiKey.DeleteGroups, request, { throttleTimeMs: 0, results });
    }
    const results = [];
    for (const groupId of names) {
      if (groupIdProblem(groupId) !== null) {
        results.push({ groupId, errorCode: countError(deps, API, KafkaError.INVALID_GROUP_ID) });
        continue;
      }
      try {
        await deps.groups.delete(groupId, originOf(request), request.signal);
        results.push({ groupId, errorCode: KafkaError.NONE });
      } catch (e) {
        results.push({ groupId, errorCode: groupErrorCode(deps, API, e).code });
      }
    }
    return respond(ApiKey.DeleteGroups, request, { throttleTimeMs: 0, results });
  };
}
