// The in-process engine's offsets log (src/memory/offsets-log.ts): commits appended instead of the
// group's file rewritten, replayed after a restart or a kill, a torn tail dropped, files rolled
// and compacted. "Killed" here is a copy of the directory of an engine never closed, taken between
// two of its calls: what it wrote is in the page cache, as after SIGKILL (a background compaction
// may be caught halfway, as it would be).

import { appendFile, cp, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryCoordinator, type MemoryCoordinatorOptions } from '@strata/coord';
import { crc32c } from '@strata/protocol';
import { describeCoordinatorConformance, expectStrataError } from './conformance.js';
import { OffsetsLog, decodeEntries, encodeEntry } from '../src/memory/offsets-log.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-coord-offsets-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** What a SIGKILL of the engine over `dir` would leave, as a directory of its own. */
async function killedCopy(dir: string): Promise<string> {
  const copy = await freshDir();
  await cp(dir, copy, { recursive: true });
  return copy;
}

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'offsets'))).sort();
}

/** The one log file of `dir` (the engine starts each run with exactly one). */
async function onlyLogFile(dir: string): Promise<string> {
  const files = await logFiles(dir);
  expect(files).toHaveLength(1);
  return join(dir, 'offsets', files[0]!);
}

async function offsetsOf(co: MemoryCoordinator, group: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const o of await co.fetchOffsets(group)) out[`${o.topic}/${o.partition}`] = o.offset;
  return out;
}

/** A group with one member (so its commits are fenced member commits, as a Kafka consumer's). */
async function joinGroup(co: MemoryCoordinator, group: string): Promise<{ memberId: string; memberEpoch: number }> {
  const joined = await co.groupHeartbeat(group, { memberId: 'm1', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 60_000, topicPartitions: { t: 4 } });
  return { memberId: 'm1', memberEpoch: joined.memberEpoch };
}

async function open(dir: string, options: Partial<MemoryCoordinatorOptions> = {}): Promise<MemoryCoordinator> {
  return MemoryCoordinator.open({ dir, ...options });
}

describeCoordinatorConformance('MemoryCoordinator, offsets log synced per commit and rolled every 4 KiB', async (options = {}) => {
  const dir = await freshDir();
  let skewMs = 0;
  const coordinator = await open(dir, { clock: () => Date.now() + skewMs, offsetsFlushIntervalMs: 0, offsetsLogRollBytes: 4096, ...options });
  return {
    coordinator,
    elapse: async (_group, ms) => {
      skewMs += ms;
    },
    footprint: async () => {
      const out: string[] = [];
      for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
        out.push(`${join(entry.parentPath, entry.name)}\n${await readFile(join(entry.parentPath, entry.name), 'latin1')}`);
      }
      return `${out.sort().join('\n')}\n${JSON.stringify(await coordinator.listBrokers())}`;
    },
    close: () => coordinator.close(),
  };
});

