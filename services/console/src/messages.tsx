// Messages: browse a partition from an offset or a timestamp, oldest or newest first, as text,
// JSON or hex; a live tail (long-polling fetches); and a form to produce a test record.

import type { FetchResponse } from '@strata/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { render, type Format } from './codec.js';
import { usePoll } from './poll.js';
import { href, navigate, type Route } from './route.js';
import { Empty, ErrorBox, Loading } from './ui.js';

/** Records per page of the browser. */
export const MESSAGES_PAGE_RECORDS = 50;
/** Records the live tail keeps on screen (oldest dropped first). */
export const TAIL_RECORDS_MAX = 500;
/** How long one live-tail fetch waits for new records. */
const TAIL_WAIT_MS = 5_000;

type FetchedRecord = FetchResponse['records'][number];
interface Page {
  records: FetchedRecord[];
  first: number;
  highWatermark: number;
  logStartOffset: number;
}

export function Messages({ route }: { route: Route }) {
  const [topic = '', partitionText = '0'] = route.parts.slice(1);
  const partition = Number(partitionText);
  const q = route.query;
  const from = q.get('from') === 'timestamp' ? 'timestamp' : 'offset';
  const at = q.get('at') ?? '';
  const order = q.get('order') === 'newest' ? 'newest' : 'oldest';
  const format = (['text', 'json', 'hex'].includes(q.get('fmt') ?? '') ? q.get('fmt') : 'text') as Format;
  const set = (changes: Record<string, string | number | undefined>, parts: Array<string | number> = ['messages', topic, partition]) =>
    navigate(parts, { from, at, order, fmt: format, ...changes }, true);

  const page = usePoll<Page | null>(
    async (signal) => {
      if (!topic) return null;
      let start: number;
      if (at === '') {
        if (order === 'newest') {
          const latest = (await api.offset(topic, partition, 'latest', signal)).offset;
          const earliest = (await api.offset(topic, partition, 'earliest', signal)).offset;
          start = Math.max(earliest, latest - MESSAGES_PAGE_RECORDS);
        } else {
          start = (await api.offset(topic, partition, 'earliest', signal)).offset;
        }
      } else if (from === 'timestamp') {
        const ts = /^\d+$/.test(at) ? Number(at) : Date.parse(at);
        start = (await api.offset(topic, partition, Number.isFinite(ts) ? ts : (at as unknown as number), signal)).offset;
        if (order === 'newest') start = Math.max(0, start - MESSAGES_PAGE_RECORDS);
      } else {
        start = Number(at);
        if (order === 'newest') start = Math.max(0, start - MESSAGES_PAGE_RECORDS + 1);
      }
      const fetched = await fetchPage(topic, partition, Number.isFinite(start) ? start : (at as unknown as number), signal);
      const records = order === 'newest' ? [...fetched.records].reverse() : fetched.records;
      return { records, first: start, highWatermark: fetched.highWatermark, logStartOffset: fetched.logStartOffset };
    },
    [topic, partition, from, at, order],
    0,
  );

  return (
    <section aria-labelledby="messages-title">
      <h1 id="messages-title">Messages</h1>
      <PartitionPicker topic={topic} partition={partition} onPick={(t, p) => navigate(['messages', t, p], { fmt: format })} />
      {!topic ? (
        <Empty>Pick a topic and a partition to browse.</Empty>
      ) : (
        <>
          <form class="toolbar" aria-label="Where to start" onSubmit={(e) => { e.preventDefault(); const data = new FormData(e.currentTarget); set({ from: String(data.get('from')), at: String(data.get('at')) }); }}>
            <label>
              From <select name="from" defaultValue={from}><option value="offset">offset</option><option value="timestamp">timestamp</option></select>
            </label>
            <label>At <input name="at" defaultValue={at} key={at} placeholder={from === 'offset' ? 'offset' : 'ms or 2026-01-01T00:00Z'} /></label>
            <button type="submit">Go</button>
            <label>
              Order{' '}
              <select value={order} onChange={(e) => set({ order: e.currentTarget.value })}>
                <option value="oldest">oldest first</option>
                <option value="newest">newest first</option>
              </select>
            </label>
            <label>
              Show{' '}
              <select value={format} onChange={(e) => set({ fmt: e.currentTarget.value })}>
                <option value="text">text</option>
                <option value="json">JSON</option>
                <option value="hex">hex</option>
              </select>
            </label>
            <button type="button" onClick={page.refresh}>Refresh</button>
          </form>
          <ErrorBox error={page.error} what="read the partition" />
          {page.data === undefined ? (
            page.error ? null : <Loading />
          ) : page.data === null ? null : (
            <>
              <p class="muted">
                log start {page.data.logStartOffset} · high watermark {page.data.highWatermark} · showing {page.data.records.length} records
              </p>
              {page.data.records.length === 0 ? <Empty>No records here.</Empty> : <RecordTable records={page.data.records} format={format} />}
              <nav class="pager" aria-label="Pages">
                <button disabled={page.data.first <= page.data.logStartOffset} onClick={() => set({ from: 'offset', at: Math.max(page.data!.logStartOffset, page.data!.first - MESSAGES_PAGE_RECORDS), order: 'oldest' })}>Older</button>
                <button disabled={page.data.first + MESSAGES_PAGE_RECORDS >= page.data.highWatermark} onClick={() => set({ from: 'offset', at: page.data!.first + MESSAGES_PAGE_RECORDS, order: 'oldest' })}>Newer</button>
              </nav>
            </>
          )}
          <LiveTail topic={topic} partition={partition} format={format} />
          <ProduceForm topic={topic} partition={partition} onProduced={page.refresh} />
        </>
      )}
    </section>
  );
}

