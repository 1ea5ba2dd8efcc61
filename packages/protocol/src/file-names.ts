// File names derived from user names (topics, group ids), bounded so that they always fit on disk.
//
// Linux (ext4, xfs, tmpfs) and macOS refuse a path component over 255 bytes (ENAMETOOLONG). A
// topic or group id may be 249 characters (Kafka's limit), so `<name><suffix>` and, worse, a
// temp file `<name><suffix>.tmp-<pid>-<hex>` can pass it. Every file or directory name built
// from a user's name goes through fileNameFor, and every temp name through tempFileNameFor:
//
//   fits in 255 bytes  ->  `<stem><suffix>`, unchanged (the layout existing data dirs use)
//   does not fit       ->  `<first bytes of stem>~<sha-256 of stem, 32 hex><suffix>`
//
// '~' is outside the alphabet of topic names and group ids ([a-zA-Z0-9._-]), so a bounded form
// never equals the plain form of another name; 128 bits of hash make two long names that share
// their prefix collide with negligible odds. The name itself is kept inside the file (manifests,
// coordinator documents) or in topics.json, never parsed back from the file name.
//
// A temp name is `<name, cut to fit>.tmp-<pid>-<8 hex>`: at most 255 bytes, and it always ends
// in `.tmp-<digits>-<8 hex>`, which a `<stem>.json` or a partition directory name never does,
// so leftovers are recognised by isTempFileName without mistaking a user's file for one.

import { createHash, randomBytes } from 'node:crypto';

/** The longest file or directory name (one path component), in bytes, on the file systems Strata runs on. */
export const MAX_FILE_NAME_BYTES = 255;
/** Hex digits of the SHA-256 of the name kept in a bounded name (128 bits). */
export const FILE_NAME_HASH_HEX = 32;
/** The longest temp suffix: `.tmp-` + a pid (at most 10 digits) + `-` + 8 hex digits. */
export const MAX_TEMP_SUFFIX_BYTES = 5 + 10 + 1 + 8;

const HASH_MARK = '~';
const TEMP_NAME = /\.tmp-\d{1,10}-[0-9a-f]{8}$/;

/**
 * `<stem><suffix>` when it fits in MAX_FILE_NAME_BYTES, else a bounded form of the same length
 * limit that keeps the stem's start (for the humans reading a listing) and a hash of the whole stem.
 * Deterministic: the same stem and suffix always give the same name.
 */
export function fileNameFor(stem: string, suffix = ''): string {
  const plain = `${stem}${suffix}`;
  if (Buffer.byteLength(plain, 'utf8') <= MAX_FILE_NAME_BYTES) return plain;
  const hash = createHash('sha256').update(stem, 'utf8').digest('hex').slice(0, FILE_NAME_HASH_HEX);
  const room = MAX_FILE_NAME_BYTES - Buffer.byteLength(`${HASH_MARK}${hash}${suffix}`, 'utf8');
  if (room < 0) throw new RangeError(`file name suffix is too long to bound a name: ${suffix.length} characters`);
  return `${cutToBytes(stem, room)}${HASH_MARK}${hash}${suffix}`;
}

/** A fresh temp name for writing `name` then renaming it over: at most MAX_FILE_NAME_BYTES. */
export function tempFileNameFor(name: string): string {
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  return `${cutToBytes(name, MAX_FILE_NAME_BYTES - Buffer.byteLength(suffix, 'utf8'))}${suffix}`;
}

/** Whether `name` is a temp file left by tempFileNameFor (a crash between write and rename). */
export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/**
 * File-system failures that retrying the same operation cannot cure (a name the file system
 * refuses, a path through a file): errors built from them say `retriable: false`.
 */
export const PERMANENT_FS_ERRNO: ReadonlySet<string> = new Set(['ENAMETOOLONG', 'EINVAL', 'ENOTDIR', 'EISDIR', 'ELOOP']);

/** Whether `e` is a file-system error of PERMANENT_FS_ERRNO. */
export function isPermanentFsError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PERMANENT_FS_ERRNO.has(code);
}

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes (never splitting a character). */
function cutToBytes(text: string, bytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= bytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}
