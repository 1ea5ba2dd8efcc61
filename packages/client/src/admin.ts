// Admin: topics, offsets and the cluster, as typed calls. Each call retries
// retriable failures (connection errors, 429/503, retriable error codes) until
// requestTimeoutMs has passed. A mutation whose connection broke mid-request
// may have been applied: its retry can then answer TOPIC_ALREADY_EXISTS or
// UNKNOWN_TOPIC, as Kafka's admin client can.

import { StrataError, isStrataError, type AclBinding, type AclFilter } from '@strata/protocol';
import {
  StrataApi,
  type CallOptions,
  type FetchRecordsRequest,
  type FetchResponse,
  type ProduceRequest,
  type ProduceResponse,
  type ClusterDescription,
  type GroupDescription,
  type GroupListing,
  type GroupOffset,
  type AlterQuotasRequest,
  type QuotaRecord,
  type ResetTarget,
  type NewTopic,
  type OffsetLookup,
  type OffsetSpec,
  type TopicConfigValue,
  type TopicDescription,
  type TopicListing,
  type ApiToken,
  type CreateUserRequest,
  type IssuedToken,
  type IssueTokenRequest,
  type User,
} from './api.js';
import { connectionFor, type ConnectWith } from './connection.js';
import type { Acks } from './options.js';

/** Brokers and connection settings, or `{connection}` to share another client's pools. */
export type AdminOptions = ConnectWith;

export interface PartitionOffset extends OffsetLookup {
  partition: number;
}

/** Per-call options: a deadline for the call's retries, and an AbortSignal. */
export interface AdminCallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** At most this many attempts (1: no retry, for a caller that retries itself, as the CLI does). */
  attemptsMax?: number;
}

/** Partitions looked up at once by listOffsets. */
const LIST_OFFSETS_CONCURRENCY = 16;

export class Admin {
  readonly #api: StrataApi;
  readonly #ownsConnection: boolean;

  constructor(options: AdminOptions) {
    const { connection, owned } = connectionFor(options);
    this.#ownsConnection = owned;
    this.#api = new StrataApi(connection);
  }

  createTopic(topic: NewTopic, options?: AdminCallOptions): Promise<TopicDescription> {
    return this.#api.createTopic(topic, this.#call(options));
  }

  deleteTopic(name: string, options?: AdminCallOptions): Promise<void> {
    return this.#api.deleteTopic(name, this.#call(options));
  }

  listTopics(options?: AdminCallOptions): Promise<TopicListing[]> {
    return this.#api.listTopics(this.#call(options));
  }

  describeTopic(name: string, options?: AdminCallOptions): Promise<TopicDescription> {
    return this.#api.describeTopic(name, this.#call(options));
  }

  /** Sets each given config; null resets a key to the broker default. All or nothing. */
  updateTopicConfigs(name: string, configs: Record<string, TopicConfigValue | null>, options?: AdminCallOptions): Promise<TopicDescription> {
    return this.#api.updateTopicConfigs(name, configs, this.#call(options));
  }

  /** Grows the topic to `count` partitions (never shrinks: INVALID_PARTITIONS); existing partitions and data untouched. */
  addPartitions(name: string, count: number, options?: AdminCallOptions): Promise<TopicDescription> {
    return this.#api.addPartitions(name, count, this.#call(options));
  }

