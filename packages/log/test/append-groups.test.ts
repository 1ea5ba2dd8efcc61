// Appends queued together, written together (src/append-groups.ts): one write per group, each
// request answered with its own offsets, a failed write failing exactly its requests, a refused
// request failing alone, an idempotent producer's batches checked in order within a write, rolls between writes.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch, isStrataError, validateBatches } from '@strata/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog, type AppendResult, type LogConfig, type PartitionLogOptions } from '@strata/log';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-groups-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config: LogConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 64 * 1024, indexIntervalBytes: 512 };

type Write = { baseOffset: number; requests: number; bytes: number };

/** A batch of `count` records tagged `tag` (fresh bytes each call: appends rewrite them). */
function batch(tag: string, count = 3, producer?: { pid: number; seq: number }): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${tag}#${i}`), timestamp: 1_700_000_000_000 + i }));
  return encodeRecordBatch(records, producer === undefined ? {} : { producerId: producer.pid, producerEpoch: 0, baseSequence: producer.seq });
}

function append(log: PartitionLog, bytes: Buffer): Promise<AppendResult> {
  return log.append(bytes, validateBatches(bytes), { leaderEpoch: 1 });
}

/** A log whose writes are recorded; `gate` (when set) holds each write until it resolves, `fail` makes one throw. */
async function openLog(options: Partial<PartitionLogOptions> & { fail?: (write: Write) => Error | null; gate?: () => Promise<void> } = {}) {
  const writes: Write[] = [];
  const log = await PartitionLog.open({
    dir,
    config,
    ...options,
    appendProbe: async (write) => {
      writes.push(write);
      await options.gate?.();
      const failure = options.fail?.(write) ?? null;
      if (failure !== null) throw failure;
    },
  });
  return { log, writes };
}

async function values(log: PartitionLog): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { data, nextOffset } = await log.read(offset, { maxBytes: 1 << 20 });
    for (const record of decodeRecordBatches(data)) if (record.offset >= offset) out.push({ offset: record.offset, value: record.value!.toString() });
    offset = nextOffset;
  }
  return out;
}

/** A gate the test opens: every write waits at it until `open()`. */
function heldGate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open: () => open() };
}

