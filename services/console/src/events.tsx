// Cluster events. The API has no events feed (the broker logs events, it does not serve them), so
// this view shows what can be seen without a private endpoint: the answering broker's event
// counters from /metrics (leadership, ISR, uploads, errors) and the changes this page itself saw
// between two reads of /v1/cluster and /metrics while it was open (kept in this tab only).

import type { Cluster } from '@strata/api';
import { useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { parseMetrics, sumOf, type Sample } from './metrics.js';
import { usePoll } from './poll.js';
import { Empty, ErrorBox, Loading } from './ui.js';

/** Events this page keeps (newest first; the oldest are dropped). */
export const EVENTS_KEPT_MAX = 200;

interface Counter {
  label: string;
  metric: string;
  where?: Record<string, string>;
}

const COUNTERS: Counter[] = [
  { label: 'leaderships acquired', metric: 'strata_cluster_leadership_events_total', where: { event: 'acquired' } },
  { label: 'leaderships handed over', metric: 'strata_cluster_leadership_events_total', where: { event: 'handed_over' } },
  { label: 'leaderships lost', metric: 'strata_cluster_leadership_events_total', where: { event: 'lost' } },
  { label: 'ISR shrinks', metric: 'strata_replication_isr_changes_total', where: { change: 'shrink' } },
  { label: 'ISR expansions', metric: 'strata_replication_isr_changes_total', where: { change: 'expand' } },
  { label: 'segment uploads', metric: 'strata_tier_uploads_total', where: { result: 'ok' } },
  { label: 'failed uploads', metric: 'strata_tier_uploads_total', where: { result: 'error' } },
  { label: 'corrupt objects read', metric: 'strata_tier_corrupt_objects_total' },
  { label: 'fenced manifest writes', metric: 'strata_tier_fenced_writes_total' },
  { label: 'Kafka request errors', metric: 'strata_kafka_errors_total' },
];

interface Seen {
  at: number;
  text: string;
}

function clusterChanges(before: Cluster, after: Cluster): string[] {
  const out: string[] = [];
  if (before.controller !== after.controller) out.push(`controller: ${before.controller ?? 'none'} → ${after.controller ?? 'none'}`);
  const old = new Map(before.brokers.map((b) => [b.id, b]));
  for (const b of after.brokers) {
    const was = old.get(b.id);
    if (!was) out.push(`broker ${b.id} joined`);
    else if (was.live !== b.live) out.push(`broker ${b.id} is ${b.live ? 'live again' : 'down'}`);
    const led = new Set(b.leaderOf.flatMap((t) => t.partitions.map((p) => `${t.topic}/${p}`)));
    const wasLed = new Set((was?.leaderOf ?? []).flatMap((t) => t.partitions.map((p) => `${t.topic}/${p}`)));
    for (const tp of led) if (!wasLed.has(tp)) out.push(`broker ${b.id} now leads ${tp}`);
  }
  for (const id of old.keys()) if (!after.brokers.some((b) => b.id === id)) out.push(`broker ${id} left the cluster`);
  return out;
}

export function Events() {
  const [seen, setSeen] = useState<Seen[]>([]);
  const last = useRef<{ cluster: Cluster; samples: Sample[] } | null>(null);
  const state = usePoll(async (signal) => {
    const [cluster, text] = await Promise.all([api.cluster(signal), api.metrics(signal)]);
    const samples = parseMetrics(text);
    const before = last.current;
    last.current = { cluster, samples };
    if (before) {
      const changes = clusterChanges(before.cluster, cluster);
      for (const c of COUNTERS) {
        const delta = sumOf(samples, c.metric, c.where) - sumOf(before.samples, c.metric, c.where);
        if (delta > 0) changes.push(`${c.label}: +${delta} (broker ${cluster.self})`);
      }
      if (changes.length > 0) {
        const at = Date.now();
        setSeen((old) => [...changes.map((text) => ({ at, text })), ...old].slice(0, EVENTS_KEPT_MAX));
      }
    }
    return { cluster, samples };
  }, []);
  const data = state.data;
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Cluster events</h1>
      <p class="note">
        The HTTP API has no events feed yet: the broker writes leadership moves, ISR changes and upload failures to its log, not to
        the API. Shown here: the answering broker's event counters (from <code>/metrics</code>), and the changes this page saw while
        it was open.
      </p>
      <ErrorBox error={state.error} what="read the cluster and /metrics" />
      {!data ? (
        state.error ? null : <Loading />
      ) : (
        <>
          <h2>Counters on broker {data.cluster.self} since it started</h2>
          <table class="grid" aria-label="Event counters">
            <tbody>
              {COUNTERS.map((c) => (
                <tr key={c.label}><td>{c.label}</td><td>{sumOf(data.samples, c.metric, c.where)}</td></tr>
              ))}
            </tbody>
          </table>
          <h2>Seen while this page was open</h2>
          {seen.length === 0 ? (
            <Empty>Nothing changed since this page opened.</Empty>
          ) : (
            <ol class="events" aria-label="Events seen">
              {seen.map((e, i) => (
                <li key={`${e.at}-${i}`}><time>{new Date(e.at).toISOString().slice(11, 19)}</time> {e.text}</li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
