// Every route of the HTTP API v1, once: method, path, parameters, request body and answers. The
// broker's router serves exactly this table, its handlers validate bodies against it (validate.ts),
// and the OpenAPI document is generated from it (openapi.ts). Prose that is not a schema (what a
// route does, what a status means) lives here too, so the document and the code cannot drift.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import * as S from './schemas.js';
import * as Q from './schemas-quotas.js';
import * as U from './user-schemas.js';
import * as A from './acl-schemas.js';
import * as E from './event-schemas.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export const RECORD_BATCH_MEDIA_TYPE = 'application/vnd.kafka.record-batch';
export const JSON_MEDIA_TYPE = 'application/json';

export interface ParameterSpec {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly required?: boolean;
  readonly schema: TSchema;
  readonly description?: string;
}

/**
 * Shared parameters (components.parameters in the document). Path parameters are named as in the
 * path; the server checks every one against its schema before a handler runs (parameters.ts).
 */
export const PARAMETERS = {
  topic: { name: 'topic', in: 'path', required: true, schema: S.TopicName, description: 'Not a valid topic name: 400 INVALID_TOPIC; no such topic: 404 UNKNOWN_TOPIC.' },
  partition: { name: 'partition', in: 'path', required: true, schema: S.partitionNumber({ examples: [0] }), description: 'Not a non-negative integer: 400 INVALID_REQUEST; no such partition: 404 UNKNOWN_PARTITION.' },
  group: { name: 'group', in: 'path', required: true, schema: S.GroupId, description: 'Not a valid group id: 400 INVALID_GROUP_ID.' },
  user: { name: 'user', in: 'path', required: true, schema: U.UserName, description: 'No such user: 404 NOT_FOUND.' },
  token: { name: 'token', in: 'path', required: true, schema: Type.String({ pattern: '^[a-f0-9]{16}$', examples: ['3f2a9c1e5b7d4a60'] }), description: "The token's id (not its secret)." },
  member: { name: 'member', in: 'path', required: true, schema: S.MemberId, description: 'The memberId the join answered.' },
  acks: {
    name: 'acks',
    in: 'query',
    schema: Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('all'), Type.Literal('-1')], { default: 'all' }),
    description:
      '0: answer without waiting for the append. 1: after the leader\'s append. all (-1): once the high watermark covers the batch (every in-sync replica has it); NOT_ENOUGH_REPLICAS (503, retriable) when fewer than min.insync.replicas are in sync. On a single node the same as 1.',
  },
  offset: { name: 'offset', in: 'query', required: true, schema: Type.Integer(), description: 'First offset wanted; outside [logStartOffset, highWatermark] is 416.' },
  maxRecords: { name: 'maxRecords', in: 'query', schema: Type.Integer({ minimum: 1, default: 500 }), description: 'Larger values are clamped to the broker cap.' },
  maxBytes: {
    name: 'maxBytes',
    in: 'query',
    schema: Type.Integer({ minimum: 1, default: 1_048_576 }),
    description: 'Bytes of batches to read; at least one whole batch is returned if there is one. Clamped to the broker cap.',
  },
  maxWaitMs: {
    name: 'maxWaitMs',
    in: 'query',
    schema: Type.Integer({ minimum: 0, default: 0 }),
    description: 'Long-poll: wait up to this long for data when there is none at `offset`. Clamped to the broker cap.',
  },
  keyEncoding: { name: 'keyEncoding', in: 'query', schema: S.Encoding },
  valueEncoding: { name: 'valueEncoding', in: 'query', schema: S.Encoding },
  headerEncoding: { name: 'headerEncoding', in: 'query', schema: S.HeaderEncoding },
  at: {
    name: 'at',
    in: 'query',
    required: true,
    schema: Type.Union([Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Literal('max-timestamp')]), Type.Integer({ minimum: 0, description: 'a timestamp, ms since the epoch' })]),
  },
} as const satisfies Record<string, ParameterSpec>;

