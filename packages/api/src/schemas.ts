// The bodies of the HTTP API v1, once: request and reply schemas as TypeBox (JSON Schema) values.
// The broker validates request bodies with them (validate.ts), the broker's handlers, @strata/client
// and the CLI take their types from them (Static<>), and the OpenAPI document is built from them
// (openapi.ts). A schema here checks the shape of a body (types, required and unknown fields);
// rules that answer with their own error code (a topic name: INVALID_TOPIC, a config value:
// INVALID_CONFIG, a partition count: INVALID_PARTITIONS, a timestamp: INVALID_TIMESTAMP) stay with
// the code that owns them and are named in the field's description.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ERROR_CATALOGUE, type ErrorCode } from '@strata/protocol';

import { ApiToken, ApiTokenList, CreateUserRequest, IssueTokenRequest, IssuedToken, TokenRevoked, User, UserDeleted, UserList, UserName } from './user-schemas.js';
import { ClusterEvent, EventList } from './event-schemas.js';
import { ERROR_CODE_KEYWORD, GroupId, Int64, MemberId, Nullable, Optional, TopicName, partitionNumber, refusedAs } from './schema-parts.js';

export { ERROR_CODE_KEYWORD, GroupId, MemberId, TopicName, partitionNumber };

// ---- errors ----------------------------------------------------------------------------------------

/** A code from the catalogue, as a JSON Schema enum (one list, not one branch per code). */
export const ErrorCodeSchema = Type.Unsafe<ErrorCode>(
  Type.String({ enum: Object.keys(ERROR_CATALOGUE), description: 'A code from the catalogue (packages/protocol/src/errors.ts).' }),
);

export const ErrorObject = Type.Object({
  code: ErrorCodeSchema,
  message: Type.String(),
  retriable: Type.Boolean({ description: 'Whether the same request can succeed later unchanged.' }),
  details: Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'Code-specific: e.g. {problems: [{code, field, message}]} for validation errors, {logStartOffset, logEndOffset, highWatermark} for OFFSET_OUT_OF_RANGE.',
    }),
  ),
});

export const ErrorBody = Type.Object(
  { error: ErrorObject },
  { examples: [{ error: { code: 'UNKNOWN_TOPIC', message: 'topic "orders" does not exist', retriable: false } }] },
);

// ---- encodings -------------------------------------------------------------------------------------

export const Encoding = Type.Union([Type.Literal('utf8'), Type.Literal('base64'), Type.Literal('json')], {
  default: 'utf8',
  description: 'How keys/values appear in JSON: utf8 text, base64 bytes (lossless), or any JSON value (stored as its JSON text). null is a null key/value in every encoding.',
});
export const HeaderEncoding = Type.Union([Type.Literal('utf8'), Type.Literal('base64')], { default: 'utf8', description: 'How header values appear in JSON.' });

// ---- topics ----------------------------------------------------------------------------------------

export const TopicConfigValue = Type.Union([Type.String(), Type.Integer()], refusedAs('INVALID_CONFIG'));
/** The broker documents every key with its range and default (it owns the table: topics/topic-config.ts). */
export const TopicConfigs = Type.Record(Type.String(), TopicConfigValue, {
  ...refusedAs('INVALID_CONFIG'),
  description: 'Topic configs by Kafka name (e.g. retention.ms); values as numbers or as strings (Kafka style). Unknown keys and bad values: INVALID_CONFIG.',
});

export const CreateTopicRequest = Type.Object(
  {
    name: Type.String({ ...refusedAs('INVALID_TOPIC'), description: '1-249 of [a-zA-Z0-9._-], not "." or "..": else INVALID_TOPIC.' }),
    partitions: Optional(Type.Integer({ ...refusedAs('INVALID_PARTITIONS'), description: 'At least 1, at most STRATA_MAX_PARTITIONS (INVALID_PARTITIONS); default STRATA_DEFAULT_PARTITIONS.' })),
    replicationFactor: Optional(
      Type.Integer({ ...refusedAs('INVALID_CONFIG'), description: 'Replicas per partition: 1 on a single node; in a cluster default 3 (placed on min(3, live brokers), the rest as brokers join); an explicit value above the live brokers is refused.' }),
    ),
    configs: Optional(TopicConfigs),
  },
  { additionalProperties: false, examples: [{ name: 'orders', partitions: 3, configs: { 'retention.ms': 604800000 } }] },
);

