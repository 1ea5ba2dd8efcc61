// One topic: its partitions (leader, replicas, ISR, offsets), its tiers as a picture (how much of
// each partition is in the bucket, how much on local disk, where the local copy starts) and its
// configs, editable. A topic deleted while viewed says so instead of showing stale rows. Partitions
// are shown a page at a time (a topic of 1,000 renders 100 rows, not 2,000), the page in the URL.

import type { Topic } from '@strata/api';
import { useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { usePoll } from './poll.js';
import { href, navigate, type Route } from './route.js';
import { bytes, Empty, ErrorBox, Loading } from './ui.js';

type Partition = Extract<Topic['partitions'][number], { leaderEpoch: number }>;

/** Partitions per page of the partition table and the tier picture. */
export const PARTITIONS_PAGE_SIZE = 100;

export function TopicView({ name, route }: { name: string; route: Route }) {
  const page = Math.max(0, Number(route.query.get('page') ?? 0) || 0);
  const topic = usePoll((s) => api.topic(name, s), [name]);
  const gone = topic.error instanceof ApiError && topic.error.code === 'UNKNOWN_TOPIC';
  const t = gone ? undefined : topic.data;
  return (
    <section aria-labelledby="topic-title">
      <p class="crumbs"><a href={href(['topics'])}>Topics</a> / {name}</p>
      <h1 id="topic-title">{name}</h1>
      {gone ? (
        <div class="error" role="alert"><strong>This topic does not exist (deleted?)</strong><div class="error-text">{topic.error instanceof ApiError ? topic.error.message : ''}</div></div>
      ) : (
        <ErrorBox error={topic.error} what="describe the topic" stale={t !== undefined} />
      )}
      {!t ? (
        topic.error ? null : <Loading />
      ) : (
        <>
          <p class="muted">id <code>{t.topicId}</code> · replication factor {t.replicationFactor} · {t.partitions.length} partitions</p>
          <h2>Partitions</h2>
          <PartitionPager topic={t} page={page} />
          <Partitions topic={t} page={page} />
          <h2>Tiers</h2>
          <Tiers topic={t} page={page} />
          <h2>Configs</h2>
          <Configs topic={t} onChanged={topic.refresh} />
          <DeleteTopic name={t.name} />
        </>
      )}
    </section>
  );
}

const pageOf = <T,>(items: T[], page: number): T[] => items.slice(page * PARTITIONS_PAGE_SIZE, (page + 1) * PARTITIONS_PAGE_SIZE);

function PartitionPager({ topic, page }: { topic: Topic; page: number }) {
  const pages = Math.ceil(topic.partitions.length / PARTITIONS_PAGE_SIZE);
  if (pages <= 1) return null;
  const go = (p: number) => navigate(['topics', topic.name], { page: p || undefined }, true);
  const first = page * PARTITIONS_PAGE_SIZE;
  return (
    <nav class="pager" aria-label="Partition pages">
      <button disabled={page === 0} onClick={() => go(page - 1)}>Previous</button>
      <span>partitions {first} to {Math.min(first + PARTITIONS_PAGE_SIZE, topic.partitions.length) - 1} of {topic.partitions.length} · page {page + 1} of {pages}</span>
      <button disabled={page + 1 >= pages} onClick={() => go(page + 1)}>Next</button>
    </nav>
  );
}

function Partitions({ topic, page }: { topic: Topic; page: number }) {
  return (
    <table class="grid" aria-label="Partitions">
      <thead>
        <tr><th>#</th><th>Leader</th><th>Epoch</th><th>Replicas</th><th>ISR</th><th>Log start</th><th>Log end</th><th>High watermark</th><th /></tr>
      </thead>
      <tbody>
        {pageOf(topic.partitions, page).map((p) =>
          'offline' in p ? (
            <tr key={p.partition}><td>{p.partition}</td><td colSpan={8} class="bad-text">offline: {p.error}</td></tr>
          ) : (
            <tr key={p.partition}>
              <td>{p.partition}</td>
              <td class={p.leader === null ? 'bad-text' : ''}>{p.leader ?? 'none'}</td>
              <td>{p.leaderEpoch}</td>
              <td>{p.replicas.join(', ')}</td>
              <td class={p.isr.length < p.replicas.length ? 'warn-text' : ''}>{p.isr.join(', ')}</td>
              <td>{p.logStartOffset}</td>
              <td>{p.logEndOffset}</td>
              <td>{p.highWatermark}</td>
              <td><a href={href(['messages', topic.name, p.partition])}>browse</a></td>
            </tr>
          ),
        )}
      </tbody>
    </table>
  );
}

/** The offsets [logStart, logEnd) of a partition drawn as one bar: the bucket's part, the local part, their overlap. */
function TierBar({ p }: { p: Partition }) {
  const span = Math.max(1, p.logEndOffset - p.logStartOffset);
  const pct = (offset: number) => `${(Math.min(Math.max(offset - p.logStartOffset, 0), span) / span) * 100}%`;
  const width = (from: number, to: number) => `${(Math.max(0, Math.min(to, p.logEndOffset) - Math.max(from, p.logStartOffset)) / span) * 100}%`;
  const remoteFrom = p.remoteLogStartOffset ?? p.remoteLogEndOffset;
  const label =
    `partition ${p.partition}: offsets ${p.logStartOffset} to ${p.logEndOffset}; ` +
    (p.remoteSegments > 0 ? `bucket ${remoteFrom} to ${p.remoteLogEndOffset} (${bytes(p.remoteBytes)}, ${p.remoteSegments} segments); ` : 'nothing in the bucket; ') +
    `local from ${p.localLogStartOffset} (${bytes(p.localBytes)})`;
  return (
    <div class="tier" role="img" aria-label={label} title={label}>
      <div class="tier-remote" style={{ left: pct(remoteFrom), width: width(remoteFrom, p.remoteLogEndOffset) }} />
      <div class="tier-local" style={{ left: pct(p.localLogStartOffset), width: width(p.localLogStartOffset, p.logEndOffset) }} />
    </div>
  );
}

function Tiers({ topic, page }: { topic: Topic; page: number }) {
  const live = pageOf(topic.partitions, page).filter((p): p is Partition => !('offline' in p));
  if (live.length === 0) return <Empty>No partition is online.</Empty>;
  return (
    <div class="tiers">
      <p class="legend"><span class="swatch tier-remote" /> in the bucket <span class="swatch tier-local" /> on local disk</p>
      {live.map((p) => (
        <div class="tier-row" key={p.partition}>
          <span class="tier-name">p{p.partition}</span>
          <TierBar p={p} />
          <span class="tier-numbers muted">
            local {bytes(p.localBytes)} from {p.localLogStartOffset} · bucket {bytes(p.remoteBytes)} ({p.remoteSegments} seg) · upload lag {p.uploadLagSegments} seg
            {p.lastUploadError ? <span class="bad-text"> · last upload failed: {p.lastUploadError}</span> : null}
          </span>
        </div>
      ))}
    </div>
  );
}

function Configs({ topic, onChanged }: { topic: Topic; onChanged: () => void }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState('');
  const change = async (k: string, v: string | null) => {
    setError(undefined);
    setSaved('');
    try {
      // A number stays a number (the API takes integers for numeric configs); anything else as text.
      const typed = v === null ? null : /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
      await api.updateConfigs(topic.name, { [k]: typed });
      setSaved(v === null ? `${k} reset to the default` : `${k} set`);
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <table class="grid" aria-label="Configs">
        <thead>
          <tr><th>Config</th><th>Value</th><th>Source</th><th /></tr>
        </thead>
        <tbody>
          {Object.entries(topic.configs).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => (
            <tr key={k}>
              <td><code>{k}</code></td>
              <td>{String(v)}</td>
              <td>{k in topic.configOverrides ? 'topic' : 'default'}</td>
              <td>
                <button class="link" onClick={() => { setKey(k); setValue(String(v)); }}>edit</button>
                {k in topic.configOverrides ? <button class="link" onClick={() => void change(k, null)}>reset</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="card form-row" aria-label="Set a config" onSubmit={(e) => { e.preventDefault(); void change(key, value); }}>
        <label>Config <input name="config-key" required value={key} onInput={(e) => setKey(e.currentTarget.value)} /></label>
        <label>Value <input name="config-value" required value={value} onInput={(e) => setValue(e.currentTarget.value)} /></label>
        <button type="submit">Save config</button>
        {saved ? <span class="ok-text" role="status">{saved}</span> : null}
        <ErrorBox error={error} what="change the config" />
      </form>
    </>
  );
}

function DeleteTopic({ name }: { name: string }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const remove = async () => {
    try {
      await api.deleteTopic(name);
      navigate(['topics']);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="danger">
      {confirming ? (
        <>
          <span>Delete <strong>{name}</strong> and all its records? This cannot be undone.</span>
          <button class="danger-button" onClick={() => void remove()}>Delete for good</button>
          <button onClick={() => setConfirming(false)}>Cancel</button>
        </>
      ) : (
        <button onClick={() => setConfirming(true)}>Delete topic…</button>
      )}
      <ErrorBox error={error} what="delete the topic" />
    </div>
  );
}
