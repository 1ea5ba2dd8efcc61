// The HTTP API v1 (@strata/api's route table and schemas are the reference):
// one method per route, each a retried exchange whose answer is checked
// before it is trusted. Everything else in the client goes through here, so
// this is the one file that knows paths, query names, headers and bodies.

import type {
  ApiToken,
  Cluster,
  CreateTopicRequest,
  CreateUserRequest,
  IssuedToken,
  IssueTokenRequest,
  User,
  GroupDescription,
  GroupHeartbeatRequest as GroupHeartbeatBody,
  GroupHeartbeatResponse,
  GroupListing,
  GroupOffset,
  FetchResponse,
  Encoding,
  HeaderEncoding,
  JoinGroupRequest as JoinGroupBody,
  OffsetResponse,
  OffsetToCommit,
  AlterQuotasRequest,
  QuotaRecord,
  PartitionInfo,
  ProducedOffset,
  ProduceRequest,
  ProduceResponse,
  Topic,
  TopicConfigValue,
  TopicListing,
  TopicPartitionOffset,
} from '@strata/api';
import { JSON_MEDIA_TYPE, RECORD_BATCH_MEDIA_TYPE } from '@strata/api';
export type { AlterQuotasRequest, QuotaEntity, QuotaRecord, QuotaValues } from '@strata/api';
import { StrataError, type AclBinding, type AclFilter } from '@strata/protocol';
import type { Connection, HttpMethod, HttpResponse, Lane } from './connection.js';
import { badResponse } from './failure.js';
import type { Acks } from './options.js';
import { withRetries, type RetryEvent } from './retry.js';

// The wire types are @strata/api's, derived from the schemas the broker validates with and
// documents: none is written again here.
export { RECORD_BATCH_MEDIA_TYPE };
export type { ApiToken, CreateUserRequest, IssuedToken, IssueTokenRequest, User };
export type {
  ClusterBroker,
  GroupDescription,
  GroupListing,
  GroupMember as GroupMemberDescription,
  GroupOffset,
  GroupState,
  OfflinePartition,
  TopicConfigValue,
  TopicListing,
  TopicPartitions,
  TopicPartitionOffset,
} from '@strata/api';

/** A partition as describeTopic answers it (an offline one carries only its number and the reason). */
export type PartitionDescription = PartitionInfo;
export type TopicDescription = Topic;
export type NewTopic = CreateTopicRequest;
export type ClusterDescription = Cluster;
export type OffsetLookup = OffsetResponse;
export type GroupHeartbeatAnswer = GroupHeartbeatResponse;
/** The request types, readonly where the caller's arrays are only read. */
export type JoinGroupRequest = Omit<JoinGroupBody, 'topics'> & { topics: readonly string[] };
export type GroupHeartbeatRequest = Omit<GroupHeartbeatBody, 'topics' | 'ownedPartitions'> & {
  topics?: readonly string[];
  ownedPartitions?: GroupHeartbeatBody['ownedPartitions'] | ReadonlyArray<{ topic: string; partitions: number[] }>;
};
export type { OffsetToCommit };
export type {
  Encoding,
  FetchRecord,
  FetchResponse,
  HeaderEncoding,
  ProducedOffset,
  ProduceRecord,
  ProduceRequest,
  ProduceResponse,
} from '@strata/api';

/** The query of a JSON fetch (the broker clamps maxRecords, maxBytes and maxWaitMs to its caps). */
export interface FetchRecordsRequest {
  offset: number;
  maxRecords?: number;
  maxBytes?: number;
  maxWaitMs?: number;
  keyEncoding?: Encoding;
  valueEncoding?: Encoding;
  headerEncoding?: HeaderEncoding;
}

/** Where to look up an offset: the log start, the high watermark, or the first record at/after a time. */
export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };

/** What a raw produce answered (the client's view: -1 with acks=0). */
export interface ProduceAnswer {
  baseOffset: number;
  lastOffset: number;
}