export type ParameterName = keyof typeof PARAMETERS;

/** The error answers a route documents (400 ... 503); 429 comes with 413, 500 and 503 with every API route. */
export type ErrorStatus = '400' | '401' | '404' | '405' | '409' | '413' | '415' | '416' | '507';

export interface Answer {
  readonly description: string;
  /** JSON unless mediaType says otherwise; absent: no body (204). */
  readonly schema?: TSchema;
  readonly mediaType?: string;
  readonly headers?: Readonly<Record<string, { description: string; schema: TSchema }>>;
}

export interface ApiRoute {
  readonly id: string;
  readonly method: HttpMethod;
  /** e.g. `/v1/topics/{topic}/partitions/{partition}/records`; `{name}` parameters come from PARAMETERS. */
  readonly path: string;
  /** Served while the broker is shutting down (health, metrics, docs); documents no error answers. */
  readonly operational?: boolean;
  /** Answered without credentials even under STRATA_AUTH=required (probes, this document). */
  readonly public?: boolean;
  readonly summary: string;
  readonly description?: string;
  readonly query?: ReadonlyArray<ParameterName | ParameterSpec>;
  /** The request body: JSON validated against `schema`, or raw bytes of `mediaType`. */
  readonly body?: { readonly schema: TSchema; readonly mediaType?: string };
  readonly answers: Readonly<Record<string, Answer>>;
  readonly errors?: readonly ErrorStatus[];
}

const binary = Type.String({ contentEncoding: 'binary' });

/** The filter of the ACL list and delete (Kafka's AclBindingFilter). */
const ACL_FILTER_QUERY: ReadonlyArray<ParameterSpec> = [
  { name: 'principal', in: 'query', schema: Type.String(), description: 'Kafka\'s form `User:<name>`.' },
  { name: 'host', in: 'query', schema: Type.String() },
  { name: 'resourceType', in: 'query', schema: A.AclResourceType },
  { name: 'patternType', in: 'query', schema: Type.Union([A.AclPatternType, Type.Literal('match'), Type.Literal('any')], { default: 'any' }) },
  { name: 'resourceName', in: 'query', schema: Type.String() },
  { name: 'operation', in: 'query', schema: A.AclOperation },
  { name: 'permission', in: 'query', schema: A.AclPermission },
];
const intHeader = (description: string) => ({ description, schema: Type.Integer() });

