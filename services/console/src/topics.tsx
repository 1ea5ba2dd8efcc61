// Topics: a searchable, paged list (1,000s of topics render one page at a time) and a form to
// create one. The API decides what is valid: its refusal is shown as it wrote it.

import { useState } from 'preact/hooks';
import { api } from './api.js';
import { usePoll } from './poll.js';
import { href, navigate, type Route } from './route.js';
import { Empty, ErrorBox, Loading } from './ui.js';

/** Topics per page of the list. */
export const TOPICS_PAGE_SIZE = 50;

export function Topics({ route }: { route: Route }) {
  const search = route.query.get('q') ?? '';
  const page = Math.max(0, Number(route.query.get('page') ?? 0) || 0);
  const topics = usePoll((s) => api.topics(s), []);

  const matching = (topics.data?.topics ?? []).filter((t) => t.name.toLowerCase().includes(search.toLowerCase())).sort((a, b) => a.name.localeCompare(b.name));
  const pages = Math.max(1, Math.ceil(matching.length / TOPICS_PAGE_SIZE));
  const shown = matching.slice(page * TOPICS_PAGE_SIZE, (page + 1) * TOPICS_PAGE_SIZE);
  const go = (q: string, p: number) => navigate(['topics'], { q, page: p || undefined }, true);

  return (
    <section aria-labelledby="topics-title">
      <h1 id="topics-title">Topics</h1>
      <CreateTopic onCreated={(name) => navigate(['topics', name])} />
      <div class="toolbar">
        <label>
          Search <input type="search" value={search} onInput={(e) => go(e.currentTarget.value, 0)} placeholder="topic name" />
        </label>
        <span class="muted">{topics.data ? `${matching.length} of ${topics.data.topics.length} topics` : ''}</span>
      </div>
      <ErrorBox error={topics.error} what="list the topics" stale={topics.data !== undefined} />
      {!topics.data ? (
        topics.error ? null : <Loading />
      ) : matching.length === 0 ? (
        <Empty>{search ? `No topic matches “${search}”.` : 'No topics yet: create one above.'}</Empty>
      ) : (
        <>
          <table class="grid" aria-label="Topics">
            <thead>
              <tr><th>Name</th><th>Partitions</th><th>Replication factor</th><th /></tr>
            </thead>
            <tbody>
              {shown.map((t) => (
                <tr key={t.name}>
                  <td><a href={href(['topics', t.name])}>{t.name}</a></td>
                  <td>{t.partitions}</td>
                  <td>{t.replicationFactor}</td>
                  <td><a href={href(['messages', t.name, 0])}>messages</a></td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Pages">
            <button disabled={page === 0} onClick={() => go(search, page - 1)}>Previous</button>
            <span>page {page + 1} of {pages}</span>
            <button disabled={page + 1 >= pages} onClick={() => go(search, page + 1)}>Next</button>
          </nav>
        </>
      )}
    </section>
  );
}

function CreateTopic({ onCreated }: { onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [replication, setReplication] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // The numbers go as typed: the API, not the console, says what is too many.
      const created = await api.createTopic({
        name,
        partitions: Number(partitions),
        ...(replication === '' ? {} : { replicationFactor: Number(replication) }),
      });
      onCreated(created.name);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form-row" onSubmit={submit} aria-label="Create a topic">
      <label>Name <input name="topic-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
      <label>Partitions <input name="topic-partitions" inputMode="numeric" value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} /></label>
      <label>Replication factor <input name="topic-replication" inputMode="numeric" placeholder="default" value={replication} onInput={(e) => setReplication(e.currentTarget.value)} /></label>
      <button type="submit" disabled={busy}>Create topic</button>
      <ErrorBox error={error} what="create the topic" />
    </form>
  );
}