  /**
   * Deletes the partition's records below `beforeOffset` (-1: the high watermark), as Kafka's
   * DeleteRecords: the log start moves up, on every broker and a later leader. Resolves to the new
   * log start; OFFSET_OUT_OF_RANGE above the high watermark (nothing deleted).
   */
  async deleteRecords(topic: string, partition: number, beforeOffset: number, options?: AdminCallOptions): Promise<{ lowWatermark: number }> {
    if (!Number.isSafeInteger(partition) || partition < 0) throw new StrataError('INVALID_REQUEST', `deleteRecords: partition ${String(partition)} is not a non-negative integer`);
    if (!Number.isSafeInteger(beforeOffset) || beforeOffset < -1) throw new StrataError('INVALID_REQUEST', `deleteRecords: beforeOffset ${String(beforeOffset)} must be an offset, or -1 for the high watermark`);
    return { lowWatermark: await this.#api.deleteRecords(topic, partition, beforeOffset, this.#call(options)) };
  }

  /**
   * The offset at `spec` for each partition (default: all of the topic's): earliest is the log
   * start, latest the high watermark, a timestamp the first record at or after it (else latest).
   */
  async listOffsets(topic: string, spec: OffsetSpec, partitions?: readonly number[], options?: AdminCallOptions): Promise<PartitionOffset[]> {
    const call = this.#call(options);
    let wanted: readonly number[];
    if (partitions !== undefined) {
      for (const p of partitions) {
        if (!Number.isSafeInteger(p) || p < 0) throw new StrataError('INVALID_REQUEST', `listOffsets: partition ${String(p)} is not a non-negative integer`);
      }
      wanted = partitions;
    } else {
      wanted = (await this.#api.describeTopic(topic, call)).partitions.map((p) => p.partition);
    }
    const out: PartitionOffset[] = new Array(wanted.length);
    // Bounded fan-out. No partition's failure is dropped: with several, all are in the cause.
    const failures: unknown[] = [];
    for (let start = 0; start < wanted.length; start += LIST_OFFSETS_CONCURRENCY) {
      const slice = wanted.slice(start, start + LIST_OFFSETS_CONCURRENCY);
      const results = await Promise.allSettled(slice.map((p) => this.#api.listOffset(topic, p, spec, call)));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') out[start + i] = { partition: slice[i]!, ...r.value };
        else failures.push(r.reason);
      });
    }
    if (failures.length === 1 || (failures.length > 1 && !isStrataError(failures[0]))) throw failures[0];
    if (failures.length > 1) {
      const first = failures[0] as StrataError;
      throw new StrataError(first.code, `listOffsets ${topic}: ${failures.length} partitions failed; first: ${first.message}`, {
        cause: new AggregateError(failures),
        details: { failed: failures.length },
      });
    }
    return out;
  }

  // ---- records as JSON (the CLI's produce and consume; applications use Producer and Fetcher) ----

  /**
   * Appends JSON records: `body` is a ProduceRequest or its JSON text. One offset per record, in
   * request order; when some partitions failed (HTTP 207) their records carry `error` and offset -1.
   * A retry after a lost answer can append twice: pass attemptsMax 1 where that matters.
   */
  produceRecords(topic: string, body: ProduceRequest | string, acks: Acks = 'all', options?: AdminCallOptions): Promise<ProduceResponse> {
    return this.#api.produceRecords(topic, body, acks, this.#call(options));
  }

  /** Records at and after `request.offset` as JSON (a long poll with maxWaitMs). */
  fetchRecords(topic: string, partition: number, request: FetchRecordsRequest, options?: AdminCallOptions): Promise<FetchResponse> {
    return this.#api.fetchRecords(topic, partition, request, this.#call(options));
  }

  // ---- consumer groups ----------------------------------------------------------------------------

  listGroups(options?: AdminCallOptions): Promise<GroupListing[]> {
    return this.#api.listGroups(this.#call(options));
  }

  /** Members, their assignments, and every partition's committed offset, high watermark, lag and owner. NOT_FOUND if no such group. */
  describeGroup(group: string, options?: AdminCallOptions): Promise<GroupDescription> {
    return this.#api.describeGroup(group, this.#call(options));
  }

  /** Committed offsets with high watermark and lag (optionally of one topic). */
  groupOffsets(group: string, topic?: string, options?: AdminCallOptions): Promise<GroupOffset[]> {
    return this.#api.groupOffsets(group, topic, this.#call(options));
  }

  /**
   * Moves the group's offsets of a topic (all partitions, or the given ones) to the log start, the
   * high watermark, an offset (clamped into the log) or the first record at/after a timestamp.
   * Only while the group has no members (NON_EMPTY_GROUP). Returns the offsets set.
   */
  resetOffsets(group: string, topic: string, to: ResetTarget, partitions?: readonly number[], options?: AdminCallOptions): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    return this.#api.resetGroupOffsets(group, topic, to, partitions, this.#call(options));
  }

  /** Removes the group and its offsets; only while it has no members (NON_EMPTY_GROUP). NOT_FOUND if no such group. */
  deleteGroup(group: string, options?: AdminCallOptions): Promise<void> {
    return this.#api.deleteGroup(group, this.#call(options));
  }

  /** Every client quota (Kafka's DescribeClientQuotas). */
  listQuotas(options?: AdminCallOptions): Promise<QuotaRecord[]> {
    return this.#api.listQuotas(this.#call(options));
  }

  /** Sets and removes client quotas, all or nothing (Kafka's AlterClientQuotas); answers every stored quota after it. */
  alterQuotas(changes: AlterQuotasRequest['changes'], options?: AdminCallOptions): Promise<QuotaRecord[]> {
    return this.#api.alterQuotas(changes, this.#call(options));
  }

  describeCluster(options?: AdminCallOptions): Promise<ClusterDescription> {
    return this.#api.describeCluster(this.#call(options));
  }

  // ---- users and API tokens ----
  listUsers(options?: AdminCallOptions): Promise<User[]> {
    return this.#api.listUsers(this.#call(options));
  }

  /** Creates the user, or replaces its password (stored as SCRAM keys only). */
  createUser(request: CreateUserRequest, options?: AdminCallOptions): Promise<User> {
    return this.#api.createUser(request, this.#call(options));
  }

  deleteUser(name: string, options?: AdminCallOptions): Promise<void> {
    return this.#api.deleteUser(name, this.#call(options));
  }

  /** The answer's `token` is the secret, shown this once. */
  issueToken(user: string, request: IssueTokenRequest, options?: AdminCallOptions): Promise<IssuedToken> {
    return this.#api.issueToken(user, request, this.#call(options));
  }

  listTokens(user: string, options?: AdminCallOptions): Promise<ApiToken[]> {
    return this.#api.listTokens(user, this.#call(options));
  }

  revokeToken(user: string, id: string, options?: AdminCallOptions): Promise<void> {
    return this.#api.revokeToken(user, id, this.#call(options));
  }

  createAcls(acls: readonly AclBinding[], options?: AdminCallOptions): Promise<number> {
    return this.#api.createAcls(acls, this.#call(options));
  }

  listAcls(filter: AclFilter = {}, options?: AdminCallOptions): Promise<AclBinding[]> {
    return this.#api.listAcls(filter, this.#call(options));
  }

  deleteAcls(filter: AclFilter, options?: AdminCallOptions): Promise<AclBinding[]> {
    return this.#api.deleteAcls(filter, this.#call(options));
  }

  /** Closes the connection's pools (unless it was shared). */
  async close(): Promise<void> {
    if (this.#ownsConnection) await this.#api.connection.close();
  }

  #call(options: AdminCallOptions | undefined): CallOptions {
    const timeoutMs = options?.timeoutMs ?? this.#api.connection.options.requestTimeoutMs;
    return {
      deadline: Date.now() + timeoutMs,
      signal: options?.signal,
      ...(options?.attemptsMax === undefined ? {} : { attemptsMax: options.attemptsMax }),
    };
  }
}