/** An idempotent producer's identity (POST /v1/producers). */
export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

export interface FetchAnswer {
  /** Whole RecordBatch v2 batches; the first may begin before the asked offset. */
  data: Buffer;
  highWatermark: number;
  logStartOffset: number;
  /** The offset to ask for next (null if the answer did not say). */
  nextOffset: number | null;
}

export interface GroupMemberRef {
  memberId: string;
  memberEpoch: number;
}

/** Where a reset moves a group's offsets. */
export type ResetTarget = 'earliest' | 'latest' | { offset: number } | { timestamp: number };

export interface CallOptions {
  /** Epoch ms: retries stop here (default: now + requestTimeoutMs). */
  deadline?: number;
  /** At most this many attempts (1: no retry; for a caller that retries itself, or a request a retry could duplicate). */
  attemptsMax?: number;
  /** At attemptsMax, a retriable failure is thrown as its RequestFailure, not its StrataError (retry.ts). */
  throwRetriable?: boolean;
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  /** Send on this ordered, pipelined connection (connection.ts Lane) instead of the shared pool. */
  lane?: Lane;
}

const enc = encodeURIComponent;
const partitionPath = (topic: string, partition: number): string => `/v1/topics/${enc(topic)}/partitions/${partition}`;
const groupPath = (group: string): string => `/v1/groups/${enc(group)}`;

export function offsetSpecQuery(spec: OffsetSpec): string {
  if (spec === 'earliest' || spec === 'latest') return spec;
  if (spec !== null && typeof spec === 'object' && Number.isSafeInteger(spec.timestamp) && spec.timestamp >= 0) return String(spec.timestamp);
  throw new StrataError('INVALID_REQUEST', `an offset spec is 'earliest', 'latest' or {timestamp: ms >= 0}, got ${JSON.stringify(spec)}`);
}

export class StrataApi {
  readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  listTopics(options?: CallOptions): Promise<TopicListing[]> {
    return this.#json('list topics', 'GET', '/v1/topics', undefined, options, (body, r) => arrayField<TopicListing>(body, 'topics', r, 'list topics'));
  }

  createTopic(topic: NewTopic, options?: CallOptions): Promise<TopicDescription> {
    return this.#json(`create topic ${topic.name}`, 'POST', '/v1/topics', topic, options, (body, r) => topicDescription(body, r));
  }

  describeTopic(topic: string, options?: CallOptions): Promise<TopicDescription> {
    return this.#json(`describe topic ${topic}`, 'GET', `/v1/topics/${enc(topic)}`, undefined, options, (body, r) => topicDescription(body, r));
  }

  async deleteTopic(topic: string, options?: CallOptions): Promise<void> {
    await this.#json(`delete topic ${topic}`, 'DELETE', `/v1/topics/${enc(topic)}`, undefined, options, () => undefined);
  }

