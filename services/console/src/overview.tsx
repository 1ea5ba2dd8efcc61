// Overview: the brokers (from /v1/cluster), topic and partition counts, partitions without a leader
// or short of replicas and the bucket upload lag (the health counts of /v1/topics: one request
// however many topics), and live produce and fetch rates from the answering broker's /metrics.

import { useRef } from 'preact/hooks';
import { api } from './api.js';
import { LineChart } from './chart.js';
import { parseMetrics, sumOf } from './metrics.js';
import { REFRESH_INTERVAL_MS, usePoll, useSeries } from './poll.js';
import { href } from './route.js';
import { bytes, ErrorBox, Loading, Stat } from './ui.js';

/**
 * /metrics grows with the partitions (about 60 bytes of text each, over 600 KB at 10,000): the
 * rates are read again only after this many times as long as the last read took, so the page never
 * keeps a broker busy serving it.
 */
const METRICS_INTERVAL_PER_READ_MS = 10;

interface Health {
  topics: number;
  partitions: number;
  /** Topics whose listing carried health counts (a broker before them answers names only). */
  counted: number;
  underReplicated: number;
  leaderless: number;
  offline: number;
  uploadLagBytes: number;
  uploadLagSegments: number;
}

async function loadHealth(signal: AbortSignal): Promise<Health> {
  const { topics } = await api.topics(signal);
  const health: Health = { topics: topics.length, partitions: 0, counted: 0, underReplicated: 0, leaderless: 0, offline: 0, uploadLagBytes: 0, uploadLagSegments: 0 };
  for (const t of topics) {
    health.partitions += t.partitions;
    if (t.underReplicated === undefined) continue;
    health.counted++;
    health.underReplicated += t.underReplicated;
    health.leaderless += t.leaderless ?? 0;
    health.offline += t.offline ?? 0;
    health.uploadLagBytes += t.uploadLagBytes ?? 0;
    health.uploadLagSegments += t.uploadLagSegments ?? 0;
  }
  return health;
}

/** A stopped broker leaves the cluster's list: the ones this tab saw (id to URL) are kept and shown as gone. */
const brokersSeen = new Map<string, string>();

interface Rates {
  at: number;
  produce: number | undefined;
  fetch: number | undefined;
}

export function Overview() {
  const cluster = usePoll((s) => api.cluster(s), []);
  const health = usePoll(loadHealth, [], 5_000);
  const previous = useRef<{ at: number; produced: number; fetched: number } | null>(null);
  const metricsReadMs = useRef(0);
  const rates = usePoll<Rates>(async (s) => {
    const started = performance.now();
    const text = await api.metrics(s);
    metricsReadMs.current = performance.now() - started;
    const samples = parseMetrics(text);
    const now = Date.now();
    const produced = sumOf(samples, 'strata_produce_records_total');
    const fetched = sumOf(samples, 'strata_fetch_records_total');
    const before = previous.current;
    previous.current = { at: now, produced, fetched };
    if (!before) return { at: now, produce: undefined, fetch: undefined };
    const seconds = Math.max(0.001, (now - before.at) / 1000);
    return { at: now, produce: Math.max(0, produced - before.produced) / seconds, fetch: Math.max(0, fetched - before.fetched) / seconds };
  }, [], () => Math.max(REFRESH_INTERVAL_MS, metricsReadMs.current * METRICS_INTERVAL_PER_READ_MS));
  const produceSeries = useSeries(rates.data?.produce, rates.data?.at);
  const fetchSeries = useSeries(rates.data?.fetch, rates.data?.at);

  const c = cluster.data;
  const h = health.data;
  for (const b of c?.brokers ?? []) brokersSeen.set(b.id, b.url);
  const gone = c ? [...brokersSeen].filter(([id]) => !c.brokers.some((b) => b.id === id)) : [];
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <ErrorBox error={cluster.error} what="read the cluster" stale={c !== undefined} />
      {!c ? (
        <Loading />
      ) : (
        <>
          <div class="stats">
            <Stat
              label="brokers live"
              value={`${c.brokers.filter((b) => b.live).length} / ${c.brokers.length + gone.length}`}
              warn={gone.length > 0 || c.brokers.some((b) => !b.live)}
            />
            <Stat label="controller" value={c.controller ?? 'none'} warn={c.controller === null} />
            <Stat label="mode" value={c.mode} />
            <Stat label="cluster id" value={<code>{c.clusterId}</code>} />
          </div>
          <table class="grid" aria-label="Brokers">
            <thead>
              <tr><th>Broker</th><th>Status</th><th>URL</th><th>Partitions led</th><th>Role</th></tr>
            </thead>
            <tbody>
              {c.brokers.map((b) => (
                <tr key={b.id} data-broker={b.id}>
                  <td>{b.id}{b.self ? <span class="tag">answering</span> : null}</td>
                  <td><span class={`dot ${b.live ? 'ok' : 'bad'}`} aria-hidden="true" />{b.live ? 'live' : 'down'}</td>
                  <td><code>{b.url}</code></td>
                  <td>{b.leaderOf.reduce((n, t) => n + t.partitions.length, 0)}</td>
                  <td>{c.controller === b.id ? 'controller' : ''}</td>
                </tr>
              ))}
              {gone.map(([id, url]) => (
                <tr key={id} data-broker={id}>
                  <td>{id}</td>
                  <td><span class="dot bad" aria-hidden="true" />gone</td>
                  <td><code>{url}</code></td>
                  <td>0</td>
                  <td class="muted">left the cluster while this tab was open</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <ErrorBox error={health.error} what="read the topics" stale={h !== undefined} />
      {h ? (
        <div class="stats">
          <Stat label="topics" value={<a href={href(['topics'])}>{h.topics}</a>} />
          <Stat label="partitions" value={h.partitions} />
          <Stat label="under-replicated" value={h.underReplicated} warn={h.underReplicated > 0} />
          <Stat label="leaderless" value={h.leaderless} warn={h.leaderless > 0} />
          <Stat label="offline" value={h.offline} warn={h.offline > 0} />
          <Stat label="upload lag" value={`${bytes(h.uploadLagBytes)} · ${h.uploadLagSegments} seg`} warn={h.uploadLagSegments > 0} />
        </div>
      ) : null}
      {h && h.counted < h.topics ? (
        <p class="muted">Replica, leader and upload counts cover {h.counted} of {h.topics} topics (the answering broker lists no counts for the others).</p>
      ) : null}
      <ErrorBox error={rates.error} what="read /metrics" />
      <div class="charts">
        <LineChart title="Produce rate (this broker)" unit="records/s" t={produceSeries.t} v={produceSeries.v} />
        <LineChart title="Fetch rate (this broker)" unit="records/s" t={fetchSeries.t} v={fetchSeries.v} />
      </div>
    </section>
  );
}
