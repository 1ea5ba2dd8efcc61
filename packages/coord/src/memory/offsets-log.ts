// The in-process engine's offsets log: committed offsets appended, one small frame per commit,
// instead of rewriting the group's document with two fsyncs (issue: a kafkajs consumer commits
// after every partition's batch, one commit at a time, so each commit's cost is in its latency).
//
//   <dir>/offsets/<first seq, 20 digits>.log   frames, appended in seq order: the active file, and
//                                               the rolled ones until their groups are written out
//                                               (one at runtime; those found at a start)
//
// A frame, all integers big-endian:
//
//   bodyBytes u32 | crc32c(body) u32 | body: formatVersion u8, then UTF-8 JSON of an OffsetsLogEntry
//
// Durability is Kafka's for its offsets topic on one broker, and Redis's under appendfsync everysec:
// an append is in the OS page cache before the commit resolves (it survives the broker process being
// killed), and fdatasync'd at most `flushIntervalMs` later (a machine crash loses at most that
// much); 0 syncs every append before it resolves. Recovery reads frames up to the first that is
// short or fails its CRC (a torn tail: dropped, never guessed at); a whole frame of an unknown
// version refuses to start. Every other document of the engine is still written atomically and
// fsynced before its call resolves (state.ts).

import { mkdir, open, readFile, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '@strata/files';
import { StrataError, crc32c, isPermanentFsError } from '@strata/protocol';
import { assert } from '../assert.js';
import { setOwn } from '../dict.js';
import { emptyGroup, type GroupDoc, type StoredOffset } from './documents.js';

export const OFFSETS_LOG_FORMAT_VERSION = 1;
const FRAME_HEADER_BYTES = 8;
/** A body past this is not a frame we wrote (10,000 offsets and 64 KiB of metadata stay far below): the tail is garbage. */
export const OFFSETS_FRAME_BODY_BYTES_MAX = 16 * 1024 * 1024;
const SEQ_DIGITS = 20;

/** One commit's offsets for one group, or the group's deletion (its earlier entries must not bring it back). */
export interface OffsetsLogEntry {
  /** Orders entries across files and against a group document's `offsetsSeq` (what it already holds). */
  seq: number;
  group: string;
  /** offsetField -> the offset stored. */
  offsets?: Record<string, StoredOffset>;
  deleted?: true;
}

export interface OffsetsLogOptions {
  /** fdatasync the active file at most this long after an append; 0: before each append resolves. */
  flushIntervalMs: number;
  /** The active file is rolled (and the one before it compacted) once it holds this many bytes. */
  rollBytes: number;
}

export function encodeEntry(entry: OffsetsLogEntry): Buffer {
  const json = JSON.stringify(entry);
  const bodyBytes = 1 + Buffer.byteLength(json);
  assert(bodyBytes <= OFFSETS_FRAME_BODY_BYTES_MAX, `an offsets log entry of ${bodyBytes} bytes`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt8(OFFSETS_LOG_FORMAT_VERSION, FRAME_HEADER_BYTES);
  frame.write(json, FRAME_HEADER_BYTES + 1, 'utf8');
  const body = frame.subarray(FRAME_HEADER_BYTES);
  frame.writeUInt32BE(bodyBytes, 0);
  frame.writeUInt32BE(crc32c(body), 4);
  return frame;
}

/** The entries of `bytes` up to its first torn frame, and how many bytes they span. */
export function decodeEntries(bytes: Buffer, file: string): { entries: OffsetsLogEntry[]; validBytes: number } {
  const entries: OffsetsLogEntry[] = [];
  let pos = 0;
  while (pos + FRAME_HEADER_BYTES <= bytes.length) {
    const bodyBytes = bytes.readUInt32BE(pos);
    const end = pos + FRAME_HEADER_BYTES + bodyBytes;
    if (bodyBytes < 1 || bodyBytes > OFFSETS_FRAME_BODY_BYTES_MAX || end > bytes.length) break;
    const body = bytes.subarray(pos + FRAME_HEADER_BYTES, end);
    if (crc32c(body) !== bytes.readUInt32BE(pos + 4)) break;
    // A whole, checksummed frame we cannot read was written by a newer release: dropping it would lose commits.
    const entry = body[0] === OFFSETS_LOG_FORMAT_VERSION ? parseEntry(body.subarray(1)) : null;
    if (entry === null) throw new StrataError('STORAGE_ERROR', `${file}: an entry at byte ${pos} is not offsets log version ${OFFSETS_LOG_FORMAT_VERSION}: refusing to start rather than lose committed offsets`);
    entries.push(entry);
    pos = end;
  }
  return { entries, validBytes: pos };
}

function parseEntry(json: Buffer): OffsetsLogEntry | null {
  let e: OffsetsLogEntry;
  try {
    e = JSON.parse(json.toString('utf8')) as OffsetsLogEntry;
  } catch {
    return null;
  }
  const ok =
    typeof e === 'object' && e !== null && Number.isSafeInteger(e.seq) && e.seq > 0 && typeof e.group === 'string' &&
    (e.deleted === true ? e.offsets === undefined : typeof e.offsets === 'object' && e.offsets !== null);
  return ok ? e : null;
}

export function logFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(SEQ_DIGITS, '0')}.log`;
}

/** The log files of `dir`, oldest first (none when it does not exist). */
export async function listLogFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => /^\d{20}\.log$/.test(n)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw storageError(`cannot list ${dir}`, e);
  }
}

/** Every entry the log files of `dir` hold, in seq order, each file read up to its first torn frame. */
export async function readLog(dir: string): Promise<{ entries: OffsetsLogEntry[]; files: string[] }> {
  const files = await listLogFiles(dir);
  const entries: OffsetsLogEntry[] = [];
  for (const name of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, name));
    } catch (e) {
      throw storageError(`cannot read offsets log ${name}`, e);
    }
    for (const entry of decodeEntries(bytes, `offsets/${name}`).entries) entries.push(entry);
  }
  // Files are named by their first seq and appended in order: a later file never holds an earlier seq.
  for (let i = 1; i < entries.length; i++) assert(entries[i]!.seq > entries[i - 1]!.seq, 'offsets log entries out of seq order');
  return { entries, files };
}

/**
 * The active file and the appends to it. Appends are called one at a time (the engine's queue of
 * changes); a flush may run beside an append. After a failed write or fdatasync the log is
 * `failed` (what the OS kept of a failed write is unknown): the engine then writes whole documents
 * again, fsynced, which supersede every entry before them.
 */
export class OffsetsLog {
  readonly dir: string;
  readonly #options: OffsetsLogOptions;
  #handle: FileHandle;
  #activeName: string;
  #activeBytes = 0;
  /** The files rolled away from (or found at the start), until the engine has compacted them (`removeRolled`). */
  #rolledNames: string[];
  #lastSeq: number;
  #flushedSeq: number;
  #flushing: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #failure: unknown = null;

  private constructor(dir: string, options: OffsetsLogOptions, handle: FileHandle, activeName: string, lastSeq: number, rolledNames: string[]) {
    this.dir = dir;
    this.#rolledNames = rolledNames;
    this.#options = options;
    this.#handle = handle;
    this.#activeName = activeName;
    this.#lastSeq = lastSeq;
    this.#flushedSeq = lastSeq;
    if (options.flushIntervalMs > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => undefined), options.flushIntervalMs);
      this.#timer.unref();
    }
  }

  /**
   * A new, empty active file after `lastSeq` in `dir`. The files `found` there (read by readLog)
   * become rolled ones, removed once the engine has written out their groups: nothing is appended
   * after a torn tail, and a start does not wait for every touched group's file to be rewritten.
   */
  static async create(dir: string, lastSeq: number, found: readonly string[], options: OffsetsLogOptions): Promise<OffsetsLog> {
    assert(Number.isSafeInteger(lastSeq) && lastSeq >= 0, `offsets log lastSeq ${lastSeq}`);
    try {
      await mkdir(dir, { recursive: true });
      // A file of that name holds no whole entry (else lastSeq would have reached its first seq): it is emptied.
      const name = logFileName(lastSeq + 1);
      const handle = await open(join(dir, name), 'w');
      await fsyncDir(dir);
      return new OffsetsLog(dir, options, handle, name, lastSeq, found.filter((n) => n !== name));
    } catch (e) {
      throw storageError(`cannot create the offsets log in ${dir}`, e);
    }
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get failed(): boolean {
    return this.#failure !== null;
  }

  /** Files are waiting for compaction: the engine must not roll again until they are removed. */
  get rolled(): boolean {
    return this.#rolledNames.length > 0;
  }

  get shouldRoll(): boolean {
    return this.#rolledNames.length === 0 && this.#activeBytes >= this.#options.rollBytes;
  }

  /** Appends one entry (its seq assigned here); in the page cache when this resolves, on disk too when flushIntervalMs is 0. */
  async append(entry: Omit<OffsetsLogEntry, 'seq'>, sync = this.#options.flushIntervalMs === 0): Promise<number> {
    if (this.#failure !== null) throw storageError('the offsets log failed earlier', this.#failure);
    const seq = this.#lastSeq + 1;
    const frame = encodeEntry({ seq, ...entry });
    try {
      const { bytesWritten } = await this.#handle.write(frame, 0, frame.length, null);
      assert(bytesWritten === frame.length, `offsets log write of ${bytesWritten} of ${frame.length} bytes`);
    } catch (e) {
      this.#failure = e;
      throw storageError('cannot append to the offsets log', e);
    }
    this.#activeBytes += frame.length;
    this.#lastSeq = seq;
    if (sync) await this.flush();
    return seq;
  }

  /** fdatasync of everything appended so far; concurrent calls share one (group commit). */
  async flush(): Promise<void> {
    const target = this.#lastSeq;
    while (this.#flushedSeq < target) {
      if (this.#failure !== null) throw storageError('the offsets log failed earlier', this.#failure);
      if (this.#flushing === null) {
        const upTo = this.#lastSeq;
        this.#flushing = this.#handle.datasync().then(
          () => void (this.#flushedSeq = Math.max(this.#flushedSeq, upTo)),
          (e: unknown) => void (this.#failure = e),
        );
        void this.#flushing.finally(() => (this.#flushing = null));
      }
      await this.#flushing;
    }
  }

  /**
   * Starts a new active file after syncing this one (so a crash can tear only the newest file); the
   * old one stays until the engine has written every group it holds and calls removeRolled.
   */
  async roll(): Promise<void> {
    assert(this.#rolledNames.length === 0, 'an offsets log file is rolled while others await compaction');
    await this.flush();
    const name = logFileName(this.#lastSeq + 1);
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, name), 'w');
      await fsyncDir(this.dir);
    } catch (e) {
      this.#failure = e;
      throw storageError('cannot roll the offsets log', e);
    }
    await this.#handle.close().catch(() => undefined);
    this.#rolledNames = [this.#activeName];
    this.#handle = handle;
    this.#activeName = name;
    this.#activeBytes = 0;
  }

  /** Removes the rolled files: every entry in them is now held by a document written after it. */
  async removeRolled(): Promise<void> {
    if (this.#rolledNames.length === 0) return;
    try {
      for (const name of this.#rolledNames) await unlink(join(this.dir, name)).catch(ignoreMissing);
      await fsyncDir(this.dir);
    } catch (e) {
      throw storageError('cannot remove a compacted offsets log file', e);
    }
    this.#rolledNames = [];
  }

  /** Flushes what was appended (unless the log failed) and closes the file. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    try {
      if (this.#failure === null) await this.flush();
    } finally {
      await this.#handle.close();
    }
  }
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
}

function storageError(message: string, cause: unknown): StrataError {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  return new StrataError('STORAGE_ERROR', `${message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause, retriable: !isPermanentFsError(cause) });
}

