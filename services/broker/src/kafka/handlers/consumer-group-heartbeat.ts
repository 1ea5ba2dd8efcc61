// ConsumerGroupHeartbeat (key 68), v0-1: KIP-848's consumer protocol, on the server-side assignor and
// the group state HTTP members use (core/groups.ts; @strata/coord groups.ts), so a Kafka member and
// an HTTP member of one group are members of one protocol: one assignor, one set of epochs, one set of
// offsets (docs/architecture.md#kafka).
// - memberEpoch 0 joins (v0: an empty member id gets a new UUID; v1: the client chose it), > 0 is a
//   heartbeat at the epoch last given, -1 leaves (the partitions move at once).
// - Fields a member sends only when they changed (subscription, owned partitions, rebalance
//   timeout) are null or -1 otherwise, and mean "unchanged", as the core's heartbeat takes them.
// - The answer always carries the member's current assignment (the partitions it may own now):
//   Kafka may leave it null when unchanged, and a full one is the same for the client.
// - Refused with Kafka's codes, nothing changed: INVALID_GROUP_ID, INVALID_REQUEST (a malformed
//   join; a topic regex; group.instance.id, as static membership is not in Strata's group model:
//   the coordinator keeps no instance id to member id map, so epoch -2 cannot be honoured),
//   UNSUPPORTED_ASSIGNOR (an assignor other than "uniform"), and the core's UNKNOWN_MEMBER_ID,
//   FENCED_MEMBER_EPOCH, GROUP_MAX_SIZE_REACHED.
// - A subscribed topic that does not exist gets no partitions until it is created (Kafka's rule;
//   HTTP refuses it instead).
// - The member's session is STRATA_KAFKA_GROUP_SESSION_TIMEOUT_MS (Kafka's
//   group.consumer.session.timeout.ms), set at the join: a Kafka member sends none.
// - Rack ids are accepted (clients with client.rack send one) and not used: the assignor is not
//   rack-aware.

import { randomUUID } from 'node:crypto';
import { ApiKey, KafkaError, type RequestBody } from '@strata/kafka-protocol';
import type { GroupHeartbeatResponse, TopicPartitions } from '@strata/coord';
import { groupIdProblem } from '@strata/protocol';
import type { Topic } from '../../topics/topic.js';
import { kafkaTopicId } from '../cluster-view.js';
import type { KafkaReply } from '../connection.js';
import { countError, decodeBody, respond, type HandlerDeps, type KafkaHandler, type KafkaRequest, originOf } from './context.js';
import { groupErrorCode, SERVER_ASSIGNOR } from './groups-common.js';

const API = 'ConsumerGroupHeartbeat';
const JOIN_EPOCH = 0;
const LEAVE_EPOCH = -1;
const STATIC_LEAVE_EPOCH = -2;
/** From v1 the member chooses its id (Kafka 4.0, KIP-1082); v0 joins with an empty one. */
const CLIENT_MEMBER_ID_VERSION = 1;
/** The coordinator's bound on a member's client id (@strata/coord LIMITS.clientIdLengthMax). */
const CLIENT_ID_CHARS_MAX = 256;

type HeartbeatBody = RequestBody<typeof ApiKey.ConsumerGroupHeartbeat>;

export function consumerGroupHeartbeatHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, groups } = deps;

  const answer = (request: KafkaRequest, memberId: string, r: GroupHeartbeatResponse): KafkaReply =>
    respond(ApiKey.ConsumerGroupHeartbeat, request, {
      throttleTimeMs: 0,
      errorCode: KafkaError.NONE,
      memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: { topicPartitions: byTopicId(r.assignment) },
    });

  const refuse = (request: KafkaRequest, code: number, errorMessage: string): KafkaReply =>
    respond(ApiKey.ConsumerGroupHeartbeat, request, {
      throttleTimeMs: 0,
      errorCode: countError(deps, API, code),
      errorMessage,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
    });

  /** Topic names as Kafka topic ids; a topic this broker does not know yet (created elsewhere a moment ago) is left out until the next heartbeat. */
  const byTopicId = (assignment: readonly TopicPartitions[]) => {
    const out: Array<{ topicId: string; partitions: number[] }> = [];
    for (const tp of assignment) {
      if (ctx.registry.has(tp.topic)) out.push({ topicId: kafkaTopicId(ctx.registry.get(tp.topic)), partitions: tp.partitions });
    }
    return out;
  };

  return async (request) => {
    const body = decodeBody(ApiKey.ConsumerGroupHeartbeat, request);
    const version = request.header.apiVersion;
    const problem = requestProblem(body, version);
    if (problem !== null) return refuse(request, problem.code, problem.message);
    try {
      if (body.memberEpoch === LEAVE_EPOCH) {
        await groups.leave(body.groupId, body.memberId, originOf(request), request.signal);
        return respond(ApiKey.ConsumerGroupHeartbeat, request, { throttleTimeMs: 0, errorCode: KafkaError.NONE, memberId: body.memberId, memberEpoch: LEAVE_EPOCH, heartbeatIntervalMs: 0 });
      }
      const rebalanceTimeoutMs = body.rebalanceTimeoutMs === -1 ? {} : { rebalanceTimeoutMs: body.rebalanceTimeoutMs };
      if (body.memberEpoch === JOIN_EPOCH) {
        const memberId = body.memberId === '' ? randomUUID() : body.memberId;
        const settings = { ...rebalanceTimeoutMs, sessionTimeoutMs: ctx.config.kafka.groupSessionTimeoutMs, clientId: clientIdOf(request) };
        const joined = await groups.join(body.groupId, body.subscribedTopicNames!, settings, originOf(request), request.signal, { memberId, unknownTopics: 'wait' });
        return answer(request, memberId, joined);
      }
      const owned = body.topicPartitions === null ? undefined : ownedByName(deps, body.topicPartitions);
      const beat = await groups.heartbeat(
        body.groupId,
        body.memberId,
        {
          memberEpoch: body.memberEpoch,
          ...rebalanceTimeoutMs,
          ...(body.subscribedTopicNames !== null ? { topics: body.subscribedTopicNames } : {}),
          ...(owned !== undefined ? { ownedPartitions: owned } : {}),
        },
        originOf(request),
        request.signal,
        'wait',
      );
      return answer(request, body.memberId, beat);
    } catch (e) {
      const { code, message } = groupErrorCode(deps, API, e);
      return refuse(request, code, message);
    }
  };
}

/** What Kafka's coordinator refuses before it looks at the group (GroupMetadataManager's request checks), and what Strata does not have. */
function requestProblem(body: HeartbeatBody, version: number): { code: number; message: string } | null {
  const invalid = (message: string) => ({ code: KafkaError.INVALID_REQUEST, message });
  const groupProblem = groupIdProblem(body.groupId);
  if (groupProblem !== null) return { code: KafkaError.INVALID_GROUP_ID, message: `group id: ${groupProblem}` };
  if (body.instanceId !== null || body.memberEpoch === STATIC_LEAVE_EPOCH) {
    return invalid('static membership (group.instance.id) is not supported by Strata: unset group.instance.id');
  }
  if (body.subscribedTopicRegex !== null) return invalid('subscribing by regular expression is not supported by Strata: subscribe by topic names');
  if (body.serverAssignor !== null && body.serverAssignor !== SERVER_ASSIGNOR) {
    return { code: KafkaError.UNSUPPORTED_ASSIGNOR, message: `server assignor "${body.serverAssignor}" is not supported: Strata has "${SERVER_ASSIGNOR}"` };
  }
  if (body.rackId === '') return invalid('rack id must be null or not empty');
  if (body.memberEpoch < LEAVE_EPOCH) return invalid(`member epoch ${body.memberEpoch} is not 0 (join), -1 (leave) or a given epoch`);
  if (body.memberId === '' && (body.memberEpoch !== JOIN_EPOCH || version >= CLIENT_MEMBER_ID_VERSION)) return invalid('member id must not be empty');
  if (body.memberEpoch === JOIN_EPOCH) {
    if (body.rebalanceTimeoutMs === -1) return invalid('rebalance timeout must be given to join (member epoch 0)');
    if (body.subscribedTopicNames === null) return invalid('subscribed topic names must be given to join (member epoch 0)');
    if (body.topicPartitions !== null && body.topicPartitions.length > 0) return invalid('owned partitions must be empty to join (member epoch 0)');
  }
  return null;
}

/** The owned partitions by topic name, merged and sorted per topic; a topic id unknown here (deleted since) owns nothing. */
function ownedByName(deps: HandlerDeps, owned: NonNullable<HeartbeatBody['topicPartitions']>): TopicPartitions[] {
  if (owned.length === 0) return [];
  // One map per request: a lookup per entry would cost the whole catalogue each time.
  const topics = new Map<string, Topic>(deps.ctx.registry.list().map((t) => [kafkaTopicId(t), t]));
  const byName = new Map<string, Set<number>>();
  for (const { topicId, partitions } of owned) {
    const topic = topics.get(topicId);
    if (topic === undefined) continue;
    let set = byName.get(topic.name);
    if (set === undefined) byName.set(topic.name, (set = new Set()));
    for (const p of partitions) set.add(p);
  }
  return [...byName].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}

/** The request header's client id, as the coordinator keeps it (at most 256 characters, no control characters). */
function clientIdOf(request: KafkaRequest): string {
  // eslint-disable-next-line no-control-regex
  return (request.header.clientId ?? '').replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, CLIENT_ID_CHARS_MAX);
}