export const API_ROUTES = [
  // ---- topics ----
  { id: 'listTopics', method: 'GET', path: '/v1/topics', summary: 'List topics', answers: { '200': { description: 'The topics, by name.', schema: S.TopicList } } },
  {
    id: 'createTopic',
    method: 'POST',
    path: '/v1/topics',
    summary: 'Create a topic (all or nothing)',
    body: { schema: S.CreateTopicRequest },
    answers: { '201': { description: 'Created.', schema: S.Topic, headers: { Location: { description: 'The topic\'s path.', schema: Type.String() } } } },
    errors: ['400', '409', '413', '415', '507'],
  },
  { id: 'describeTopic', method: 'GET', path: '/v1/topics/{topic}', summary: 'Describe a topic and its partitions', answers: { '200': { description: 'The topic.', schema: S.Topic } }, errors: ['404'] },
  { id: 'deleteTopic', method: 'DELETE', path: '/v1/topics/{topic}', summary: 'Delete a topic and its data', answers: { '200': { description: 'Deleted.', schema: S.TopicDeleted } }, errors: ['404'] },
  {
    id: 'updateTopicConfigs',
    method: 'PATCH',
    path: '/v1/topics/{topic}/configs',
    summary: 'Change topic configs',
    description: 'Sets each given key; null resets a key to the broker default. Everything is validated before anything changes; every problem is listed in one INVALID_CONFIG.',
    body: { schema: S.UpdateConfigsRequest },
    answers: { '200': { description: 'The topic after the change.', schema: S.Topic } },
    errors: ['400', '404', '413', '415'],
  },
  {
    id: 'addTopicPartitions',
    method: 'POST',
    path: '/v1/topics/{topic}/partitions',
    summary: 'Grow a topic\'s partition count',
    description:
      'Adds partitions up to `count` (Kafka\'s CreatePartitions, which the Kafka listener serves through the same call). Existing partitions and their data are untouched; ' +
      'keyed records may map to other partitions from now on, as in Kafka. A count not above the current one is INVALID_PARTITIONS.',
    body: { schema: S.AddPartitionsRequest },
    answers: { '200': { description: 'The topic after the change (or as it is, with validateOnly).', schema: S.Topic } },
    errors: ['400', '404', '413', '415', '507'],
  },
  // ---- produce and fetch ----
  {
    id: 'produceRecords',
    method: 'POST',
    path: '/v1/topics/{topic}/records',
    summary: 'Produce JSON records',
    description:
      'Records with an explicit `partition` go there; keyed records go to toPositive(murmur2(key bytes)) % partitions (Kafka\'s default partitioner, on the decoded key bytes); ' +
      'keyless records of one request all go to one partition, rotating round-robin across requests. One RecordBatch is written per partition; offsets are answered in request order. ' +
      'The whole request is validated before anything is written.',
    query: ['acks'],
    body: { schema: S.ProduceRequest },
    answers: {
      '200': { description: 'Appended; one entry per record, in request order.', schema: S.ProduceResponse },
      '202': { description: 'acks=0: validated and handed to the log, not waited for; offsets are -1.', schema: S.ProduceResponse },
      '207': { description: 'Some partitions failed: their records carry `error` and offset -1; the others were appended.', schema: S.ProduceResponse },
    },
    errors: ['400', '404', '413', '415', '507'],
  },
  {
    id: 'produceBatches',
    method: 'POST',
    path: '/v1/topics/{topic}/partitions/{partition}/batches',
    summary: 'Produce raw RecordBatch v2 bytes',
    description:
      'The body is one or more whole Kafka RecordBatch v2 (magic 2) batches. Framing, CRC-32C, counts, compression and every record are validated; ' +
      'the records may be compressed with any of Kafka\'s codecs (gzip, snappy raw or xerial-framed, lz4 frames, zstd), decompressed within STRATA_MAX_DECOMPRESSED_BYTES; ' +
      'the broker assigns offsets (rewriting baseOffset) and stamps partitionLeaderEpoch. Each batch may be at most the topic\'s max.message.bytes; the batches of one body get contiguous offsets, in body order.',
    query: ['acks'],
    body: { schema: binary, mediaType: RECORD_BATCH_MEDIA_TYPE },
    answers: {
      '200': { description: 'Appended.', schema: S.BatchProduceResponse },
      '202': { description: 'acks=0: validated and handed to the log; offsets are -1.', schema: S.BatchProduceResponse },
    },
    errors: ['400', '404', '409', '413', '415', '507'],
  },
  {
    id: 'fetchRecords',
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/records',
    summary: 'Fetch records as JSON',
    description:
      'Records at and after `offset` (earlier records of the first batch are skipped), at most maxRecords and at most maxBytes of ' +
      'JSON records (at least one record). With maxWaitMs, waits until a record at/after `offset` is appended.',
    query: ['offset', 'maxRecords', 'maxBytes', 'maxWaitMs', 'keyEncoding', 'valueEncoding', 'headerEncoding'],
    answers: { '200': { description: 'Records (possibly none).', schema: S.FetchResponse } },
    errors: ['400', '404', '416'],
  },
  {
    id: 'fetchBatches',
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/batches',
    summary: 'Fetch raw RecordBatch v2 bytes',
    description: 'Whole batches as stored; the first may begin before `offset` (skip its earlier records). Empty body when there is nothing (after maxWaitMs).',
    query: ['offset', 'maxBytes', 'maxWaitMs'],
    answers: {
      '200': {
        description: 'Batches (possibly none).',
        schema: binary,
        mediaType: RECORD_BATCH_MEDIA_TYPE,
        headers: {
          'Strata-High-Watermark': intHeader('The partition\'s high watermark.'),
          'Strata-Log-Start-Offset': intHeader('The first offset still retained.'),
          'Strata-Next-Offset': intHeader('The offset to ask for next.'),
          'Strata-Batch-Count': intHeader('Batches in the body.'),
        },
      },
    },
    errors: ['400', '404', '416'],
  },
  {
    id: 'listOffsets',
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/offsets',
    summary: 'Look up an offset',
    description:
      'earliest: the log start offset; latest: the high watermark (the next offset to be written); max-timestamp: the first record with the largest timestamp, with that timestamp (Kafka\'s KIP-734), or the high watermark (without timestamp) if there is none; a timestamp: the first offset whose record timestamp is >= it, or the high watermark (without timestamp) if there is none.',
    query: ['at'],
    answers: { '200': { description: 'The offset.', schema: S.OffsetResponse } },
    errors: ['400', '404'],
  },
  {
    id: 'deleteRecords',
    method: 'POST',
    path: '/v1/topics/{topic}/partitions/{partition}/delete-records',
    summary: 'Delete the records below an offset',
    description:
      'Moves the partition\'s log start up to `beforeOffset` (Kafka\'s DeleteRecords, which the Kafka listener serves through the same call), on the leader: a broker that does not lead the partition forwards it. ' +
      'The new log start is kept by every broker and a later leader; reads below it answer OFFSET_OUT_OF_RANGE. Above the high watermark: OFFSET_OUT_OF_RANGE, nothing deleted.',
    body: { schema: S.DeleteRecordsRequest },
    answers: { '200': { description: 'The new log start.', schema: S.DeleteRecordsResponse } },
    errors: ['400', '404', '413', '415', '416'],
  },
  // ---- consumer groups ----
  { id: 'listGroups', method: 'GET', path: '/v1/groups', summary: 'List consumer groups', answers: { '200': { description: 'The groups.', schema: S.GroupList } } },
  {
    id: 'describeGroup',
    method: 'GET',
    path: '/v1/groups/{group}',
    summary: 'Describe a group: members, assignment, per-partition committed offset and lag',
    answers: { '200': { description: 'The group.', schema: S.GroupDescription } },
    errors: ['400', '404'],
  },
  {
    id: 'deleteGroup',
    method: 'DELETE',
    path: '/v1/groups/{group}',
    summary: 'Delete a group and its offsets (only while it has no members: NON_EMPTY_GROUP)',
    answers: { '204': { description: 'Deleted.' } },
    errors: ['400', '404', '409'],
  },
  {
    id: 'joinGroup',
    method: 'POST',
    path: '/v1/groups/{group}/members',
    summary: 'Join a group (the broker picks the member id)',
    description: 'Every subscribed topic must exist (UNKNOWN_TOPIC otherwise). The answer carries the partitions the member may own now; heartbeat every heartbeatIntervalMs.',
    body: { schema: S.JoinGroupRequest },
    answers: { '200': { description: 'Joined.', schema: S.GroupHeartbeatResponse } },
    errors: ['400', '404', '409', '413', '415'],
  },
  {
    id: 'groupHeartbeat',
    method: 'POST',
    path: '/v1/groups/{group}/members/{member}/heartbeat',
    summary: 'Heartbeat: report owned partitions, get the current assignment',
    description: '404 UNKNOWN_MEMBER_ID (left, or the session expired) and 409 FENCED_MEMBER_EPOCH: drop every partition without committing and join again.',
    body: { schema: S.GroupHeartbeatRequest },
    answers: { '200': { description: 'The member\'s epoch and current assignment.', schema: S.GroupHeartbeatResponse } },
    errors: ['400', '404', '409', '413', '415'],
  },
  {
    id: 'leaveGroup',
    method: 'DELETE',
    path: '/v1/groups/{group}/members/{member}',
    summary: 'Leave the group: the member\'s partitions go to the others at once',
    answers: { '204': { description: 'Left.' } },
    errors: ['400', '404'],
  },
  {
    id: 'commitGroupOffsets',
    method: 'POST',
    path: '/v1/groups/{group}/offsets',
    summary: 'Commit offsets (fenced by member id and epoch; without memberId a standalone commit, only while the group is empty)',
    description: 'All or nothing: an unknown topic or partition (404), a negative offset (400), an unknown member (404) or a stale epoch (409) commits nothing.',
    body: { schema: S.CommitOffsetsRequest },
    answers: { '200': { description: 'Committed.', schema: S.CommitOffsetsResponse } },
    errors: ['400', '404', '409', '413', '415'],
  },
  {
    id: 'fetchGroupOffsets',
    method: 'GET',
    path: '/v1/groups/{group}/offsets',
    summary: 'Committed offsets with high watermark and lag (lag = highWatermark - offset)',
    query: [{ name: 'topic', in: 'query', schema: Type.String(), description: 'Only this topic.' }],
    answers: { '200': { description: 'The offsets.', schema: S.GroupOffsets } },
    errors: ['400'],
  },
  {
    id: 'resetGroupOffsets',
    method: 'POST',
    path: '/v1/groups/{group}/offsets/reset',
    summary: 'Move a group\'s offsets (only while it has no members: NON_EMPTY_GROUP)',
    description:
      'earliest: the log start across tiers; latest: the high watermark; offset: value, clamped into [log start, high watermark]; timestamp: the first record at or after value (ms), else the high watermark.',
    body: { schema: S.ResetOffsetsRequest },
    answers: { '200': { description: 'The offsets set.', schema: S.ResetOffsetsResponse } },
    errors: ['400', '404', '409', '413', '415'],
  },
  // ---- idempotent producers ----
  {
    id: 'initProducerId',
    method: 'POST',
    path: '/v1/producers',
    summary: 'Get an idempotent producer id (Kafka\'s InitProducerId)',
    description:
      'A producer id no producer got before, with epoch 0. Stamp both into every RecordBatch the producer sends, with a baseSequence per partition starting at 0 ' +
      'and growing by the batch\'s record count (wrapping at 2^31-1 to 0). Each partition then writes a batch once: a retry of one of the producer\'s last five batches ' +
      'is answered with the offsets it was first written at; a gap is refused (OUT_OF_ORDER_SEQUENCE_NUMBER), an older epoch too (INVALID_PRODUCER_EPOCH). ' +
      'A partition forgets a producer idle longer than STRATA_PRODUCER_ID_EXPIRATION_MS.',
    body: { schema: S.InitProducerRequest },
    answers: { '200': { description: 'The producer id and epoch.', schema: S.InitProducerResponse } },
    errors: ['400', '413', '415'],
  },
  // ---- client quotas ----
  {
    id: 'listQuotas',
    method: 'GET',
    path: '/v1/quotas',
    summary: 'List client quotas (Kafka\'s DescribeClientQuotas)',
    answers: { '200': { description: 'Every stored quota.', schema: Q.QuotaList } },
  },
  {
    id: 'alterQuotas',
    method: 'POST',
    path: '/v1/quotas',
    summary: 'Set and remove client quotas (Kafka\'s AlterClientQuotas; all or nothing)',
    description:
      'Each change names an entity (user, clientId, both, or ip; null for a type\'s default) and the keys to set or remove. For each key a client is held to the most specific ' +
      'entity that has it, in Kafka\'s order (user and client id, user and default client, user, default user and client id, ..., default client id). Enforced per broker: ' +
      'Kafka clients get throttle_time_ms and a muted connection, HTTP clients 429 with Retry-After. Every broker applies a change within STRATA_QUOTA_REFRESH_INTERVAL_MS.',
    body: { schema: Q.AlterQuotasRequest },
    answers: { '200': { description: 'Every stored quota after the change.', schema: Q.QuotaList } },
    errors: ['400', '413', '415'],
  },
  // ---- users and API tokens (issue #14) ----
  {
    id: 'whoami',
    method: 'GET',
    path: '/v1/whoami',
    summary: 'The principal this request was authenticated as',
    description: 'Needs no ACL: anyone may learn who they are. With STRATA_AUTH=required a request without credentials is 401, so a client (the console) can check credentials before keeping them.',
    answers: { '200': { description: 'The principal and how this broker authenticates.', schema: U.WhoAmI } },
  },
  { id: 'listUsers', method: 'GET', path: '/v1/users', summary: 'List users (never a password or key)', answers: { '200': { description: 'The users, by name.', schema: U.UserList } } },
  {
    id: 'createUser',
    method: 'POST',
    path: '/v1/users',
    summary: 'Create a user, or replace its password',
    description: 'The password is stored as SCRAM-SHA-256 and SCRAM-SHA-512 salts and keys only; it authenticates HTTP Basic and Kafka SASL PLAIN and SCRAM.',
    body: { schema: U.CreateUserRequest },
    answers: { '201': { description: 'Created.', schema: U.User }, '200': { description: 'The password of an existing user replaced.', schema: U.User } },
    errors: ['400', '413', '415'],
  },
  { id: 'deleteUser', method: 'DELETE', path: '/v1/users/{user}', summary: 'Delete a user and its API tokens', answers: { '200': { description: 'Deleted.', schema: U.UserDeleted } }, errors: ['404'] },
  { id: 'listTokens', method: 'GET', path: '/v1/users/{user}/tokens', summary: "A user's API tokens (never their secrets)", answers: { '200': { description: 'The tokens.', schema: U.ApiTokenList } }, errors: ['404'] },
  {
    id: 'issueToken',
    method: 'POST',
    path: '/v1/users/{user}/tokens',
    summary: 'Issue an API token (its secret is answered this once)',
    body: { schema: U.IssueTokenRequest },
    answers: { '201': { description: 'Issued.', schema: U.IssuedToken } },
    errors: ['400', '404', '413', '415'],
  },
  { id: 'revokeToken', method: 'DELETE', path: '/v1/users/{user}/tokens/{token}', summary: 'Revoke an API token', answers: { '200': { description: 'Revoked.', schema: U.TokenRevoked } }, errors: ['404'] },
  // ---- ACLs ----
  {
    id: 'createAcls',
    method: 'POST',
    path: '/v1/acls',
    summary: 'Add ACL bindings (Kafka\'s CreateAcls; needs alter on the cluster)',
    description: 'All or nothing: every binding is checked first (400, nothing stored). A binding stored already is not stored twice. Every broker applies them within STRATA_ACL_REFRESH_INTERVAL_MS.',
    body: { schema: A.CreateAclsRequest },
    answers: { '200': { description: 'Stored.', schema: A.CreateAclsResponse } },
    errors: ['400', '413', '415'],
  },
  {
    id: 'listAcls',
    method: 'GET',
    path: '/v1/acls',
    summary: 'List ACL bindings matching a filter (Kafka\'s DescribeAcls; needs describe on the cluster)',
    description: 'Each parameter left out matches any value. patternType=match with resourceName lists every binding that applies to that resource (its literal, "*" and the prefixes of the name).',
    query: ACL_FILTER_QUERY,
    answers: { '200': { description: 'The bindings.', schema: A.AclList } },
    errors: ['400'],
  },
  {
    id: 'deleteAcls',
    method: 'DELETE',
    path: '/v1/acls',
    summary: 'Delete the ACL bindings matching a filter (Kafka\'s DeleteAcls; needs alter on the cluster)',
    description: 'The same filter as the list. A filter with no parameter matches every binding.',
    query: ACL_FILTER_QUERY,
    answers: { '200': { description: 'What was deleted.', schema: A.AclsDeleted } },
    errors: ['400'],
  },
  // ---- cluster and operations ----
  { id: 'describeCluster', method: 'GET', path: '/v1/cluster', summary: 'Brokers and leadership', answers: { '200': { description: 'The cluster.', schema: S.Cluster } } },
  {
    id: 'listEvents',
    method: 'GET',
    path: '/v1/events',
    summary: 'Cluster events: leadership moves, ISR changes, uploads, membership, errors (needs describe on the cluster)',
    description:
      'Each broker keeps its recent events in memory (STRATA_EVENTS_KEPT_MAX, STRATA_EVENTS_KEPT_BYTES_MAX); the answering broker asks every other live broker for theirs (within STRATA_EVENTS_PEER_TIMEOUT_MS) and merges them by time. A broker that does not answer is listed in `brokers` with ok: false, and the answer is still 200. To follow the feed, ask again with since = next (a little earlier to cover clock skew between brokers) and drop the events already seen by (broker, seq).',
    query: E.EVENTS_QUERY,
    answers: { '200': { description: 'The events, oldest first.', schema: E.EventList } },
    errors: ['400'],
  },
  { id: 'openapi', method: 'GET', path: '/v1/openapi.json', operational: true, public: true, summary: 'This document', answers: { '200': { description: 'OpenAPI 3.1.', schema: S.OpenApiDocument } } },
  {
    id: 'metrics',
    method: 'GET',
    path: '/metrics',
    operational: true,
    summary: 'Prometheus metrics',
    description: 'Under STRATA_AUTH=required it needs credentials, and with STRATA_AUTHORIZER=acl describe on the cluster (the labels name every topic and group), unless STRATA_METRICS_PUBLIC=true.',
    answers: { '200': { description: 'Prometheus text exposition format.', schema: Type.String(), mediaType: 'text/plain' } },
  },
  { id: 'healthz', method: 'GET', path: '/healthz', operational: true, public: true, summary: 'Liveness', answers: { '200': { description: 'The process is up.', schema: S.Status } } },
  {
    id: 'readyz',
    method: 'GET',
    path: '/readyz',
    operational: true,
    public: true,
    summary: 'Readiness',
    description: 'Ready once every partition log is recovered and the listener is up; 503 while starting or shutting down.',
    answers: { '200': { description: 'Ready.', schema: S.Status }, '503': { description: 'Not ready (status: starting, closing, closed; or read-only, with a reason and freeBytes, while the data disk is below STRATA_MIN_FREE_DISK_BYTES).', schema: S.Status } },
  },
] as const satisfies readonly ApiRoute[];

export type RouteId = (typeof API_ROUTES)[number]['id'];

/** The route with this id (every id is in the table: the type says so). */
export function apiRoute(id: RouteId): ApiRoute {
  return API_ROUTES.find((r) => r.id === id)!;
}

type RouteOf<Id extends RouteId> = Extract<(typeof API_ROUTES)[number], { id: Id }>;

/** The routes whose body is JSON (checked against its schema). */
export type JsonBodyRouteId = {
  [K in RouteId]: RouteOf<K> extends { body: { schema: TSchema } } ? (RouteOf<K> extends { body: { mediaType: string } } ? never : K) : never;
}[RouteId];

/** The type of a route's JSON body, once it passed its schema. */
export type RequestBody<Id extends JsonBodyRouteId> = Static<Extract<RouteOf<Id>, { body: { schema: TSchema } }>['body']['schema']>;

/** The 2xx answers' bodies of a route (what its handler replies with). */
export type ReplyBody<Id extends RouteId> = {
  [S in keyof RouteOf<Id>['answers']]: RouteOf<Id>['answers'][S] extends { schema: infer T extends TSchema } ? Static<T> : never;
}[keyof RouteOf<Id>['answers']];
