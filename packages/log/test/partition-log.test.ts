import { appendFile, mkdtemp, open, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch, tempFileNameFor, validateBatches, type RecordInput } from '@strata/protocol';
import { DEFAULT_LOG_CONFIG, FileHandleCache, PartitionLog, type LogConfig } from '@strata/log';
import { Segment } from '../src/segment.js';
import { sharedFileHandleCache } from '../src/file-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const smallSegments: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 4096, indexIntervalBytes: 512 };

function batchOf(first: number, count: number, timestampMs = 1_700_000_000_000 + first): { bytes: Buffer; records: RecordInput[] } {
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    records.push({ key: Buffer.from(`k${first + i}`), value: Buffer.from(`value-${first + i}`), timestamp: timestampMs + i, headers: [{ key: 'h', value: Buffer.from(String(first + i)) }] });
  }
  return { bytes: encodeRecordBatch(records), records };
}

async function appendRecords(log: PartitionLog, first: number, count: number, timestampMs?: number) {
  const { bytes } = batchOf(first, count, timestampMs);
  return log.append(bytes, validateBatches(bytes), { leaderEpoch: 3 });
}

async function readAll(log: PartitionLog, from = log.logStartOffset) {
  const values: string[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { data, nextOffset } = await log.read(offset, { maxBytes: 1500 });
    expect(nextOffset).toBeGreaterThan(offset);
    for (const record of decodeRecordBatches(data)) {
      if (record.offset < offset) continue;
      expect(record.offset).toBe(from + values.length);
      values.push(record.value!.toString());
    }
    offset = nextOffset;
  }
  return values;
}

