// The bounded cache of segment file descriptors (issue #10, item 3): a log of thousands of
// segments, or thousands of logs, holds at most `maxOpen` descriptors while idle; eviction
// never closes a file under a read; a log that fails to open keeps nothing open.

import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch, validateBatches } from '@strata/protocol';
import { DEFAULT_LOG_CONFIG, FileHandleCache, PartitionLog, type LogConfig } from '@strata/log';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-fds-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Descriptors this process holds now (Linux). */
async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

/** One batch per segment: every append rolls. */
const tinySegments: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 100, indexIntervalBytes: 1 };

async function appendValue(log: PartitionLog, value: string): Promise<void> {
  const bytes = encodeRecordBatch([{ key: null, value: Buffer.from(value), timestamp: 1_700_000_000_000, headers: [] }]);
  await log.append(bytes, validateBatches(bytes), { leaderEpoch: 0 });
}

async function valueAt(log: PartitionLog, offset: number): Promise<string> {
  const { data } = await log.read(offset, { maxBytes: 1 });
  const record = decodeRecordBatches(data).find((r) => r.offset === offset);
  return record!.value!.toString();
}

describe('FileHandleCache', () => {
  it('a log of 1,000 segments holds at most maxOpen descriptors, and reads every segment back', async () => {
    const files = new FileHandleCache(8);
    const before = await openFds();
    const log = await PartitionLog.open({ dir, config: tinySegments, fileCache: files });
    for (let i = 0; i < 1_000; i++) await appendValue(log, `v${i}`);
    expect(log.stats().segmentCount).toBeGreaterThanOrEqual(1_000);
    const afterAppends = (await openFds()) - before;
    console.log(`1,000 segments: ${afterAppends} descriptors held, cache ${JSON.stringify(files.stats())}`);
    expect(files.stats().open).toBeLessThanOrEqual(8);
    // Before the cache, every sealed segment kept its descriptor: 1,000 here.
    expect(afterAppends).toBeLessThanOrEqual(8 + 4);
    for (const offset of [0, 1, 499, 998, 999, 5, 750]) expect(await valueAt(log, offset)).toBe(`v${offset}`);
    expect(files.stats().open).toBeLessThanOrEqual(8);
    await log.close();
    expect(files.stats().open).toBe(0);
    expect(await openFds()).toBeLessThanOrEqual(before + 1);

    // Reopened (clean shutdown: no rescan), the log is whole and still bounded.
    const reopened = await PartitionLog.open({ dir, config: tinySegments, fileCache: files });
    expect(reopened.recovery.cleanShutdown).toBe(true);
    expect(reopened.logEndOffset).toBe(1_000);
    expect(await valueAt(reopened, 734)).toBe('v734');
    expect(files.stats().open).toBeLessThanOrEqual(8);
    await reopened.close();
  });

  it('many logs share one bound: 300 partitions with a cache of 16', async () => {
    const files = new FileHandleCache(16);
    const before = await openFds();
    const logs: PartitionLog[] = [];
    for (let p = 0; p < 300; p++) {
      const log = await PartitionLog.open({ dir: join(dir, `t-${p}`), config: DEFAULT_LOG_CONFIG, fileCache: files });
      await appendValue(log, `p${p}`);
      logs.push(log);
    }
    expect((await openFds()) - before).toBeLessThanOrEqual(16 + 4);
    for (const [p, log] of logs.entries()) expect(await valueAt(log, 0)).toBe(`p${p}`);
    // 300 appends at once (one request to 300 partitions): openers past the bound wait for a slot.
    let peak = 0;
    const sampler = setInterval(() => void openFds().then((n) => (peak = Math.max(peak, n - before))), 1);
    await Promise.all(logs.map((log) => appendValue(log, 'again')));
    clearInterval(sampler);
    expect(files.stats().open).toBeLessThanOrEqual(16);
    expect(peak).toBeLessThanOrEqual(16 + 4);
    for (const log of logs) await log.close();
    expect(files.stats().open).toBe(0);
    for (const log of logs) expect(log.logEndOffset).toBe(2);
  });

  it('eviction never closes a file under a read: 200 concurrent reads with a cache of 1', async () => {
    const files = new FileHandleCache(1);
    const log = await PartitionLog.open({ dir, config: tinySegments, fileCache: files });
    for (let i = 0; i < 200; i++) await appendValue(log, `v${i}`);
    const values = await Promise.all(Array.from({ length: 200 }, (_, i) => valueAt(log, 199 - i)));
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => `v${199 - i}`));
    // Rolls seal in the background (each append here rolls): a seal in progress holds its file too.
    await log.whenSealed();
    expect(files.stats().inUse).toBe(0);
    expect(files.stats().open).toBeLessThanOrEqual(1);
    await log.close();
  });

  it('a segment deleted by retention while a read holds it reopens under its new name', async () => {
    const files = new FileHandleCache(1);
    let nowMs = 1_700_000_000_000;
    const log = await PartitionLog.open({ dir, config: { ...tinySegments, retentionMs: 1_000 }, fileCache: files, now: () => nowMs });
    for (let i = 0; i < 20; i++) await appendValue(log, `v${i}`);
    // Many reads in flight across segments while retention deletes them all: none may fail
    // with ENOENT because an evicted descriptor was reopened under the old name.
    nowMs += 10 * 24 * 3_600_000;
    const reads = Array.from({ length: 40 }, (_, i) => log.read(i % 19, { maxBytes: 1 }).then(
      () => 'ok',
      (e: { code?: string }) => e.code ?? 'other',
    ));
    await log.maintain();
    const outcomes = await Promise.all(reads);
    // A read may find its offset below the new log start (OFFSET_OUT_OF_RANGE): never another failure.
    expect(outcomes.filter((o) => o !== 'ok' && o !== 'OFFSET_OUT_OF_RANGE')).toEqual([]);
    await log.close();
  });

  it('a log that fails to open part-way keeps no descriptor open', async () => {
    const files = new FileHandleCache(64);
    let log = await PartitionLog.open({ dir, config: tinySegments, fileCache: files });
    for (let i = 0; i < 30; i++) await appendValue(log, `v${i}`);
    await log.close();
    // A directory where segment 31 should be a file: opening it fails (EISDIR) after 30 segments opened.
    await mkdir(join(dir, '00000000000000000031.log'));
    const before = await openFds();
    await expect(PartitionLog.open({ dir, config: tinySegments, fileCache: files })).rejects.toThrow();
    expect(files.stats().open).toBe(0);
    expect(await openFds()).toBeLessThanOrEqual(before);
    await rm(join(dir, '00000000000000000031.log'), { recursive: true });
    log = await PartitionLog.open({ dir, config: tinySegments, fileCache: files });
    expect(log.logEndOffset).toBe(30);
    await log.close();
  });
});
