// The one-time import of a data dir written by the release before "one broker path" (issue #11),
// when a single node kept its own files beside the in-process coordinator (which then held only
// consumer groups, and still holds them):
//
//   <dataDir>/__strata/topics.json                 {"version": 1, "topics": [TopicMetadata...]}
//   <dataDir>/__strata/cluster.json                {"clusterId": "...", "createdAtMs": ...}
//   <dataDir>/__strata/manifests/<topic>-<p>.json  one PartitionManifest per partition (fileNameFor)
//
// They are copied into the coordinator (topics, each partition led by this broker alone with its
// manifest, the cluster id), each partition's log is marked as written in this broker's reign (so
// the first acquisition keeps its tail), and only then are the files renamed to `*.imported`,
// topics.json last: it is what says an import is due. Every step can run again, so an import
// interrupted anywhere redoes itself at the next start.

import { readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { partitionDirName } from '@strata/log';
import { StrataError, fileNameFor } from '@strata/protocol';
import type { ImportedPartition, MemoryCoordinator } from '@strata/coord';
import { recordReign } from '../cluster/leadership.js';
import { isErrno } from '../fs-util.js';
import type { Logger } from '../logger.js';
import { emptyManifest, parseManifest } from '../tiering/manifest.js';
import { META_DIR, type TopicMetadata } from '../topics/metadata-store.js';
import { isPlainObject, type TopicConfigOverrides } from '../topics/topic-config.js';

const TOPICS_FILE = 'topics.json';
const CLUSTER_FILE = 'cluster.json';
const MANIFESTS_DIR = 'manifests';
/** The suffix an imported file or directory is renamed with (kept, not deleted: a way back). */
export const IMPORTED_SUFFIX = '.imported';
const TOPICS_FORMAT_VERSION = 1;

export interface DataDirImport {
  dataDir: string;
  coordinator: MemoryCoordinator;
  brokerId: string;
  logger: Logger;
}

/** Imports the older release's files when they are there; false when there was nothing to import. */
export async function importDataDir({ dataDir, coordinator, brokerId, logger }: DataDirImport): Promise<boolean> {
  const meta = join(dataDir, META_DIR);
  const topicsFile = join(meta, TOPICS_FILE);
  const topicsText = await readIfPresent(topicsFile);
  if (topicsText === null) return false;
  const started = performance.now();
  const topics = parseTopicsFile(topicsText, topicsFile);
  const clusterId = await readClusterId(meta);
  const manifestsDir = await firstPresentDir([join(meta, MANIFESTS_DIR), join(meta, MANIFESTS_DIR + IMPORTED_SUFFIX)]);
  const partitions: ImportedPartition[] = [];
  for (const topic of topics) {
    for (let p = 0; p < topic.partitions; p++) {
      const file = manifestsDir === null ? null : join(manifestsDir, fileNameFor(`${topic.name}-${p}`, '.json'));
      const text = file === null ? null : await readIfPresent(file);
      partitions.push({ topic: topic.name, partition: p, brokerId, manifest: text === null ? emptyManifest() : parseManifest(text, file!) });
    }
  }
  await coordinator.importState({ ...(clusterId !== null ? { clusterId } : {}), topics, partitions });
  for (const { topic, partition } of partitions) {
    const state = await coordinator.getPartitionState(topic, partition);
    if (state === null) throw new StrataError('INTERNAL_ERROR', `the import of ${topic}/${partition} left no partition state`);
    // A partition whose directory is gone has no tail to keep; the log is created at the bucket end.
    await recordReign(join(dataDir, partitionDirName(topic, partition)), state.leaderEpoch).catch((e: unknown) => {
      if (!isErrno(e, 'ENOENT')) throw e;
    });
  }
  for (const name of [MANIFESTS_DIR, CLUSTER_FILE, TOPICS_FILE]) await renameIfPresent(join(meta, name), join(meta, name + IMPORTED_SUFFIX));
  logger.info('imported the data dir of the previous release into the in-process coordinator', {
    topics: topics.map((t) => t.name),
    partitions: partitions.length,
    clusterId,
    renamed: `__strata/{${TOPICS_FILE},${CLUSTER_FILE},${MANIFESTS_DIR}}${IMPORTED_SUFFIX}`,
    ms: Math.round(performance.now() - started),
  });
  return true;
}

async function readClusterId(meta: string): Promise<string | null> {
  for (const file of [join(meta, CLUSTER_FILE), join(meta, CLUSTER_FILE + IMPORTED_SUFFIX)]) {
    const text = await readIfPresent(file);
    if (text === null) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new StrataError('STORAGE_ERROR', `${file} is not JSON; refusing to start rather than change the cluster id`, { cause: e });
    }
    if (isPlainObject(doc) && typeof doc.clusterId === 'string' && doc.clusterId !== '') return doc.clusterId;
    throw new StrataError('STORAGE_ERROR', `${file} has no clusterId; refusing to start rather than change the cluster id`);
  }
  return null;
}

async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw new StrataError('STORAGE_ERROR', `cannot read ${file}`, { cause: e });
  }
}

async function firstPresentDir(dirs: string[]): Promise<string | null> {
  for (const dir of dirs) {
    try {
      await readdir(dir);
      return dir;
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw new StrataError('STORAGE_ERROR', `cannot read ${dir}`, { cause: e });
    }
  }
  return null;
}

async function renameIfPresent(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw new StrataError('STORAGE_ERROR', `cannot rename ${from} to ${to}`, { cause: e });
  }
}

/** The topics file of the previous release, checked as that release checked it. */
function parseTopicsFile(text: string, file: string): TopicMetadata[] {
  const corrupt = (why: string, cause?: unknown) =>
    new StrataError('STORAGE_ERROR', `${file} is not a valid topics file (${why}); refusing to start rather than lose topics`, { cause });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw corrupt('not JSON', e);
  }
  if (!isPlainObject(doc) || doc.version !== TOPICS_FORMAT_VERSION || !Array.isArray(doc.topics)) {
    throw corrupt(`expected {"version": ${TOPICS_FORMAT_VERSION}, "topics": [...]}`);
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

