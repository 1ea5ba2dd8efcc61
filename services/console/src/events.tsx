// Cluster events (GET /v1/events): leadership moves, ISR changes, uploads, membership and errors of
// every live broker, as the answering broker merged them. Newest first; filtered by kind and topic
// (in the URL, so a filtered view can be shared); live: each refresh asks only for what is new
// (since the last event seen, minus a margin for clock skew between brokers) and adds it to what is
// shown, keyed by (broker, seq), so rows never blink or jump. A broker that did not answer is named.

import type { ClusterEvent, EventKind, EventSource } from '@strata/api';
import { useRef } from 'preact/hooks';
import { api } from './api.js';
import { usePoll } from './poll.js';
import { href, navigate, type Route } from './route.js';
import { Empty, ErrorBox, Loading } from './ui.js';

/** Events this page keeps (the newest; older ones are dropped). */
export const EVENTS_KEPT_MAX = 1_000;
/** Events asked for by the first read. */
const EVENTS_FIRST_READ = 200;
/** Events asked for by each later read (the API's most). */
const EVENTS_READ_MAX = 1_000;
/**
 * Later reads start this long before the newest event seen: another broker's clock may be behind,
 * and its event written after this page's last read may carry an earlier time. Repeats are dropped.
 */
const CLOCK_SKEW_MARGIN_MS = 10_000;

/** Every kind, with its label: a kind the API adds breaks this build until it has one. */
const KIND_LABELS: Record<EventKind, string> = {
  'leadership-acquired': 'leadership acquired',
  'leadership-handed-over': 'leadership handed over',
  'leadership-lost': 'leadership lost',
  'isr-shrink': 'ISR shrink',
  'isr-expand': 'ISR expand',
  'segment-uploaded': 'segment uploaded',
  'upload-failed': 'upload failed',
  'partition-reassigned': 'partition reassigned',
  'broker-joined': 'broker joined',
  'broker-left': 'broker left',
  'controller-elected': 'controller elected',
  'controller-lost': 'controller lost',
  error: 'error',
};
const KINDS = Object.keys(KIND_LABELS) as EventKind[];
const BAD_KINDS = new Set<EventKind>(['leadership-lost', 'upload-failed', 'broker-left', 'controller-lost', 'error']);

interface Feed {
  /** Newest first. */
  events: ClusterEvent[];
  brokers: EventSource[];
}

const keyOf = (e: ClusterEvent) => `${e.broker}:${e.seq}`;
const newestFirst = (a: ClusterEvent, b: ClusterEvent) => b.atMs - a.atMs || (a.broker < b.broker ? 1 : a.broker > b.broker ? -1 : 0) || b.seq - a.seq;

export function Events({ route }: { route: Route }) {
  const kindText = route.query.get('kind') ?? '';
  const kind = (KINDS as string[]).includes(kindText) ? (kindText as EventKind) : undefined;
  const topic = route.query.get('topic') ?? '';
  // What this page has seen for the current filter: the poll below adds to it.
  const seen = useRef<{ filter: string; events: ClusterEvent[]; keys: Set<string>; next: number | undefined }>({ filter: '', events: [], keys: new Set(), next: undefined });
  const filter = `${kind ?? ''}\n${topic}`;
  if (seen.current.filter !== filter) seen.current = { filter, events: [], keys: new Set(), next: undefined };

  const feed = usePoll<Feed>(async (signal) => {
    const s = seen.current;
    const first = s.next === undefined;
    const since = first ? undefined : Math.max(0, s.next! - CLOCK_SKEW_MARGIN_MS);
    const answer = await api.events({ since, limit: first ? EVENTS_FIRST_READ : EVENTS_READ_MAX, kind, topic: topic || undefined }, signal);
    if (seen.current !== s) return { events: seen.current.events, brokers: answer.brokers };
    const fresh = answer.events.filter((e) => !s.keys.has(keyOf(e)));
    if (fresh.length > 0) {
      const events = [...fresh, ...s.events].sort(newestFirst).slice(0, EVENTS_KEPT_MAX);
      s.events = events;
      s.keys = new Set(events.map(keyOf));
    }
    s.next = Math.max(s.next ?? 0, answer.next);
    return { events: s.events, brokers: answer.brokers };
  }, [kind ?? '', topic]);

  const go = (next: { kind?: string; topic?: string }) => navigate(['events'], { kind: next.kind ?? kind, topic: next.topic ?? topic }, true);
  const silent = feed.data?.brokers.filter((b) => !b.ok) ?? [];
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Cluster events</h1>
      <div class="toolbar">
        <label>
          Kind{' '}
          <select name="event-kind" value={kind ?? ''} onChange={(e) => go({ kind: e.currentTarget.value })}>
            <option value="">all kinds</option>
            {KINDS.map((k) => <option key={k} value={k}>{KIND_LABELS[k]}</option>)}
          </select>
        </label>
        <label>
          Topic <input name="event-topic" type="search" value={topic} placeholder="all topics" onInput={(e) => go({ topic: e.currentTarget.value })} />
        </label>
        <span class="muted">
          {feed.data ? `${feed.data.events.length} events from ${feed.data.brokers.filter((b) => b.ok).length} of ${feed.data.brokers.length} brokers` : ''}
        </span>
      </div>
      <ErrorBox error={feed.error} what="read the cluster events" stale={feed.data !== undefined} />
      {silent.length > 0 ? (
        <div class="error" role="alert">
          <strong>Events missing from {silent.map((b) => b.broker).join(', ')}</strong>
          {silent.map((b) => <div class="error-text" key={b.broker}>{b.broker}: {b.error ?? 'did not answer'}</div>)}
        </div>
      ) : null}
      {!feed.data ? (
        feed.error ? null : <Loading />
      ) : feed.data.events.length === 0 ? (
        <Empty>{kind || topic ? 'No event matches this filter yet.' : 'No events yet.'} Each broker keeps its recent events in memory since it started.</Empty>
      ) : (
        <table class="grid" aria-label="Events">
          <thead>
            <tr><th>Time</th><th>Broker</th><th>Kind</th><th>Partition</th><th>What happened</th></tr>
          </thead>
          <tbody>
            {feed.data.events.map((e) => (
              <tr key={keyOf(e)} data-kind={e.kind}>
                <td><time dateTime={new Date(e.atMs).toISOString()}>{new Date(e.atMs).toISOString().slice(0, 23).replace('T', ' ')}</time></td>
                <td>{e.broker}</td>
                <td class={BAD_KINDS.has(e.kind) ? 'bad-text' : ''}>{KIND_LABELS[e.kind]}</td>
                <td>{e.topic === undefined ? '' : <a href={href(['topics', e.topic])}>{e.topic}{e.partition === undefined ? '' : `/${e.partition}`}</a>}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