  updateTopicConfigs(topic: string, configs: Record<string, TopicConfigValue | null>, options?: CallOptions): Promise<TopicDescription> {
    return this.#json(`update configs of ${topic}`, 'PATCH', `/v1/topics/${enc(topic)}/configs`, { configs }, options, (body, r) =>
      topicDescription(body, r),
    );
  }

  addPartitions(topic: string, count: number, options?: CallOptions): Promise<TopicDescription> {
    return this.#json(`add partitions to ${topic}`, 'POST', `/v1/topics/${enc(topic)}/partitions`, { count }, options, (body, r) => topicDescription(body, r));
  }

  async listOffset(topic: string, partition: number, spec: OffsetSpec, options?: CallOptions): Promise<OffsetLookup> {
    const what = `list offset ${topic}/${partition} at ${offsetSpecQuery(spec)}`;
    const path = `${partitionPath(topic, partition)}/offsets?at=${offsetSpecQuery(spec)}`;
    return this.#json(what, 'GET', path, undefined, options, (body, r) => {
      const offset = intField(body, 'offset', r, what);
      const timestamp = (body as { timestamp?: unknown }).timestamp;
      return typeof timestamp === 'number' ? { offset, timestamp } : { offset };
    });
  }

  /** Kafka's DeleteRecords: the partition's log start moves up to beforeOffset (-1: the high watermark); resolves to the new log start. */
  deleteRecords(topic: string, partition: number, beforeOffset: number, options?: CallOptions): Promise<number> {
    const what = `delete records of ${topic}/${partition} before ${beforeOffset}`;
    return this.#json(what, 'POST', `${partitionPath(topic, partition)}/delete-records`, { beforeOffset }, options, (body, r) => intField(body, 'lowWatermark', r, what));
  }

  describeCluster(options?: CallOptions): Promise<ClusterDescription> {
    return this.#json('describe cluster', 'GET', '/v1/cluster', undefined, options, (body, r) => {
      if (typeof (body as { clusterId?: unknown }).clusterId !== 'string') throw badResponse(r.origin, 'describe cluster', 'no clusterId');
      arrayField(body, 'brokers', r, 'describe cluster');
      return body as ClusterDescription;
    });
  }

  /** Appends whole RecordBatch v2 batches; offsets are contiguous across the batches of one body. */
  produceBatches(topic: string, partition: number, batches: Buffer, acks: Acks, options?: CallOptions): Promise<ProduceAnswer> {
    const what = `produce to ${topic}/${partition}`;
    const path = `${partitionPath(topic, partition)}/batches?acks=${acks}`;
    return this.#call(what, 'POST', path, batches, RECORD_BATCH_MEDIA_TYPE, this.connection.options.requestTimeoutMs, options, (r) => {
      const body = parseJson(r, what);
      return { baseOffset: intField(body, 'baseOffset', r, what), lastOffset: intField(body, 'lastOffset', r, what) };
    });
  }

  /** A new idempotent producer id (Kafka's InitProducerId); a retry after a lost answer only costs an id. */
  initProducerId(options?: CallOptions): Promise<ProducerIdentity> {
    return this.#json('get a producer id', 'POST', '/v1/producers', {}, options, (body, r) => ({
      producerId: intField(body, 'producerId', r, 'get a producer id'),
      producerEpoch: intField(body, 'producerEpoch', r, 'get a producer id'),
    }));
  }

  /** A long-poll fetch of raw batches: the attempt may last maxWaitMs more than requestTimeoutMs. */
  fetchBatches(topic: string, partition: number, offset: number, maxBytes: number, maxWaitMs: number, options?: CallOptions): Promise<FetchAnswer> {
    const what = `fetch ${topic}/${partition} at ${offset}`;
    const path = `${partitionPath(topic, partition)}/batches?offset=${offset}&maxBytes=${maxBytes}&maxWaitMs=${maxWaitMs}`;
    const attemptMs = this.connection.options.requestTimeoutMs + maxWaitMs;
    return this.#call(what, 'GET', path, undefined, undefined, attemptMs, options, (r) => {
      const highWatermark = intHeader(r, 'strata-high-watermark', what);
      const logStartOffset = intHeader(r, 'strata-log-start-offset', what);
      if (highWatermark === null || logStartOffset === null) throw badResponse(r.origin, what, 'no Strata-High-Watermark / Strata-Log-Start-Offset header');
      return { data: r.body, highWatermark, logStartOffset, nextOffset: intHeader(r, 'strata-next-offset', what) };
    });
  }

  /**
   * Appends JSON records (the body: a ProduceRequest, or its JSON text when the caller built it to
   * bound its size). One offset per record in request order; a request whose partitions partly
   * failed (HTTP 207) resolves too, with `error` on the failed records' entries.
   */
  produceRecords(topic: string, body: ProduceRequest | string, acks: Acks, options?: CallOptions): Promise<ProduceResponse> {
    const what = `produce to ${topic}`;
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    const path = `/v1/topics/${enc(topic)}/records?acks=${acks}`;
    return this.#call(what, 'POST', path, payload, JSON_MEDIA_TYPE, this.connection.options.requestTimeoutMs, options, (r) => ({
      offsets: arrayField<ProducedOffset>(parseJson(r, what), 'offsets', r, what),
    }));
  }

  /** A fetch of records as JSON (a long poll with maxWaitMs: the attempt may last that much more than requestTimeoutMs). */
  fetchRecords(topic: string, partition: number, request: FetchRecordsRequest, options?: CallOptions): Promise<FetchResponse> {
    const what = `fetch ${topic}/${partition} at ${request.offset}`;
    const query = new URLSearchParams({ offset: String(request.offset) });
    for (const name of ['maxRecords', 'maxBytes', 'maxWaitMs', 'keyEncoding', 'valueEncoding', 'headerEncoding'] as const) {
      if (request[name] !== undefined) query.set(name, String(request[name]));
    }
    const attemptMs = this.connection.options.requestTimeoutMs + (request.maxWaitMs ?? 0);
    return this.#call(what, 'GET', `${partitionPath(topic, partition)}/records?${query}`, undefined, undefined, attemptMs, options, (r) => {
      const body = parseJson(r, what);
      arrayField(body, 'records', r, what);
      intField(body, 'nextOffset', r, what);
      intField(body, 'highWatermark', r, what);
      return body as FetchResponse;
    });
  }

  // ---- consumer groups ----------------------------------------------------------------------------

  /** A join is not idempotent (each makes a member): a retry after a lost answer leaves a member that expires with its session. */
  joinGroup(group: string, request: JoinGroupRequest, options?: CallOptions): Promise<GroupHeartbeatAnswer> {
    const what = `join group ${group}`;
    return this.#json(what, 'POST', `${groupPath(group)}/members`, request, options, (body, r) => heartbeatAnswer(body, r, what));
  }

  groupHeartbeat(group: string, memberId: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatAnswer> {
    const what = `heartbeat of ${memberId} in group ${group}`;
    return this.#json(what, 'POST', `${groupPath(group)}/members/${enc(memberId)}/heartbeat`, request, options, (body, r) => heartbeatAnswer(body, r, what));
  }

  async leaveGroup(group: string, memberId: string, options?: CallOptions): Promise<void> {
    await this.#json(`leave group ${group}`, 'DELETE', `${groupPath(group)}/members/${enc(memberId)}`, undefined, options, () => undefined);
  }

  /** member null: a standalone commit (only while the group has no members). */
  async commitOffsets(group: string, member: GroupMemberRef | null, offsets: readonly OffsetToCommit[], options?: CallOptions): Promise<void> {
    const body = member === null ? { offsets } : { memberId: member.memberId, memberEpoch: member.memberEpoch, offsets };
    await this.#json(`commit offsets of group ${group}`, 'POST', `${groupPath(group)}/offsets`, body, options, () => undefined);
  }

  groupOffsets(group: string, topic?: string, options?: CallOptions): Promise<GroupOffset[]> {
    const what = `offsets of group ${group}`;
    const query = topic === undefined ? '' : `?topic=${enc(topic)}`;
    return this.#json(what, 'GET', `${groupPath(group)}/offsets${query}`, undefined, options, (body, r) => arrayField<GroupOffset>(body, 'offsets', r, what));
  }

  resetGroupOffsets(group: string, topic: string, to: ResetTarget, partitions?: readonly number[], options?: CallOptions): Promise<TopicPartitionOffset[]> {
    const what = `reset offsets of group ${group}`;
    const target =
      to === 'earliest' || to === 'latest'
        ? { to }
        : 'offset' in to
          ? { to: 'offset', value: to.offset }
          : { to: 'timestamp', value: to.timestamp };
    const body = { topic, ...target, ...(partitions !== undefined ? { partitions } : {}) };
    return this.#json(what, 'POST', `${groupPath(group)}/offsets/reset`, body, options, (b, r) => arrayField(b, 'offsets', r, what));
  }

  listGroups(options?: CallOptions): Promise<GroupListing[]> {
    return this.#json('list groups', 'GET', '/v1/groups', undefined, options, (body, r) => arrayField<GroupListing>(body, 'groups', r, 'list groups'));
  }

  describeGroup(group: string, options?: CallOptions): Promise<GroupDescription> {
    const what = `describe group ${group}`;
    return this.#json(what, 'GET', groupPath(group), undefined, options, (body, r) => {
      arrayField(body, 'members', r, what);
      arrayField(body, 'partitions', r, what);
      return body as GroupDescription;
    });
  }

  async deleteGroup(group: string, options?: CallOptions): Promise<void> {
    await this.#json(`delete group ${group}`, 'DELETE', groupPath(group), undefined, options, () => undefined);
  }

  listQuotas(options?: CallOptions): Promise<QuotaRecord[]> {
    return this.#json('list quotas', 'GET', '/v1/quotas', undefined, options, (body, r) => arrayField<QuotaRecord>(body, 'quotas', r, 'list quotas'));
  }

  /** All or nothing; answers every stored quota after the change. */
  alterQuotas(changes: AlterQuotasRequest['changes'], options?: CallOptions): Promise<QuotaRecord[]> {
    return this.#json('alter quotas', 'POST', '/v1/quotas', { changes }, options, (body, r) => arrayField<QuotaRecord>(body, 'quotas', r, 'alter quotas'));
  }

  // ---- users and API tokens (issue #14) ----
  listUsers(options?: CallOptions): Promise<User[]> {
    return this.#json('list users', 'GET', '/v1/users', undefined, options, (body, r) => arrayField<User>(body, 'users', r, 'list users'));
  }

  /** Creates the user, or replaces its password. */
  createUser(request: CreateUserRequest, options?: CallOptions): Promise<User> {
    return this.#json(`create user ${request.name}`, 'POST', '/v1/users', request, options, (body) => body as User);
  }

  async deleteUser(name: string, options?: CallOptions): Promise<void> {
    await this.#json(`delete user ${name}`, 'DELETE', `/v1/users/${enc(name)}`, undefined, options, () => undefined);
  }

  /** The answer holds the token's secret, this once. */
  issueToken(user: string, request: IssueTokenRequest, options?: CallOptions): Promise<IssuedToken> {
    return this.#json(`issue a token for ${user}`, 'POST', `/v1/users/${enc(user)}/tokens`, request, options, (body) => body as IssuedToken);
  }

  listTokens(user: string, options?: CallOptions): Promise<ApiToken[]> {
    const what = `list the tokens of ${user}`;
    return this.#json(what, 'GET', `/v1/users/${enc(user)}/tokens`, undefined, options, (body, r) => arrayField<ApiToken>(body, 'tokens', r, what));
  }

  async revokeToken(user: string, id: string, options?: CallOptions): Promise<void> {
    await this.#json(`revoke token ${id}`, 'DELETE', `/v1/users/${enc(user)}/tokens/${enc(id)}`, undefined, options, () => undefined);
  }

  /** Stores ACL bindings (all or nothing); answers how many were new. */
  createAcls(acls: readonly AclBinding[], options?: CallOptions): Promise<number> {
    return this.#json('create acls', 'POST', '/v1/acls', { acls }, options, (body) => (body as { created?: number }).created ?? 0);
  }

  /** The bindings a filter matches (Kafka's AclBindingFilter: a field left out matches any). */
  listAcls(filter: AclFilter, options?: CallOptions): Promise<AclBinding[]> {
    return this.#json('list acls', 'GET', `/v1/acls${aclQuery(filter)}`, undefined, options, (body, r) => arrayField<AclBinding>(body, 'acls', r, 'list acls'));
  }

  /** Deletes the bindings a filter matches; answers them. */
  deleteAcls(filter: AclFilter, options?: CallOptions): Promise<AclBinding[]> {
    return this.#json('delete acls', 'DELETE', `/v1/acls${aclQuery(filter)}`, undefined, options, (body, r) => arrayField<AclBinding>(body, 'deleted', r, 'delete acls'));
  }

  #json<T>(what: string, method: HttpMethod, path: string, body: unknown, options: CallOptions | undefined, parse: (body: unknown, r: HttpResponse) => T): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return this.#call(what, method, path, payload, payload === undefined ? undefined : JSON_MEDIA_TYPE, this.connection.options.requestTimeoutMs, options, (r) =>
      parse(r.body.length === 0 ? {} : parseJson(r, what), r),
    );
  }

  #call<T>(
    what: string,
    method: HttpMethod,
    path: string,
    body: Buffer | string | undefined,
    contentType: string | undefined,
    attemptTimeoutMs: number,
    options: CallOptions | undefined,
    parse: (r: HttpResponse) => T,
  ): Promise<T> {
    const o = this.connection.options;
    return withRetries(
      {
        what,
        deadline: options?.deadline ?? Date.now() + attemptTimeoutMs,
        attemptTimeoutMs,
        retryBackoffMs: o.retryBackoffMs,
        retryBackoffMaxMs: o.retryBackoffMaxMs,
        ...(options?.attemptsMax === undefined ? {} : { attemptsMax: options.attemptsMax }),
        ...(options?.throwRetriable === true ? { throwRetriable: true } : {}),
        signal: options?.signal,
        onRetry: options?.onRetry,
      },
      async (timeoutMs) => {
        const response = await this.connection.request({ method, path, body, contentType, timeoutMs, signal: options?.signal, what, lane: options?.lane });
        return parse(response);
      },
    );
  }
}

