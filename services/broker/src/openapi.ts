// The HTTP API v1 as an OpenAPI 3.1 document (GET /v1/openapi.json). The
// topic-config schema and the error-code enum are generated from the same
// tables the broker validates with, so the document cannot drift from them.

import { ERROR_CATALOGUE } from '@strata/protocol';
import type { BrokerConfig } from './config.js';
import { ERROR_CODES, HTTP_STATUS_BY_CODE } from './http/errors.js';
import { RECORD_BATCH_MEDIA_TYPE } from './http/body.js';
import { TOPIC_CONFIG_KEYS, TOPIC_CONFIG_SPECS } from './topics/topic-config.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
const json = (schema: Json): Json => ({ 'application/json': { schema } });
const ok = (description: string, schema: Json): Json => ({ description, content: json(schema) });
const int64 = (description: string, extra: Json = {}): Json => ({ type: 'integer', format: 'int64', description, ...extra });

const ERROR_RESPONSES: Record<string, { name: string; description: string }> = {
  '400': { name: 'BadRequest', description: 'Bad input (INVALID_REQUEST, INVALID_TOPIC, INVALID_CONFIG, INVALID_PARTITIONS, CORRUPT_MESSAGE, INVALID_RECORD, ...). Nothing was changed.' },
  '404': { name: 'NotFound', description: 'Unknown topic, partition, group member, group or route (UNKNOWN_TOPIC, UNKNOWN_PARTITION, UNKNOWN_MEMBER_ID, NOT_FOUND).' },
  '405': { name: 'MethodNotAllowed', description: 'METHOD_NOT_ALLOWED; the Allow header lists the methods.' },
  '409': { name: 'Conflict', description: 'TOPIC_ALREADY_EXISTS, FENCED_LEADER_EPOCH, FENCED_MEMBER_EPOCH (drop the partitions and rejoin), NON_EMPTY_GROUP, GROUP_MAX_SIZE_REACHED, GROUP_LIMIT_REACHED.' },
  '413': { name: 'TooLarge', description: 'MESSAGE_TOO_LARGE: a body over the request cap (STRATA_MAX_REQUEST_BYTES), a batch over the topic\'s max.message.bytes, or request headers over the HTTP parser\'s limit (any route).' },
  '429': { name: 'Throttled', description: 'THROTTLING_QUOTA_EXCEEDED (retriable; Retry-After): the request bodies in flight on the connection, the client address or the broker hold their limit; the body was not read.' },
  '415': { name: 'UnsupportedMediaType', description: 'UNSUPPORTED_MEDIA_TYPE.' },
  '416': { name: 'OffsetOutOfRange', description: 'OFFSET_OUT_OF_RANGE; details carry logStartOffset, logEndOffset and highWatermark.' },
  '507': { name: 'StorageFull', description: 'STORAGE_FULL (retriable; Retry-After): the data disk is below STRATA_MIN_FREE_DISK_BYTES; the broker is read-only until space returns.' },
  '500': { name: 'InternalError', description: 'INTERNAL_ERROR: a bug; see the broker log.' },
  '503': { name: 'Unavailable', description: 'Retriable (retriable: true; Retry-After): BROKER_SHUTTING_DOWN, STORAGE_ERROR, NOT_LEADER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT (also a request body that stopped arriving).' },
};

function errors(...statuses: string[]): Json {
  const out: Json = {};
  // Every route that reads a body (those that may answer 413) may also be throttled.
  const throttled = statuses.includes('413') ? ['429'] : [];
  for (const s of [...statuses, ...throttled, '500', '503']) out[s] = { $ref: `#/components/responses/${ERROR_RESPONSES[s]!.name}` };
  return out;
}

function topicConfigsSchema(defaults: BrokerConfig['topicDefaults']['configs'] | undefined, nullable: boolean): Json {
  const properties: Json = {};
  for (const key of TOPIC_CONFIG_KEYS) {
    const spec = TOPIC_CONFIG_SPECS[key];
    let schema: Json;
    if (spec.kind === 'int') {
      const range: Json = { type: 'integer', minimum: spec.min, maximum: spec.max };
      const specials: Json[] = [];
      if (spec.minusOneMeans !== undefined) specials.push({ const: -1, description: spec.minusOneMeans });
      if (spec.minusTwoMeans !== undefined) specials.push({ const: -2, description: spec.minusTwoMeans });
      schema = specials.length > 0 ? { oneOf: [range, ...specials] } : range;
      schema = { anyOf: [schema, { type: 'string', pattern: '^-?\\d+$', description: 'the same integer as a string (Kafka style)' }] };
    } else {
      schema = { type: 'string', enum: [...spec.values] };
    }
    if (nullable) schema = { anyOf: [schema, { type: 'null', description: 'reset to the broker default' }] };
    properties[key] = { ...schema, description: spec.description, ...(defaults ? { default: defaults[key] } : {}) };
  }
  return { type: 'object', properties, additionalProperties: false };
}

