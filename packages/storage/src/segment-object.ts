// One sealed segment as one object (docs/architecture.md#object-storage):
//
//   [data]          the segment's RecordBatch v2 bytes exactly as the log holds them
//   [offset index]  offsetIndexCount x (relativeOffset u32, position u32): a batch
//                   start every ~indexIntervalBytes, the first batch always
//   [time index]    timeIndexCount x (maxTimestampSoFar i64, relativeOffset u32):
//                   relativeOffset is the first batch whose max timestamp reached
//                   maxTimestampSoFar, so every batch before it is older
//   [footer]        SEGMENT_FOOTER_BYTES, fixed size, at the very end:
//
//      0  magic "STRSEG01"        8   version u16       10  flags u16 (0)
//     12  footerBytes u32        16  baseOffset i64     24  lastOffset i64
//     32  dataBytes i64          40  recordCount i64    48  maxTimestamp i64
//     56  offsetIndexPosition i64                       64  timeIndexPosition i64
//     72  batchCount u32         76  offsetIndexCount u32
//     80  timeIndexCount u32     84  indexIntervalBytes u32
//     88  dataCrc u32 (CRC-32C of the data)             92  indexCrc u32 (of both indexes)
//     96  footerCrc u32 (CRC-32C of footer bytes 0..95)
//
// All integers big-endian. Positions in the offset index are u32, so the data is
// under 4 GiB (segment.bytes is far below). Offsets within a segment are dense
// (batch n+1 starts right after batch n's last offset): the writer refuses
// anything else and the reader checks it, so an index or a header that lies is
// caught before bytes go out.
//
// Reading takes a HEAD (skipped when the caller knows the size), one ranged GET
// of the tail (footer + both indexes, when they fit the window) and then one
// ranged GET per read or timestamp lookup. Checksums are verified before writing (every batch CRC
// while the writer streams) and after reading (footer, indexes, every batch
//
// The code is in three files: segment-format.ts (the constants, the footer both ways, the
// indexes), segment-writer.ts (building an object while the data streams) and segment-reader.ts
// (ranged reads and every check after reading). This file is their one public entry.

export {
  DEFAULT_INDEX_INTERVAL_BYTES,
  DEFAULT_TAIL_WINDOW_BYTES,
  MAX_INDEX_BYTES,
  MAX_SEGMENT_DATA_BYTES,
  OFFSET_INDEX_ENTRY_BYTES,
  SEGMENT_FOOTER_BYTES,
  SEGMENT_OBJECT_MAGIC,
  SEGMENT_OBJECT_VERSION,
  TIME_INDEX_ENTRY_BYTES,
  type SegmentFooter,
  type SegmentObjectInfo,
} from './segment-format.js';
export { SegmentObjectStream, SegmentObjectWriter, buildSegmentObject, segmentObjectParts } from './segment-writer.js';
export {
  SegmentObjectReader,
  parseSegmentObject,
  type SegmentObjectOpenOptions,
  type SegmentReadResult,
  type SegmentTimestampLookup,
} from './segment-reader.js';
