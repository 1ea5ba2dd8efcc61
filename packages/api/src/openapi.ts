// The OpenAPI 3.1 document, generated from the route table and the schemas: nothing in it is
// written twice. Every schema named in NAMED_SCHEMAS becomes components.schemas.<name> and is
// referenced ($ref) wherever the route table or another schema uses it; shared parameters become
// components.parameters. OpenAPI 3.1's schema dialect is JSON Schema 2020-12, which TypeBox emits.

import type { TSchema } from '@sinclair/typebox';
import { NAMED_SCHEMAS } from './schemas.js';
import { API_ROUTES, JSON_MEDIA_TYPE, PARAMETERS, type ApiRoute, type ErrorStatus, type ParameterSpec } from './routes.js';

type Json = Record<string, unknown>;

/** The error answers, by status: one shared response each (components.responses). */
export const ERROR_ANSWERS: Readonly<Record<ErrorStatus | '403' | '429' | '500' | '503', { name: string; description: string }>> = {
  '400': { name: 'BadRequest', description: 'Bad input (INVALID_REQUEST, INVALID_TOPIC, INVALID_CONFIG, INVALID_PARTITIONS, CORRUPT_MESSAGE, INVALID_RECORD, ...). Nothing was changed.' },
  '401': { name: 'Unauthenticated', description: 'AUTHENTICATION_FAILED: credentials were wrong, expired or revoked, or none were given to a broker with STRATA_AUTH=required (WWW-Authenticate names the schemes). Nothing was changed.' },
  '403': { name: 'Forbidden', description: 'The principal may not do this (Kafka\'s ACLs, STRATA_AUTHORIZER=acl): TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED, TRANSACTIONAL_ID_AUTHORIZATION_FAILED. Nothing was changed.' },
  '404': { name: 'NotFound', description: 'Unknown topic, partition, group member, group or route (UNKNOWN_TOPIC, UNKNOWN_PARTITION, UNKNOWN_MEMBER_ID, NOT_FOUND).' },
  '405': { name: 'MethodNotAllowed', description: 'METHOD_NOT_ALLOWED; the Allow header lists the methods.' },
  '409': { name: 'Conflict', description: 'TOPIC_ALREADY_EXISTS, FENCED_LEADER_EPOCH, FENCED_MEMBER_EPOCH (drop the partitions and rejoin), NON_EMPTY_GROUP, GROUP_MAX_SIZE_REACHED, GROUP_LIMIT_REACHED, INCONSISTENT_GROUP_PROTOCOL (a classic Kafka group holds the id), ILLEGAL_GENERATION, OUT_OF_ORDER_SEQUENCE_NUMBER and INVALID_PRODUCER_EPOCH (an idempotent producer\'s batch out of sequence or from an older epoch; nothing written).' },
  '413': { name: 'TooLarge', description: 'MESSAGE_TOO_LARGE: a body over the request cap (STRATA_MAX_REQUEST_BYTES), a batch over the topic\'s max.message.bytes, or request headers over the HTTP parser\'s limit (any route).' },
  '415': { name: 'UnsupportedMediaType', description: 'UNSUPPORTED_MEDIA_TYPE.' },
  '416': { name: 'OffsetOutOfRange', description: 'OFFSET_OUT_OF_RANGE; details carry logStartOffset, logEndOffset and highWatermark.' },
  '429': { name: 'Throttled', description: 'THROTTLING_QUOTA_EXCEEDED (retriable; Retry-After): the request bodies in flight on the connection, the client address or the broker hold their limit; the body was not read.' },
  '507': { name: 'StorageFull', description: 'STORAGE_FULL (retriable; Retry-After): the data disk is below STRATA_MIN_FREE_DISK_BYTES; the broker is read-only until space returns.' },
  '500': { name: 'InternalError', description: 'INTERNAL_ERROR: a bug; see the broker log.' },
  '503': { name: 'Unavailable', description: 'Retriable (retriable: true; Retry-After): BROKER_SHUTTING_DOWN, STORAGE_ERROR, NOT_LEADER, NOT_ENOUGH_REPLICAS, OFFSET_NOT_AVAILABLE, REQUEST_TIMED_OUT (also a request body that stopped arriving).' },
};

export interface OpenApiOptions {
  serverUrl: string;
  /** The error code → HTTP status table (with each code's retriability), printed in the description. */
  errorStatuses?: ReadonlyArray<{ code: string; status: number; retriable: boolean }>;
  /**
   * Schemas that document more than they check, by component name: the broker's topic-config table
   * gives TopicConfigs every key with its range and default (its values are checked by their own
   * rules, answering INVALID_CONFIG).
   */
  documented?: Readonly<Record<string, Json>>;
  /** Per-broker bounds of query parameters (maximum, default), by parameter name. */
  parameterBounds?: Readonly<Partial<Record<keyof typeof PARAMETERS, { maximum?: number; default?: number }>>>;
}

const NAME_BY_SCHEMA = new Map<unknown, string>(Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [schema, name]));

