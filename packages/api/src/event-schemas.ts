// The cluster events feed of the HTTP API v1 (GET /v1/events): what each broker records of the
// cluster's life (leadership, ISR, uploads, membership, errors), merged across the live brokers by
// the one that answers.

import { Type, type Static } from '@sinclair/typebox';
import { Int64, Optional, TopicName } from './schema-parts.js';

/** Every kind of event, once: the broker records only these, and the feed filters by them. */
export const EVENT_KINDS = [
  'leadership-acquired',
  'leadership-handed-over',
  'leadership-lost',
  'isr-shrink',
  'isr-expand',
  'segment-uploaded',
  'upload-failed',
  'partition-reassigned',
  'broker-joined',
  'broker-left',
  'controller-elected',
  'controller-lost',
  'error',
] as const;

/** The most events one answer carries (a larger `limit` is refused: 400). */
export const EVENTS_PAGE_MAX = 1_000;

/** Events in an answer when the request names no `limit`. */
export const EVENTS_LIMIT_DEFAULT = 200;

/** The longest message an event carries, in characters (a longer one is cut). */
export const EVENT_MESSAGE_CHARS_MAX = 300;

export const EventKind = Type.Union(
  EVENT_KINDS.map((k) => Type.Literal(k)),
  { description: 'leadership-* and isr-*: the partition leader that saw it; segment-uploaded and upload-failed: the uploading leader; partition-reassigned, broker-joined and broker-left: the controller; error: a broker error worth a person\'s attention.' },
);

export const ClusterEvent = Type.Object(
  {
    broker: Type.String({ description: 'The broker that recorded it.' }),
    seq: Type.Integer({ minimum: 0, description: 'Its position in that broker\'s record (since the broker started): (broker, seq) names an event.' }),
    atMs: Int64('When, ms since the epoch, by the recording broker\'s clock.'),
    kind: EventKind,
    topic: Optional(Type.String()),
    partition: Optional(Type.Integer({ minimum: 0 })),
    message: Type.String({ maxLength: EVENT_MESSAGE_CHARS_MAX, description: 'A short sentence for a person; no secrets.' }),
  },
);

export const EventSource = Type.Object({
  broker: Type.String(),
  ok: Type.Boolean({ description: 'false: its events are missing from this answer (see error).' }),
  error: Optional(Type.String()),
});

export const EventList = Type.Object(
  {
    events: Type.Array(ClusterEvent, { description: 'Oldest first, by atMs (then broker, seq). Without `since`: the newest `limit` events; with it: the oldest `limit` at or after it.' }),
    brokers: Type.Array(EventSource, { description: 'Each live broker asked, and whether it answered in time.' }),
    next: Int64('The `since` that continues this answer: the last event\'s atMs (inclusive, so repeat events are dropped by (broker, seq)).'),
  },
  {
    examples: [
      {
        events: [{ broker: 'b1', seq: 7, atMs: 1767225600000, kind: 'leadership-acquired', topic: 'orders', partition: 0, message: 'b1 leads orders/0 in epoch 3' }],
        brokers: [{ broker: 'b1', ok: true }, { broker: 'b2', ok: false, error: 'did not answer within 2000 ms' }],
        next: 1767225600000,
      },
    ],
  },
);

/** One broker's own events, as it answers another on the internal port. */
export const BrokerEvents = Type.Object({ events: Type.Array(ClusterEvent) });

/** The query of GET /v1/events (and of the same request between brokers). */
export const EVENTS_QUERY = [
  { name: 'since', in: 'query', schema: Type.Integer({ minimum: 0 }), description: 'ms since the epoch: the oldest `limit` events at or after it. Absent: the newest `limit`.' },
  { name: 'limit', in: 'query', schema: Type.Integer({ minimum: 1, maximum: EVENTS_PAGE_MAX, default: EVENTS_LIMIT_DEFAULT }), description: `At most ${EVENTS_PAGE_MAX}.` },
  { name: 'kind', in: 'query', schema: EventKind, description: 'Only events of this kind.' },
  { name: 'topic', in: 'query', schema: TopicName, description: 'Only events of this topic.' },
] as const;

export type EventKind = Static<typeof EventKind>;
export type ClusterEvent = Static<typeof ClusterEvent>;
export type EventSource = Static<typeof EventSource>;
export type EventList = Static<typeof EventList>;