/**
 * Applies `entries` (seq order) over the groups loaded from their documents: an entry a document
 * already holds (seq ≤ its offsetsSeq) is skipped; a deletion forgets the group; a commit to a
 * group without a document creates it. Returns the groups to write out, the groups whose files
 * must go, and the highest seq seen in an entry or a document (the log continues after it).
 */
export function replayEntries(groups: Map<string, GroupDoc>, entries: readonly OffsetsLogEntry[]): { touched: Set<string>; removed: Set<string>; lastSeq: number } {
  const touched = new Set<string>();
  const removed = new Set<string>();
  let lastSeq = 0;
  for (const doc of groups.values()) lastSeq = Math.max(lastSeq, doc.offsetsSeq ?? 0);
  for (const entry of entries) {
    lastSeq = Math.max(lastSeq, entry.seq);
    const doc = groups.get(entry.group);
    if (doc !== undefined && (doc.offsetsSeq ?? 0) >= entry.seq) continue;
    if (entry.deleted === true) {
      groups.delete(entry.group);
      touched.delete(entry.group);
      removed.add(entry.group);
      continue;
    }
    const target = doc ?? emptyGroup(entry.group);
    for (const [field, offset] of Object.entries(entry.offsets!)) setOwn(target.offsets, field, offset);
    groups.set(entry.group, target);
    touched.add(entry.group);
    removed.delete(entry.group);
  }
  return { touched, removed, lastSeq };
}