/**
 * Fetches answering for the page at most: one fetch may stop early (at the end of a segment read
 * from the bucket), so a page takes several, until it is full or reaches the high watermark.
 */
const PAGE_FETCHES_MAX = 10;

async function fetchPage(topic: string, partition: number, offset: number, signal: AbortSignal): Promise<FetchResponse> {
  const first = await api.fetch(topic, partition, offset, MESSAGES_PAGE_RECORDS, 0, signal);
  const records = [...first.records];
  let last = first;
  for (let i = 1; i < PAGE_FETCHES_MAX && records.length < MESSAGES_PAGE_RECORDS && last.records.length > 0 && last.nextOffset < last.highWatermark; i++) {
    last = await api.fetch(topic, partition, last.nextOffset, MESSAGES_PAGE_RECORDS - records.length, 0, signal);
    records.push(...last.records);
  }
  return { ...last, records };
}

function PartitionPicker({ topic, partition, onPick }: { topic: string; partition: number; onPick: (topic: string, partition: number) => void }) {
  const topics = usePoll((s) => api.topics(s), [], 10_000);
  return (
    <form class="toolbar" aria-label="Partition" onSubmit={(e) => { e.preventDefault(); const d = new FormData(e.currentTarget); onPick(String(d.get('topic')), Number(d.get('partition'))); }}>
      <label>Topic <input name="topic" list="topic-names" defaultValue={topic} key={topic} required /></label>
      <datalist id="topic-names">{(topics.data?.topics ?? []).slice(0, 1000).map((t) => <option key={t.name} value={t.name} />)}</datalist>
      <label>Partition <input name="partition" inputMode="numeric" defaultValue={String(partition)} key={partition} size={4} /></label>
      <button type="submit">Open</button>
      {topic ? <a href={href(['topics', topic])}>topic details</a> : null}
    </form>
  );
}

