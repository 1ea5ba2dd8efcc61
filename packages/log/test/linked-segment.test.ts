// A segment file that shares its inode with an object (the embedded store hard-links sealed
// segments instead of copying them) must never be cut in place: the object would lose bytes.
// link(2) here stands for LocalDirObjectStore.putFile, which does exactly that (unshare.ts).
import { appendFile, link, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch, isTempFileName, validateBatches } from '@strata/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog, type LogConfig } from '@strata/log';

let dir: string;
let objects: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-log-linked-'));
  objects = await mkdtemp(join(tmpdir(), 'strata-log-objects-'));
});
afterEach(async () => {
  await Promise.all([rm(dir, { recursive: true, force: true }), rm(objects, { recursive: true, force: true })]);
});

const smallSegments: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 4096, indexIntervalBytes: 512 };

async function appendRecords(log: PartitionLog, first: number, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`value-${first + i}`), timestamp: 1_700_000_000_000 + first + i, headers: [] }));
  const bytes = encodeRecordBatch(records);
  await log.append(bytes, validateBatches(bytes), { leaderEpoch: 1 });
}

async function values(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const { data, nextOffset } = await log.read(offset, { maxBytes: 1500 });
    for (const record of decodeRecordBatches(data)) if (record.offset >= offset) out.push(record.value!.toString());
    offset = nextOffset;
  }
  return out;
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
}

describe('a segment file linked into the object store', () => {
  it('keeps the linked bytes when the log truncates into it (a follower meeting a new leader), and the log goes on', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    for (let i = 0; i < 100; i++) await appendRecords(log, i * 2, 2);
    const first = (await segmentFiles())[0]!;
    const object = join(objects, 'first.seg');
    await link(join(dir, first), object);
    const uploaded = await readFile(object);
    await log.truncateTo(21); // inside the first segment: the batch [20, 21] and all after go
    expect(log.logEndOffset).toBe(20);
    expect((await readFile(object)).equals(uploaded)).toBe(true);
    expect((await stat(join(dir, first))).nlink).toBe(1); // the log has its own copy now
    expect((await stat(join(dir, first))).size).toBeLessThan(uploaded.length);
    await appendRecords(log, 20, 2);
    expect(await values(log)).toEqual(Array.from({ length: 22 }, (_, i) => `value-${i}`));
    expect((await readFile(object)).equals(uploaded)).toBe(true);
    expect((await readdir(dir)).filter(isTempFileName)).toEqual([]);
    await log.close();
  });

  it('keeps the linked bytes when recovery cuts a bad tail', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    for (let i = 0; i < 40; i++) await appendRecords(log, i * 3, 3);
    // No close(): a crash. The last file gets garbage, then is linked (a copy would also see it).
    const files = await segmentFiles();
    const active = join(dir, files[files.length - 1]!);
    await appendFile(active, Buffer.alloc(100, 0xab));
    const object = join(objects, 'active.seg');
    await link(active, object);
    const linkedBytes = await readFile(object);
    const reopened = await PartitionLog.open({ dir, config: smallSegments });
    expect(reopened.recovery.bytesTruncated).toBe(100);
    expect((await readFile(object)).equals(linkedBytes)).toBe(true);
    expect((await stat(active)).nlink).toBe(1);
    await appendRecords(reopened, 120, 3);
    expect(await values(reopened)).toHaveLength(123);
    expect((await readFile(object)).equals(linkedBytes)).toBe(true);
    await reopened.close();
  });
});
