// Consumer groups: the list, and one group's members, assignments, committed offsets and lag per
// partition, its total lag over time (sampled while the page is open), and an offset reset that
// asks for confirmation first (the API refuses it while the group has members: NON_EMPTY_GROUP).

import type { ResetOffsetsRequest } from '@strata/api';
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { LineChart } from './chart.js';
import { usePoll, useSeries } from './poll.js';
import { href } from './route.js';
import { Empty, ErrorBox, Loading, Stat } from './ui.js';

export function Groups() {
  const groups = usePoll((s) => api.groups(s), []);
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Consumer groups</h1>
      <ErrorBox error={groups.error} what="list the groups" stale={groups.data !== undefined} />
      {!groups.data ? (
        groups.error ? null : <Loading />
      ) : groups.data.groups.length === 0 ? (
        <Empty>No consumer groups yet: a group appears when a consumer joins or commits.</Empty>
      ) : (
        <table class="grid" aria-label="Groups">
          <thead><tr><th>Group</th><th>State</th><th>Members</th></tr></thead>
          <tbody>
            {groups.data.groups.map((g) => (
              <tr key={g.group}><td><a href={href(['groups', g.group])}>{g.group}</a></td><td>{g.state}</td><td>{g.members}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function GroupView({ name }: { name: string }) {
  const group = usePoll((s) => api.group(name, s), [name]);
  const g = group.data;
  const totalLag = g ? g.partitions.reduce((n, p) => n + (p.lag ?? 0), 0) : undefined;
  const lagSeries = useSeries(totalLag, g);
  return (
    <section aria-labelledby="group-title">
      <p class="crumbs"><a href={href(['groups'])}>Consumer groups</a> / {name}</p>
      <h1 id="group-title">{name}</h1>
      <ErrorBox error={group.error} what="describe the group" stale={g !== undefined} />
      {!g ? (
        group.error ? null : <Loading />
      ) : (
        <>
          <div class="stats">
            <Stat label="state" value={g.state} />
            <Stat label="members" value={g.members.length} />
            <Stat label="group epoch" value={g.groupEpoch} />
            <Stat label="total lag" value={<span data-testid="total-lag">{totalLag}</span>} warn={(totalLag ?? 0) > 0} />
          </div>
          <LineChart title="Total lag" unit="records" t={lagSeries.t} v={lagSeries.v} />
          <h2>Members</h2>
          {g.members.length === 0 ? (
            <Empty>No members: the group is empty (its offsets can be reset).</Empty>
          ) : (
            <table class="grid" aria-label="Members">
              <thead><tr><th>Member</th><th>Client</th><th>Epoch</th><th>Assignment</th><th>Pending revocation</th><th>Last heartbeat</th></tr></thead>
              <tbody>
                {g.members.map((m) => (
                  <tr key={m.memberId}>
                    <td><code>{m.memberId}</code></td>
                    <td>{m.clientId}</td>
                    <td>{m.memberEpoch}</td>
                    <td>{m.assignment.map((a) => `${a.topic} [${a.partitions.join(', ')}]`).join('; ') || 'none'}</td>
                    <td>{m.pendingRevocation.map((a) => `${a.topic} [${a.partitions.join(', ')}]`).join('; ') || 'none'}</td>
                    <td>{new Date(m.lastHeartbeatAtMs).toISOString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Offsets and lag</h2>
          {g.partitions.length === 0 ? (
            <Empty>No committed offsets.</Empty>
          ) : (
            <table class="grid" aria-label="Group offsets">
              <thead><tr><th>Topic</th><th>Partition</th><th>Committed</th><th>High watermark</th><th>Lag</th><th>Owner</th><th>Committed at</th></tr></thead>
              <tbody>
                {g.partitions.map((p) => (
                  <tr key={`${p.topic}/${p.partition}`} data-partition={`${p.topic}/${p.partition}`}>
                    <td><a href={href(['topics', p.topic])}>{p.topic}</a></td>
                    <td>{p.partition}</td>
                    <td>{p.offset ?? 'none'}</td>
                    <td>{p.highWatermark ?? '?'}</td>
                    <td class={(p.lag ?? 0) > 0 ? 'warn-text' : ''}>{p.lag ?? '?'}</td>
                    <td>{p.owner ? <code>{p.owner}</code> : 'unowned'}</td>
                    <td>{p.committedAtMs === null ? '' : new Date(p.committedAtMs).toISOString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <ResetOffsets group={name} topics={Object.keys(g.topicPartitions).concat(g.partitions.map((p) => p.topic)).filter((t, i, all) => all.indexOf(t) === i)} onDone={group.refresh} />
        </>
      )}
    </section>
  );
}

function ResetOffsets({ group, topics, onDone }: { group: string; topics: string[]; onDone: () => void }) {
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [to, setTo] = useState<ResetOffsetsRequest['to']>('earliest');
  const [value, setValue] = useState('');
  const [partitions, setPartitions] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [result, setResult] = useState('');
  const request = (): ResetOffsetsRequest => ({
    topic,
    to,
    ...(to === 'offset' || to === 'timestamp' ? { value: Number(value) } : {}),
    ...(partitions.trim() === '' ? {} : { partitions: partitions.split(',').map((p) => Number(p.trim())) }),
  });
  const apply = async () => {
    setConfirming(false);
    setError(undefined);
    try {
      const answer = await api.resetOffsets(group, request());
      setResult(`reset: ${answer.offsets.map((o) => `${o.topic}/${o.partition} → ${o.offset}`).join(', ')}`);
      onDone();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form class="card" aria-label="Reset offsets" onSubmit={(e) => { e.preventDefault(); setResult(''); setConfirming(true); }}>
      <h2>Reset offsets</h2>
      <div class="form-row">
        <label>Topic <input name="reset-topic" list="group-topics" required value={topic} onInput={(e) => setTopic(e.currentTarget.value)} /></label>
        <datalist id="group-topics">{topics.map((t) => <option key={t} value={t} />)}</datalist>
        <label>
          To{' '}
          <select name="reset-to" value={to} onChange={(e) => setTo(e.currentTarget.value as ResetOffsetsRequest['to'])}>
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
            <option value="offset">offset</option>
            <option value="timestamp">timestamp (ms)</option>
          </select>
        </label>
        {to === 'offset' || to === 'timestamp' ? <label>Value <input name="reset-value" required value={value} onInput={(e) => setValue(e.currentTarget.value)} /></label> : null}
        <label>Partitions <input name="reset-partitions" placeholder="all" value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} /></label>
        <button type="submit">Reset…</button>
      </div>
      {confirming ? (
        <div class="confirm" role="alertdialog" aria-label="Confirm the reset">
          <span>
            Move group <strong>{group}</strong>'s offsets on <strong>{topic}</strong> {partitions.trim() ? `partitions ${partitions}` : '(every partition)'} to <strong>{to}{to === 'offset' || to === 'timestamp' ? ` ${value}` : ''}</strong>?
          </span>
          <button type="button" class="danger-button" onClick={() => void apply()}>Confirm reset</button>
          <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
        </div>
      ) : null}
      {result ? <p class="ok-text" role="status">{result}</p> : null}
      <ErrorBox error={error} what="reset the offsets" />
    </form>
  );
}