describe('appends queued together', () => {
  it('go to the segment in one write, each answered with its own offsets, in call order', async () => {
    const { log, writes } = await openLog();
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((tag, i) => append(log, batch(tag, i + 1))));
    expect(writes).toEqual([{ baseOffset: 0, requests: 4, bytes: expect.any(Number) as number }]);
    expect(answers.map((a) => [a.baseOffset, a.lastOffset, a.recordCount])).toEqual([[0, 0, 1], [1, 2, 2], [3, 5, 3], [6, 9, 4]]);
    expect(log.logEndOffset).toBe(10);
    const read = await values(log);
    expect(read.map((r) => `${r.offset}:${r.value}`)).toEqual(['0:a#0', '1:b#0', '2:b#1', '3:c#0', '4:c#1', '5:c#2', '6:d#0', '7:d#1', '8:d#2', '9:d#3']);
    // The indexes cover the batches of a combined write at their own positions: a read from the middle.
    const middle = await log.read(7, { maxBytes: 1 });
    expect(decodeRecordBatches(middle.data)[0]!.offset).toBe(6);
    await log.close();
    const reopened = await PartitionLog.open({ dir, config });
    expect((await values(reopened)).length).toBe(10);
    await reopened.close();
  });

  it('with flush.messages = 1, a group is made durable by one fsync before any of its requests is answered', async () => {
    const { log, writes } = await openLog({ config: { ...config, flushMessages: 1 } });
    const flushedAtAnswer: number[] = [];
    await Promise.all(['a', 'b', 'c'].map((tag) => append(log, batch(tag)).then(() => void flushedAtAnswer.push(log.stats().flushedOffset))));
    expect(writes.map((w) => w.requests)).toEqual([3]);
    expect(flushedAtAnswer).toEqual([9, 9, 9]);
    await log.close();
  });

  it('gather while the queue is busy: a held write, then the requests behind it in one write', async () => {
    const gate = heldGate();
    const { log, writes } = await openLog({ gate: gate.wait });
    const first = append(log, batch('first'));
    await new Promise((r) => setImmediate(r));
    const rest = [append(log, batch('x')), append(log, batch('y')), append(log, batch('z'))];
    gate.open();
    const answers = await Promise.all([first, ...rest]);
    expect(writes.map((w) => w.requests)).toEqual([1, 3]);
    expect(answers.map((a) => a.baseOffset)).toEqual([0, 3, 6, 9]);
    await log.close();
  });

  it('a failed write fails exactly the requests in it; the log goes on from where it was (failure injected mid-group)', async () => {
    const gate = heldGate();
    const { log, writes } = await openLog({ gate: gate.wait, fail: (w) => (w.baseOffset === 3 && w.requests === 3 ? new Error('injected EIO') : null) });
    const first = append(log, batch('first'));
    await new Promise((r) => setImmediate(r));
    const failing = [append(log, batch('x')), append(log, batch('y')), append(log, batch('z'))];
    const settled = Promise.allSettled(failing);
    gate.open();
    expect((await first).baseOffset).toBe(0);
    const outcomes = await settled;
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/injected EIO/);
    expect(log.logEndOffset).toBe(3);
    const after = await append(log, batch('after'));
    expect(after.baseOffset).toBe(3);
    expect(writes.map((w) => w.requests)).toEqual([1, 3, 1]);
    expect((await values(log)).map((r) => r.value)).toEqual(['first#0', 'first#1', 'first#2', 'after#0', 'after#1', 'after#2']);
    await log.close();
  });

  it('a refused request fails alone; the others in its group are written', async () => {
    const { log, writes } = await openLog();
    await append(log, batch('p0', 3, { pid: 7, seq: 0 }));
    const answers = await Promise.allSettled([append(log, batch('a')), append(log, batch('gap', 3, { pid: 7, seq: 10 })), append(log, batch('b'))]);
    expect(answers.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (answers[1] as PromiseRejectedResult).reason as unknown;
    expect(isStrataError(reason) && reason.code).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(answers.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<AppendResult>).value.baseOffset)).toEqual([3, 6]);
    expect(writes.map((w) => w.requests)).toEqual([1, 2]);
    expect((await values(log)).map((r) => r.value.split('#')[0])).toEqual(['p0', 'p0', 'p0', 'a', 'a', 'a', 'b', 'b', 'b']);
    await log.close();
  });

  it("an idempotent producer's consecutive batches share a write, checked in order; its retry of a batch in the write is answered as a duplicate", async () => {
    const { log, writes } = await openLog();
    const answers = await Promise.all([
      append(log, batch('s0', 2, { pid: 9, seq: 0 })),
      append(log, batch('other', 2, { pid: 10, seq: 0 })),
      append(log, batch('s2', 2, { pid: 9, seq: 2 })),
      append(log, batch('s0', 2, { pid: 9, seq: 0 })),
      append(log, batch('s4', 2, { pid: 9, seq: 4 })),
    ]);
    // The retry fails the check after s2 in the first write: checked again in the next one, a duplicate.
    expect(writes.map((w) => w.requests)).toEqual([3, 1]);
    expect(answers.map((a) => [a.baseOffset, a.duplicate])).toEqual([[0, false], [2, false], [4, false], [0, true], [6, false]]);
    expect(log.producerState(9)!.batches.at(-1)!.lastSeq).toBe(5);
    await log.close();
  });

  it('a request refused part-way leaves nothing of its batches staged for the requests after it (as one at a time)', async () => {
    const { log } = await openLog();
    await append(log, Buffer.concat([batch('x0', 2, { pid: 1, seq: 0 }), batch('y0', 2, { pid: 2, seq: 0 })]));
    const outcomes = await Promise.allSettled([
      append(log, batch('z0', 2, { pid: 3, seq: 0 })),
      // pid 1 in sequence, then pid 2 out of sequence: the whole request is refused.
      append(log, Buffer.concat([batch('x2', 2, { pid: 1, seq: 2 }), batch('y9', 2, { pid: 2, seq: 9 })])),
      // In sequence only after the refused request's x2: refused too.
      append(log, batch('x4', 2, { pid: 1, seq: 4 })),
      append(log, batch('x2', 2, { pid: 1, seq: 2 })),
      append(log, batch('x2-gap', 2, { pid: 1, seq: 10 })),
    ]);
    const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : isStrataError(o.reason) ? o.reason.code : String(o.reason)));
    expect(codes).toEqual(['ok', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'ok', 'OUT_OF_ORDER_SEQUENCE_NUMBER']);
    expect((await values(log)).map((r) => r.value.split('#')[0])).toEqual(['x0', 'x0', 'y0', 'y0', 'z0', 'z0', 'x2', 'x2']);
    await log.close();
  });

  it('a group larger than the active segment rolls between its writes', async () => {
    const { log, writes } = await openLog({ config: { ...config, segmentBytes: 4096 } });
    const big = (tag: string) => encodeRecordBatch([{ key: null, value: Buffer.alloc(1500, tag), timestamp: 1_700_000_000_000 }]);
    const answers = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((tag) => append(log, big(tag))));
    expect(answers.map((a) => a.baseOffset)).toEqual([0, 1, 2, 3, 4]);
    expect(writes.map((w) => w.requests)).toEqual([2, 2, 1]);
    expect(log.stats().segmentCount).toBe(3);
    await log.whenSealed();
    expect(log.sealedSegments().map((s) => [s.baseOffset, s.nextOffset])).toEqual([[0, 2], [2, 4]]);
    expect((await values(log)).map((r) => r.value[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
    await log.close();
  });

  it('appendGroupBytesMax bounds a write (0: each append alone), and an operation queued between appends splits them', async () => {
    const alone = await openLog({ appendGroupBytesMax: 0, dir: join(dir, 'alone') });
    await Promise.all([append(alone.log, batch('a')), append(alone.log, batch('b')), append(alone.log, batch('c'))]);
    expect(alone.writes.map((w) => w.requests)).toEqual([1, 1, 1]);
    await alone.log.close();

    const { log, writes } = await openLog();
    const before = append(log, batch('a'));
    const rolled = log.roll();
    const after = append(log, batch('b'));
    await Promise.all([before, rolled, after]);
    expect(writes.map((w) => w.requests)).toEqual([1, 1]);
    expect(log.sealedSegments().map((s) => [s.baseOffset, s.nextOffset])).toEqual([[0, 3]]);
    await log.close();
  });
});