describe('MemoryCoordinator offsets log', () => {
  it("appends a member's commit to the log and leaves the group's file as it was", async () => {
    const dir = await freshDir();
    const co = await open(dir);
    const member = await joinGroup(co, 'g');
    const [groupFile] = await readdir(join(dir, 'groups'));
    const before = await readFile(join(dir, 'groups', groupFile!), 'utf8');
    const logBefore = (await readFile(await onlyLogFile(dir))).length;
    await co.commitOffsets('g', member, [{ topic: 't', partition: 0, offset: 7 }]);
    expect(await readFile(join(dir, 'groups', groupFile!), 'utf8')).toBe(before);
    expect((await readFile(await onlyLogFile(dir))).length).toBeGreaterThan(logBefore);
    expect(await offsetsOf(co, 'g')).toEqual({ 't/0': 7 });
    await co.close();
  });

  it('keeps every commit across a restart and across a kill (an engine never closed)', async () => {
    const dir = await freshDir();
    const first = await open(dir);
    const member = await joinGroup(first, 'g');
    for (let i = 0; i < 20; i++) await first.commitOffsets('g', member, [{ topic: 't', partition: i % 4, offset: i }]);
    await first.commitOffsets('solo', null, [{ topic: 't', partition: 1, offset: 99, metadata: 'm' }]);
    await first.close();

    const second = await open(dir);
    expect(await offsetsOf(second, 'g')).toEqual({ 't/0': 16, 't/1': 17, 't/2': 18, 't/3': 19 });
    expect((await second.fetchOffsets('solo'))[0]).toMatchObject({ offset: 99, metadata: 'm' });
    const again = await joinGroup(second, 'g');
    await second.commitOffsets('g', again, [{ topic: 't', partition: 0, offset: 100 }]);
    // second is killed: its last commit is only in the page cache.
    const killed = await killedCopy(dir);
    const third = await open(killed);
    expect(await offsetsOf(third, 'g')).toEqual({ 't/0': 100, 't/1': 17, 't/2': 18, 't/3': 19 });
    await third.close();
    // The files found at the start were compacted away: one empty log is left.
    expect((await readFile(await onlyLogFile(killed))).length).toBe(0);
    await second.close();
  });

  it('drops a torn tail (half an entry, then garbage) and keeps every whole entry of every group', async () => {
    const dir = await freshDir();
    const first = await open(dir);
    const a = await joinGroup(first, 'a');
    const b = await joinGroup(first, 'b');
    await first.commitOffsets('a', a, [{ topic: 't', partition: 0, offset: 1 }]);
    await first.commitOffsets('b', b, [{ topic: 't', partition: 0, offset: 10 }]);
    await first.commitOffsets('a', a, [{ topic: 't', partition: 1, offset: 2 }]);
    await first.commitOffsets('b', b, [{ topic: 't', partition: 0, offset: 11 }]);
    await first.close();
    const file = await onlyLogFile(dir);
    const whole = (await readFile(file)).length;
    expect(decodeEntries(await readFile(file), file).entries).toHaveLength(4);
    // The last entry (b's offset 11) half written, as a crash mid-write leaves it, then garbage.
    await truncate(file, whole - 5);
    await appendFile(file, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 0, 0]));

    const second = await open(dir);
    expect(await offsetsOf(second, 'a')).toEqual({ 't/0': 1, 't/1': 2 });
    expect(await offsetsOf(second, 'b')).toEqual({ 't/0': 10 });
    // The log goes on after the torn one: a new commit, then a restart, keep everything.
    const b2 = await joinGroup(second, 'b');
    await second.commitOffsets('b', b2, [{ topic: 't', partition: 2, offset: 12 }]);
    await second.close();
    const third = await open(dir);
    expect(await offsetsOf(third, 'b')).toEqual({ 't/0': 10, 't/2': 12 });
    await third.close();
  });

  it('stops at an entry whose CRC does not match, and refuses to start on a whole entry of an unknown version', async () => {
    const dir = await freshDir();
    const first = await open(dir);
    const member = await joinGroup(first, 'g');
    await first.commitOffsets('g', member, [{ topic: 't', partition: 0, offset: 1 }]);
    await first.commitOffsets('g', member, [{ topic: 't', partition: 0, offset: 2 }]);
    await first.close();
    const file = await onlyLogFile(dir);
    const bytes = await readFile(file);
    expect(decodeEntries(bytes, file)).toMatchObject({ validBytes: bytes.length, entries: [{ seq: 1 }, { seq: 2 }] });
    // Flip one byte of the second entry's body: its CRC fails, recovery stops before it.
    const second = Buffer.from(bytes);
    const firstLength = 8 + second.readUInt32BE(0);
    second[firstLength + 12] ^= 0xff;
    await writeFile(file, second);
    const reopened = await open(dir);
    expect(await offsetsOf(reopened, 'g')).toEqual({ 't/0': 1 });
    await reopened.close();

    const newer = encodeEntry({ seq: 1_000, group: 'g', offsets: {} });
    newer[8] = 2; // format version 2, with its CRC made right
    newer.writeUInt32BE(crc32c(newer.subarray(8)), 4);
    await writeFile(await onlyLogFile(dir), newer);
    await expectStrataError(open(dir), 'STORAGE_ERROR');
  });

  it('does not bring back a deleted group, nor offsets older than a reset, from earlier entries', async () => {
    const dir = await freshDir();
    const first = await open(dir);
    await first.commitOffsets('gone', null, [{ topic: 't', partition: 0, offset: 5 }]);
    expect(await first.deleteGroup('gone')).toBe(true);
    await first.commitOffsets('reset', null, [{ topic: 't', partition: 0, offset: 5 }]);
    await first.resetOffsets('reset', [{ topic: 't', partition: 0, offset: 2 }]);
    await first.commitOffsets('back', null, [{ topic: 't', partition: 0, offset: 1 }]);
    expect(await first.deleteGroup('back')).toBe(true);
    await first.commitOffsets('back', null, [{ topic: 't', partition: 0, offset: 3 }]);
    // Killed: the second engine replays the log over the documents.
    const second = await open(await killedCopy(dir));
    expect(await second.describeGroup('gone')).toBeNull();
    expect(await offsetsOf(second, 'reset')).toEqual({ 't/0': 2 });
    expect(await offsetsOf(second, 'back')).toEqual({ 't/0': 3 });
    await first.close();
    await second.close();
    const third = await open(dir);
    expect((await third.listGroups()).map((g) => g.group).sort()).toEqual(['back', 'reset']);
    await third.close();
  });

  it('rolls a full log file, writes its groups out and removes it: never more than two files, nothing lost', async () => {
    const dir = await freshDir();
    const co = await open(dir, { offsetsLogRollBytes: 4096 });
    const members = await Promise.all(['a', 'b', 'c'].map((g) => joinGroup(co, g)));
    // Committed once, in the first file: only compaction keeps it once that file is gone.
    await co.commitOffsets('early', null, [{ topic: 't', partition: 0, offset: 42 }]);
    let mostFiles = 0;
    let rolls = 0;
    let previous = await logFiles(dir);
    for (let i = 0; i < 300; i++) {
      const group = ['a', 'b', 'c'][i % 3]!;
      await co.commitOffsets(group, members[i % 3]!, [{ topic: 't', partition: i % 4, offset: i }]);
      const files = await logFiles(dir);
      mostFiles = Math.max(mostFiles, files.length);
      if (files.at(-1) !== previous.at(-1)) rolls++;
      previous = files;
    }
    expect(rolls).toBeGreaterThan(3);
    expect(mostFiles).toBe(2);
    const expected = { a: await offsetsOf(co, 'a'), b: await offsetsOf(co, 'b'), c: await offsetsOf(co, 'c') };
    expect(expected.a).toEqual({ 't/0': 288, 't/1': 297, 't/2': 294, 't/3': 291 });
    await co.close();
    // close() let the compaction in progress finish: one file left.
    expect(await logFiles(dir)).toHaveLength(1);
    const again = await open(dir);
    expect({ a: await offsetsOf(again, 'a'), b: await offsetsOf(again, 'b'), c: await offsetsOf(again, 'c') }).toEqual(expected);
    expect(await offsetsOf(again, 'early')).toEqual({ 't/0': 42 });
    await again.close();
  });

  it('replays topics and groups named after Object.prototype members', async () => {
    const dir = await freshDir();
    const first = await open(dir);
    for (const group of ['__proto__', 'constructor']) {
      await first.commitOffsets(group, null, [
        { topic: '__proto__', partition: 0, offset: 3 },
        { topic: 'toString', partition: 1, offset: 4 },
      ]);
    }
    const second = await open(await killedCopy(dir));
    for (const group of ['__proto__', 'constructor']) expect(await offsetsOf(second, group)).toEqual({ '__proto__/0': 3, 'toString/1': 4 });
    await second.close();
    await first.close();
  });

  it('reads whole frames up to a header that announces more than a frame may hold', () => {
    const whole = Buffer.concat([encodeEntry({ seq: 1, group: 'g', offsets: {} }), encodeEntry({ seq: 2, group: 'g', deleted: true })]);
    const garbage = Buffer.alloc(16, 0xff);
    expect(decodeEntries(Buffer.concat([whole, garbage]), 'test')).toEqual({ entries: [{ seq: 1, group: 'g', offsets: {} }, { seq: 2, group: 'g', deleted: true }], validBytes: whole.length });
    expect(decodeEntries(Buffer.alloc(0), 'test')).toEqual({ entries: [], validBytes: 0 });
  });

  it('stays failed after a failed write: every later append is refused with STORAGE_ERROR', async () => {
    const dir = join(await freshDir(), 'offsets');
    const log = await OffsetsLog.create(dir, 0, [], { flushIntervalMs: 0, rollBytes: 4096 });
    expect(await log.append({ group: 'g', offsets: {} })).toBe(1);
    await log.close();
    // Its file handle is closed: the write fails (EBADF), as a disk error would.
    await expectStrataError(log.append({ group: 'g', offsets: {} }), 'STORAGE_ERROR');
    expect(log.failed).toBe(true);
    expect(log.lastSeq).toBe(1);
    await expectStrataError(log.append({ group: 'g', deleted: true }), 'STORAGE_ERROR');
  });

  it('refuses offsetsFlushIntervalMs and offsetsLogRollBytes out of their bounds', async () => {
    const dir = await freshDir();
    await expectStrataError(open(dir, { offsetsFlushIntervalMs: -1 }), 'INVALID_CONFIG');
    await expectStrataError(open(dir, { offsetsFlushIntervalMs: 3_600_000 }), 'INVALID_CONFIG');
    await expectStrataError(open(dir, { offsetsLogRollBytes: 100 }), 'INVALID_CONFIG');
  });
});