export const UpdateConfigsRequest = Type.Object(
  {
    configs: Type.Record(Type.String(), Nullable(TopicConfigValue), {
      ...refusedAs('INVALID_CONFIG'),
      description: 'Each given key is set; null resets a key to the broker default. Every problem is listed in one INVALID_CONFIG.',
    }),
  },
  { additionalProperties: false, examples: [{ configs: { 'retention.ms': 86400000, 'cleanup.policy': null } }] },
);

export const AddPartitionsRequest = Type.Object(
  {
    count: Type.Integer({
      ...refusedAs('INVALID_PARTITIONS'),
      description: 'The new partition count: above the current one (a topic never shrinks) and within STRATA_MAX_PARTITIONS, else INVALID_PARTITIONS. Existing partitions and their data are untouched.',
    }),
    validateOnly: Optional(Type.Boolean({ description: 'Check everything, change nothing (Kafka\'s validate_only).' })),
  },
  { additionalProperties: false, examples: [{ count: 6 }] },
);

// The health counts: a list of thousands of partitions needs no describe per topic (always answered; optional for older brokers).
export const TopicListing = Type.Object({
  name: Type.String(), partitions: Type.Integer(), replicationFactor: Type.Integer(), underReplicated: Optional(Type.Integer({ description: 'Partitions whose ISR is smaller than their replicas.' })), leaderless: Optional(Type.Integer({ description: 'Partitions without a leader now.' })),
  offline: Optional(Type.Integer({ description: 'Partitions that could not be opened here.' })), uploadLagSegments: Optional(Type.Integer()), uploadLagBytes: Optional(Type.Integer({ description: 'Sealed, not yet in the bucket (as this broker sees it).' })),
});
export const TopicList = Type.Object(
  { topics: Type.Array(TopicListing) },
  { examples: [{ topics: [{ name: 'orders', partitions: 3, replicationFactor: 1, underReplicated: 0, leaderless: 0, offline: 0, uploadLagSegments: 0, uploadLagBytes: 0 }] }] },
);

export const PartitionInfo = Type.Object({
  partition: Type.Integer(),
  leader: Nullable(Type.String(), 'Broker id of the leader with a live lease (null while none: an election or hand-over).'),
  leaderUrl: Nullable(Type.String({ format: 'uri' }), 'In a cluster: where to reach the leader directly.'),
  leaderEpoch: Type.Integer(),
  replicas: Type.Array(Type.String(), { description: 'Assigned by the controller; replicas[0] is the assigned leader.' }),
  isr: Type.Array(Type.String()),
  logStartOffset: Int64('First retained offset (all tiers).'),
  logEndOffset: Int64('Next offset to be written.'),
  highWatermark: Int64('Consumers see offsets below this.'),
  localLogStartOffset: Int64('First offset on local disk.'),
  localBytes: Type.Integer(),
  remoteBytes: Type.Integer({ description: 'Bytes of segment objects in the object store.' }),
  remoteLogStartOffset: Nullable(Int64('First offset in the object store.')),
  remoteLogEndOffset: Int64('Offset after the last record in the object store (where uploads continue).'),
  remoteSegments: Type.Integer(),
  uploadLagSegments: Type.Integer({ description: 'Sealed local segments not yet uploaded.' }),
  uploadLagBytes: Type.Integer({ description: 'Bytes of sealed local segments not yet uploaded.' }),
  lastUploadError: Nullable(Type.String(), 'Why the last upload attempt failed, until one succeeds.'),
});

/** A partition whose log could not be opened at start: the topic is served without it. */
export const OfflinePartition = Type.Object({ partition: Type.Integer(), offline: Type.Literal(true), error: Type.String() });

const partitionExample = {
  partition: 0, leader: 'broker-1', leaderUrl: null, leaderEpoch: 0, replicas: ['broker-1'], isr: ['broker-1'],
  logStartOffset: 0, logEndOffset: 42, highWatermark: 42, localLogStartOffset: 0, localBytes: 4096, remoteBytes: 0,
  remoteLogStartOffset: null, remoteLogEndOffset: 0, remoteSegments: 0, uploadLagSegments: 0, uploadLagBytes: 0, lastUploadError: null,
};

