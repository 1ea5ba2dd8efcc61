// ListGroups (key 16), v0-5: the groups this broker coordinates (KafkaClusterView.coordinatesGroup:
// every group in one-address mode or on a single node; in brokers mode the ones FindCoordinator
// names it for, since a client asks every broker and joins the answers), out of every group the
// coordinator holds (GroupsCore.list, the same list as GET /v1/groups), filtered by state from v4 (Kafka's state names, case-insensitive, as Kafka
// compares them) and by type from v5: "consumer" for KIP-848 groups (Kafka's or HTTP's members),
// "classic" for JoinGroup groups (protocol type: their members', "consumer" for Kafka consumers).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { decodeBody, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';
import { groupErrorCode, kafkaGroupState } from './groups-common.js';

const API = 'ListGroups';

export function listGroupsHandler(deps: HandlerDeps): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.ListGroups, request);
    const states = new Set(body.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(body.typesFilter.map((t) => t.toLowerCase()));
    try {
      const listed = await deps.groups.list(originOf(request), request.signal);
      const groups = [];
      for (const g of listed) {
        if (!deps.view.coordinatesGroup(g.group)) continue;
        const groupState = kafkaGroupState(g.state, g.type);
        if (states.size > 0 && !states.has(groupState.toLowerCase())) continue;
        if (types.size > 0 && !types.has(g.type)) continue;
        groups.push({ groupId: g.group, protocolType: g.protocolType, groupState, groupType: g.type });
      }
      return respond(ApiKey.ListGroups, request, { throttleTimeMs: 0, errorCode: KafkaError.NONE, groups });
    } catch (e) {
      return respond(ApiKey.ListGroups, request, { throttleTimeMs: 0, errorCode: groupErrorCode(deps, API, e).code, groups: [] });
    }
  };
}