describe('PartitionLog', () => {
  it('assigns dense offsets from 0 and stamps the leader epoch', async () => {
    const log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG });
    expect(await appendRecords(log, 0, 3)).toEqual({ baseOffset: 0, lastOffset: 2, recordCount: 3, duplicate: false });
    expect(await appendRecords(log, 3, 2)).toEqual({ baseOffset: 3, lastOffset: 4, recordCount: 2, duplicate: false });
    const { data } = await log.read(0, { maxBytes: 1 << 20 });
    expect(data.readInt32BE(12)).toBe(3); // partitionLeaderEpoch
    expect(validateBatches(data)).toHaveLength(2); // CRC still valid after the rewrite
    expect(decodeRecordBatches(data).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    await log.close();
  });

  it('writes its checkpoints atomically and removes temp-file leftovers of a crash (old and bounded names) at open', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    await appendRecords(log, 0, 50);
    await log.close();
    const checkpoints = (await readdir(dir)).filter((n) => !/^\d{20}\./.test(n));
    // A crash between a temp write and its rename: a pre-#11 `.tmp` and a bounded temp name.
    await writeFile(join(dir, '.recovery-point.tmp'), '7');
    await writeFile(join(dir, tempFileNameFor('.leader-epoch-checkpoint')), 'garbage');
    const reopened = await PartitionLog.open({ dir, config: smallSegments });
    expect((await readdir(dir)).filter((n) => !/^\d{20}\./.test(n)).sort()).toEqual(checkpoints.filter((n) => n !== '.clean-shutdown').sort());
    expect(await readAll(reopened)).toHaveLength(50);
    await reopened.close();
  });

  it('serializes concurrent appends into contiguous offsets', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => appendRecords(log, i * 2, 2)));
    const bases = results.map((r) => r.baseOffset).sort((a, b) => a - b);
    expect(bases).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(log.logEndOffset).toBe(100);
    await log.close();
  });

  it('rolls segments on segment.bytes and reads any offset across them', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    for (let i = 0; i < 200; i++) await appendRecords(log, i * 5, 5);
    expect(log.stats().segmentCount).toBeGreaterThanOrEqual(8);
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.log')).length).toBe(log.stats().segmentCount);
    expect(files).toContain('00000000000000000000.log');
    for (const offset of [0, 1, 4, 5, 499, 500, 777, 999]) {
      const { data, nextOffset } = await log.read(offset, { maxBytes: 1 });
      const records = decodeRecordBatches(data);
      // At least one whole batch, and it holds the asked offset.
      expect(records.some((r) => r.offset === offset)).toBe(true);
      expect(nextOffset).toBe(records[records.length - 1]!.offset + 1);
    }
    expect(await readAll(log)).toEqual(Array.from({ length: 1000 }, (_, i) => `value-${i}`));
    expect((await log.read(1000, { maxBytes: 100 })).data.length).toBe(0);
    await expect(log.read(1001, { maxBytes: 100 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await expect(log.read(-1, { maxBytes: 100 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await log.close();
  });

  it('never returns batches at or past maxOffset', async () => {
    const log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG });
    await appendRecords(log, 0, 5);
    await appendRecords(log, 5, 5);
    const { data, nextOffset } = await log.read(0, { maxBytes: 1 << 20, maxOffset: 5 });
    expect(decodeRecordBatches(data).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(nextOffset).toBe(5);
    expect((await log.read(5, { maxBytes: 1 << 20, maxOffset: 5 })).data.length).toBe(0);
    await log.close();
  });

  it('keeps the largest timestamp across segments (ListOffsets max timestamp), also after a reopen', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    expect(log.stats().maxTimestamp).toBe(-1);
    const t0 = 1_700_000_000_000;
    // The largest timestamp sits in an early segment; later segments hold older records.
    await appendRecords(log, 0, 4, t0 + 50_000);
    for (let i = 1; i < 60; i++) await appendRecords(log, i * 4, 4, t0 + i * 10);
    expect(log.stats().segmentCount).toBeGreaterThan(2);
    expect(log.stats().maxTimestamp).toBe(t0 + 50_003);
    expect(await log.offsetForTimestamp(log.stats().maxTimestamp)).toEqual({ offset: 3, timestamp: t0 + 50_003 });
    await log.close();
    const reopened = await PartitionLog.open({ dir, config: smallSegments });
    expect(reopened.stats().maxTimestamp).toBe(t0 + 50_003);
    await reopened.close();
  });

  it('finds the first offset at or after a timestamp, across segments', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 100; i++) await appendRecords(log, i * 4, 4, t0 + i * 10);
    // Batch i holds timestamps t0+10i .. t0+10i+3.
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: t0 });
    expect(await log.offsetForTimestamp(t0 + 502)).toEqual({ offset: 202, timestamp: t0 + 502 });
    expect(await log.offsetForTimestamp(t0 + 505)).toEqual({ offset: 204, timestamp: t0 + 510 });
    expect(await log.offsetForTimestamp(t0 + 993)).toEqual({ offset: 399, timestamp: t0 + 993 });
    expect(await log.offsetForTimestamp(t0 + 994)).toBeNull();
    await log.close();
  });

  it('reopens after a clean close without rescanning, and continues the offsets', async () => {
    let log = await PartitionLog.open({ dir, config: smallSegments });
    for (let i = 0; i < 50; i++) await appendRecords(log, i * 3, 3);
    await log.close();
    log = await PartitionLog.open({ dir, config: smallSegments });
    expect(log.recovery.cleanShutdown).toBe(true);
    expect(log.recovery.segmentsScanned).toBe(0);
    expect(log.logEndOffset).toBe(150);
    expect(await appendRecords(log, 150, 3)).toMatchObject({ baseOffset: 150 });
    expect(await readAll(log)).toHaveLength(153);
    expect(await log.offsetForTimestamp(1_700_000_000_000 + 151)).toMatchObject({ offset: 151 });
    await log.close();
  });

  describe('crash recovery', () => {
    async function crashedLog(): Promise<string> {
      const log = await PartitionLog.open({ dir, config: smallSegments });
      for (let i = 0; i < 40; i++) await appendRecords(log, i * 3, 3);
      // No close(): the process "dies" with no clean-shutdown marker.
      const files = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
      return join(dir, files[files.length - 1]!);
    }

    it('truncates a torn tail to the last whole batch', async () => {
      const active = await crashedLog();
      const { size } = await stat(active);
      await truncate(active, size - 7);
      const log = await PartitionLog.open({ dir, config: smallSegments });
      expect(log.recovery.cleanShutdown).toBe(false);
      expect(log.recovery.bytesTruncated).toBeGreaterThan(0);
      expect(log.logEndOffset).toBe(117);
      expect(await readAll(log)).toEqual(Array.from({ length: 117 }, (_, i) => `value-${i}`));
      expect(await appendRecords(log, 117, 3)).toMatchObject({ baseOffset: 117 });
      await log.close();
    });

    it('truncates at a batch whose CRC no longer matches', async () => {
      const active = await crashedLog();
      const { size } = await stat(active);
      const file = await open(active, 'r+');
      await file.write(Buffer.from([0xff]), 0, 1, size - 3); // inside the last batch's records
      await file.close();
      const log = await PartitionLog.open({ dir, config: smallSegments });
      expect(log.recovery.stopReason).toMatch(/CRC/);
      expect(log.logEndOffset).toBe(117);
      await log.close();
    });

    it('drops trailing garbage', async () => {
      const active = await crashedLog();
      await appendFile(active, Buffer.alloc(100, 0xab));
      const log = await PartitionLog.open({ dir, config: smallSegments });
      expect(log.logEndOffset).toBe(120);
      expect(log.recovery.bytesTruncated).toBe(100);
      expect(await readAll(log)).toHaveLength(120);
      await log.close();
    });

    it('rebuilds a missing or corrupt index', async () => {
      let log = await PartitionLog.open({ dir, config: smallSegments });
      for (let i = 0; i < 60; i++) await appendRecords(log, i * 3, 3);
      await log.close();
      const indexes = (await readdir(dir)).filter((f) => f.endsWith('.index')).sort();
      await unlink(join(dir, indexes[0]!));
      await appendFile(join(dir, indexes[1]!), Buffer.from([1, 2, 3])); // odd size: untrustworthy
      log = await PartitionLog.open({ dir, config: smallSegments });
      expect(await readAll(log)).toEqual(Array.from({ length: 180 }, (_, i) => `value-${i}`));
      await log.close();
    });
  });

  it('deletes old segments by retention.bytes and retention.ms, advancing the log start', async () => {
    let now = 1_700_000_000_000;
    const log = await PartitionLog.open({ dir, config: { ...smallSegments, retentionBytes: 8192 }, now: () => now });
    for (let i = 0; i < 100; i++) await appendRecords(log, i * 5, 5, now);
    // Retention never deletes a segment whose seal is still running in the background.
    await log.whenSealed();
    const before = log.stats();
    await log.maintain();
    const after = log.stats();
    expect(after.sizeBytes).toBeLessThan(8192 + 4096);
    expect(after.logStartOffset).toBeGreaterThan(0);
    expect(after.segmentCount).toBeLessThan(before.segmentCount);
    await expect(log.read(0, { maxBytes: 100 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect(await readAll(log)).toHaveLength(500 - after.logStartOffset);

    log.updateConfig({ ...smallSegments, retentionMs: 60_000 });
    now += 120_000;
    await log.maintain(); // rolls the active segment, whose seal completes in the background
    await log.whenSealed();
    await log.maintain();
    // Everything was older than retention: only an empty active segment at the end remains.
    expect(log.logStartOffset).toBe(500);
    expect(log.logEndOffset).toBe(500);
    expect(await appendRecords(log, 500, 1, now)).toMatchObject({ baseOffset: 500 });
    await log.close();
  });

  // Issue #10 item 6: one record at timestamp 2^53-1 kept a partition with retention.ms=2000 forever.
  it('ages a segment holding a far-future timestamp by its last append, so retention.ms still deletes it', async () => {
    let now = 1_700_000_000_000;
    const log = await PartitionLog.open({ dir, config: { ...smallSegments, retentionMs: 2_000 }, now: () => now });
    await appendRecords(log, 0, 3, now);
    await appendRecords(log, 3, 1, Number.MAX_SAFE_INTEGER);
    await appendRecords(log, 4, 2, now);
    now += 1_000;
    await log.maintain();
    expect(log.logStartOffset).toBe(0);
    now += 2_000;
    await log.maintain(); // rolls the active segment, whose seal completes in the background
    await log.whenSealed();
    await log.maintain();
    expect(log.logStartOffset).toBe(6);
    expect(log.logEndOffset).toBe(6);
    await log.close();
  });

  it('rolls on segment.ms', async () => {
    let now = 1_700_000_000_000;
    const log = await PartitionLog.open({ dir, config: { ...DEFAULT_LOG_CONFIG, segmentMs: 1000 }, now: () => now });
    await appendRecords(log, 0, 1);
    await log.maintain();
    expect(log.stats().segmentCount).toBe(1);
    now += 1000;
    await log.maintain();
    expect(log.stats().segmentCount).toBe(2);
    await log.maintain(); // an empty active segment does not roll again
    expect(log.stats().segmentCount).toBe(2);
    await log.close();
  });

  it('fsyncs by flush.messages', async () => {
    const log = await PartitionLog.open({ dir, config: { ...DEFAULT_LOG_CONFIG, flushMessages: 4 } });
    await appendRecords(log, 0, 3);
    expect(log.stats().flushedOffset).toBe(0);
    await appendRecords(log, 3, 1);
    expect(log.stats().flushedOffset).toBe(4);
    await log.close();
  });

  it('truncates to an offset and appends from there', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    for (let i = 0; i < 100; i++) await appendRecords(log, i * 2, 2);
    await log.truncateTo(51); // mid-batch: the whole batch [50, 51] goes, as in Kafka
    expect(log.logEndOffset).toBe(50);
    expect(await appendRecords(log, 50, 2)).toMatchObject({ baseOffset: 50 });
    expect(await readAll(log)).toEqual(Array.from({ length: 52 }, (_, i) => `value-${i}`));
    await log.close();
    const reopened = await PartitionLog.open({ dir, config: smallSegments });
    expect(reopened.logEndOffset).toBe(52);
    await reopened.close();
  });

  it('resets to an empty log at any offset, forwards or backwards, and reopens there', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments });
    for (let i = 0; i < 60; i++) await appendRecords(log, i * 2, 2);
    await log.whenSealed();
    expect(log.sealedSegments().length).toBeGreaterThan(0);
    await log.resetTo(500);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([500, 500]);
    expect(log.sealedSegments()).toEqual([]);
    expect(await appendRecords(log, 500, 3)).toMatchObject({ baseOffset: 500, lastOffset: 502 });
    await log.resetTo(7);
    expect(await appendRecords(log, 7, 2)).toMatchObject({ baseOffset: 7 });
    await log.close();
    const reopened = await PartitionLog.open({ dir, config: smallSegments });
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([7, 9]);
    expect(await readAll(reopened)).toEqual(['value-7', 'value-8']);
    await reopened.close();
  });

  it('keeps reading correctly while sealed indexes are evicted from memory', async () => {
    const log = await PartitionLog.open({ dir, config: smallSegments, loadedIndexesMax: 1 });
    for (let i = 0; i < 200; i++) await appendRecords(log, i * 5, 5);
    for (let round = 0; round < 2; round++) {
      for (let offset = 0; offset < 1000; offset += 37) {
        const { data } = await log.read(offset, { maxBytes: 1 });
        expect(decodeRecordBatches(data).some((r) => r.offset === offset)).toBe(true);
      }
    }
    await log.close();
  });

  it('rejects an invalid config', async () => {
    await expect(PartitionLog.open({ dir, config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 0, retentionMs: -5 } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/segment\.bytes.*retention\.ms/),
    });
  });

  describe('seals in the background (issue #16: appends waited at every roll for the indexes and a datasync)', () => {
    /** A seal probe that holds every background seal until `release()`. */
    function heldSeals() {
      const held: number[] = [];
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      return { held, release: () => release(), probe: async (base: number) => { held.push(base); await gate; } };
    }

    it('goes on appending and reading while a rolled segment is still sealing; the uploader hears of it only once it is synced', async () => {
      const seals = heldSeals();
      const announced: number[] = [];
      const log = await PartitionLog.open({ dir, config: smallSegments, sealProbe: seals.probe, onSegmentSealed: (s) => announced.push(s.baseOffset) });
      for (let i = 0; i < 200; i++) await appendRecords(log, i * 3, 3);
      // Every roll happened with the first seal held: appends never waited for it.
      expect(log.stats().segmentCount).toBeGreaterThan(3);
      expect(seals.held).toEqual([0]);
      expect(log.pendingSeals).toBe(log.stats().segmentCount - 1);
      expect(log.sealedSegments()).toEqual([]);
      expect(announced).toEqual([]);
      // Nothing sealed yet: the recovery point has not moved, and there are no index files on disk.
      expect(await readFile(join(dir, '.recovery-point'), 'utf8')).toBe('0');
      expect((await readdir(dir)).filter((f) => f.endsWith('.index'))).toEqual([]);
      expect(await readAll(log)).toEqual(Array.from({ length: 600 }, (_, i) => `value-${i}`));
      seals.release();
      await log.whenSealed();
      const sealed = log.sealedSegments().map((s) => s.baseOffset);
      expect(sealed.length).toBe(log.stats().segmentCount - 1);
      expect(announced).toEqual(sealed);
      expect(Number(await readFile(join(dir, '.recovery-point'), 'utf8'))).toBe(log.sealedSegments().at(-1)!.nextOffset);
      await log.close();
    });

    it('keeps a sealing segment from retention until its seal completes', async () => {
      const seals = heldSeals();
      const log = await PartitionLog.open({ dir, config: { ...smallSegments, retentionBytes: 0 }, sealProbe: seals.probe });
      for (let i = 0; i < 30; i++) await appendRecords(log, i * 3, 3);
      await log.maintain();
      expect(log.logStartOffset).toBe(0);
      seals.release();
      await log.whenSealed();
      await log.maintain();
      expect(log.logStartOffset).toBe(log.logEndOffset);
      await log.close();
    });

    it('recovers every record after a crash while a segment was sealing', async () => {
      const seals = heldSeals();
      const crashed = await PartitionLog.open({ dir, config: smallSegments, sealProbe: seals.probe, fileCache: new FileHandleCache() });
      for (let i = 0; i < 120; i++) await appendRecords(crashed, i * 3, 3);
      expect(crashed.pendingSeals).toBeGreaterThan(1);
      // No close and no release: the process "dies" with the first seal held open.
      const log = await PartitionLog.open({ dir, config: smallSegments });
      expect(log.recovery.cleanShutdown).toBe(false);
      // Nothing was below the recovery point: every segment was rescanned, and the rolled ones sealed.
      expect(log.recovery.segmentsScanned).toBe(log.stats().segmentCount);
      expect(log.recovery.bytesTruncated).toBe(0);
      expect(log.logEndOffset).toBe(360);
      expect(log.sealedSegments().length).toBe(log.stats().segmentCount - 1);
      expect(await readAll(log)).toEqual(Array.from({ length: 360 }, (_, i) => `value-${i}`));
      expect(await appendRecords(log, 360, 3)).toMatchObject({ baseOffset: 360 });
      await log.close();
    });
  });

  describe('tiering hooks', () => {
    it('starts an empty log at initialOffset', async () => {
      const log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG, initialOffset: 1000 });
      expect(log.logStartOffset).toBe(1000);
      expect(await appendRecords(log, 0, 2)).toMatchObject({ baseOffset: 1000, lastOffset: 1001 });
      await log.close();
      const reopened = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG, initialOffset: 0 });
      expect(reopened.logEndOffset).toBe(1002); // what is on disk wins over initialOffset
      await reopened.close();
    });

    it('reports sealed segments and never deletes past deletableBelow', async () => {
      const sealed: number[] = [];
      let uploadedUpTo = 0;
      const log = await PartitionLog.open({
        dir,
        config: { ...smallSegments, retentionBytes: 0 },
        deletableBelow: () => uploadedUpTo,
        onSegmentSealed: (s) => sealed.push(s.baseOffset),
      });
      for (let i = 0; i < 100; i++) await appendRecords(log, i * 5, 5);
      await log.whenSealed();
      expect(sealed).toEqual(log.sealedSegments().map((s) => s.baseOffset));
      expect(sealed.length).toBeGreaterThan(3);
      await log.maintain();
      expect(log.logStartOffset).toBe(0); // retention wants everything gone; nothing is uploaded
      uploadedUpTo = log.sealedSegments()[2]!.nextOffset;
      await log.maintain();
      expect(log.logStartOffset).toBe(uploadedUpTo);
      await log.roll();
      expect(log.sealedSegments().at(-1)!.nextOffset).toBe(500);
      await log.close();
    });
  });

  describe('regressions', () => {
    it('does not trust a clean-shutdown marker when the active segment changed after close (junk past the end)', async () => {
      let log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG });
      await appendRecords(log, 0, 5);
      await log.close();
      // Bytes a failed write left past the end (a partial batch), after the clean close.
      await appendFile(join(dir, '00000000000000000000.log'), Buffer.alloc(600, 0x11));
      log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG });
      expect(log.recovery.cleanShutdown).toBe(false);
      expect(log.recovery.bytesTruncated).toBe(600);
      expect(await appendRecords(log, 5, 3)).toMatchObject({ baseOffset: 5 });
      expect(await readAll(log)).toEqual(Array.from({ length: 8 }, (_, i) => `value-${i}`));
      await log.close();
    });

    it('a segment deleted while a reader holds it never takes a newer file of the same name with it', async () => {
      const now = Date.now();
      const old = await Segment.create(dir, 0, now, sharedFileHandleCache);
      old.acquire(); // a read in flight
      await old.delete(); // retention or topic deletion
      const reborn = await Segment.create(dir, 0, now, sharedFileHandleCache); // a new segment 0 (the topic was recreated)
      old.release(); // the read finishes: only the old files may go
      await new Promise((resolve) => setTimeout(resolve, 50));
      await stat(reborn.logPath);
      await reborn.close();
    });
  });
});