export const Topic = Type.Object(
  {
    name: Type.String(),
    topicId: Type.String({ format: 'uuid' }),
    replicationFactor: Type.Integer(),
    configs: Type.Record(Type.String(), TopicConfigValue, { description: 'Effective configs: the overrides over the broker defaults.' }),
    configOverrides: Type.Record(Type.String(), TopicConfigValue, { description: 'The configs set on this topic.' }),
    partitions: Type.Array(Type.Union([PartitionInfo, OfflinePartition])),
  },
  {
    examples: [
      {
        name: 'orders', topicId: '0b7c6a52-3f61-4d7e-9a57-2f7f2a0c1d11', replicationFactor: 1,
        configs: { 'retention.ms': 604800000, 'cleanup.policy': 'delete' }, configOverrides: { 'retention.ms': 604800000 }, partitions: [partitionExample],
      },
    ],
  },
);

export const TopicDeleted = Type.Object({ name: Type.String(), deleted: Type.Literal(true) }, { examples: [{ name: 'orders', deleted: true }] });

// ---- produce and fetch -----------------------------------------------------------------------------

export const Header = Type.Object({ key: Type.String(), value: Nullable(Type.String()) });

export const ProduceRecord = Type.Object(
  {
    key: Optional(Type.Unknown({ description: 'In keyEncoding; absent or null = null key (then partitioned round-robin).' })),
    value: Type.Unknown({ description: 'In valueEncoding; null = a null value (tombstone).' }),
    headers: Optional(
      Type.Union([Type.Record(Type.String(), Nullable(Type.String())), Type.Array(Header)], {
        description: 'Either {key: value} or [{key, value}] (the array form keeps order and repeated keys). Values in headerEncoding, or null.',
      }),
    ),
    partition: Optional(partitionNumber({ description: 'Explicit partition; overrides the partitioner.' })),
    timestamp: Optional(Int64('Record timestamp, ms since the epoch (default: now); negative: INVALID_TIMESTAMP.', refusedAs('INVALID_TIMESTAMP'))),
  },
  { additionalProperties: false },
);

export const ProduceRequest = Type.Object(
  {
    records: Type.Array(ProduceRecord, { minItems: 1 }),
    keyEncoding: Optional(Encoding),
    valueEncoding: Optional(Encoding),
    headerEncoding: Optional(HeaderEncoding),
  },
  { additionalProperties: false, examples: [{ records: [{ key: 'customer-7', value: '{"total": 12}', headers: { source: 'web' } }, { value: 'no key' }] }] },
);

export const ProducedOffset = Type.Object({
  partition: Type.Integer(),
  offset: Int64('The record\'s offset; -1 with acks=0 or on error.'),
  error: Optional(ErrorObject),
});
export const ProduceResponse = Type.Object(
  { offsets: Type.Array(ProducedOffset, { description: 'One per record, in request order.' }) },
  { examples: [{ offsets: [{ partition: 1, offset: 41 }, { partition: 0, offset: 7 }] }] },
);

export const BatchProduceResponse = Type.Object(
  {
    baseOffset: Int64('Offset of the first record.'),
    lastOffset: Int64('Offset of the last record.'),
    recordCount: Optional(Type.Integer()),
    duplicate: Optional(
      Type.Literal(true, { description: 'Every batch was an idempotent producer\'s retry of batches already written: the offsets they were first written at; nothing was written again.' }),
    ),
  },
  { examples: [{ baseOffset: 100, lastOffset: 109, recordCount: 10 }] },
);

export const InitProducerRequest = Type.Object(
  {
    transactionalId: Optional(Nullable(Type.String(), 'Transactions are not supported: a transactional id is refused (INVALID_REQUEST, details.reason TRANSACTIONS_UNSUPPORTED).')),
  },
  { additionalProperties: false, examples: [{}] },
);
export const InitProducerResponse = Type.Object(
  {
    producerId: Int64('An id no producer got before, in this cluster and across its restarts: stamp it into every RecordBatch header (producerId).', { minimum: 0 }),
    producerEpoch: Type.Integer({ minimum: 0, maximum: 32767, description: 'Always 0 for a new id: stamp it into every batch (producerEpoch).' }),
  },
  { examples: [{ producerId: 1764866000000000, producerEpoch: 0 }] },
);