function parseJson(r: HttpResponse, what: string): unknown {
  try {
    const value = JSON.parse(r.body.toString('utf8')) as unknown;
    if (value === null || typeof value !== 'object') throw new Error('not an object');
    return value;
  } catch (e) {
    throw badResponse(r.origin, what, `the body is not a JSON object (${(e as Error).message})`);
  }
}

function intField(body: unknown, field: string, r: HttpResponse, what: string): number {
  const value = (body as Record<string, unknown>)[field];
  if (!Number.isSafeInteger(value)) throw badResponse(r.origin, what, `${field} is not a safe integer: ${JSON.stringify(value)}`);
  return value as number;
}

function arrayField<T>(body: unknown, field: string, r: HttpResponse, what: string): T[] {
  const value = (body as Record<string, unknown>)[field];
  if (!Array.isArray(value)) throw badResponse(r.origin, what, `${field} is not an array`);
  return value as T[];
}

function topicDescription(body: unknown, r: HttpResponse): TopicDescription {
  const b = body as Partial<TopicDescription>;
  if (typeof b.name !== 'string' || !Array.isArray(b.partitions) || b.configs === null || typeof b.configs !== 'object') {
    throw badResponse(r.origin, 'describe topic', 'not a topic description');
  }
  return body as TopicDescription;
}

function intHeader(r: HttpResponse, name: string, what: string): number | null {
  const raw = r.headers[name];
  if (raw === undefined) return null;
  const text = Array.isArray(raw) ? raw[0]! : raw;
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw badResponse(r.origin, what, `header ${name} is not an integer: "${text}"`);
  return value;
}

function heartbeatAnswer(body: unknown, r: HttpResponse, what: string): GroupHeartbeatAnswer {
  const b = body as Partial<GroupHeartbeatAnswer>;
  if (typeof b.memberId !== 'string') throw badResponse(r.origin, what, 'no memberId');
  intField(body, 'memberEpoch', r, what);
  intField(body, 'heartbeatIntervalMs', r, what);
  arrayField(body, 'assignment', r, what);
  return body as GroupHeartbeatAnswer;
}

/** A filter as the query of /v1/acls (fields left out are absent). */
function aclQuery(filter: AclFilter): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (typeof value === 'string') params.set(key, value);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