describe('replica appends and the leader-epoch cache', () => {
  async function leaderWith(epochs: Array<[epoch: number, count: number]>): Promise<{ log: PartitionLog; bytes: Buffer[] }> {
    const log = await PartitionLog.open({ dir: join(dir, 'leader'), config: smallSegments });
    const bytes: Buffer[] = [];
    for (const [epoch, count] of epochs) {
      const { bytes: batch } = batchOf(log.logEndOffset, count);
      await log.append(batch, validateBatches(batch), { leaderEpoch: epoch });
      bytes.push(batch); // rewritten in place: now carries its offset and epoch
    }
    return { log, bytes };
  }

  it('a follower appends the leader bytes as-is, and both answer the same epoch ends', async () => {
    const { log: leader, bytes } = await leaderWith([[1, 3], [1, 2], [4, 5], [7, 1]]);
    expect(leader.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 5 }, { epoch: 7, startOffset: 10 }]);
    const follower = await PartitionLog.open({ dir: join(dir, 'follower'), config: smallSegments });
    for (const batch of bytes) await follower.appendReplica(batch, validateBatches(batch, { deep: false }));
    expect(follower.logEndOffset).toBe(11);
    expect(await readAll(follower)).toEqual(await readAll(leader));
    for (const epoch of [0, 1, 3, 4, 6, 7, 9]) expect(follower.endOffsetForEpoch(epoch)).toEqual(leader.endOffsetForEpoch(epoch));
    expect(leader.endOffsetForEpoch(0)).toEqual({ epoch: -1, endOffset: -1 });
    expect(leader.endOffsetForEpoch(5)).toEqual({ epoch: 4, endOffset: 10 });
    expect(leader.endOffsetForEpoch(9)).toEqual({ epoch: 7, endOffset: 11 });
    // A batch that does not continue the log is refused and changes nothing.
    await expect(follower.appendReplica(bytes[0]!, validateBatches(bytes[0]!, { deep: false }))).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    expect(follower.logEndOffset).toBe(11);
    // Truncation drops the epochs past the cut; the cache survives a reopen, and a lost checkpoint is rebuilt.
    await follower.truncateTo(10);
    expect(follower.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 5 }]);
    await follower.close();
    const reopened = await PartitionLog.open({ dir: join(dir, 'follower'), config: smallSegments });
    expect(reopened.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 5 }]);
    await reopened.close();
    await unlink(join(dir, 'follower', '.leader-epoch-checkpoint'));
    const rebuilt = await PartitionLog.open({ dir: join(dir, 'follower'), config: smallSegments });
    expect(rebuilt.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 5 }]);
    expect(rebuilt.latestEpoch).toBe(4);
    await rebuilt.resetTo(20);
    expect(rebuilt.latestEpoch).toBeNull();
    await rebuilt.close();
    await leader.close();
  });

  it('finds the byte position of a batch boundary inside a sealed segment', async () => {
    const { log, bytes } = await leaderWith([[1, 3], [1, 2], [2, 4]]);
    await log.roll();
    expect(await log.positionOf(0, 3)).toEqual({ position: bytes[0]!.length, baseOffset: 3 });
    expect(await log.positionOf(0, 5)).toEqual({ position: bytes[0]!.length + bytes[1]!.length, baseOffset: 5 });
    await log.close();
  });
});
