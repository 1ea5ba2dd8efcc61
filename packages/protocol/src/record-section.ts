// The records section of a RecordBatch v2: the grammar of one record, read
// and written. One walker serves both deep validation (sink = null: nothing is
// allocated) and decoding (a sink: one object per record at or after its
// fromOffset, keys and values are views of the input), so the two can never
// disagree about what is valid. A sink may stop the walk: a reader that wants
// 500 records of a 740,000-record batch decodes 500 (the CRC already vouched
// for the bytes it does not read).
//
//   record  := length varint, attributes int8, timestampDelta varlong,
//              offsetDelta varint, keyLen varint (-1 = null), key bytes,
//              valueLen varint (-1 = null), value bytes, headerCount varint,
//              header*
//   header  := keyLen varint (>= 0), key utf8, valueLen varint (-1 = null), value bytes

import { StrataError } from './errors.js';
import { ByteCursor, readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  timestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** The smallest record: a 1-byte length, then 6 one-byte fields (attributes .. headerCount). */
export const MIN_RECORD_BYTES = 7;
const MIN_BODY_BYTES = MIN_RECORD_BYTES - 1;
/** The smallest header: key length 0 and value length -1, one byte each. */
const MIN_HEADER_BYTES = 2;

/** What the walker needs from the batch header. */
export interface SectionContext {
  baseOffset: number;
  baseTimestamp: number;
  /** Kafka gives every record of a LogAppendTime batch the batch's maxTimestamp. */
  logAppendTime: boolean;
  maxTimestamp: number;
  lastOffsetDelta: number;
  recordCount: number;
  /**
   * Appends (strict) need offsetDelta = 0, 1, 2, ...; readers (not strict)
   * accept any increasing deltas up to lastOffsetDelta, as compaction leaves.
   */
  strict: boolean;
}

/** Where decoded records go. Records below fromOffset are parsed but not materialised. */
export interface RecordSink {
  fromOffset: number;
  /** Takes one record; false stops the walk (the rest of the section is not read). */
  accept(record: DecodedRecord): boolean;
}

function corrupt(message: string, position: number): StrataError {
  return new StrataError('CORRUPT_MESSAGE', message, { details: { position } });
}

/**
 * Walk `ctx.recordCount` records over cur.buf[cur.pos, cur.end), which must be
 * consumed exactly. Throws StrataError (CORRUPT_MESSAGE for bytes that do not
 * parse, INVALID_RECORD for parsed records breaking a rule), with the record
 * index in the message; positions are indexes into cur.buf. Returns false
 * when the sink stopped the walk early, true when every record was walked.
 */
export function walkRecords(cur: ByteCursor, ctx: SectionContext, sink: RecordSink | null): boolean {
  const count = ctx.recordCount;
  const sectionEnd = cur.end;
  if (count < 0 || count > (sectionEnd - cur.pos) / MIN_RECORD_BYTES) {
    throw corrupt(
      `recordCount ${count} cannot fit in a ${sectionEnd - cur.pos}-byte records section ` +
        `(a record takes at least ${MIN_RECORD_BYTES} bytes)`,
      cur.pos,
    );
  }
  let index = 0;
  let previousDelta = -1;
  try {
    for (; index < count; index++) {
      const start = cur.pos;
      if (start >= sectionEnd) {
        throw corrupt(`records section ends at byte ${start} after ${index} of ${count} records`, start);
      }
      const bodyBytes = readVarint(cur);
      if (bodyBytes < MIN_BODY_BYTES || bodyBytes > sectionEnd - cur.pos) {
        throw corrupt(
          `record length ${bodyBytes} at byte ${start} is invalid: ${sectionEnd - cur.pos} bytes remain ` +
            `and a record body takes at least ${MIN_BODY_BYTES}`,
          start,
        );
      }
      const bodyEnd = cur.pos + bodyBytes;
      // Bound every field read to this record's body, so a length that runs
      // past it is caught here and not attributed to the next record.
      cur.end = bodyEnd;
      cur.pos++; // attributes: unused by record format v2
      const timestampDelta = readVarlong(cur);
      const offsetDelta = readVarint(cur);
      if (ctx.strict ? offsetDelta !== index : offsetDelta <= previousDelta || offsetDelta > ctx.lastOffsetDelta) {
        throw new StrataError(
          'INVALID_RECORD',
          ctx.strict
            ? `offsetDelta ${offsetDelta} at byte ${start}, expected ${index} (deltas must be sequential from 0)`
            : `offsetDelta ${offsetDelta} at byte ${start} does not increase within [0, ${ctx.lastOffsetDelta}]`,
          { details: { position: start } },
        );
      }
      previousDelta = offsetDelta;
      const timestamp = ctx.logAppendTime ? ctx.maxTimestamp : ctx.baseTimestamp + timestampDelta;
      if (!Number.isSafeInteger(timestamp)) {
        throw corrupt(`timestamp of the record at byte ${start} is outside the safe integer range`, start);
      }
      // Kafka's validator recomputes a batch's maxTimestamp from its records; bytes are kept as sent
      // here, so a header that understates its records is refused: then maxTimestamp bounds every
      // record (what the broker's message.timestamp.after.max.ms check and retention read).
      if (ctx.strict && !ctx.logAppendTime && timestamp > ctx.maxTimestamp) {
        throw new StrataError('INVALID_TIMESTAMP', `the record at byte ${start} has timestamp ${timestamp}, above its batch's maxTimestamp ${ctx.maxTimestamp}`, {
          details: { position: start },
        });
      }
      const keep = sink !== null && ctx.baseOffset + offsetDelta >= sink.fromOffset;
      const key = readBytes(cur, 'key', keep);
      const value = readBytes(cur, 'value', keep);
      const headers = readHeaders(cur, keep);
      if (cur.pos !== bodyEnd) {
        throw corrupt(
          `record at byte ${start} declares a ${bodyBytes}-byte body but its fields end ${bodyEnd - cur.pos} bytes early`,
          start,
        );
      }
      cur.end = sectionEnd;
      if (keep && !sink.accept({ offset: ctx.baseOffset + offsetDelta, timestamp, key, value, headers: headers ?? [] })) {
        return false;
      }
    }
  } catch (e) {
    cur.end = sectionEnd;
    if (e instanceof StrataError) {
      throw new StrataError(e.code, `record ${index}: ${e.message}`, { cause: e, details: { ...e.details, record: index } });
    }
    throw e;
  }
  if (cur.pos !== sectionEnd) {
    throw corrupt(
      `${sectionEnd - cur.pos} bytes follow the last of ${count} records (byte ${cur.pos}): recordCount is too small`,
      cur.pos,
    );
  }
  return true;
}

/** A length-prefixed byte string (-1 = null), as a view of the input when `keep`, else skipped. */
function readBytes(cur: ByteCursor, what: string, keep: boolean): Buffer | null {
  const start = cur.pos;
  const length = readVarint(cur);
  if (length < 0) {
    if (length === -1) return null;
    throw corrupt(`${what} length ${length} at byte ${start} is negative (only -1, null, is allowed)`, start);
  }
  if (length > cur.end - cur.pos) {
    throw corrupt(`${what} length ${length} at byte ${start} runs past the end of the record (byte ${cur.end})`, start);
  }
  const from = cur.pos;
  cur.pos = from + length;
  return keep ? cur.buf.subarray(from, from + length) : null;
}

function readHeaders(cur: ByteCursor, keep: boolean): RecordHeader[] | null {
  const start = cur.pos;
  const count = readVarint(cur);
  if (count < 0 || count > (cur.end - cur.pos) / MIN_HEADER_BYTES) {
    throw corrupt(`header count ${count} at byte ${start} is negative or cannot fit in the record`, start);
  }
  if (count === 0) return null;
  const headers: RecordHeader[] | null = keep ? [] : null;
  for (let i = 0; i < count; i++) {
    const keyStart = cur.pos;
    const keyLength = readVarint(cur);
    if (keyLength < 0 || keyLength > cur.end - cur.pos) {
      throw corrupt(`header ${i} key length ${keyLength} at byte ${keyStart} is negative or runs past the record`, keyStart);
    }
    const keyFrom = cur.pos;
    cur.pos += keyLength;
    const value = readBytes(cur, `header ${i} value`, keep);
    if (headers !== null) headers.push({ key: cur.buf.toString('utf8', keyFrom, keyFrom + keyLength), value });
  }
  return headers;
}

/** Bytes of a record body (everything after its length varint). */
export function sizeOfRecordBody(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta);
  size += sizeOfBytes(record.key ?? null) + sizeOfBytes(record.value);
  const headers = record.headers;
  if (headers === undefined || headers.length === 0) return size + 1;
  size += sizeOfVarint(headers.length);
  for (const header of headers) {
    if (typeof header.key !== 'string' || (header.value !== null && !(header.value instanceof Uint8Array))) {
      throw new StrataError('INVALID_RECORD', 'a record header needs a string key and a Buffer or null value');
    }
    const keyLength = Buffer.byteLength(header.key, 'utf8');
    size += sizeOfVarint(keyLength) + keyLength + sizeOfBytes(header.value);
  }
  return size;
}

function sizeOfBytes(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : sizeOfVarint(bytes.length) + bytes.length;
}

/** Write one record (length varint + body) at pos; returns the position after it. The caller sized buf. */
export function writeRecord(
  buf: Buffer,
  pos: number,
  record: RecordInput,
  bodyBytes: number,
  timestampDelta: number,
  offsetDelta: number,
): number {
  pos = writeVarint(buf, pos, bodyBytes);
  buf[pos++] = 0; // attributes
  pos = writeVarlong(buf, pos, timestampDelta);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeBytes(buf, pos, record.key ?? null);
  pos = writeBytes(buf, pos, record.value);
  const headers = record.headers ?? [];
  pos = writeVarint(buf, pos, headers.length);
  for (const header of headers) {
    pos = writeVarint(buf, pos, Buffer.byteLength(header.key, 'utf8'));
    pos += buf.write(header.key, pos, 'utf8');
    pos = writeBytes(buf, pos, header.value);
  }
  return pos;
}

function writeBytes(buf: Buffer, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}
