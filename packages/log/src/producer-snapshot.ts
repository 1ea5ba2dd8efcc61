// The producer-state snapshot (Kafka's `<offset>.snapshot`): the state of every producer as of a log
// offset, written beside the segments at each roll and at a clean close, so that recovery replays
// only the batches after it (producer-recovery.ts). Framed, checksummed and versioned:
//
//   offset  field           type
//        0  magic           8 bytes "STRPSNP1" (the 1 is the format version)
//        8  crc             uint32  CRC-32C of bytes 12..end
//       12  offset          int64   the state covers every batch below this log offset
//       20  producerCount   int32
//       24  producers...            per producer:
//             producerId int64, epoch int16, lastActiveMs int64, batchCount int8 (1..5), then per batch
//             firstSeq int32, lastSeq int32, baseOffset int64, lastOffset int64, timestamp int64
//
// A snapshot that does not parse (torn, corrupt, another version) is refused as a whole: the caller
// falls back to an older one or to the log itself, never to part of one.

import { StrataError, crc32c, readInt64, writeInt64 } from '@strata/protocol';
import { PRODUCER_BATCHES_RETAINED, type ProducerEntry, type ProducerStates } from './producer-state.js';

const MAGIC = Buffer.from('STRPSNP1', 'latin1');
const HEADER_BYTES = 24;
const PRODUCER_BYTES = 19;
const BATCH_BYTES = 32;

export interface ProducerSnapshot {
  /** The state covers every batch below this offset. */
  offset: number;
  /** Least recently active first. */
  entries: ProducerEntry[];
}

export function encodeProducerSnapshot(offset: number, states: ProducerStates): Buffer {
  let size = HEADER_BYTES;
  for (const entry of states.entries()) size += PRODUCER_BYTES + entry.batches.length * BATCH_BYTES;
  const buf = Buffer.allocUnsafe(size);
  MAGIC.copy(buf, 0);
  writeInt64(buf, 12, offset);
  buf.writeInt32BE(states.size, 20);
  let at = HEADER_BYTES;
  for (const entry of states.entries()) {
    writeInt64(buf, at, entry.producerId);
    buf.writeInt16BE(entry.epoch, at + 8);
    writeInt64(buf, at + 10, entry.lastActiveMs);
    buf.writeInt8(entry.batches.length, at + 18);
    at += PRODUCER_BYTES;
    for (const b of entry.batches) {
      buf.writeInt32BE(b.firstSeq, at);
      buf.writeInt32BE(b.lastSeq, at + 4);
      writeInt64(buf, at + 8, b.baseOffset);
      writeInt64(buf, at + 16, b.lastOffset);
      writeInt64(buf, at + 24, b.timestamp);
      at += BATCH_BYTES;
    }
  }
  buf.writeUInt32BE(crc32c(buf.subarray(12)), 8);
  return buf;
}

/** Parses a snapshot; CORRUPT_MESSAGE when any part of it is wrong. */
export function decodeProducerSnapshot(buf: Buffer): ProducerSnapshot {
  const corrupt = (why: string): StrataError => new StrataError('CORRUPT_MESSAGE', `producer-state snapshot: ${why}`);
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw corrupt('not a snapshot of this format (magic)');
  if (buf.readUInt32BE(8) !== crc32c(buf.subarray(12))) throw corrupt('CRC mismatch');
  const count = buf.readInt32BE(20);
  if (count < 0) throw corrupt(`producer count ${count}`);
  const entries: ProducerEntry[] = [];
  let at = HEADER_BYTES;
  try {
    const offset = readInt64(buf, 12);
    for (let i = 0; i < count; i++) {
      if (at + PRODUCER_BYTES > buf.length) throw corrupt('cut short');
      const n = buf.readInt8(at + 18);
      if (n < 1 || n > PRODUCER_BATCHES_RETAINED || at + PRODUCER_BYTES + n * BATCH_BYTES > buf.length) throw corrupt(`producer ${i} has ${n} batches`);
      const entry: ProducerEntry = { producerId: readInt64(buf, at), epoch: buf.readInt16BE(at + 8), lastActiveMs: readInt64(buf, at + 10), batches: [] };
      at += PRODUCER_BYTES;
      for (let j = 0; j < n; j++, at += BATCH_BYTES) {
        entry.batches.push({
          firstSeq: buf.readInt32BE(at),
          lastSeq: buf.readInt32BE(at + 4),
          baseOffset: readInt64(buf, at + 8),
          lastOffset: readInt64(buf, at + 16),
          timestamp: readInt64(buf, at + 24),
        });
      }
      entries.push(entry);
    }
    if (at !== buf.length) throw corrupt(`${buf.length - at} bytes after the last producer`);
    return { offset, entries };
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw corrupt(String(e));
  }
}