export const FetchRecord = Type.Object({
  offset: Int64('Offset.'),
  timestamp: Int64('ms since the epoch.'),
  key: Type.Unknown({ description: 'In keyEncoding, or null.' }),
  value: Type.Unknown({ description: 'In valueEncoding, or null.' }),
  headers: Type.Array(Header),
  keyEncoding: Optional(Type.Literal('base64', { description: 'Present when keyEncoding=json and the stored key is not JSON (or nests too deep): the key is base64 instead.' })),
  valueEncoding: Optional(Type.Literal('base64', { description: 'Present when valueEncoding=json and the stored value is not JSON (or nests too deep): the value is base64 instead.' })),
});
export const FetchResponse = Type.Object(
  {
    records: Type.Array(FetchRecord),
    nextOffset: Int64('The offset to ask for next.'),
    highWatermark: Int64('The partition\'s high watermark.'),
    logStartOffset: Int64('The first retained offset.'),
  },
  {
    examples: [
      { records: [{ offset: 7, timestamp: 1767225600000, key: 'customer-7', value: '{"total": 12}', headers: [{ key: 'source', value: 'web' }] }], nextOffset: 8, highWatermark: 8, logStartOffset: 0 },
    ],
  },
);

export const DeleteRecordsRequest = Type.Object(
  {
    beforeOffset: Int64('Delete every record below this offset (Kafka\'s DeleteRecords): it must lie in [0, high watermark], or be -1 for the high watermark, else OFFSET_OUT_OF_RANGE.', {
      minimum: -1,
      ...refusedAs('OFFSET_OUT_OF_RANGE'),
    }),
  },
  { additionalProperties: false, examples: [{ beforeOffset: 1000 }, { beforeOffset: -1 }] },
);
export const DeleteRecordsResponse = Type.Object(
  { lowWatermark: Int64('The partition\'s log start offset after the deletion (Kafka\'s low watermark).') },
  { examples: [{ lowWatermark: 1000 }] },
);

export const OffsetResponse = Type.Object(
  { offset: Int64('The offset.'), timestamp: Optional(Int64('For a timestamp lookup: the found batch\'s max timestamp.')) },
  { examples: [{ offset: 42 }, { offset: 17, timestamp: 1767225600000 }] },
);

// ---- consumer groups -------------------------------------------------------------------------------

export const TopicPartitions = Type.Object({ topic: Type.String(), partitions: Type.Array(partitionNumber()) });
export const TopicPartitionOffset = Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Int64('The next offset to read.') });

const TimeoutMs = (description: string) => Type.Integer({ minimum: 100, maximum: 1_800_000, description });

export const JoinGroupRequest = Type.Object(
  {
    topics: Type.Array(Type.String(), { minItems: 1, description: 'Every one must exist (UNKNOWN_TOPIC otherwise).' }),
    sessionTimeoutMs: Optional(TimeoutMs('How long the member may stay silent before its partitions go to others (default 45000).')),
    rebalanceTimeoutMs: Optional(TimeoutMs('How long the member may take to give up a partition (default 300000).')),
    clientId: Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false, examples: [{ topics: ['orders'], sessionTimeoutMs: 6000, clientId: 'billing-1' }] },
);

export const GroupHeartbeatRequest = Type.Object(
  {
    memberEpoch: Type.Integer({ minimum: 0, description: 'The epoch of the last answer.' }),
    ownedPartitions: Optional(Nullable(Type.Array(TopicPartitions), 'What the member owns now; absent or null: unchanged.')),
    topics: Optional(Type.Array(Type.String(), { description: 'A new subscription.' })),
    sessionTimeoutMs: Optional(TimeoutMs('Absent: unchanged, the value the member joined with (KIP-848); present: the new session timeout.')),
    rebalanceTimeoutMs: Optional(TimeoutMs('A new rebalance timeout.')),
    clientId: Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false, examples: [{ memberEpoch: 3, ownedPartitions: [{ topic: 'orders', partitions: [0, 1] }] }] },
);

export const GroupHeartbeatResponse = Type.Object(
  {
    memberId: Type.String(),
    memberEpoch: Type.Integer(),
    groupEpoch: Optional(Type.Integer()),
    heartbeatIntervalMs: Type.Integer(),
    assignment: Type.Array(TopicPartitions, { description: 'What the member may own now.' }),
  },
  { examples: [{ memberId: '5f0c1b9e-8a1d-4c8f-9a63-0d6f1f2a7b10', memberEpoch: 3, groupEpoch: 3, heartbeatIntervalMs: 2000, assignment: [{ topic: 'orders', partitions: [0, 1] }] }] },
);