export function buildOpenApiDocument(options: { serverUrl: string; config?: BrokerConfig }): Json {
  const config = options.config;
  const statusTable = Object.entries(HTTP_STATUS_BY_CODE)
    .map(([code, status]) => `| ${code} | ${status} | ${ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].retriable} |`)
    .join('\n');
  const topicPath = { parameters: [param('topic')] };
  const partitionPath = { parameters: [param('topic'), param('partition')] };
  const groupPath = { parameters: [param('group')] };
  const memberPath = { parameters: [param('group'), param('member')] };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Strata HTTP API',
      version: '1.0.0',
      description:
        'A durable, replayable, partitioned log (the Kafka model). Offsets and timestamps are JSON numbers (safe integers).\n\n' +
        'Every error is `{"error": {"code", "message", "retriable", "details"?}}`, also for a request the HTTP parser refuses on any route ' +
        '(400 INVALID_REQUEST malformed, 405 METHOD_NOT_ALLOWED unknown method or CONNECT, 413 MESSAGE_TOO_LARGE headers too large; the connection is then closed). Codes and statuses:\n\n' +
        '| code | status | retriable |\n|---|---|---|\n' +
        statusTable,
    },
    servers: [{ url: options.serverUrl }],
    paths: {
      '/v1/topics': {
        get: {
          operationId: 'listTopics',
          summary: 'List topics',
          responses: { '200': ok('The topics, by name.', ref('TopicList')), ...errors() },
        },
        post: {
          operationId: 'createTopic',
          summary: 'Create a topic (all or nothing)',
          requestBody: { required: true, content: json(ref('CreateTopicRequest')) },
          responses: {
            '201': { ...ok('Created.', ref('Topic')), headers: { Location: { schema: { type: 'string' } } } },
            ...errors('400', '409', '413', '415', '507'),
          },
        },
      },
      '/v1/topics/{topic}': {
        ...topicPath,
        get: { operationId: 'describeTopic', summary: 'Describe a topic and its partitions', responses: { '200': ok('The topic.', ref('Topic')), ...errors('404') } },
        delete: {
          operationId: 'deleteTopic',
          summary: 'Delete a topic and its data',
          responses: {
            '200': ok('Deleted.', { type: 'object', required: ['name', 'deleted'], properties: { name: { type: 'string' }, deleted: { const: true } } }),
            ...errors('404'),
          },
        },
      },
      '/v1/topics/{topic}/configs': {
        ...topicPath,
        patch: {
          operationId: 'updateTopicConfigs',
          summary: 'Change topic configs',
          description: 'Sets each given key; null resets a key to the broker default. Everything is validated before anything changes; every problem is listed in one INVALID_CONFIG.',
          requestBody: { required: true, content: json(ref('UpdateConfigsRequest')) },
          responses: { '200': ok('The topic after the change.', ref('Topic')), ...errors('400', '404', '413', '415') },
        },
      },
      '/v1/topics/{topic}/records': {
        ...topicPath,
        post: {
          operationId: 'produceRecords',
          summary: 'Produce JSON records',
          description:
            'Records with an explicit `partition` go there; keyed records go to toPositive(murmur2(key bytes)) % partitions (Kafka\'s default partitioner, on the decoded key bytes); ' +
            'keyless records of one request all go to one partition, rotating round-robin across requests. One RecordBatch is written per partition; offsets are answered in request order. ' +
            'The whole request is validated before anything is written.',
          parameters: [param('acks')],
          requestBody: { required: true, content: json(ref('ProduceRequest')) },
          responses: {
            '200': ok('Appended; one entry per record, in request order.', ref('ProduceResponse')),
            '202': ok('acks=0: validated and handed to the log, not waited for; offsets are -1.', ref('ProduceResponse')),
            '207': ok('Some partitions failed: their records carry `error` and offset -1; the others were appended.', ref('ProduceResponse')),
            ...errors('400', '404', '413', '415', '507'),
          },
        },
      },
      '/v1/topics/{topic}/partitions/{partition}/batches': {
        ...partitionPath,
        post: {
          operationId: 'produceBatches',
          summary: 'Produce raw RecordBatch v2 bytes',
          description:
            'The body is one or more whole Kafka RecordBatch v2 (magic 2) batches. Framing, CRC-32C, counts, compression and every record are validated; ' +
            'the broker assigns offsets (rewriting baseOffset) and stamps partitionLeaderEpoch. Each batch may be at most the topic\'s max.message.bytes; the batches of one body get contiguous offsets, in body order.',
          parameters: [param('acks')],
          requestBody: { required: true, content: { [RECORD_BATCH_MEDIA_TYPE]: { schema: { type: 'string', contentEncoding: 'binary' } } } },
          responses: {
            '200': ok('Appended.', ref('BatchProduceResponse')),
            '202': ok('acks=0: validated and handed to the log; offsets are -1.', ref('BatchProduceResponse')),
            ...errors('400', '404', '413', '415', '507'),
          },
        },
        get: {
          operationId: 'fetchBatches',
          summary: 'Fetch raw RecordBatch v2 bytes',
          description: 'Whole batches as stored; the first may begin before `offset` (skip its earlier records). Empty body when there is nothing (after maxWaitMs).',
          parameters: [param('offset'), param('maxBytes'), param('maxWaitMs')],
          responses: {
            '200': {
              description: 'Batches (possibly none).',
              headers: {
                'Strata-High-Watermark': { schema: { type: 'integer' }, description: 'The partition\'s high watermark.' },
                'Strata-Log-Start-Offset': { schema: { type: 'integer' }, description: 'The first offset still retained.' },
                'Strata-Next-Offset': { schema: { type: 'integer' }, description: 'The offset to ask for next.' },
                'Strata-Batch-Count': { schema: { type: 'integer' }, description: 'Batches in the body.' },
              },
              content: { [RECORD_BATCH_MEDIA_TYPE]: { schema: { type: 'string', contentEncoding: 'binary' } } },
            },
            ...errors('400', '404', '416'),
          },
        },
      },
      '/v1/topics/{topic}/partitions/{partition}/records': {
        ...partitionPath,
        get: {
          operationId: 'fetchRecords',
          summary: 'Fetch records as JSON',
          description:
            'Records at and after `offset` (earlier records of the first batch are skipped), at most maxRecords and at most maxBytes of ' +
            'JSON records (at least one record). With maxWaitMs, waits until a record at/after `offset` is appended.',
          parameters: [param('offset'), param('maxRecords'), param('maxBytes'), param('maxWaitMs'), param('keyEncoding'), param('valueEncoding'), param('headerEncoding')],
          responses: { '200': ok('Records (possibly none).', ref('FetchResponse')), ...errors('400', '404', '416') },
        },
      },
      '/v1/topics/{topic}/partitions/{partition}/offsets': {
        ...partitionPath,
        get: {
          operationId: 'listOffsets',
          summary: 'Look up an offset',
          description: 'earliest: the log start offset; latest: the high watermark (the next offset to be written); a timestamp: the first offset whose record timestamp is >= it, or the high watermark (without timestamp) if there is none.',
          parameters: [param('at')],
          responses: { '200': ok('The offset.', ref('OffsetResponse')), ...errors('400', '404') },
        },
      },
      '/v1/groups': {
        get: { operationId: 'listGroups', summary: 'List consumer groups', responses: { '200': ok('The groups.', ref('GroupList')), ...errors() } },
      },
      '/v1/groups/{group}': {
        ...groupPath,
        get: {
          operationId: 'describeGroup',
          summary: 'Describe a group: members, assignment, per-partition committed offset and lag',
          responses: { '200': ok('The group.', ref('GroupDescription')), ...errors('400', '404') },
        },
        delete: {
          operationId: 'deleteGroup',
          summary: 'Delete a group and its offsets (only while it has no members: NON_EMPTY_GROUP)',
          responses: { '204': { description: 'Deleted.' }, ...errors('400', '404', '409') },
        },
      },
      '/v1/groups/{group}/members': {
        ...groupPath,
        post: {
          operationId: 'joinGroup',
          summary: 'Join a group (the broker picks the member id)',
          description: 'Every subscribed topic must exist (UNKNOWN_TOPIC otherwise). The answer carries the partitions the member may own now; heartbeat every heartbeatIntervalMs.',
          requestBody: { required: true, content: json(ref('JoinGroupRequest')) },
          responses: { '200': ok('Joined.', ref('GroupHeartbeatResponse')), ...errors('400', '404', '409') },
        },
      },
      '/v1/groups/{group}/members/{member}': {
        ...memberPath,
        delete: {
          operationId: 'leaveGroup',
          summary: 'Leave the group: the member\'s partitions go to the others at once',
          responses: { '204': { description: 'Left.' }, ...errors('400', '404') },
        },
      },
      '/v1/groups/{group}/members/{member}/heartbeat': {
        ...memberPath,
        post: {
          operationId: 'groupHeartbeat',
          summary: 'Heartbeat: report owned partitions, get the current assignment',
          description: '404 UNKNOWN_MEMBER_ID (left, or the session expired) and 409 FENCED_MEMBER_EPOCH: drop every partition without committing and join again.',
          requestBody: { required: true, content: json(ref('GroupHeartbeatRequest')) },
          responses: { '200': ok('The member\'s epoch and current assignment.', ref('GroupHeartbeatResponse')), ...errors('400', '404', '409') },
        },
      },
      '/v1/groups/{group}/offsets': {
        ...groupPath,
        post: {
          operationId: 'commitGroupOffsets',
          summary: 'Commit offsets (fenced by member id and epoch; without memberId a standalone commit, only while the group is empty)',
          description: 'All or nothing: an unknown topic or partition (404), a negative offset (400), an unknown member (404) or a stale epoch (409) commits nothing.',
          requestBody: { required: true, content: json(ref('CommitOffsetsRequest')) },
          responses: { '200': ok('Committed.', { type: 'object', properties: { committed: { type: 'integer' } } }), ...errors('400', '404', '409') },
        },
        get: {
          operationId: 'fetchGroupOffsets',
          summary: 'Committed offsets with high watermark and lag (lag = highWatermark - offset)',
          parameters: [{ name: 'topic', in: 'query', schema: { type: 'string' }, description: 'Only this topic.' }],
          responses: { '200': ok('The offsets.', ref('GroupOffsets')), ...errors('400') },
        },
      },
      '/v1/groups/{group}/offsets/reset': {
        ...groupPath,
        post: {
          operationId: 'resetGroupOffsets',
          summary: 'Move a group\'s offsets (only while it has no members: NON_EMPTY_GROUP)',
          description: 'earliest: the log start across tiers; latest: the high watermark; offset: value, clamped into [log start, high watermark]; timestamp: the first record at or after value (ms), else the high watermark.',
          requestBody: { required: true, content: json(ref('ResetOffsetsRequest')) },
          responses: { '200': ok('The offsets set.', { type: 'object', properties: { offsets: { type: 'array', items: ref('TopicPartitionOffset') } } }), ...errors('400', '404', '409') },
        },
      },
      '/v1/cluster': {
        get: { operationId: 'describeCluster', summary: 'Brokers and leadership', responses: { '200': ok('The cluster.', ref('Cluster')), ...errors() } },
      },
      '/v1/openapi.json': {
        get: { operationId: 'openapi', summary: 'This document', responses: { '200': ok('OpenAPI 3.1.', { type: 'object' }) } },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/healthz': {
        get: { operationId: 'healthz', summary: 'Liveness', responses: { '200': ok('The process is up.', ref('Status')) } },
      },
      '/readyz': {
        get: {
          operationId: 'readyz',
          summary: 'Readiness',
          description: 'Ready once every partition log is recovered and the listener is up; 503 while starting or shutting down.',
          responses: { '200': ok('Ready.', ref('Status')), '503': ok('Not ready (status: starting, closing, closed; or read-only, with a reason and freeBytes, while the data disk is below STRATA_MIN_FREE_DISK_BYTES).', ref('Status')) },
        },
      },
    },
    components: {
      parameters: {
        topic: { name: 'topic', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,249}$' } },
        partition: { name: 'partition', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
        group: { name: 'group', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,249}$' }, description: 'Not "." or "..": INVALID_GROUP_ID.' },
        member: { name: 'member', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,128}$' }, description: 'The memberId the join answered.' },
        acks: {
          name: 'acks',
          in: 'query',
          schema: { type: 'string', enum: ['0', '1', 'all', '-1'], default: 'all' },
          description: '0: answer without waiting for the append. 1: after the leader\'s append. all (-1): once the high watermark covers the batch (every in-sync replica has it); NOT_ENOUGH_REPLICAS (503, retriable) when fewer than min.insync.replicas are in sync. On a single node the same as 1.',
        },
        offset: { name: 'offset', in: 'query', required: true, schema: { type: 'integer' }, description: 'First offset wanted; outside [logStartOffset, highWatermark] is 416.' },
        maxRecords: {
          name: 'maxRecords',
          in: 'query',
          schema: { type: 'integer', minimum: 1, default: 500, ...(config ? { maximum: config.fetchMaxRecordsCap } : {}) },
          description: 'Larger values are clamped to the broker cap.',
        },
        maxBytes: {
          name: 'maxBytes',
          in: 'query',
          schema: { type: 'integer', minimum: 1, default: 1_048_576, ...(config ? { maximum: config.fetchMaxBytesCap } : {}) },
          description: 'Bytes of batches to read; at least one whole batch is returned if there is one. Clamped to the broker cap.',
        },
        maxWaitMs: {
          name: 'maxWaitMs',
          in: 'query',
          schema: { type: 'integer', minimum: 0, default: 0, ...(config ? { maximum: config.fetchMaxWaitMsCap } : {}) },
          description: 'Long-poll: wait up to this long for data when there is none at `offset`. Clamped to the broker cap.',
        },
        keyEncoding: { name: 'keyEncoding', in: 'query', schema: ref('Encoding') },
        valueEncoding: { name: 'valueEncoding', in: 'query', schema: ref('Encoding') },
        headerEncoding: { name: 'headerEncoding', in: 'query', schema: ref('HeaderEncoding') },
        at: {
          name: 'at',
          in: 'query',
          required: true,
          schema: { oneOf: [{ type: 'string', enum: ['earliest', 'latest'] }, { type: 'integer', minimum: 0, description: 'a timestamp, ms since the epoch' }] },
        },
      },
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ name, description }) => [name, { description, content: json(ref('Error')) }]),
      ),
      schemas: {
        ErrorObject: {
          type: 'object',
          required: ['code', 'message', 'retriable'],
          properties: {
            code: { type: 'string', enum: ERROR_CODES },
            message: { type: 'string' },
            retriable: { type: 'boolean', description: 'Whether the same request can succeed later unchanged.' },
            details: {
              type: 'object',
              description: 'Code-specific: e.g. {problems: [{code, field, message}]} for validation errors, {logStartOffset, logEndOffset, highWatermark} for OFFSET_OUT_OF_RANGE.',
            },
          },
        },
        Error: { type: 'object', required: ['error'], properties: { error: ref('ErrorObject') } },
        Encoding: {
          type: 'string',
          enum: ['utf8', 'base64', 'json'],
          default: 'utf8',
          description: 'How keys/values appear in JSON: utf8 text, base64 bytes (lossless), or any JSON value (stored as its JSON text). null is a null key/value in every encoding.',
        },
        HeaderEncoding: { type: 'string', enum: ['utf8', 'base64'], default: 'utf8', description: 'How header values appear in JSON.' },
        TopicConfigs: topicConfigsSchema(config?.topicDefaults.configs, false),
        UpdateConfigsRequest: {
          type: 'object',
          required: ['configs'],
          additionalProperties: false,
          properties: { configs: topicConfigsSchema(undefined, true) },
        },
        CreateTopicRequest: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,249}$', not: { enum: ['.', '..'] } },
            partitions: { type: 'integer', minimum: 1, ...(config ? { default: config.topicDefaults.partitions, maximum: config.maxPartitions } : {}) },
            replicationFactor: { type: 'integer', minimum: 1, description: 'Replicas per partition: 1 on a single node; in a cluster default 3 (placed on min(3, live brokers), the rest as brokers join); an explicit value above the live brokers is refused.' },
            configs: ref('TopicConfigs'),
          },
        },
        TopicList: {
          type: 'object',
          required: ['topics'],
          properties: {
            topics: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'partitions', 'replicationFactor'],
                properties: { name: { type: 'string' }, partitions: { type: 'integer' }, replicationFactor: { type: 'integer' } },
              },
            },
          },
        },
        Topic: {
          type: 'object',
          required: ['name', 'topicId', 'replicationFactor', 'configs', 'configOverrides', 'partitions'],
          properties: {
            name: { type: 'string' },
            topicId: { type: 'string', format: 'uuid' },
            replicationFactor: { type: 'integer' },
            configs: { ...ref('TopicConfigs'), description: 'Effective configs: the overrides over the broker defaults.' },
            configOverrides: { type: 'object', description: 'The configs set on this topic.' },
            partitions: { type: 'array', items: ref('PartitionInfo') },
          },
        },
        PartitionInfo: {
          type: 'object',
          required: ['partition', 'leader', 'replicas', 'isr', 'logStartOffset', 'logEndOffset', 'highWatermark', 'localLogStartOffset', 'localBytes', 'remoteBytes'],
          properties: {
            partition: { type: 'integer' },
            leader: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'Broker id of the leader with a live lease (null while none: an election or hand-over).' },
            leaderUrl: { anyOf: [{ type: 'string', format: 'uri' }, { type: 'null' }], description: 'In a cluster: where to reach the leader directly.' },
            leaderEpoch: { type: 'integer' },
            replicas: { type: 'array', items: { type: 'string' }, description: 'Assigned by the controller; replicas[0] is the assigned leader.' },
            isr: { type: 'array', items: { type: 'string' } },
            logStartOffset: int64('First retained offset (all tiers).'),
            logEndOffset: int64('Next offset to be written.'),
            highWatermark: int64('Consumers see offsets below this.'),
            localLogStartOffset: int64('First offset on local disk.'),
            localBytes: { type: 'integer' },
            remoteBytes: { type: 'integer', description: 'Bytes of segment objects in the object store.' },
            remoteLogStartOffset: { anyOf: [int64('First offset in the object store.'), { type: 'null' }] },
            remoteLogEndOffset: int64('Offset after the last record in the object store (where uploads continue).'),
            remoteSegments: { type: 'integer' },
            uploadLagSegments: { type: 'integer', description: 'Sealed local segments not yet uploaded.' },
            uploadLagBytes: { type: 'integer', description: 'Bytes of sealed local segments not yet uploaded.' },
            lastUploadError: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'Why the last upload attempt failed, until one succeeds.' },
          },
        },
        Header: {
          type: 'object',
          required: ['key', 'value'],
          properties: { key: { type: 'string' }, value: { type: ['string', 'null'] } },
        },
        ProduceRecord: {
          type: 'object',
          required: ['value'],
          additionalProperties: false,
          properties: {
            key: { description: 'In keyEncoding; absent or null = null key (then partitioned round-robin).' },
            value: { description: 'In valueEncoding; null = a null value (tombstone).' },
            headers: {
              description: 'Either {key: value} or [{key, value}] (the array form keeps order and repeated keys). Values in headerEncoding, or null.',
              oneOf: [{ type: 'object', additionalProperties: { type: ['string', 'null'] } }, { type: 'array', items: ref('Header') }],
            },
            partition: { type: 'integer', minimum: 0, description: 'Explicit partition; overrides the partitioner.' },
            timestamp: int64('Record timestamp, ms since the epoch (default: now).', { minimum: 0 }),
          },
        },
        ProduceRequest: {
          type: 'object',
          required: ['records'],
          additionalProperties: false,
          properties: {
            records: { type: 'array', minItems: 1, items: ref('ProduceRecord') },
            keyEncoding: ref('Encoding'),
            valueEncoding: ref('Encoding'),
            headerEncoding: ref('HeaderEncoding'),
          },
        },
        ProduceResponse: {
          type: 'object',
          required: ['offsets'],
          properties: {
            offsets: {
              type: 'array',
              description: 'One per record, in request order.',
              items: {
                type: 'object',
                required: ['partition', 'offset'],
                properties: {
                  partition: { type: 'integer' },
                  offset: int64('The record\'s offset; -1 with acks=0 or on error.'),
                  error: { ...ref('ErrorObject'), description: 'Only on 207: the error of this record\'s partition.' },
                },
              },
            },
          },
        },
        BatchProduceResponse: {
          type: 'object',
          required: ['baseOffset', 'lastOffset'],
          properties: { baseOffset: int64('Offset of the first record.'), lastOffset: int64('Offset of the last record.'), recordCount: { type: 'integer' } },
        },
        FetchRecord: {
          type: 'object',
          required: ['offset', 'timestamp', 'key', 'value', 'headers'],
          properties: {
            offset: int64('Offset.'),
            timestamp: int64('ms since the epoch.'),
            key: { description: 'In keyEncoding, or null.' },
            value: { description: 'In valueEncoding, or null.' },
            headers: { type: 'array', items: ref('Header') },
            keyEncoding: {
              type: 'string',
              enum: ['base64'],
              description: 'Present when keyEncoding=json and the stored key is not JSON (or nests too deep): the key is base64 instead.',
            },
            valueEncoding: {
              type: 'string',
              enum: ['base64'],
              description: 'Present when valueEncoding=json and the stored value is not JSON (or nests too deep): the value is base64 instead.',
            },
          },
        },
        FetchResponse: {
          type: 'object',
          required: ['records', 'nextOffset', 'highWatermark', 'logStartOffset'],
          properties: {
            records: { type: 'array', items: ref('FetchRecord') },
            nextOffset: int64('The offset to ask for next.'),
            highWatermark: int64('The partition\'s high watermark.'),
            logStartOffset: int64('The first retained offset.'),
          },
        },
        OffsetResponse: {
          type: 'object',
          required: ['offset'],
          properties: { offset: int64('The offset.'), timestamp: int64('For a timestamp lookup: the found batch\'s max timestamp.') },
        },
        TopicPartitions: {
          type: 'object',
          required: ['topic', 'partitions'],
          properties: { topic: { type: 'string' }, partitions: { type: 'array', items: { type: 'integer', minimum: 0 } } },
        },
        TopicPartitionOffset: {
          type: 'object',
          required: ['topic', 'partition', 'offset'],
          properties: { topic: { type: 'string' }, partition: { type: 'integer' }, offset: int64('The next offset to read.') },
        },
        JoinGroupRequest: {
          type: 'object',
          required: ['topics'],
          additionalProperties: false,
          properties: {
            topics: { type: 'array', minItems: 1, items: { type: 'string' } },
            sessionTimeoutMs: { type: 'integer', minimum: 100, maximum: 1_800_000, default: 45_000 },
            rebalanceTimeoutMs: { type: 'integer', minimum: 100, maximum: 1_800_000, default: 300_000, description: 'How long the member may take to give up a partition.' },
            clientId: { type: 'string', maxLength: 256 },
          },
        },
        GroupHeartbeatRequest: {
          type: 'object',
          required: ['memberEpoch'],
          additionalProperties: false,
          properties: {
            memberEpoch: { type: 'integer', minimum: 0, description: 'The epoch of the last answer.' },
            ownedPartitions: { anyOf: [{ type: 'array', items: ref('TopicPartitions') }, { type: 'null' }], description: 'What the member owns now; absent or null: unchanged.' },
            topics: { type: 'array', items: { type: 'string' }, description: 'A new subscription.' },
            sessionTimeoutMs: { type: 'integer', minimum: 100, maximum: 1_800_000, default: 45_000, description: 'Send the join\'s value on every heartbeat.' },
            rebalanceTimeoutMs: { type: 'integer', minimum: 100, maximum: 1_800_000 },
            clientId: { type: 'string', maxLength: 256 },
          },
        },
        GroupHeartbeatResponse: {
          type: 'object',
          required: ['memberId', 'memberEpoch', 'heartbeatIntervalMs', 'assignment'],
          properties: {
            memberId: { type: 'string' },
            memberEpoch: { type: 'integer' },
            groupEpoch: { type: 'integer' },
            heartbeatIntervalMs: { type: 'integer' },
            assignment: { type: 'array', items: ref('TopicPartitions'), description: 'What the member may own now.' },
          },
        },
        CommitOffsetsRequest: {
          type: 'object',
          required: ['offsets'],
          additionalProperties: false,
          properties: {
            memberId: { type: 'string' },
            memberEpoch: { type: 'integer', minimum: 0 },
            offsets: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['topic', 'partition', 'offset'],
                properties: { topic: { type: 'string' }, partition: { type: 'integer', minimum: 0 }, offset: int64('The next offset to read.', { minimum: 0 }), metadata: { type: 'string', maxLength: 4096 } },
              },
            },
          },
        },
        ResetOffsetsRequest: {
          type: 'object',
          required: ['topic', 'to'],
          additionalProperties: false,
          properties: {
            topic: { type: 'string' },
            partitions: { type: 'array', items: { type: 'integer', minimum: 0 }, description: 'Default: every partition.' },
            to: { type: 'string', enum: ['earliest', 'latest', 'offset', 'timestamp'] },
            value: int64('The offset (to=offset) or the timestamp in ms (to=timestamp).', { minimum: 0 }),
          },
        },
        GroupOffset: {
          type: 'object',
          required: ['topic', 'partition', 'offset', 'highWatermark', 'lag'],
          properties: {
            topic: { type: 'string' },
            partition: { type: 'integer' },
            offset: { anyOf: [int64('Committed: the next offset to read.'), { type: 'null' }] },
            metadata: { type: 'string' },
            highWatermark: { anyOf: [int64('The partition\'s high watermark.'), { type: 'null' }] },
            lag: { anyOf: [int64('highWatermark - offset.'), { type: 'null' }] },
            committedAtMs: { anyOf: [int64('When.'), { type: 'null' }] },
            owner: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'describeGroup only: the member that owns the partition now.' },
          },
        },
        GroupOffsets: { type: 'object', required: ['offsets'], properties: { offsets: { type: 'array', items: ref('GroupOffset') } } },
        GroupList: {
          type: 'object',
          required: ['groups'],
          properties: {
            groups: {
              type: 'array',
              items: {
                type: 'object',
                required: ['group', 'members', 'state'],
                properties: { group: { type: 'string' }, members: { type: 'integer' }, state: { type: 'string', enum: ['empty', 'reconciling', 'stable'] } },
              },
            },
          },
        },
        GroupDescription: {
          type: 'object',
          required: ['group', 'groupEpoch', 'assignmentEpoch', 'state', 'members', 'partitions'],
          properties: {
            group: { type: 'string' },
            groupEpoch: { type: 'integer' },
            assignmentEpoch: { type: 'integer' },
            state: { type: 'string', enum: ['empty', 'reconciling', 'stable'] },
            topicPartitions: { type: 'object', additionalProperties: { type: 'integer' } },
            members: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  memberId: { type: 'string' },
                  clientId: { type: 'string' },
                  memberEpoch: { type: 'integer' },
                  subscribedTopics: { type: 'array', items: { type: 'string' } },
                  assignment: { type: 'array', items: ref('TopicPartitions'), description: 'What it may own now.' },
                  pendingRevocation: { type: 'array', items: ref('TopicPartitions'), description: 'Told to give up, not yet released.' },
                  target: { type: 'array', items: ref('TopicPartitions') },
                  lastHeartbeatAtMs: { type: 'integer' },
                  sessionTimeoutMs: { type: 'integer' },
                  rebalanceTimeoutMs: { type: 'integer' },
                },
              },
            },
            partitions: { type: 'array', items: ref('GroupOffset') },
          },
        },
        Cluster: {
          type: 'object',
          required: ['clusterId', 'mode', 'self', 'controller', 'brokers'],
          properties: {
            clusterId: { type: 'string', description: 'In a cluster, the same at every broker (it comes from Redis).' },
            mode: { type: 'string', enum: ['single-node', 'cluster'] },
            self: { type: 'string', description: 'Id of the broker that answered.' },
            controller: { type: ['string', 'null'], description: 'Broker id of the controller (null while none holds the lease).' },
            brokers: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'url', 'live', 'self', 'leaderOf'],
                properties: {
                  id: { type: 'string' },
                  url: { type: 'string', format: 'uri', description: 'Where smart clients reach it directly.' },
                  live: { type: 'boolean', description: 'Registered and heartbeating.' },
                  self: { type: 'boolean' },
                  leaderOf: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['topic', 'partitions'],
                      properties: { topic: { type: 'string' }, partitions: { type: 'array', items: { type: 'integer' } } },
                    },
                  },
                },
              },
            },
          },
        },
        Status: { type: 'object', required: ['status'], properties: { status: { type: 'string' }, reason: { type: 'string' }, freeBytes: { type: 'integer' } } },
      },
    },
  };
}
