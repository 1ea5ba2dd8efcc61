// JoinGroup (key 11), v0-9: a member joins a classic group's round (core/classic-group.ts). v0 has
// no rebalance timeout (the session timeout stands for it, as in Kafka); from v4 a new member
// without a group instance id is first given its id (MEMBER_ID_REQUIRED) and joins again with it;
// v5 static membership; v7 answers the protocol type; v9's skipAssignment is always false (the
// leader always assigns).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { countError, decodeBody, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'JoinGroup';
/** The first version in which a new member must join twice (KIP-394). */
const MEMBER_ID_REQUIRED_VERSION = 4;

export function joinGroupHandler(deps: HandlerDeps): KafkaHandler {
  return async (request) => {
    const version = request.header.apiVersion;
    const body = decodeBody(ApiKey.JoinGroup, request);
    const answer = await deps.classic.join(body.groupId, {
      memberId: body.memberId,
      groupInstanceId: body.groupInstanceId,
      clientId: request.header.clientId ?? '',
      clientHost: `/${request.remote.slice(0, request.remote.lastIndexOf(':'))}`,
      sessionTimeoutMs: body.sessionTimeoutMs,
      rebalanceTimeoutMs: version >= 1 && body.rebalanceTimeoutMs > 0 ? body.rebalanceTimeoutMs : body.sessionTimeoutMs,
      protocolType: body.protocolType,
      protocols: body.protocols,
      requireKnownMemberId: version >= MEMBER_ID_REQUIRED_VERSION,
    }, originOf(request));
    if (!('generationId' in answer)) {
      return respond(ApiKey.JoinGroup, request, {
        errorCode: countError(deps, API, KafkaError[answer.error]),
        generationId: -1,
        protocolName: version >= 7 ? null : '',
        leader: '',
        memberId: body.memberId,
        members: [],
      });
    }
    return respond(ApiKey.JoinGroup, request, {
      errorCode: countError(deps, API, KafkaError[answer.error]),
      generationId: answer.generationId,
      protocolType: answer.protocolType,
      protocolName: version >= 7 ? answer.protocolName : (answer.protocolName ?? ''),
      leader: answer.leader,
      memberId: answer.memberId,
      members: answer.members,
    });
  };
}