export const OffsetToCommit = Type.Object({
  topic: Type.String(),
  partition: partitionNumber(),
  offset: Int64('The next offset to read.', { minimum: 0 }),
  metadata: Optional(Type.String({ description: 'At most 4096 characters (OFFSET_METADATA_TOO_LARGE).' })),
});
export const CommitOffsetsRequest = Type.Object(
  {
    memberId: Optional(Nullable(Type.String(), 'Absent or null: a standalone commit (only while the group has no members).')),
    memberEpoch: Optional(Type.Integer({ minimum: 0 })),
    offsets: Type.Array(OffsetToCommit, { minItems: 1 }),
  },
  { additionalProperties: false, examples: [{ memberId: '5f0c1b9e-8a1d-4c8f-9a63-0d6f1f2a7b10', memberEpoch: 3, offsets: [{ topic: 'orders', partition: 0, offset: 42 }] }] },
);
export const CommitOffsetsResponse = Type.Object({ committed: Type.Integer({ description: 'Offsets committed.' }) }, { examples: [{ committed: 1 }] });

export const ResetOffsetsRequest = Type.Object(
  {
    topic: Type.String({ minLength: 1 }),
    partitions: Optional(Type.Array(partitionNumber(), { minItems: 1, description: 'Default: every partition.' })),
    to: Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Literal('offset'), Type.Literal('timestamp')]),
    value: Optional(Int64('The offset (to=offset) or the timestamp in ms (to=timestamp); required with those.', { minimum: 0 })),
  },
  { additionalProperties: false, examples: [{ topic: 'orders', to: 'earliest' }, { topic: 'orders', to: 'offset', value: 100, partitions: [0] }] },
);
export const ResetOffsetsResponse = Type.Object({ offsets: Type.Array(TopicPartitionOffset) }, { examples: [{ offsets: [{ topic: 'orders', partition: 0, offset: 0 }] }] });

export const GroupOffset = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  offset: Nullable(Int64('Committed: the next offset to read.')),
  metadata: Type.String(),
  highWatermark: Nullable(Int64('The partition\'s high watermark.')),
  lag: Nullable(Int64('highWatermark - offset.')),
  committedAtMs: Nullable(Int64('When.')),
  owner: Optional(Nullable(Type.String(), 'describeGroup only: the member that owns the partition now.')),
});
export const GroupOffsets = Type.Object(
  { offsets: Type.Array(GroupOffset) },
  { examples: [{ offsets: [{ topic: 'orders', partition: 0, offset: 40, metadata: '', highWatermark: 42, lag: 2, committedAtMs: 1767225600000 }] }] },
);

export const GroupState = Type.Union([Type.Literal('empty'), Type.Literal('reconciling'), Type.Literal('stable')]);
export const GroupListing = Type.Object({
  group: Type.String(),
  members: Type.Integer(),
  state: GroupState,
  type: Type.Union([Type.Literal('classic'), Type.Literal('consumer')], { description: "consumer: KIP-848 members (HTTP's and Kafka's); classic: Kafka JoinGroup members." }),
  protocolType: Type.String({ description: 'The classic members\' protocol type ("consumer" for Kafka consumers); "consumer" for a KIP-848 group.' }),
});
export const GroupList = Type.Object({ groups: Type.Array(GroupListing) }, { examples: [{ groups: [{ group: 'billing', members: 2, state: 'stable', type: 'consumer', protocolType: 'consumer' }] }] });

