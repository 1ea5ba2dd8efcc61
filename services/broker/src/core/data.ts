// The data path's core: produce, fetch and offset lookups as typed calls, with
// the routing decision made here and nowhere else: append through this broker's
// partition leader, forward to the leader elsewhere, read history from the
// bucket, or proxy a read to the leader. It knows nothing of HTTP: a caller (the
// HTTP handlers today, a Kafka listener later) parses, calls, and renders the
// typed answer. Results are per partition, as Kafka's produce and fetch answers
// are: one partition's failure never hides another's offsets.
// docs/architecture.md ("Layers", "A produce", "A fetch") draws the flow.

import { StrataError, isStrataError, type BatchFrame } from '@strata/protocol';
import type { AppendResult } from '@strata/log';
import type { Readable } from 'node:stream';
import type { AbortSource } from '../abort-source.js';
import { notLeader, type PartitionRoute } from '../cluster/routing.js';
import type { BrokerContext } from '../context.js';
import { fetchBatches, lookupOffset, type FetchRequest, type FetchResult, type OffsetAt } from '../fetch.js';
import { appendToPartition, type Acks, type AppendContext } from '../produce.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import { toStrataError } from './errors.js';
import type { ForwardedReply, LeaderClient, RequestOrigin } from './leader-client.js';

export type { FetchRequest, FetchResult, OffsetAt };

/** One partition's share of a produce: validated RecordBatch bytes and their frames. */
export interface PartitionBatches {
  partition: number;
  batches: Buffer;
  frames: BatchFrame[];
}

export interface ProduceRequest {
  topic: string;
  acks: Acks;
  partitions: PartitionBatches[];
}

/** Per partition, in request order: its offsets, "queued" (acks=0: nothing waited for), or its typed error. */
export type PartitionProduceResult =
  /** duplicate: an idempotent producer's retry of batches already written there: the offsets they were written at, nothing written again. */
  | { partition: number; outcome: 'appended'; baseOffset: number; lastOffset: number; recordCount: number; duplicate: boolean }
  | { partition: number; outcome: 'queued' }
  | { partition: number; outcome: 'failed'; error: StrataError };

/**
 * Where a read was answered from: this broker's log (or its own tier), the bucket for a partition
 * led elsewhere, the leader's answer passed on, or nothing (the caller left while it waited).
 */
export type PartitionRead =
  | { source: 'local' | 'bucket'; result: FetchResult }
  | { source: 'leader'; reply: ForwardedReply }
  | { source: 'none' };

export type PartitionFetchResult = { partition: number; topic: string; read: PartitionRead } | { partition: number; topic: string; error: StrataError };

export type OffsetLookup = { source: 'local'; offset: number; timestamp?: number } | { source: 'leader'; reply: ForwardedReply };

