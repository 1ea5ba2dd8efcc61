// DescribeGroups (key 15), v0-5: each group's state, protocol and members, from the coordinator
// (the same description as GET /v1/groups/{g}). A classic group shows its members with their
// metadata and assignments, in Kafka's state names (the phase this broker holds in memory when it
// runs the group: it may be ahead of the stored generation); a KIP-848 group shows protocol type
// "consumer" and its members without metadata. A group that does not exist is "Dead" with no error
// (Kafka's answer before v6). INVALID_GROUP_ID and NOT_COORDINATOR per group.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { isStrataError } from '@strata/protocol';
import type { GroupDescription } from '@strata/coord';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';
import { CLASSIC_STATE } from './groups-common.js';

const API = 'DescribeGroups';
const EMPTY = Buffer.alloc(0);
/** "No authorized operations reported" (Kafka's Integer.MIN_VALUE). */
const NO_OPERATIONS = -2147483648;

const CONSUMER_STATE = { empty: 'Empty', reconciling: 'Reconciling', stable: 'Stable' } as const;

export function describeGroupsHandler(deps: HandlerDeps): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.DescribeGroups, request);
    const groups = [];
    for (const groupId of body.groups) {
      const refused = { groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: NO_OPERATIONS };
      const refusal = deps.classic.check(groupId);
      if (refusal !== null) {
        groups.push({ ...refused, errorCode: countError(deps, API, KafkaError[refusal]) });
        continue;
      }
      try {
        const d = await deps.groups.summary(groupId, originOf(request), request.signal);
        groups.push({ errorCode: KafkaError.NONE, authorizedOperations: NO_OPERATIONS, ...describe(groupId, d, deps.classic.phase(groupId)) });
      } catch (e) {
        if (!isStrataError(e)) throw e;
        groups.push({ ...refused, errorCode: errorCode(deps, API, e) });
      }
    }
    return respond(ApiKey.DescribeGroups, request, { groups });
  };
}

function describe(groupId: string, d: GroupDescription | null, phase: string | null) {
  if (d === null) return { groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
  const classic = d.classic;
  if (classic !== undefined && classic.members.length > 0) {
    const state = phase ?? CLASSIC_STATE[classic.state];
    return {
      groupId,
      groupState: state,
      protocolType: classic.protocolType,
      protocolData: classic.protocol,
      members: classic.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: Buffer.from(m.metadata, 'base64'),
        memberAssignment: state === 'Stable' ? Buffer.from(m.assignment, 'base64') : EMPTY,
      })),
    };
  }
  return {
    groupId,
    groupState: CONSUMER_STATE[d.state],
    protocolType: d.members.length > 0 ? 'consumer' : (classic?.protocolType ?? ''),
    protocolData: '',
    members: d.members.map((m) => ({ memberId: m.memberId, groupInstanceId: null, clientId: m.clientId, clientHost: '', memberMetadata: EMPTY, memberAssignment: EMPTY })),
  };
}
