// Idempotent producers in the log (src/producer-state.ts, partition-producers.ts): duplicates,
// gaps, epochs, the sequence wrap, the five-batch window, expiry, the per-partition bound, and the
// state's durability (recovery from the log, from a snapshot, a follower's copy, a truncation).

import { mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch, incrementSequence, isStrataError, validateBatches, type ErrorCode } from '@strata/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog, decodeProducerSnapshot, type LogConfig, type PartitionLogOptions } from '@strata/log';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-producers-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const INT32_MAX = 0x7fffffff;
const config: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 4096, indexIntervalBytes: 512 };

/** One batch of `count` records of producer `pid` at `epoch` from sequence `seq` (fresh bytes each call: appends rewrite them). */
function idem(pid: number, epoch: number, seq: number, count = 2, tag = `${pid}-${epoch}-${seq}`): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${tag}#${i}`), timestamp: 1_700_000_000_000 + i }));
  return encodeRecordBatch(records, { producerId: pid, producerEpoch: epoch, baseSequence: seq });
}

function plain(count = 2, timestamp = 1_700_000_000_000): Buffer {
  return encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`plain#${i}`), timestamp })));
}

function append(log: PartitionLog, ...batches: Buffer[]) {
  const bytes = Buffer.concat(batches);
  return log.append(bytes, validateBatches(bytes), { leaderEpoch: 1 });
}

async function refused(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isStrataError(error) ? error.code : error).toBe(code);
  expect((error as Error).message).toMatch(message);
}

async function values(log: PartitionLog): Promise<string[]> {
  const { data } = await log.read(log.logStartOffset, { maxBytes: 1 << 20 });
  return decodeRecordBatches(data).map((r) => r.value!.toString());
}

function open(options: Partial<PartitionLogOptions> = {}): Promise<PartitionLog> {
  return PartitionLog.open({ dir, config, ...options });
}

