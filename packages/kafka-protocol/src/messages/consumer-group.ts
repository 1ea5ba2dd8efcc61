// The consumer group protocol of KIP-848: ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe
// (69), both flexible from v0. The server computes the assignment; the member heartbeats its epoch,
// its subscription and the partitions it owns (each only when it changed: null means "unchanged"),
// and is told the partitions it may own now. ConsumerGroupHeartbeat v1 (Kafka 4.0) adds the topic
// regex, and the member chooses its own id (v0: the coordinator gives it on the join).
// ConsumerGroupDescribe v1 adds each member's type (classic or consumer, KIP-1099).

import type { MessageSchema } from '../schema/types.js';

/** Partitions of one topic, named by topic id (the heartbeat carries no topic names). */
const TOPIC_PARTITIONS_BY_ID = [
  { name: 'topicId', type: 'uuid', versions: '0+' },
  { name: 'partitions', type: '[]int32', versions: '0+' },
] as const;

export const ConsumerGroupHeartbeatRequest = {
  name: 'ConsumerGroupHeartbeatRequest',
  apiKey: 68,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    /** 0 joins, -1 leaves, -2 a static member leaving for a while; else the epoch last given. */
    { name: 'memberEpoch', type: 'int32', versions: '0+' },
    { name: 'instanceId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'rackId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '0+', default: -1 },
    { name: 'subscribedTopicNames', type: '[]string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'subscribedTopicRegex', type: 'string', versions: '1+', nullableVersions: '1+', default: null },
    { name: 'serverAssignor', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'topicPartitions', type: '[]struct', versions: '0+', nullableVersions: '0+', default: null, fields: TOPIC_PARTITIONS_BY_ID },
  ],
} as const satisfies MessageSchema;

export const ConsumerGroupHeartbeatResponse = {
  name: 'ConsumerGroupHeartbeatResponse',
  apiKey: 68,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+', default: 0 },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'memberId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'memberEpoch', type: 'int32', versions: '0+' },
    { name: 'heartbeatIntervalMs', type: 'int32', versions: '0+' },
    {
      name: 'assignment',
      type: 'struct',
      versions: '0+',
      nullableVersions: '0+',
      default: null,
      fields: [{ name: 'topicPartitions', type: '[]struct', versions: '0+', fields: TOPIC_PARTITIONS_BY_ID }],
    },
  ],
} as const satisfies MessageSchema;

export const ConsumerGroupDescribeRequest = {
  name: 'ConsumerGroupDescribeRequest',
  apiKey: 69,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'groupIds', type: '[]string', versions: '0+' },
    { name: 'includeAuthorizedOperations', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageSchema;

/** A member's current or target assignment, with topic names beside the ids. */
const DESCRIBED_ASSIGNMENT = [
  {
    name: 'topicPartitions',
    type: '[]struct',
    versions: '0+',
    fields: [
      { name: 'topicId', type: 'uuid', versions: '0+' },
      { name: 'topicName', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]int32', versions: '0+' },
    ],
  },
] as const;

export const ConsumerGroupDescribeResponse = {
  name: 'ConsumerGroupDescribeResponse',
  apiKey: 69,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+', default: 0 },
    {
      name: 'groups',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        { name: 'groupId', type: 'string', versions: '0+' },
        { name: 'groupState', type: 'string', versions: '0+' },
        { name: 'groupEpoch', type: 'int32', versions: '0+' },
        { name: 'assignmentEpoch', type: 'int32', versions: '0+' },
        { name: 'assignorName', type: 'string', versions: '0+' },
        {
          name: 'members',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'memberId', type: 'string', versions: '0+' },
            { name: 'instanceId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
            { name: 'rackId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
            { name: 'memberEpoch', type: 'int32', versions: '0+' },
            { name: 'clientId', type: 'string', versions: '0+' },
            { name: 'clientHost', type: 'string', versions: '0+' },
            { name: 'subscribedTopicNames', type: '[]string', versions: '0+' },
            { name: 'subscribedTopicRegex', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
            { name: 'assignment', type: 'struct', versions: '0+', fields: DESCRIBED_ASSIGNMENT },
            { name: 'targetAssignment', type: 'struct', versions: '0+', fields: DESCRIBED_ASSIGNMENT },
            { name: 'memberType', type: 'int8', versions: '1+', default: -1, ignorable: true },
          ],
        },
        { name: 'authorizedOperations', type: 'int32', versions: '0+', default: -2147483648 },
      ],
    },
  ],
} as const satisfies MessageSchema;