export class DataCore {
  readonly #ctx: BrokerContext;
  readonly #appendCtx: AppendContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
    this.#appendCtx = { now: () => ctx.now(), registry: ctx.registry, metrics: ctx.metrics };
  }

  /**
   * Throws TOPIC_AUTHORIZATION_FAILED unless the principal may do `operation` on the topic: what every
   * call below checks first, offered to a caller that must refuse before it reads a body or names a
   * missing partition (Kafka answers authorization before existence).
   */
  authorize(origin: RequestOrigin, operation: 'read' | 'write' | 'describe' | 'delete', topic: string): void {
    this.#ctx.authorizer.check(origin, operation, { type: 'topic', name: topic });
  }

  /** The transport to other brokers. */
  get #leaders(): LeaderClient {
    return this.#ctx.cluster.forwarder;
  }

  /**
   * Appends each partition's batches where its leader is: here through the partition leader, else
   * forwarded (once) to the leader elsewhere. acks=1 resolves after the leader's append; acks=all once
   * the high watermark covers the batch; acks=0 at once ("queued"; close() still waits, failures are logged).
   * Unknown partitions throw before anything is appended. `abort.signal` is read only by a step that
   * waits (an acks=all wait, a forward), so a front door may make it on first read (abort-source.ts).
   */
  async produce(request: ProduceRequest, origin: RequestOrigin, abort: AbortSource): Promise<PartitionProduceResult[]> {
    this.#ctx.authorizer.check(origin, 'write', { type: 'topic', name: request.topic });
    const handles = request.partitions.map((p) => this.#ctx.registry.partition(request.topic, p.partition));
    const appends = request.partitions.map((p, i) => this.#appendOrForward(handles[i]!, p.batches, p.frames, request.acks, origin, abort));
    if (request.acks === '0') {
      this.#background(request.topic, appends);
      return request.partitions.map((p) => ({ partition: p.partition, outcome: 'queued' }));
    }
    if (appends.length === 1) {
      // One partition (every raw produce): the same outcome as below, without allSettled's promises.
      const partition = request.partitions[0]!.partition;
      try {
        const { baseOffset, lastOffset, recordCount, duplicate } = await appends[0]!;
        return [{ partition, outcome: 'appended', baseOffset, lastOffset, recordCount, duplicate }];
      } catch (e) {
        return [{ partition, outcome: 'failed', error: toStrataError(e).error }];
      }
    }
    const settled = await Promise.allSettled(appends);
    // When every partition failed the caller reports the error as the request's; a partial failure is logged here.
    const partial = settled.some((s) => s.status === 'fulfilled');
    return settled.map((s, i): PartitionProduceResult => {
      const partition = request.partitions[i]!.partition;
      if (s.status === 'fulfilled') {
        const { baseOffset, lastOffset, recordCount, duplicate } = s.value;
        return { partition, outcome: 'appended', baseOffset, lastOffset, recordCount, duplicate };
      }
      const { error } = toStrataError(s.reason);
      // Retriable refusals (no leader yet, too few in-sync replicas) are the client's to retry, not the operator's to read.
      if (partial && error.retriable) this.#ctx.logger.debug('produce to a partition refused (retriable)', { topic: request.topic, err: s.reason });
      else if (partial) this.#ctx.logger.error('produce to a partition failed', { topic: request.topic, err: s.reason });
      return { partition, outcome: 'failed', error };
    });
  }

  /**
   * A raw produce whose partition is led elsewhere, streamed to the leader unread (the hot path
   * never buffers what it forwards). null: append it here (this broker leads it, or the request was
   * already forwarded once and the append will answer NOT_LEADER if leadership moved).
   */
  forwardStream(
    topic: string,
    partition: number,
    origin: RequestOrigin,
    body: Readable,
    contentType: string,
    contentLength: string | undefined,
    abort: AbortSource,
  ): ForwardedReply | null | Promise<ForwardedReply | null> {
    // null without a promise when the partition is led here (the hot path); a refusal is a rejection.
    try {
      this.#ctx.authorizer.check(origin, 'write', { type: 'topic', name: topic });
      if (origin.forwardedBy !== undefined || origin.replay === undefined) return null;
      const handle = this.#ctx.registry.partition(topic, partition);
      const known = this.#routeNow(handle);
      const forward = (route: PartitionRoute): Promise<ForwardedReply> | null =>
        route.kind !== 'remote' ? null : this.#toLeader(handle, route, () => this.#leaders.produceStream(route.url, origin.replay!, body, contentType, contentLength, origin, abort.signal));
      return known instanceof Promise ? known.then(forward) : forward(known);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /**
   * Reads one partition at `request.offset`, long-polling up to maxWaitMs. Led here: the log (and its
   * tier). Led elsewhere: the bucket when it holds the offset (any broker serves history), else the
   * leader's answer to the same read (origin.replay), or NOT_LEADER when the caller cannot replay.
   */
  async fetchPartition(request: FetchRequest, origin: RequestOrigin, signal: AbortSignal): Promise<PartitionRead> {
    this.#ctx.authorizer.check(origin, 'read', { type: 'topic', name: request.topic });
    const handle = this.#ctx.registry.partition(request.topic, request.partition);
    const route = await this.#routeOf(handle);
    if (route.kind !== 'local') {
      const fromBucket = await this.#ctx.cluster.node.readFromBucket(handle, request.offset, request.maxBytes, signal);
      if (fromBucket !== null) return { source: 'bucket', result: fromBucket };
      return { source: 'leader', reply: await this.#proxy(handle, origin, signal) };
    }
    const result = await fetchBatches(this.#ctx, request, signal);
    return result === null ? { source: 'none' } : { source: 'local', result };
  }

  /** Several partitions read at once (the Kafka fetch's shape): each its data or its own error. */
  async fetch(requests: readonly FetchRequest[], origin: RequestOrigin, signal: AbortSignal): Promise<PartitionFetchResult[]> {
    const settled = await Promise.allSettled(requests.map((r) => this.fetchPartition(r, origin, signal)));
    return settled.map((s, i) => {
      const { topic, partition } = requests[i]!;
      return s.status === 'fulfilled' ? { topic, partition, read: s.value } : { topic, partition, error: toStrataError(s.reason).error };
    });
  }

  /** The offset at `at` (earliest, latest or a timestamp in ms): here when this broker leads the partition, else the leader's answer. */
  async listOffsets(topic: string, partition: number, at: OffsetAt, origin: RequestOrigin, signal: AbortSignal): Promise<OffsetLookup> {
    this.#ctx.authorizer.check(origin, 'describe', { type: 'topic', name: topic });
    const handle = this.#ctx.registry.partition(topic, partition);
    if ((await this.#routeOf(handle)).kind !== 'local') return { source: 'leader', reply: await this.#proxy(handle, origin, signal) };
    return { source: 'local', ...(await lookupOffset(this.#ctx, handle, at)) };
  }

  /**
   * The offset at `at` wherever the partition is led, as a number (a group's offset reset): looked up
   * here, or asked of the leader with the same read a client would send, as `origin` (whose request needs it).
   */
  async offsetAnywhere(handle: PartitionHandle, at: OffsetAt, origin: RequestOrigin, signal: AbortSignal): Promise<number> {
    const route = this.#ctx.router.route(handle);
    if (route.kind === 'local') return (await lookupOffset(this.#ctx, handle, at)).offset;
    if (route.kind === 'unavailable') {
      throw new StrataError('NOT_LEADER', `${handle.topic}/${handle.partition} has no leader now (${route.reason}); retry shortly`, {
        details: { topic: handle.topic, partition: handle.partition },
      });
    }
    const path = `/v1/topics/${encodeURIComponent(handle.topic)}/partitions/${handle.partition}/offsets?at=${String(at)}`;
    const reply = await this.#ctx.cluster.forwarder.proxy(route.url, path, origin, signal);
    type Answer = { offset?: unknown; error?: { code?: string; message?: string } } | null;
    let body: Answer;
    try {
      body = JSON.parse(reply.body.toString('utf8')) as Answer;
    } catch {
      body = null;
    }
    if (reply.status !== 200 || !Number.isSafeInteger(body?.offset)) {
      const message = body?.error?.message ?? `HTTP ${reply.status}`;
      throw new StrataError('NOT_LEADER', `offset lookup of ${handle.topic}/${handle.partition} at its leader ${route.leaderId} failed: ${message}`, {
        details: { topic: handle.topic, partition: handle.partition, leaderUrl: route.url },
      });
    }
    return body!.offset as number;
  }

  /**
   * Kafka's DeleteRecords on the partition's leader: moves its log start up to `offset` (-1: the high
   * watermark), persisted where the manifest lives (the coordinator: Redis, or the in-process engine
   * under the data dir; and the bucket's snapshot), so every broker and a later leader respect it.
   * OFFSET_OUT_OF_RANGE above the high watermark. Led elsewhere: forwarded (once) to the leader when
   * the caller wants that (origin.replay: HTTP, and Kafka in one-address mode), else NOT_LEADER (Kafka's
   * clients in brokers mode send it to the leader). Returns the log start after (Kafka's low watermark).
   */
  async deleteRecords(topic: string, partition: number, offset: number, origin: RequestOrigin, signal: AbortSignal): Promise<number> {
    this.#ctx.authorizer.check(origin, 'delete', { type: 'topic', name: topic });
    const handle = this.#ctx.registry.partition(topic, partition);
    const route = await this.#routeOf(handle);
    if (route.kind === 'remote' && origin.forwardedBy === undefined && origin.replay !== undefined) {
      const leaders = this.#leaders;
      return this.#toLeader(handle, route, () => leaders.deleteRecords(route.url, topic, partition, offset, origin, signal));
    }
    if (route.kind !== 'local') throw notLeader(handle, route);
    const hw = this.#ctx.router.highWatermark(handle);
    const target = offset === -1 ? hw : offset;
    if (!Number.isSafeInteger(target) || target < 0 || target > hw) {
      throw new StrataError('OFFSET_OUT_OF_RANGE', `cannot delete records of ${topic}/${partition} before ${offset}: it must lie in [0, ${hw}] (the high watermark), or be -1 for it`, {
        details: { topic, partition, offset, highWatermark: hw, logStartOffset: handle.tier.logStartOffset() },
      });
    }
    return handle.tier.deleteRecordsBefore(target, signal);
  }

  /** The high watermark: this broker's log when it leads the partition, else the last one the leader published. */
  highWatermarkAnywhere(handle: PartitionHandle): number {
    return this.#ctx.cluster.node.partitionView(handle).highWatermark;
  }

  /** The route, looked up again first when this broker knows no leader (a partition it has not read yet). */
  async #routeOf(handle: PartitionHandle): Promise<PartitionRoute> {
    const route = this.#ctx.router.route(handle);
    if (route.kind !== 'unavailable') return route;
    await this.#ctx.cluster.node.refresh(handle);
    return this.#ctx.router.route(handle);
  }

  /**
   * The route known now, or a promise of the route after a refresh when there is none: the produce
   * path takes the common case (led here, or led elsewhere and known) without awaiting #routeOf, whose
   * async call and await cost every single-record produce two microtask hops (issue #11's latency).
   */
  #routeNow(handle: PartitionHandle): PartitionRoute | Promise<PartitionRoute> {
    const route = this.#ctx.router.route(handle);
    return route.kind === 'unavailable' ? this.#routeOf(handle) : route;
  }

  async #appendOrForward(handle: PartitionHandle, batches: Buffer, frames: BatchFrame[], acks: Acks, origin: RequestOrigin, abort: AbortSource): Promise<Pick<AppendResult, 'baseOffset' | 'lastOffset' | 'recordCount' | 'duplicate'>> {
    const known = this.#routeNow(handle);
    const route = known instanceof Promise ? await known : known;
    if (route.kind === 'local') return appendToPartition(this.#appendCtx, route.leader, batches, frames, acks, abort);
    const leaders = this.#leaders;
    // No leader now, and this broker's disk is full: it cannot take leadership (its coordinator and log
    // writes fail), so the disk is what the client must hear about, not a transient NOT_LEADER.
    if (route.kind === 'unavailable') throw this.#ctx.disk.appendRefusal() ?? notLeader(handle, route);
    if (origin.forwardedBy !== undefined) throw notLeader(handle, route);
    return this.#toLeader(handle, route, () => leaders.produce(route.url, handle.topic, handle.partition, acks, batches, origin, abort.signal));
  }

  async #proxy(handle: PartitionHandle, origin: RequestOrigin, signal: AbortSignal): Promise<ForwardedReply> {
    const route = await this.#routeOf(handle);
    const leaders = this.#leaders;
    if (route.kind !== 'remote' || origin.forwardedBy !== undefined || origin.replay === undefined) throw notLeader(handle, route);
    return this.#toLeader(handle, route, () => leaders.proxy(route.url, origin.replay!, origin, signal));
  }

  /** A call to the leader; one that cannot connect makes the router look again before the next. */
  async #toLeader<T>(handle: PartitionHandle, route: Extract<PartitionRoute, { kind: 'remote' }>, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (isStrataError(e) && e.details?.unreachable === true) this.#ctx.router.leaderUnreachable(handle, route.leaderId);
      throw e;
    }
  }

  /** acks=0: the answer does not wait, but close() does, and failures are logged. */
  #background(topic: string, appends: Promise<unknown>[]): void {
    this.#ctx.track(
      Promise.allSettled(appends).then((results) => {
        for (const r of results) {
          if (r.status === 'rejected') this.#ctx.logger.error('acks=0 append failed', { topic, err: r.reason });
        }
      }),
    );
  }
}
