// PartitionReader follows one partition from a start position with
// long-polls, as an async iterator of records (or of batches). Its position is
// the offset of the next record it will hand out.
//
// When the position is outside [logStartOffset, highWatermark] (retention
// moved past it, or it was never there), autoOffsetReset decides, with
// Kafka's semantics: 'earliest' moves to the log start, 'latest' to the high
// watermark, 'none' fails with OFFSET_OUT_OF_RANGE. Every reset is published
// on the 'strata:client:offset-reset' diagnostics channel.

import { channel } from 'node:diagnostics_channel';
import { isStrataError, StrataError } from '@strata/protocol';
import type { OffsetSpec } from './api.js';
import type { Fetcher } from './fetcher.js';
import { Problems, READER_DEFAULTS, type AutoOffsetReset } from './options.js';
import type { ConsumerRecord } from './records.js';

/** Where a reader starts: the log start, the high watermark, an offset, or the first record at/after a time. */
export type StartPosition = 'earliest' | 'latest' | number | { timestamp: number };

export interface PartitionReaderOptions {
  /** Default 'latest' (Kafka's default for a consumer without a committed offset). */
  from?: StartPosition;
  /** What to do when the position is out of range (default 'latest', as Kafka's auto.offset.reset). */
  autoOffsetReset?: AutoOffsetReset;
  /** Per fetch (default 1 MiB). */
  maxBytes?: number;
  /** How long one long-poll may wait for new records (default 5000; the broker caps it). */
  maxWaitMs?: number;
  /** Aborting it closes the reader. */
  signal?: AbortSignal;
}

export interface OffsetResetEvent {
  topic: string;
  partition: number;
  /** The position that was out of range. */
  offset: number;
  resetTo: number;
  policy: Exclude<AutoOffsetReset, 'none'>;
}

export const offsetResetChannel = channel('strata:client:offset-reset');

/** Resets in one poll before giving up (retention racing the reader cannot take more). */
const MAX_RESETS_PER_POLL = 5;

interface Fetched {
  records: ConsumerRecord[];
  nextOffset: number;
  generation: number;
}

export class PartitionReader implements AsyncIterable<ConsumerRecord> {
  readonly topic: string;
  readonly partition: number;
  readonly #fetcher: Fetcher;
  readonly #reset: AutoOffsetReset;
  readonly #maxBytes: number;
  readonly #maxWaitMs: number;
  /** The start to resolve at the next poll, when the position is not a number yet. */
  #start: Exclude<StartPosition, number> | null = null;
  #position: number | null = null;
  #highWatermark: number | null = null;
  /** Bumped by seek() and close(): a fetch begun before it is discarded. */
  #generation = 0;
  #inFlight: AbortController | null = null;
  #busy = false;
  #closed = false;

