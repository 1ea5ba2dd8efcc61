// ConsumerGroupDescribe (key 69), v0: each group's epochs, state and members with their current and
// target assignments (topic ids and names), from the coordinator (GroupsCore.members). Per group:
// INVALID_GROUP_ID for an id Strata's group names refuse, GROUP_ID_NOT_FOUND for a group the
// coordinator does not hold. A request naming more groups than the coordinator may hold
// (STRATA_MAX_GROUPS) is answered INVALID_REQUEST for each, without a look-up.
// Strata keeps no client host, rack or instance id per member: they are answered empty or null.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import type { GroupDescription, TopicPartitions } from '@strata/coord';
import { groupIdProblem } from '@strata/protocol';
import { kafkaTopicId } from '../cluster-view.js';
import { countError, decodeBody, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';
import { groupErrorCode, kafkaGroupState, SERVER_ASSIGNOR } from './groups-common.js';

const API = 'ConsumerGroupDescribe';
/** The zero uuid: a topic this broker does not know (Kafka answers it for a deleted topic too). */
const UNKNOWN_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function consumerGroupDescribeHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, groups } = deps;
  const withIds = (assignment: readonly TopicPartitions[]) => ({
    topicPartitions: assignment.map((tp) => ({
      topicId: ctx.registry.has(tp.topic) ? kafkaTopicId(ctx.registry.get(tp.topic)) : UNKNOWN_TOPIC_ID,
      topicName: tp.topic,
      partitions: tp.partitions,
    })),
  });
  const described = (d: GroupDescription) => ({
    errorCode: KafkaError.NONE,
    groupId: d.group,
    groupState: kafkaGroupState(d.state),
    groupEpoch: d.groupEpoch,
    assignmentEpoch: d.assignmentEpoch,
    assignorName: SERVER_ASSIGNOR,
    members: d.members.map((m) => ({
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: '',
      subscribedTopicNames: m.subscribedTopics,
      assignment: withIds(m.assignment),
      targetAssignment: withIds(m.target),
    })),
  });
  const failed = (groupId: string, code: number, errorMessage: string) => ({
    errorCode: code,
    errorMessage,
    groupId,
    groupState: '',
    groupEpoch: -1,
    assignmentEpoch: -1,
    assignorName: '',
    members: [],
  });

  return async (request) => {
    const body = decodeBody(ApiKey.ConsumerGroupDescribe, request);
    if (body.groupIds.length > ctx.config.groups.limits.groupsMax) {
      const message = `${body.groupIds.length} groups asked for, more than the ${ctx.config.groups.limits.groupsMax} the coordinator may hold`;
      const all = body.groupIds.map((g) => failed(g, countError(deps, API, KafkaError.INVALID_REQUEST), message));
      return respond(ApiKey.ConsumerGroupDescribe, request, { throttleTimeMs: 0, groups: all });
    }
    const out = [];
    for (const groupId of body.groupIds) {
      const problem = groupIdProblem(groupId);
      if (problem !== null) {
        out.push(failed(groupId, countError(deps, API, KafkaError.INVALID_GROUP_ID), `group id: ${problem}`));
        continue;
      }
      try {
        out.push(described(await groups.members(groupId, originOf(request), request.signal)));
      } catch (e) {
        const { code, message } = groupErrorCode(deps, API, e);
        out.push(failed(groupId, code, message));
      }
    }
    return respond(ApiKey.ConsumerGroupDescribe, request, { throttleTimeMs: 0, groups: out });
  };
}