export const GroupMember = Type.Object({
  memberId: Type.String(),
  clientId: Type.String(),
  memberEpoch: Type.Integer(),
  subscribedTopics: Type.Array(Type.String()),
  assignment: Type.Array(TopicPartitions, { description: 'What it may own now.' }),
  pendingRevocation: Type.Array(TopicPartitions, { description: 'Told to give up, not yet released.' }),
  target: Type.Array(TopicPartitions),
  lastHeartbeatAtMs: Type.Integer(),
  sessionTimeoutMs: Type.Integer(),
  rebalanceTimeoutMs: Type.Integer(),
});
export const ClassicGroup = Type.Object(
  {
    generation: Type.Integer(),
    protocolType: Type.String({ description: '"consumer" for Kafka consumers.' }),
    protocol: Type.String({ description: 'The assignor the members chose ("range", "roundrobin", ...).' }),
    leader: Type.String({ description: 'The member that assigns.' }),
    members: Type.Array(
      Type.Object({
        memberId: Type.String(),
        groupInstanceId: Nullable(Type.String({ description: 'Static membership (group.instance.id).' })),
        clientId: Type.String(),
        clientHost: Type.String(),
        sessionTimeoutMs: Type.Integer(),
        subscribedTopics: Type.Array(Type.String()),
        assigned: Type.Array(TopicPartitions, { description: 'What the leader assigned it (empty until the leader\'s SyncGroup).' }),
      }),
    ),
  },
  { description: 'A classic Kafka group (JoinGroup/SyncGroup): its stored generation. Its members are not in `members` (those are HTTP/KIP-848 members).' },
);

export const GroupDescription = Type.Object(
  {
    group: Type.String(),
    groupEpoch: Type.Integer(),
    assignmentEpoch: Type.Integer(),
    state: GroupState,
    topicPartitions: Type.Record(Type.String(), Type.Integer(), { description: 'Partition counts of the subscribed topics.' }),
    members: Type.Array(GroupMember),
    classic: Optional(ClassicGroup),
    partitions: Type.Array(GroupOffset, { description: 'Every partition of the group\'s topics: committed offset, high watermark, lag, owner.' }),
  },
  {
    examples: [
      {
        group: 'billing', groupEpoch: 3, assignmentEpoch: 3, state: 'stable', topicPartitions: { orders: 1 },
        members: [
          {
            memberId: 'm-1', clientId: 'billing-1', memberEpoch: 3, subscribedTopics: ['orders'], assignment: [{ topic: 'orders', partitions: [0] }],
            pendingRevocation: [], target: [{ topic: 'orders', partitions: [0] }], lastHeartbeatAtMs: 1767225600000, sessionTimeoutMs: 45000, rebalanceTimeoutMs: 300000,
          },
        ],
        partitions: [{ topic: 'orders', partition: 0, offset: 40, metadata: '', highWatermark: 42, lag: 2, committedAtMs: 1767225600000, owner: 'm-1' }],
      },
    ],
  },
);

// ---- cluster and operations ------------------------------------------------------------------------

export const ClusterBroker = Type.Object({
  id: Type.String(),
  url: Type.String({ format: 'uri', description: 'Where smart clients reach it directly.' }),
  live: Type.Boolean({ description: 'Registered and heartbeating.' }),
  self: Type.Boolean(),
  leaderOf: Type.Array(Type.Object({ topic: Type.String(), partitions: Type.Array(Type.Integer()) })),
});
export const Cluster = Type.Object(
  {
    clusterId: Type.String({ description: 'In a cluster, the same at every broker (it comes from the coordinator).' }),
    mode: Type.Union([Type.Literal('single-node'), Type.Literal('cluster')]),
    self: Type.String({ description: 'Id of the broker that answered.' }),
    controller: Nullable(Type.String(), 'Broker id of the controller (null while none holds the lease).'),
    brokers: Type.Array(ClusterBroker),
  },
  {
    examples: [
      { clusterId: 'c-1', mode: 'single-node', self: 'broker-1', controller: 'broker-1', brokers: [{ id: 'broker-1', url: 'http://127.0.0.1:8080', live: true, self: true, leaderOf: [{ topic: 'orders', partitions: [0, 1, 2] }] }] },
    ],
  },
);

export const Status = Type.Object(
  {
    status: Type.String(),
    reason: Type.Optional(Type.String({ description: 'Why the broker is read-only (a full data disk).' })),
    freeBytes: Type.Optional(Type.Integer({ description: 'Free bytes on the data disk, while read-only.' })),
  },
  { examples: [{ status: 'ok' }, { status: 'read-only', reason: 'the data disk has 1048576 bytes free, below STRATA_MIN_FREE_DISK_BYTES (67108864)', freeBytes: 1048576 }] },
);
export const OpenApiDocument = Type.Object({ openapi: Type.String() }, { description: 'OpenAPI 3.1.' });