describe('idempotent producers', () => {
  it('answers a retried batch with its original offsets and writes it once', async () => {
    const log = await open();
    await append(log, plain(3));
    expect(await append(log, idem(7, 0, 0))).toEqual({ baseOffset: 3, lastOffset: 4, recordCount: 2, duplicate: false });
    expect(await append(log, idem(7, 0, 0))).toEqual({ baseOffset: 3, lastOffset: 4, recordCount: 2, duplicate: true });
    expect(log.logEndOffset).toBe(5);
    expect(await values(log)).toEqual(['plain#0', 'plain#1', 'plain#2', '7-0-0#0', '7-0-0#1']);
    await log.close();
  });

  it('takes the next sequence, refuses a gap (nothing written) and checks the batches of one append one by one', async () => {
    const log = await open();
    await append(log, idem(7, 0, 0));
    // Two batches in one append: the second follows the first.
    expect(await append(log, idem(7, 0, 2), idem(7, 0, 4, 3))).toMatchObject({ baseOffset: 2, lastOffset: 6, duplicate: false });
    await refused(append(log, idem(7, 0, 8)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /sent sequence 8, expected 7/);
    // A good batch followed by a gap: the whole append is refused.
    await refused(append(log, idem(7, 0, 7), idem(7, 0, 10)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /sent sequence 10, expected 9/);
    expect(log.logEndOffset).toBe(7);
    expect(await append(log, idem(7, 0, 7))).toMatchObject({ baseOffset: 7, duplicate: false });
    await log.close();
  });

  it('refuses an older epoch, requires a new epoch to start at 0, and accepts an unknown producer at any sequence (KIP-360)', async () => {
    const log = await open();
    expect(await append(log, idem(9, 0, 41))).toMatchObject({ baseOffset: 0, duplicate: false }); // unknown: any sequence
    await refused(append(log, idem(9, 1, 5)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /expected 0 \(a new epoch starts at 0\)/);
    expect(await append(log, idem(9, 1, 0))).toMatchObject({ baseOffset: 2, duplicate: false });
    await refused(append(log, idem(9, 0, 43)), 'INVALID_PRODUCER_EPOCH', /epoch 0, older than its epoch 1/);
    // A retry from the fenced epoch is no duplicate either: the epoch check comes first.
    await refused(append(log, idem(9, 0, 41)), 'INVALID_PRODUCER_EPOCH', /older/);
    expect(log.producerState(9)).toMatchObject({ epoch: 1, batches: [{ firstSeq: 0, lastSeq: 1, baseOffset: 2, lastOffset: 3 }] });
    expect(log.logEndOffset).toBe(4);
    await log.close();
  });

  it('wraps sequences at int32 max to 0, as Kafka does', async () => {
    expect(incrementSequence(INT32_MAX - 1, 1)).toBe(INT32_MAX);
    expect(incrementSequence(INT32_MAX, 1)).toBe(0);
    expect(incrementSequence(INT32_MAX - 1, 3)).toBe(1);
    const log = await open();
    await append(log, idem(3, 0, INT32_MAX - 1, 2));
    expect(await append(log, idem(3, 0, 0, 3))).toMatchObject({ baseOffset: 2, duplicate: false });
    expect(log.producerState(3)?.batches.at(-1)).toMatchObject({ firstSeq: 0, lastSeq: 2 });
    // A batch that crosses the wrap: sequences max-1, max, 0.
    await append(log, idem(4, 0, INT32_MAX - 1, 3));
    expect(log.producerState(4)?.batches.at(-1)).toMatchObject({ firstSeq: INT32_MAX - 1, lastSeq: 0 });
    expect(await append(log, idem(4, 0, 1))).toMatchObject({ duplicate: false });
    expect(await append(log, idem(4, 0, INT32_MAX - 1, 3))).toMatchObject({ baseOffset: 5, lastOffset: 7, duplicate: true });
    await log.close();
  });

  it('remembers the last five batches of a producer: an older retry is out of order', async () => {
    const log = await open();
    for (let i = 0; i < 6; i++) await append(log, idem(5, 0, i * 2));
    expect(log.producerState(5)?.batches).toHaveLength(5);
    expect(await append(log, idem(5, 0, 2))).toMatchObject({ baseOffset: 2, lastOffset: 3, duplicate: true });
    await refused(append(log, idem(5, 0, 0)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /expected 12/);
    expect(log.logEndOffset).toBe(12);
    await log.close();
  });

  it('writes only the new batches of an append that mixes a retry with new ones', async () => {
    const log = await open();
    await append(log, idem(6, 0, 0));
    expect(await append(log, idem(6, 0, 0), idem(6, 0, 2))).toEqual({ baseOffset: 0, lastOffset: 3, recordCount: 4, duplicate: false });
    expect(await values(log)).toEqual(['6-0-0#0', '6-0-0#1', '6-0-2#0', '6-0-2#1']);
    await log.close();
  });

  it('forgets producers idle for producer.id.expiration.ms, and the least recently active past producersMax', async () => {
    let now = 1_000_000;
    const log = await open({ now: () => now, producerStateLimits: { producerIdExpirationMs: 60_000, producersMax: 2 } });
    await append(log, idem(1, 0, 0));
    now += 30_000;
    await append(log, idem(2, 0, 0));
    now += 30_000;
    await log.maintain();
    expect(log.producerState(1)).toBeUndefined();
    expect(log.producerState(2)).toBeDefined();
    // Forgotten: a retry is now a new producer's batch (Kafka accepts it), so it is written again.
    expect(await append(log, idem(1, 0, 0))).toMatchObject({ baseOffset: 4, duplicate: false });
    await append(log, idem(3, 0, 0)); // a third producer: the least recently active (2) goes
    expect(log.producerState(2)).toBeUndefined();
    expect(log.producerState(1)).toBeDefined();
    expect(log.producerState(3)).toBeDefined();
    await log.close();
  });

  it('rebuilds the state from the log after a crash with no snapshot', async () => {
    const log = await open();
    await append(log, idem(7, 0, 0));
    await append(log, plain());
    await append(log, idem(7, 0, 2));
    // No close(), and no snapshot at all: the state comes from the batch headers alone.
    for (const name of await readdir(dir)) if (name.endsWith('.snapshot')) await unlink(join(dir, name));
    const reopened = await open();
    expect(reopened.recovery.cleanShutdown).toBe(false);
    expect(reopened.producerState(7)?.batches.map((b) => b.baseOffset)).toEqual([0, 4]);
    expect(await append(reopened, idem(7, 0, 2))).toMatchObject({ baseOffset: 4, lastOffset: 5, duplicate: true });
    await refused(append(reopened, idem(7, 0, 9)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /expected 4/);
    await reopened.close();
  });

  it('snapshots the state at each roll and at close, and a clean open takes it from there', async () => {
    const log = await open();
    await append(log, idem(7, 0, 0));
    await log.roll();
    await append(log, idem(8, 0, 0));
    await log.close();
    const snapshots = (await readdir(dir)).filter((n) => n.endsWith('.snapshot')).sort();
    expect(snapshots).toEqual(['00000000000000000002.snapshot', '00000000000000000004.snapshot']);
    const atRoll = decodeProducerSnapshot(await readFile(join(dir, snapshots[0]!)));
    expect(atRoll.offset).toBe(2);
    expect(atRoll.entries.map((e) => e.producerId)).toEqual([7]);
    const reopened = await open();
    expect(reopened.recovery.cleanShutdown).toBe(true);
    expect(await append(reopened, idem(8, 0, 0))).toMatchObject({ baseOffset: 2, duplicate: true });
    expect(await append(reopened, idem(7, 0, 0))).toMatchObject({ baseOffset: 0, duplicate: true });
    await reopened.close();
  });

  it('keeps the state of producers whose batches retention deleted, through the snapshot', async () => {
    let now = 1_700_000_000_000;
    const log = await open({ now: () => now, config: { ...config, retentionMs: 1_000 } });
    await append(log, idem(7, 0, 0));
    await log.roll();
    now += 10_000; // the first segment is past retention, the second is new
    await append(log, plain(2, now));
    await log.maintain();
    expect(log.logStartOffset).toBe(2);
    expect((await readdir(dir)).filter((n) => n.endsWith('.snapshot')).sort()).toEqual(['00000000000000000002.snapshot']);
    // A crash: the state comes back from the snapshot, the batch itself is gone.
    const reopened = await open({ now: () => now, config: { ...config, retentionMs: 1_000 } });
    expect(await append(reopened, idem(7, 0, 0))).toMatchObject({ baseOffset: 0, lastOffset: 1, duplicate: true });
    await reopened.close();
  });

  it('refuses to trust a corrupt snapshot and rebuilds from the log', async () => {
    const log = await open();
    await append(log, idem(7, 0, 0));
    await log.close();
    const file = join(dir, '00000000000000000002.snapshot');
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(file, bytes);
    expect(() => decodeProducerSnapshot(bytes)).toThrow(/CRC mismatch/);
    const reopened = await open();
    expect(await append(reopened, idem(7, 0, 0))).toMatchObject({ baseOffset: 0, duplicate: true });
    await reopened.close();
  });

  it('a snapshot cut at any length or with any byte flipped is refused as a whole (CORRUPT_MESSAGE)', async () => {
    const log = await open();
    await append(log, idem(7, 0, 0));
    await append(log, idem(8, 2, 5));
    await log.close();
    const bytes = await readFile(join(dir, '00000000000000000004.snapshot'));
    expect(decodeProducerSnapshot(bytes).entries.map((e) => [e.producerId, e.epoch])).toEqual([[7, 0], [8, 2]]);
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodeProducerSnapshot(bytes.subarray(0, length))).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
    }
    for (let at = 0; at < bytes.length; at++) {
      const flipped = Buffer.from(bytes);
      flipped[at]! ^= 0x01;
      expect(() => decodeProducerSnapshot(flipped)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
    }
  });

  it('a follower keeps the state from the batches it replicates, and detects a retry once it leads', async () => {
    const leader = await open();
    await append(leader, idem(7, 0, 0), plain());
    await append(leader, idem(7, 0, 2));
    const { data } = await leader.read(0, { maxBytes: 1 << 20 });
    const followerDir = join(dir, 'follower');
    const follower = await PartitionLog.open({ dir: followerDir, config });
    await follower.appendReplica(data, validateBatches(data));
    expect(follower.producerState(7)?.batches).toEqual(leader.producerState(7)?.batches);
    expect(await append(follower, idem(7, 0, 2))).toMatchObject({ baseOffset: 4, lastOffset: 5, duplicate: true });
    expect(await append(follower, idem(7, 0, 0))).toMatchObject({ baseOffset: 0, lastOffset: 1, duplicate: true });
    await refused(append(follower, idem(7, 0, 6)), 'OUT_OF_ORDER_SEQUENCE_NUMBER', /expected 4/);
    await Promise.all([leader.close(), follower.close()]);
  });

  it('after a truncation the cut batches are no longer known: their retry is written', async () => {
    const log = await open();
    await append(log, idem(7, 0, 0));
    await log.roll();
    await append(log, idem(7, 0, 2));
    await log.truncateTo(2);
    expect(log.producerState(7)?.batches.map((b) => b.lastSeq)).toEqual([1]);
    expect(await append(log, idem(7, 0, 2))).toMatchObject({ baseOffset: 2, duplicate: false });
    await log.close();
  });

  it('a log reset to the bucket end takes the snapshot made there', async () => {
    const source = await PartitionLog.open({ dir: join(dir, 'old-leader'), config });
    await append(source, idem(7, 0, 0));
    await source.roll();
    const snapshot = await source.producerSnapshot(2);
    expect(snapshot).not.toBeNull();
    const log = await open();
    await log.resetTo(2, snapshot);
    expect(await append(log, idem(7, 0, 0))).toMatchObject({ baseOffset: 0, lastOffset: 1, duplicate: true });
    expect(await append(log, idem(7, 0, 2))).toMatchObject({ baseOffset: 2, duplicate: false });
    // A snapshot of another offset is not used.
    await log.resetTo(10, snapshot);
    expect(log.producerState(7)).toBeUndefined();
    await Promise.all([source.close(), log.close()]);
  });
});