function RecordTable({ records, format }: { records: FetchedRecord[]; format: Format }) {
  return (
    <table class="grid records" aria-label="Records">
      <thead>
        <tr><th>Offset</th><th>Timestamp</th><th>Key</th><th>Headers</th><th>Value</th></tr>
      </thead>
      <tbody>
        {records.map((r) => (
          <tr key={r.offset} data-offset={r.offset}>
            <td>{r.offset}</td>
            <td title={String(r.timestamp)}>{new Date(r.timestamp).toISOString()}</td>
            <td><pre>{r.key === null ? <span class="muted">null</span> : render(r.key, format === 'json' ? 'text' : format)}</pre></td>
            <td>{r.headers.length === 0 ? <span class="muted">none</span> : r.headers.map((h, i) => <div key={i}><code>{h.key}</code>: {render(h.value, format === 'hex' ? 'hex' : 'text')}</div>)}</td>
            <td><pre class="value">{r.value === null ? <span class="muted">null (tombstone)</span> : render(r.value, format)}</pre></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LiveTail({ topic, partition, format }: { topic: string; partition: number; format: Format }) {
  const [on, setOn] = useState(false);
  const [records, setRecords] = useState<FetchedRecord[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  // Where the tail starts (the high watermark when it was turned on): null until the broker said.
  const [from, setFrom] = useState<number | null>(null);
  useEffect(() => {
    if (!on) return;
    const controller = new AbortController();
    setRecords([]);
    setError(undefined);
    setFrom(null);
    const run = async () => {
      let next = (await api.offset(topic, partition, 'latest', controller.signal)).offset;
      if (!controller.signal.aborted) setFrom(next);
      while (!controller.signal.aborted) {
        const fetched = await api.fetch(topic, partition, next, MESSAGES_PAGE_RECORDS, TAIL_WAIT_MS, controller.signal);
        next = fetched.nextOffset;
        if (fetched.records.length > 0) setRecords((old) => [...fetched.records.slice().reverse(), ...old].slice(0, TAIL_RECORDS_MAX));
      }
    };
    run().catch((e: unknown) => {
      if (!controller.signal.aborted) {
        setError(e);
        setOn(false);
      }
    });
    return () => controller.abort();
  }, [on, topic, partition]);
  return (
    <div class="card">
      <label class="inline">
        <input type="checkbox" checked={on} onChange={(e) => setOn(e.currentTarget.checked)} /> Live tail (new records, newest first)
      </label>
      <ErrorBox error={error} what="tail the partition" />
      {on && from === null ? <p class="muted">Finding the end of the partition…</p> : null}
      {on && from !== null && records.length === 0 ? <p class="muted">Waiting for new records from offset {from}…</p> : null}
      {records.length > 0 ? <RecordTable records={records} format={format} /> : null}
    </div>
  );
}

function ProduceForm({ topic, partition, onProduced }: { topic: string; partition: number; onProduced: () => void }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [result, setResult] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setResult('');
    const headerList = headers
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const eq = line.indexOf('=');
        return eq < 0 ? { key: line.trim(), value: null } : { key: line.slice(0, eq).trim(), value: line.slice(eq + 1) };
      });
    try {
      const answer = await api.produce(topic, { records: [{ key: key === '' ? null : key, value, headers: headerList, partition }] });
      const first = answer.offsets[0];
      if (first?.error) throw Object.assign(new Error(first.error.message), { code: first.error.code });
      setResult(`written at partition ${first?.partition}, offset ${first?.offset}`);
      onProduced();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card" aria-label="Produce a test record" onSubmit={submit}>
      <h2>Produce a test record</h2>
      <div class="form-row">
        <label>Key <input name="produce-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="(null)" /></label>
        <label class="grow">Value <textarea name="produce-value" rows={2} value={value} onInput={(e) => setValue(e.currentTarget.value)} /></label>
        <label>Headers <textarea name="produce-headers" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} placeholder="name=value, one a line" /></label>
        <button type="submit">Produce to partition {partition}</button>
      </div>
      {result ? <p class="ok-text" role="status">{result}</p> : null}
      <ErrorBox error={error} what="produce" />
    </form>
  );
}
