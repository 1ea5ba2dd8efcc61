// What the registry's admin changes share: the log's own config checks, an I/O failure in words,
// and bounded parallelism over logs (opening, closing, destroying many at once).

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { partitionDirName, validateLogConfig } from '@strata/log';
import { StrataError, isPermanentFsError, isStrataError } from '@strata/protocol';
import type { Logger } from '../logger.js';
import type { Topic } from './topic.js';
import { toLogConfig, type Problem, type TopicConfigs } from './topic-config.js';

/** Logs each partition directory of the data dir that no topic owns (kept: a create of its name removes it). */
export async function reportOrphans(dataDir: string, topics: Iterable<Topic>, logger: Logger): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch {
    return;
  }
  // Compared with the names the topics own, not parsed: a long topic's directory is a bounded form.
  const owned = new Set<string>();
  for (const topic of topics) for (let p = 0; p < topic.partitionCount; p++) owned.add(partitionDirName(topic.name, p));
  for (const entry of entries) {
    if (!/-\d+$/.test(entry) || owned.has(entry)) continue;
    logger.warn('partition directory belongs to no topic; it is removed if a topic of that name is created', { dir: join(dataDir, entry) });
  }
}

/** The log's own checks, so a value it would refuse is a 400 here rather than a 500 later. */
export function logConfigProblems(configs: TopicConfigs, problems: Problem[]): void {
  if (problems.length > 0) return;
  try {
    validateLogConfig(toLogConfig(configs));
  } catch (e) {
    problems.push({ code: 'INVALID_CONFIG', field: 'configs', message: (e as Error).message });
  }
}

/** An I/O failure in words, without the path it carries (the path stays in the broker log). */
export function errnoSummary(e: unknown): string {
  const errno = e as NodeJS.ErrnoException | null;
  if (errno !== null && typeof errno === 'object' && typeof errno.code === 'string') return `${errno.code}${errno.syscall ? ` (${errno.syscall})` : ''}`;
  return 'unexpected error';
}

/** Runs `task` on every item, at most `limit` at once, and reports every outcome in item order. */
export async function settleLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>): Promise<PromiseSettledResult<unknown>[]> {
  const results: PromiseSettledResult<unknown>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await task(items[i]!) };
      } catch (e) {
        results[i] = { status: 'rejected', reason: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function runLimited(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failure !== null) throw failure;
}

/**
 * A failure on a partition deleted meanwhile (`current` false) is reported as the topic being gone,
 * not as a storage fault; a file-system failure names the partition and what failed, never the
 * file's path (the cause, which only the broker log shows, keeps it).
 */
export function explainPartitionFailure(handle: { topic: string; partition: number }, error: unknown, current: boolean): unknown {
  if (!current) {
    return new StrataError('UNKNOWN_TOPIC', `topic "${handle.topic}" was deleted`, { cause: error, details: { topic: handle.topic } });
  }
  const errno = error as NodeJS.ErrnoException | null;
  if (isStrataError(error) || typeof errno?.code !== 'string' || typeof errno.syscall !== 'string') return error;
  return new StrataError('STORAGE_ERROR', `partition ${handle.partition} of topic "${handle.topic}": storage failure: ${errnoSummary(error)}`, {
    cause: error,
    details: { topic: handle.topic, partition: handle.partition },
    retriable: !isPermanentFsError(error),
  });
}
