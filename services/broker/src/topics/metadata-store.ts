// Where topic metadata persists. One seam, several engines: the local JSON
// file below for a single node; the Redis coordinator will implement the same
// interface (docs/architecture.md#coordination).

import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/protocol';
import { isErrno, writeFileAtomic } from '../fs-util.js';
import { isPlainObject, type TopicConfigOverrides } from './topic-config.js';

export interface TopicMetadata {
  name: string;
  /** Distinguishes a topic from an earlier one of the same name. */
  topicId: string;
  partitions: number;
  replicationFactor: number;
  /** Only the configs set on the topic; the rest follow the broker defaults. */
  configs: TopicConfigOverrides;
  createdAtMs: number;
}

export interface MetadataStore {
  load(): Promise<TopicMetadata[]>;
  /** Creates or replaces the topic's metadata; durable when it resolves. */
  put(topic: TopicMetadata): Promise<void>;
  remove(name: string): Promise<void>;
}

/** The directory under the data dir that holds the broker's own files. */
export const META_DIR = '__strata';
const TOPICS_FILE = 'topics.json';
const CLUSTER_FILE = 'cluster.json';
const FORMAT_VERSION = 1;

/**
 * All topics in one JSON file, `<dataDir>/__strata/topics.json`, rewritten atomically
 * (tmp + fsync + rename) on every change; changes are applied one at a time.
 */
export class LocalMetadataStore implements MetadataStore {
  readonly file: string;
  readonly #dir: string;
  #topics = new Map<string, TopicMetadata>();
  #tail: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.#dir = join(dataDir, META_DIR);
    this.file = join(this.#dir, TOPICS_FILE);
  }

  async load(): Promise<TopicMetadata[]> {
    await mkdir(this.#dir, { recursive: true });
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) {
        this.#topics = new Map();
        return [];
      }
      throw new StrataError('STORAGE_ERROR', `cannot read ${this.file}`, { cause: e });
    }
    const topics = parseTopicsFile(text, this.file);
    this.#topics = new Map(topics.map((t) => [t.name, t]));
    return topics.map((t) => structuredClone(t));
  }

  put(topic: TopicMetadata): Promise<void> {
    return this.#serialize(async () => {
      const next = new Map(this.#topics);
      next.set(topic.name, structuredClone(topic));
      await this.#write(next);
      this.#topics = next;
    });
  }

  remove(name: string): Promise<void> {
    return this.#serialize(async () => {
      if (!this.#topics.has(name)) return;
      const next = new Map(this.#topics);
      next.delete(name);
      await this.#write(next);
      this.#topics = next;
    });
  }

  async #write(topics: Map<string, TopicMetadata>): Promise<void> {
    const sorted = [...topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const body = JSON.stringify({ version: FORMAT_VERSION, topics: sorted }, null, 2) + '\n';
    try {
      await writeFileAtomic(this.file, body);
    } catch (e) {
      throw new StrataError('STORAGE_ERROR', `cannot write ${this.file}`, { cause: e });
    }
  }

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

function parseTopicsFile(text: string, file: string): TopicMetadata[] {
  const corrupt = (why: string, cause?: unknown) =>
    new StrataError('STORAGE_ERROR', `${file} is not a valid topics file (${why}); refusing to start rather than lose topics`, { cause });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw corrupt('not JSON', e);
  }
  if (!isPlainObject(doc) || doc.version !== FORMAT_VERSION || !Array.isArray(doc.topics)) {
    throw corrupt(`expected {"version": ${FORMAT_VERSION}, "topics": [...]}`);
  }
  const seen = new Set<string>();
  return doc.topics.map((t: unknown, i: number) => {
    if (
      !isPlainObject(t) ||
      typeof t.name !== 'string' ||
      typeof t.topicId !== 'string' ||
      !Number.isSafeInteger(t.partitions) ||
      (t.partitions as number) < 1 ||
      !Number.isSafeInteger(t.replicationFactor) ||
      !isPlainObject(t.configs) ||
      !Number.isSafeInteger(t.createdAtMs)
    ) {
      throw corrupt(`topics[${i}] is malformed`);
    }
    if (seen.has(t.name)) throw corrupt(`topic "${t.name}" appears twice`);
    seen.add(t.name);
    return {
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitions as number,
      replicationFactor: t.replicationFactor as number,
      configs: t.configs as TopicConfigOverrides,
      createdAtMs: t.createdAtMs as number,
    };
  });
}

/** The cluster id: made once, kept in `<dataDir>/__strata/cluster.json` (Kafka's meta.properties). */
export async function loadOrCreateClusterId(dataDir: string, now: () => number): Promise<string> {
  const dir = join(dataDir, META_DIR);
  const file = join(dir, CLUSTER_FILE);
  await mkdir(dir, { recursive: true });
  try {
    const doc: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (isPlainObject(doc) && typeof doc.clusterId === 'string' && doc.clusterId !== '') return doc.clusterId;
    throw new StrataError('STORAGE_ERROR', `${file} has no clusterId`);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) {
      throw e instanceof StrataError ? e : new StrataError('STORAGE_ERROR', `cannot read ${file}`, { cause: e });
    }
  }
  const clusterId = randomUUID();
  await writeFileAtomic(file, JSON.stringify({ clusterId, createdAtMs: now() }) + '\n');
  return clusterId;
}
