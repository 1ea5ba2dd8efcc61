// Fetch (key 1), v4-17, sessionless (every answer has session id 0, so clients send full fetches):
// each partition read through the core, its stored batches returned as they are (no re-encoding; a
// large slice is its own writev chunk), with the high watermark, log start and last stable offset
// (= the high watermark: no transactions). Topics by name, or by id from v13.
//
// Bounds: max_wait_ms is clamped to STRATA_FETCH_MAX_WAIT_MS and max_bytes to STRATA_FETCH_MAX_BYTES;
// partitions are read in request order, each up to partition_max_bytes and what remains of
// max_bytes (the first batch always goes, as in Kafka). When fewer than min_bytes are there, the
// fetch long-polls every partition at once through the core; the first to get data ends the wait
// and the partitions are read again, until min_bytes are there or max_wait_ms has passed.
// Quotas (docs/architecture.md#quotas): max_bytes is also capped at what the client's
// consumer_byte_rate allows over the measured span, and an answer over it goes without records.

import { defaultMaxListeners, setMaxListeners } from 'node:events';
import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { StrataError } from '@strata/protocol';
import type { PartitionRead } from '../../core/data.js';
import { toStrataError } from '../../core/errors.js';
import { topicByKafkaId } from '../cluster-view.js';
import { countError, decodeBody, errorCode, quotaThrottle, readOrigin, respond, type HandlerDeps, type KafkaHandler, type KafkaRequest } from './context.js';
import { leaderError, numberHeader } from './leader-reply.js';

const API = 'Fetch';

interface Slot {
  topic: string;
  partition: number;
  offset: number;
  partitionMaxBytes: number;
  /** Set when the partition cannot be read at all (unknown, bad offset): answered with it, never read. */
  error: number | null;
  /** The request's authenticated client (every slot of one request has the same). */
  principal: string | undefined;
  host: string | undefined;
}

interface Answer {
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer;
  release: () => void;
}

const EMPTY = Buffer.alloc(0);
const noRelease = (): void => undefined;

