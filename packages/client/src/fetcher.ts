// The low-level consumer, without groups: fetch() reads one partition from an
// offset over the raw batches endpoint (decoding RecordBatch v2 here, so the
// broker sends stored bytes untouched), and reader() follows a partition with
// long-polls (partition-reader.ts). The group Consumer (consumer.ts) reads through it.

import { decodeRecordBatches, StrataError } from '@strata/protocol';
import { StrataApi, type OffsetLookup, type OffsetSpec } from './api.js';
import { connectionFor, type Connection, type ConnectWith } from './connection.js';
import { Problems, READER_DEFAULTS } from './options.js';
import { PartitionReader, type PartitionReaderOptions } from './partition-reader.js';
import type { ConsumerRecord } from './records.js';

/** Brokers and connection settings, or `{connection}` to share another client's pools. */
export type FetcherOptions = ConnectWith;

export interface FetchOptions {
  /** Bytes of batches to read (default 1 MiB); at least one whole batch comes back if there is one. */
  maxBytes?: number;
  /** Long-poll: how long the broker may wait for a record at `offset` (default 0: answer at once). */
  maxWaitMs?: number;
  /** Records decoded from the answer at most (default 10,000); nextOffset then points at the first one left. */
  maxRecords?: number;
  signal?: AbortSignal;
}

export interface FetchResult {
  /** Records at and after the asked offset, in offset order (possibly none). */
  records: ConsumerRecord[];
  /** The offset to fetch next. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

export class Fetcher {
  readonly #api: StrataApi;
  readonly #ownsConnection: boolean;

  constructor(options: FetcherOptions) {
    const { connection, owned } = connectionFor(options);
    this.#ownsConnection = owned;
    this.#api = new StrataApi(connection);
  }

  get connection(): Connection {
    return this.#api.connection;
  }

  /**
   * Records of topic/partition from `offset`. An offset outside [logStartOffset, highWatermark]
   * fails with OFFSET_OUT_OF_RANGE (details: logStartOffset, highWatermark). Retriable failures are
   * retried for requestTimeoutMs (plus maxWaitMs), then REQUEST_TIMED_OUT.
   */
  async fetch(topic: string, partition: number, offset: number, options: FetchOptions = {}): Promise<FetchResult> {
    const problems = new Problems();
    if (typeof topic !== 'string' || topic.length === 0) problems.add('topic must be a non-empty string');
    problems.int('partition', partition, 0, 0, 2 ** 31 - 1);
    problems.int('offset', offset, 0, 0);
    const maxBytes = problems.int('maxBytes', options.maxBytes, READER_DEFAULTS.maxBytes, 1, 2 ** 31 - 1);
    const maxWaitMs = problems.int('maxWaitMs', options.maxWaitMs, 0, 0, 24 * 3_600_000);
    const maxRecords = problems.int('maxRecords', options.maxRecords, READER_DEFAULTS.maxRecords, 1, 2 ** 31 - 2);
    if (problems.list.length > 0) throw new StrataError('INVALID_REQUEST', `fetch: ${problems.list.join('; ')}`);

    const timeoutMs = this.#api.connection.options.requestTimeoutMs + maxWaitMs;
    const answer = await this.#api.fetchBatches(topic, partition, offset, maxBytes, maxWaitMs, {
      deadline: Date.now() + timeoutMs,
      signal: options.signal,
    });
    const records: ConsumerRecord[] = [];
    // Whole batches come back: records of the first one below `offset` are skipped (not even decoded),
    // and decoding stops one past maxRecords (that one only says where the next fetch starts).
    const decoded = answer.data.length > 0 ? decodeRecordBatches(answer.data, { fromOffset: offset, maxRecords: maxRecords + 1 }) : [];
    const firstLeft = decoded.length > maxRecords ? decoded.pop() : undefined;
    for (const r of decoded) {
      records.push({ topic, partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
    }
    const last = records.at(-1);
    const nextOffset =
      firstLeft !== undefined ? firstLeft.offset : Math.max(answer.nextOffset ?? offset, last === undefined ? offset : last.offset + 1);
    return { records, nextOffset, highWatermark: answer.highWatermark, logStartOffset: answer.logStartOffset };
  }

  /** The offset at `spec` in one partition (earliest: log start; latest: high watermark; a timestamp). */
  listOffset(topic: string, partition: number, spec: OffsetSpec, options: { signal?: AbortSignal } = {}): Promise<OffsetLookup> {
    return this.#api.listOffset(topic, partition, spec, {
      deadline: Date.now() + this.#api.connection.options.requestTimeoutMs,
      signal: options.signal,
    });
  }

  /** A reader that follows topic/partition from `options.from` (default: latest). */
  reader(topic: string, partition: number, options: PartitionReaderOptions = {}): PartitionReader {
    return new PartitionReader(this, topic, partition, options);
  }

  /** Closes the connection's pools (unless shared). Readers still running fail. */
  async close(): Promise<void> {
    if (this.#ownsConnection) await this.#api.connection.close();
  }
}