/** Plain JSON of a schema: TypeBox's symbol keys dropped, named schemas (other than `self`) as $refs. */
export function schemaJson(schema: unknown, self?: unknown): unknown {
  if (Array.isArray(schema)) return schema.map((s) => schemaJson(s));
  if (schema === null || typeof schema !== 'object') return schema;
  const name = schema === self ? undefined : NAME_BY_SCHEMA.get(schema);
  if (name !== undefined) return { $ref: `#/components/schemas/${name}` };
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    // `examples` and `default` are values, not schemas: copied as they are.
    out[key] = key === 'examples' || key === 'default' || key === 'const' ? value : schemaJson(value);
  }
  return out;
}

function parameterJson(spec: ParameterSpec, bounds?: { maximum?: number; default?: number }): Json {
  const schema = schemaJson(spec.schema) as Json;
  return {
    name: spec.name,
    in: spec.in,
    ...(spec.required === true ? { required: true } : {}),
    schema: bounds === undefined ? schema : { ...schema, ...bounds },
    ...(spec.description === undefined ? {} : { description: spec.description }),
  };
}

function content(schema: TSchema, mediaType = JSON_MEDIA_TYPE): Json {
  return { [mediaType]: { schema: schemaJson(schema) } };
}

function operation(route: ApiRoute): Json {
  const responses: Json = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    responses[status] = {
      description: answer.description,
      ...(answer.headers === undefined
        ? {}
        : { headers: Object.fromEntries(Object.entries(answer.headers).map(([name, h]) => [name, { description: h.description, schema: schemaJson(h.schema) }])) }),
      ...(answer.schema === undefined ? {} : { content: content(answer.schema, answer.mediaType) }),
    };
  }
  if (route.operational !== true) {
    const statuses: string[] = [...(route.errors ?? [])];
    // Every route that reads a body (those that may answer 413) may also be throttled.
    if (statuses.includes('413')) statuses.push('429');
    // Any API route answers 401 for bad credentials (or none, under STRATA_AUTH=required), and is authorized (403 only with STRATA_AUTHORIZER=acl).
    statuses.unshift('401');
    statuses.push('403', '500', '503');
    for (const s of statuses) responses[s] = { $ref: `#/components/responses/${ERROR_ANSWERS[s as keyof typeof ERROR_ANSWERS].name}` };
  } else if (route.public !== true) {
    // An operational route that is not public (/metrics): credentials under STRATA_AUTH=required, and an ACL.
    for (const s of ['401', '403'] as const) responses[s] = { $ref: `#/components/responses/${ERROR_ANSWERS[s].name}` };
  }
  const query = (route.query ?? []).map((q) =>
    typeof q === 'string' ? { $ref: `#/components/parameters/${q}` } : parameterJson(q),
  );
  return {
    operationId: route.id,
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    ...(query.length > 0 ? { parameters: query } : {}),
    ...(route.body === undefined ? {} : { requestBody: { required: true, content: content(route.body.schema, route.body.mediaType) } }),
    responses,
  };
}

export function buildOpenApiDocument(options: OpenApiOptions): Json {
  const paths: Record<string, Json> = {};
  for (const route of API_ROUTES as readonly ApiRoute[]) {
    const item = (paths[route.path] ??= {});
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    if (names.length > 0) item.parameters = names.map((n) => ({ $ref: `#/components/parameters/${n}` }));
    item[route.method.toLowerCase()] = operation(route);
  }
  const statusTable = (options.errorStatuses ?? []).map((e) => `| ${e.code} | ${e.status} | ${e.retriable} |`).join('\n');
  const schemas: Json = {};
  for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) schemas[name] = options.documented?.[name] ?? schemaJson(schema, schema);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Strata HTTP API',
      version: '1.0.0',
      description:
        'A durable, replayable, partitioned log (the Kafka model). Offsets and timestamps are JSON numbers (safe integers).\n\n' +
        'Every error is `{"error": {"code", "message", "retriable", "details"?}}`, also for a request the HTTP parser refuses on any route ' +
        '(400 INVALID_REQUEST malformed, 405 METHOD_NOT_ALLOWED unknown method or CONNECT, 413 MESSAGE_TOO_LARGE headers too large; the connection is then closed). ' +
        'A request body that does not fit its schema is refused with 400 INVALID_REQUEST (or the code its field names) and changes nothing. Codes and statuses:\n\n' +
        '| code | status | retriable |\n|---|---|---|\n' +
        statusTable,
    },
    servers: [{ url: options.serverUrl }],
    paths,
    components: {
      parameters: Object.fromEntries(
        Object.entries(PARAMETERS).map(([name, spec]) => [name, parameterJson(spec, options.parameterBounds?.[name as keyof typeof PARAMETERS])]),
      ),
      responses: Object.fromEntries(Object.values(ERROR_ANSWERS).map(({ name, description }) => [name, { description, content: content(NAMED_SCHEMAS.Error) }])),
      schemas,
      // Which of them a broker asks for is its STRATA_AUTH setting (none, optional, required).
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (POST /v1/users/{user}/tokens).' },
        basic: { type: 'http', scheme: 'basic', description: "A user's name and password, checked against its SCRAM-stored keys." },
        mtls: { type: 'mutualTLS', description: 'A client certificate the broker trusts: the principal is User:<certificate subject>.' },
      },
    },
    security: [{}, { bearer: [] }, { basic: [] }, { mtls: [] }],
  };
}

