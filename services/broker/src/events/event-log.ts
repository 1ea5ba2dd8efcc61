// This broker's cluster events (GET /v1/events): a ring in memory, bounded in entries and in bytes,
// the oldest dropped first. The roles that see an event record it here (leadership, replication,
// the controller, tiering, the logger's errors); nothing is written to disk: the feed shows recent
// life, the log keeps the history. Messages are built by the recorder from names and numbers it
// owns, never from a request or a credential, and are cut to EVENT_MESSAGE_CHARS_MAX.

import { EVENT_MESSAGE_CHARS_MAX, EVENTS_LIMIT_DEFAULT, queryParams, type ClusterEvent, type EventKind } from '@strata/api';
import type { EventsConfig } from '../config/types.js';

/** What a recorder says; the log adds who, when and the sequence number. */
export interface EventInput {
  kind: EventKind;
  topic?: string;
  partition?: number;
  message: string;
}

export interface EventQuery {
  /** ms since the epoch: the oldest `limit` at or after it; undefined: the newest `limit`. */
  since?: number | undefined;
  limit: number;
  kind?: EventKind | undefined;
  topic?: string | undefined;
}

/** The query of GET /v1/events (and of the internal request), checked against the route's parameters: INVALID_REQUEST or INVALID_TOPIC otherwise. */
export function eventQueryOf(search: URLSearchParams): EventQuery {
  const p = queryParams('listEvents', search);
  return {
    since: p.since as number | undefined,
    limit: (p.limit as number | undefined) ?? EVENTS_LIMIT_DEFAULT,
    kind: p.kind as EventKind | undefined,
    topic: p.topic as string | undefined,
  };
}

/** The JSON overhead of one event besides its strings (field names, numbers, quotes), counted against the byte bound. */
const EVENT_OVERHEAD_BYTES = 96;

export class EventLog {
  readonly #broker: string;
  readonly #keptMax: number;
  readonly #keptBytesMax: number;
  readonly #now: () => number;
  /** Oldest first; entries before #head are dropped (compacted now and then, not per event). */
  #entries: ClusterEvent[] = [];
  #head = 0;
  #bytes = 0;
  #seq = 0;

  constructor(broker: string, config: Pick<EventsConfig, 'keptMax' | 'keptBytesMax'>, now: () => number = Date.now) {
    if (config.keptMax < 1 || config.keptBytesMax < 1) throw new Error('the event log needs room for one event');
    this.#broker = broker;
    this.#keptMax = config.keptMax;
    this.#keptBytesMax = config.keptBytesMax;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  record(input: EventInput): void {
    const message = input.message.length > EVENT_MESSAGE_CHARS_MAX ? `${input.message.slice(0, EVENT_MESSAGE_CHARS_MAX - 1)}…` : input.message;
    const event: ClusterEvent = {
      broker: this.#broker,
      seq: this.#seq++,
      atMs: this.#now(),
      kind: input.kind,
      ...(input.topic === undefined ? {} : { topic: input.topic }),
      ...(input.partition === undefined ? {} : { partition: input.partition }),
      message,
    };
    this.#entries.push(event);
    this.#bytes += sizeOf(event);
    while (this.size > this.#keptMax || (this.#bytes > this.#keptBytesMax && this.size > 1)) {
      this.#bytes -= sizeOf(this.#entries[this.#head]!);
      this.#head++;
    }
    // Compacting when half the array is dropped keeps each record amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Oldest first: the newest `limit` matching events, or with `since` the oldest `limit` at or after it. */
  query(q: EventQuery): ClusterEvent[] {
    const matches = (e: ClusterEvent): boolean => (q.kind === undefined || e.kind === q.kind) && (q.topic === undefined || e.topic === q.topic);
    const out: ClusterEvent[] = [];
    if (q.since === undefined) {
      for (let i = this.#entries.length - 1; i >= this.#head && out.length < q.limit; i--) if (matches(this.#entries[i]!)) out.push(this.#entries[i]!);
      return out.reverse();
    }
    for (let i = this.#firstAtOrAfter(q.since); i < this.#entries.length && out.length < q.limit; i++) if (matches(this.#entries[i]!)) out.push(this.#entries[i]!);
    return out;
  }

  /** The first index whose atMs is >= `since`, by bisection: times grow here unless the wall clock steps back (then a few events may be missed by a `since` near the step). */
  #firstAtOrAfter(since: number): number {
    let lo = this.#head;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#entries[mid]!.atMs < since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function sizeOf(e: ClusterEvent): number {
  return EVENT_OVERHEAD_BYTES + e.broker.length + e.message.length + (e.topic?.length ?? 0);
}

/** Events of several brokers, each oldest first, as one answer: by atMs, then broker, then seq. */
export function mergeEvents(lists: ReadonlyArray<readonly ClusterEvent[]>, q: Pick<EventQuery, 'since' | 'limit'>): ClusterEvent[] {
  const all = lists.flat().sort((a, b) => a.atMs - b.atMs || (a.broker < b.broker ? -1 : a.broker > b.broker ? 1 : 0) || a.seq - b.seq);
  return q.since === undefined ? all.slice(-q.limit) : all.slice(0, q.limit);
}