export function fetchHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, data } = deps;
  const { config } = ctx;

  const errorAnswer = (code: number): Answer => ({ errorCode: countError(deps, API, code), highWatermark: -1, logStartOffset: -1, records: EMPTY, release: noRelease });

  /** What a read gave, as a partition's answer. */
  const toAnswer = (slot: Slot, read: PartitionRead): Answer => {
    if (read.source === 'none') return quiet(slot);
    if (read.source !== 'leader') {
      const { result } = read;
      return { errorCode: KafkaError.NONE, highWatermark: result.highWatermark, logStartOffset: result.logStartOffset, records: result.data, release: result.release };
    }
    const { reply } = read;
    if (reply.status === 200) {
      return { errorCode: KafkaError.NONE, highWatermark: numberHeader(reply, 'strata-high-watermark'), logStartOffset: numberHeader(reply, 'strata-log-start-offset'), records: reply.body, release: noRelease };
    }
    if (reply.status === 204) return quiet(slot);
    return { ...errorAnswer(0), errorCode: errorCode(deps, API, leaderError(reply, `fetch of ${slot.topic}/${slot.partition}`)) };
  };

  /** No records (the budget ran out, or the wait ended elsewhere): the partition's figures as known here. */
  const quiet = (slot: Slot): Answer => {
    try {
      const handle = ctx.registry.partition(slot.topic, slot.partition);
      return { errorCode: KafkaError.NONE, highWatermark: data.highWatermarkAnywhere(handle), logStartOffset: handle.tier.logStartOffset(), records: EMPTY, release: noRelease };
    } catch (e) {
      return { ...errorAnswer(0), errorCode: errorCode(deps, API, toStrataError(e).error) };
    }
  };

  const readOne = async (slot: Slot, maxBytes: number, maxWaitMs: number, signal: AbortSignal): Promise<Answer> => {
    const replay = `/v1/topics/${encodeURIComponent(slot.topic)}/partitions/${slot.partition}/batches?offset=${slot.offset}&maxBytes=${maxBytes}&maxWaitMs=${maxWaitMs}`;
    try {
      const read = await data.fetchPartition({ topic: slot.topic, partition: slot.partition, offset: slot.offset, maxBytes, maxWaitMs }, readOrigin(deps, replay, slot), signal);
      return toAnswer(slot, read);
    } catch (e) {
      // A wait this fetch ended itself (another partition got data): no error, nothing read.
      if (signal.aborted) return quiet(slot);
      const { error, unexpected } = toStrataError(e);
      if (unexpected) ctx.logger.error('kafka fetch of a partition failed', { topic: slot.topic, partition: slot.partition, err: e });
      return { ...errorAnswer(0), errorCode: errorCode(deps, API, error) };
    }
  };

  /** Every partition read once without waiting, in order, within max_bytes. */
  const readAll = async (slots: Slot[], maxBytes: number, signal: AbortSignal): Promise<Answer[]> => {
    let budget = maxBytes;
    const answers: Answer[] = [];
    for (const slot of slots) {
      if (slot.error !== null) answers.push(errorAnswer(slot.error));
      else if (budget <= 0) answers.push(quiet(slot));
      else {
        const answer = await readOne(slot, Math.max(1, Math.min(slot.partitionMaxBytes, budget)), 0, signal);
        budget -= answer.records.length;
        answers.push(answer);
      }
    }
    return answers;
  };

  /** Waits (up to waitMs) until any partition has something past its offset; the reads it did are given back. */
  const waitForAny = async (slots: Slot[], waitMs: number, signal: AbortSignal): Promise<void> => {
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const waiting = slots.filter((s) => s.error === null);
    // One abort listener per partition waited on, each removed when its wait ends: bounded by the
    // request, not a leak (Node warns past 10 on one signal).
    setMaxListeners(Math.max(defaultMaxListeners, waiting.length + 1), both);
    await Promise.all(
      waiting
        .map(async (slot) => {
          const answer = await readOne(slot, 1, waitMs, both);
          answer.release();
          if (answer.records.length > 0 || answer.errorCode !== KafkaError.NONE) stop.abort();
        }),
    );
  };

  /**
   * Records the answer's bytes against consumer_byte_rate (and the reads against
   * request_percentage). Over the byte quota, the answer goes without its records, as Kafka's does
   * (KIP-219): they are taken back from the rate, and the client fetches them again once its
   * throttle time (and the mute) is over.
   */
  const throttleFetch = (answers: Answer[], request: KafkaRequest): number => {
    const bytes = answers.reduce((sum, a) => sum + a.records.length, 0);
    const throttleMs = quotaThrottle(deps, request, 'fetch', bytes);
    if (throttleMs === 0 || ctx.quotas.throttleNow('fetch', request.quota.client) === 0) return throttleMs;
    ctx.quotas.unrecordBytes('fetch', request.quota.client, bytes);
    for (const a of answers) {
      a.release();
      a.records = EMPTY;
      a.release = noRelease;
    }
    return throttleMs;
  };

  return async (request) => {
    const version = request.header.apiVersion;
    const body = decodeBody(ApiKey.Fetch, request);
    const byId = version >= 13;
    if (!byId && body.topics.some((t) => !ctx.registry.has(t.topic))) await ctx.cluster.node.syncTopics().catch(() => undefined);

    const slots: Slot[] = [];
    const layout = body.topics.map((t) => {
      const name = byId ? (topicByKafkaId(ctx, t.topicId)?.name ?? null) : t.topic;
      const unknownTopic = byId ? KafkaError.UNKNOWN_TOPIC_ID : KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
      const topic = name !== null && ctx.registry.has(name) ? ctx.registry.get(name) : null;
      for (const p of t.partitions) {
        const offset = p.fetchOffset;
        let error: number | null = null;
        if (topic === null) error = unknownTopic;
        else if (topic.handle(p.partition) === undefined) error = KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
        else if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) error = KafkaError.OFFSET_OUT_OF_RANGE;
        else if (p.partitionMaxBytes <= 0) error = KafkaError.INVALID_REQUEST;
        slots.push({ topic: name ?? '', partition: p.partition, offset: Number(offset), partitionMaxBytes: Math.min(p.partitionMaxBytes, config.fetchMaxBytesCap), error, principal: request.principal, host: request.host });
      }
      return { topic: t.topic, topicId: t.topicId, partitions: t.partitions.map((p) => p.partition) };
    });

    const quotaCap = ctx.quotas.fetchBytesCap(request.quota.client);
    const maxBytes = Math.max(1, Math.min(body.maxBytes, config.fetchMaxBytesCap, quotaCap ?? Number.MAX_SAFE_INTEGER));
    const minBytes = Math.max(1, body.minBytes);
    const deadline = performance.now() + Math.min(Math.max(0, body.maxWaitMs), config.fetchMaxWaitMsCap);
    const timedReadAll = async (): Promise<Answer[]> => {
      const startedMs = performance.now();
      try {
        return await readAll(slots, maxBytes, request.signal);
      } finally {
        request.quota.busyMs += performance.now() - startedMs;
      }
    };
    let answers = await timedReadAll();
    for (;;) {
      const total = answers.reduce((sum, a) => sum + a.records.length, 0);
      const remaining = Math.floor(deadline - performance.now());
      // An error is answered at once, as Kafka does: the client acts on it (refresh, reset).
      if (total >= minBytes || remaining <= 0 || request.signal.aborted || answers.some((a) => a.errorCode !== KafkaError.NONE)) break;
      for (const a of answers) a.release();
      await waitForAny(slots, remaining, request.signal);
      answers = await timedReadAll();
    }
    const throttleTimeMs = throttleFetch(answers, request);

    let at = 0;
    const responses = layout.map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((partitionIndex) => {
        const a = answers[at++]!;
        return {
          partitionIndex,
          errorCode: a.errorCode,
          highWatermark: BigInt(a.highWatermark),
          lastStableOffset: BigInt(a.highWatermark),
          logStartOffset: BigInt(a.logStartOffset),
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: a.records,
        };
      }),
    }));
    const releaseAll = (): void => {
      for (const a of answers) a.release();
    };
    try {
      return { ...respond(ApiKey.Fetch, request, { throttleTimeMs, errorCode: KafkaError.NONE, sessionId: 0, responses }, releaseAll), throttleMs: throttleTimeMs };
    } catch (e) {
      releaseAll();
      throw e instanceof StrataError ? e : new StrataError('INTERNAL_ERROR', 'encoding a fetch answer failed', { cause: e });
    }
  };
}