/** Every named schema: each becomes components.schemas.<name> in the OpenAPI document, referenced where used. */
export const NAMED_SCHEMAS = {
  ErrorObject, Error: ErrorBody, Encoding, HeaderEncoding, TopicConfigs, CreateTopicRequest, UpdateConfigsRequest, TopicList, TopicListing, Topic,
  TopicDeleted, PartitionInfo, OfflinePartition, Header, ProduceRecord, ProduceRequest, ProducedOffset, ProduceResponse, BatchProduceResponse, FetchRecord,
  FetchResponse, DeleteRecordsRequest, DeleteRecordsResponse, OffsetResponse, TopicPartitions, TopicPartitionOffset, JoinGroupRequest, GroupHeartbeatRequest, GroupHeartbeatResponse, OffsetToCommit,
  CommitOffsetsRequest, CommitOffsetsResponse, ResetOffsetsRequest, ResetOffsetsResponse, GroupOffset, GroupOffsets, GroupListing, GroupList, GroupMember,
  GroupDescription, ClusterBroker, Cluster, Status, ClusterEvent, EventList,
  UserName, CreateUserRequest, User, UserList, UserDeleted, IssueTokenRequest, ApiToken, IssuedToken, ApiTokenList, TokenRevoked,
} as const satisfies Record<string, TSchema>;

// ---- the types, derived --------------------------------------------------------------------------

export type ErrorObject = Static<typeof ErrorObject>;
export type ErrorBody = Static<typeof ErrorBody>;
export type Encoding = Static<typeof Encoding>;
export type HeaderEncoding = Static<typeof HeaderEncoding>;
export type TopicConfigValue = Static<typeof TopicConfigValue>;
export type CreateTopicRequest = Static<typeof CreateTopicRequest>;
export type UpdateConfigsRequest = Static<typeof UpdateConfigsRequest>;
export type TopicListing = Static<typeof TopicListing>;
export type TopicList = Static<typeof TopicList>;
export type PartitionInfo = Static<typeof PartitionInfo>;
export type OfflinePartition = Static<typeof OfflinePartition>;
export type Topic = Static<typeof Topic>;
export type TopicDeleted = Static<typeof TopicDeleted>;
export type Header = Static<typeof Header>;
export type ProduceRecord = Static<typeof ProduceRecord>;
export type ProduceRequest = Static<typeof ProduceRequest>;
export type ProducedOffset = Static<typeof ProducedOffset>;
export type ProduceResponse = Static<typeof ProduceResponse>;
export type BatchProduceResponse = Static<typeof BatchProduceResponse>;
export type InitProducerRequest = Static<typeof InitProducerRequest>;
export type InitProducerResponse = Static<typeof InitProducerResponse>;
export type FetchRecord = Static<typeof FetchRecord>;
export type FetchResponse = Static<typeof FetchResponse>;
export type OffsetResponse = Static<typeof OffsetResponse>;
export type TopicPartitions = Static<typeof TopicPartitions>;
export type TopicPartitionOffset = Static<typeof TopicPartitionOffset>;
export type JoinGroupRequest = Static<typeof JoinGroupRequest>;
export type GroupHeartbeatRequest = Static<typeof GroupHeartbeatRequest>;
export type GroupHeartbeatResponse = Static<typeof GroupHeartbeatResponse>;
export type OffsetToCommit = Static<typeof OffsetToCommit>;
export type CommitOffsetsRequest = Static<typeof CommitOffsetsRequest>;
export type CommitOffsetsResponse = Static<typeof CommitOffsetsResponse>;
export type ResetOffsetsRequest = Static<typeof ResetOffsetsRequest>;
export type ResetOffsetsResponse = Static<typeof ResetOffsetsResponse>;
export type GroupOffset = Static<typeof GroupOffset>;
export type GroupOffsets = Static<typeof GroupOffsets>;
export type GroupState = Static<typeof GroupState>;
export type GroupListing = Static<typeof GroupListing>;
export type GroupList = Static<typeof GroupList>;
export type GroupMember = Static<typeof GroupMember>;
export type GroupDescription = Static<typeof GroupDescription>;
export type ClusterBroker = Static<typeof ClusterBroker>;
export type Cluster = Static<typeof Cluster>;
export type Status = Static<typeof Status>;