  constructor(fetcher: Fetcher, topic: string, partition: number, options: PartitionReaderOptions = {}) {
    const problems = new Problems();
    if (typeof topic !== 'string' || topic.length === 0) problems.add('topic must be a non-empty string');
    problems.int('partition', partition, 0, 0, 2 ** 31 - 1);
    this.#maxBytes = problems.int('maxBytes', options.maxBytes, READER_DEFAULTS.maxBytes, 1, 2 ** 31 - 1);
    this.#maxWaitMs = problems.int('maxWaitMs', options.maxWaitMs, READER_DEFAULTS.maxWaitMs, 0, 24 * 3_600_000);
    const reset = options.autoOffsetReset ?? READER_DEFAULTS.autoOffsetReset;
    if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') problems.add(`autoOffsetReset must be 'earliest', 'latest' or 'none', got ${String(reset)}`);
    checkStart(options.from ?? 'latest', problems);
    problems.throwIfAny('reader');
    this.#fetcher = fetcher;
    this.topic = topic;
    this.partition = partition;
    this.#reset = reset;
    this.#place(options.from ?? 'latest');
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.close();
      else options.signal.addEventListener('abort', () => this.close(), { once: true });
    }
  }

  /** The offset of the next record to hand out; null until the start position is resolved. */
  get position(): number | null {
    return this.#position;
  }

  /** The partition's high watermark as of the last fetch (lag = highWatermark - position). */
  get highWatermark(): number | null {
    return this.#highWatermark;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Moves the reader; a fetch in flight is abandoned, and records not yet handed out are dropped. */
  seek(to: StartPosition): void {
    const problems = new Problems();
    checkStart(to, problems);
    if (problems.list.length > 0) throw new StrataError('INVALID_REQUEST', `seek: ${problems.list.join('; ')}`);
    this.#place(to);
    this.#generation++;
    this.#inFlight?.abort();
  }

  /** Ends iteration: a long-poll in flight is aborted, iterators finish, poll() answers []. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#generation++;
    this.#inFlight?.abort();
  }

  /** One long-poll: the records from the position (possibly none, after maxWaitMs); the position moves past them. */
  async poll(): Promise<ConsumerRecord[]> {
    const fetched = await this.#exclusive(() => this.#fetchNext());
    if (fetched === null) return [];
    this.#position = fetched.nextOffset;
    return fetched.records;
  }

  /** Records, one at a time, until close() (or the signal). Breaking out keeps the position after the last record handed out. */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    for await (const batch of this.#batches(true)) yield* batch;
  }

  /** Non-empty arrays of records, until close(). The position moves past an array when the caller asks for the next or breaks out. */
  batches(): AsyncIterableIterator<ConsumerRecord[]> {
    return this.#batches(false);
  }

  async *#batches(perRecord: boolean): AsyncGenerator<ConsumerRecord[]> {
    if (this.#busy) throw new StrataError('INVALID_REQUEST', `reader ${this.topic}/${this.partition}: already being iterated or polled`);
    this.#busy = true;
    try {
      while (!this.#closed) {
        const fetched = await this.#fetchNext();
        if (fetched === null || fetched.records.length === 0) {
          if (fetched !== null) this.#position = fetched.nextOffset;
          continue;
        }
        if (!perRecord) {
          try {
            yield fetched.records;
          } finally {
            // Handed out (also when the caller breaks out), unless seek() moved the reader meanwhile.
            if (fetched.generation === this.#generation) this.#position = fetched.nextOffset;
          }
          continue;
        }
        let interrupted = false;
        for (const record of fetched.records) {
          if (fetched.generation !== this.#generation) {
            interrupted = true;
            break;
          }
          // Set before the yield: a caller that breaks out has consumed this record.
          this.#position = record.offset + 1;
          yield [record];
        }
        if (!interrupted && fetched.generation === this.#generation) this.#position = fetched.nextOffset;
      }
    } finally {
      this.#busy = false;
    }
  }

  async #exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.#busy) throw new StrataError('INVALID_REQUEST', `reader ${this.topic}/${this.partition}: already being iterated or polled`);
    this.#busy = true;
    try {
      return await work();
    } finally {
      this.#busy = false;
    }
  }

  /** One fetch from the position, resolving the start and applying autoOffsetReset; null when closed or moved meanwhile. */
  async #fetchNext(): Promise<Fetched | null> {
    let resets = 0;
    for (;;) {
      if (this.#closed) return null;
      const generation = this.#generation;
      const controller = new AbortController();
      this.#inFlight = controller;
      try {
        const position = this.#position ?? (await this.#resolveStart(controller.signal));
        if (generation !== this.#generation) continue;
        this.#position = position;
        const result = await this.#fetcher.fetch(this.topic, this.partition, position, {
          maxBytes: this.#maxBytes,
          maxWaitMs: this.#maxWaitMs,
          signal: controller.signal,
        });
        if (generation !== this.#generation) continue;
        this.#highWatermark = result.highWatermark;
        return { records: result.records, nextOffset: result.nextOffset, generation };
      } catch (e) {
        if (generation !== this.#generation) continue; // seek() or close() aborted it
        if (!(isStrataError(e) && e.code === 'OFFSET_OUT_OF_RANGE') || this.#reset === 'none') throw e;
        if (++resets > MAX_RESETS_PER_POLL) throw e;
        await this.#applyReset(e, this.#reset, controller.signal);
      } finally {
        if (this.#inFlight === controller) this.#inFlight = null;
      }
    }
  }

  async #applyReset(error: StrataError, policy: Exclude<AutoOffsetReset, 'none'>, signal: AbortSignal): Promise<void> {
    const offset = this.#position!;
    const details = error.details ?? {};
    const known = policy === 'earliest' ? details.logStartOffset : details.highWatermark;
    const resetTo = Number.isSafeInteger(known)
      ? (known as number)
      : (await this.#fetcher.listOffset(this.topic, this.partition, policy, { signal })).offset;
    this.#position = resetTo;
    if (Number.isSafeInteger(details.highWatermark)) this.#highWatermark = details.highWatermark as number;
    if (offsetResetChannel.hasSubscribers) {
      const event: OffsetResetEvent = { topic: this.topic, partition: this.partition, offset, resetTo, policy };
      offsetResetChannel.publish(event);
    }
  }

  async #resolveStart(signal: AbortSignal): Promise<number> {
    const spec: OffsetSpec = this.#start ?? 'latest';
    return (await this.#fetcher.listOffset(this.topic, this.partition, spec, { signal })).offset;
  }

  #place(to: StartPosition): void {
    if (typeof to === 'number') {
      this.#position = to;
      this.#start = null;
    } else {
      this.#position = null;
      this.#start = to;
    }
  }
}

function checkStart(from: unknown, problems: Problems): void {
  if (from === 'earliest' || from === 'latest') return;
  if (typeof from === 'number') {
    problems.int('from', from, 0, 0);
    return;
  }
  const timestamp = (from as { timestamp?: unknown } | null)?.timestamp;
  if (from !== null && typeof from === 'object' && Number.isSafeInteger(timestamp) && (timestamp as number) >= 0) return;
  problems.add(`a start position is 'earliest', 'latest', an offset >= 0 or {timestamp: ms >= 0}, got ${JSON.stringify(from)}`);
}
