// Writing a segment object (segment-object.ts describes the layout): the indexes and the footer
// are built while the data streams through, every batch checked on the way.


import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchField,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
  StrataError,
  crc32c,
  crc32cCombine,
  readInt64,
  writeInt64,
} from '@strata/protocol';
import { invalidRequest } from './errors.js';
import {
  DEFAULT_INDEX_INTERVAL_BYTES,
  MAX_SEGMENT_DATA_BYTES,
  MAX_U32,
  OFFSET_INDEX_ENTRY_BYTES,
  SEGMENT_FOOTER_BYTES,
  SEGMENT_OBJECT_VERSION,
  type SegmentFooter,
  type SegmentObjectInfo,
  TIME_INDEX_ENTRY_BYTES,
  encodeFooter,
  hex,
} from './segment-format.js';

/**
 * Builds the indexes and footer while the data streams through, and checks
 * every batch on the way (framing, magic 2, CRC-32C, dense offsets from
 * info.baseOffset), so a corrupt local segment is never uploaded.
 */
export class SegmentObjectWriter {
  readonly #baseOffset: number;
  readonly #expectedLastOffset: number | undefined;
  readonly #intervalBytes: number;
  readonly #header = Buffer.alloc(BATCH_HEADER_SIZE);
  #headerFill = 0;
  #bodyRemaining = 0;
  #batchCrc = 0;
  #storedCrc = 0;
  #batchStart = 0;
  #batchLastOffset = 0;
  #position = 0;
  #dataCrc = 0;
  #nextOffset: number;
  #batchCount = 0;
  #recordCount = 0;
  #bytesSinceIndexEntry = 0;
  #maxTimestamp = Number.NEGATIVE_INFINITY;
  #relativeOffsetOfMax = 0;
  readonly #offsetIndex: number[] = []; // relativeOffset, position, ...
  readonly #timeIndex: number[] = []; // timestamp, relativeOffset, ...
  #finished = false;

  constructor(info: SegmentObjectInfo) {
    if (!Number.isSafeInteger(info.baseOffset) || info.baseOffset < 0) throw invalidRequest(`segment baseOffset ${String(info.baseOffset)} is not a safe integer >= 0`);
    const interval = info.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL_BYTES;
    if (!Number.isSafeInteger(interval) || interval < 1 || interval > MAX_U32) throw invalidRequest(`indexIntervalBytes ${String(interval)} is out of range`);
    this.#baseOffset = info.baseOffset;
    this.#expectedLastOffset = info.lastOffset;
    this.#intervalBytes = interval;
    this.#nextOffset = info.baseOffset;
  }

  /** Feeds the next data bytes (any chunking). Throws CORRUPT_MESSAGE at the first bad batch. */
  update(chunk: Buffer): void {
    if (this.#finished) throw new StrataError('INTERNAL_ERROR', 'SegmentObjectWriter.update after finish');
    if (this.#position + chunk.length > MAX_SEGMENT_DATA_BYTES) {
      throw invalidRequest(`segment data exceeds ${MAX_SEGMENT_DATA_BYTES} bytes, the most a segment object indexes`);
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.#headerFill < BATCH_HEADER_SIZE) {
        const n = Math.min(BATCH_HEADER_SIZE - this.#headerFill, chunk.length - i);
        chunk.copy(this.#header, this.#headerFill, i, i + n);
        this.#headerFill += n;
        this.#position += n;
        i += n;
        if (this.#headerFill === BATCH_HEADER_SIZE) this.#onHeader();
        continue;
      }
      const n = Math.min(this.#bodyRemaining, chunk.length - i);
      this.#batchCrc = crc32c(chunk.subarray(i, i + n), this.#batchCrc);
      this.#bodyRemaining -= n;
      this.#position += n;
      i += n;
      if (this.#bodyRemaining === 0) this.#onBatchEnd();
    }
  }

  /** The indexes and footer to append after the data, once all data is fed. */
  finish(): { tail: Buffer; footer: SegmentFooter } {
    if (this.#finished) throw new StrataError('INTERNAL_ERROR', 'SegmentObjectWriter.finish called twice');
    this.#finished = true;
    const where = `segment data from offset ${this.#baseOffset}`;
    if (this.#headerFill !== 0) {
      throw new StrataError('CORRUPT_MESSAGE', `${where}: ends inside a batch at byte ${this.#batchStart} (truncated segment)`);
    }
    if (this.#batchCount === 0) throw invalidRequest(`${where}: a segment object needs at least one batch`);
    const lastOffset = this.#nextOffset - 1;
    if (this.#expectedLastOffset !== undefined && this.#expectedLastOffset !== lastOffset) {
      throw invalidRequest(`${where}: the batches end at offset ${lastOffset}, expected ${this.#expectedLastOffset}`);
    }
    // The final max, if the last interval raised it.
    if (this.#timeIndex.length === 0 || this.#maxTimestamp > this.#timeIndex[this.#timeIndex.length - 2]!) {
      this.#timeIndex.push(this.#maxTimestamp, this.#relativeOffsetOfMax);
    }
    const offsetCount = this.#offsetIndex.length / 2;
    const timeCount = this.#timeIndex.length / 2;
    const indexBytes = offsetCount * OFFSET_INDEX_ENTRY_BYTES + timeCount * TIME_INDEX_ENTRY_BYTES;
    const tail = Buffer.alloc(indexBytes + SEGMENT_FOOTER_BYTES);
    let at = 0;
    for (let k = 0; k < this.#offsetIndex.length; k += 2) {
      tail.writeUInt32BE(this.#offsetIndex[k]!, at);
      tail.writeUInt32BE(this.#offsetIndex[k + 1]!, at + 4);
      at += OFFSET_INDEX_ENTRY_BYTES;
    }
    for (let k = 0; k < this.#timeIndex.length; k += 2) {
      writeInt64(tail, at, this.#timeIndex[k]!);
      tail.writeUInt32BE(this.#timeIndex[k + 1]!, at + 8);
      at += TIME_INDEX_ENTRY_BYTES;
    }
    const dataBytes = this.#position;
    const footer: SegmentFooter = {
      version: SEGMENT_OBJECT_VERSION,
      baseOffset: this.#baseOffset,
      lastOffset,
      dataBytes,
      recordCount: this.#recordCount,
      batchCount: this.#batchCount,
      maxTimestamp: this.#maxTimestamp,
      offsetIndexPosition: dataBytes,
      offsetIndexCount: offsetCount,
      timeIndexPosition: dataBytes + offsetCount * OFFSET_INDEX_ENTRY_BYTES,
      timeIndexCount: timeCount,
      indexIntervalBytes: this.#intervalBytes,
      dataCrc: this.#dataCrc,
      indexCrc: crc32c(tail.subarray(0, indexBytes)),
      objectBytes: dataBytes + indexBytes + SEGMENT_FOOTER_BYTES,
    };
    encodeFooter(footer).copy(tail, indexBytes);
    return { tail, footer };
  }

  #onHeader(): void {
    const h = this.#header;
    const at = `segment data byte ${this.#batchStart}`;
    const batchLength = h.readInt32BE(BatchField.batchLength);
    if (batchLength < MIN_BATCH_LENGTH) throw new StrataError('CORRUPT_MESSAGE', `${at}: batchLength ${batchLength} is below ${MIN_BATCH_LENGTH}`);
    if (h[BatchField.magic] !== MAGIC_V2) throw new StrataError('CORRUPT_MESSAGE', `${at}: magic ${h[BatchField.magic]}, expected ${MAGIC_V2}`);
    const baseOffset = readInt64(h, BatchField.baseOffset);
    if (baseOffset !== this.#nextOffset) {
      throw new StrataError('CORRUPT_MESSAGE', `${at}: batch base offset ${baseOffset}, expected ${this.#nextOffset} (segments hold dense offsets)`);
    }
    const lastOffsetDelta = h.readInt32BE(BatchField.lastOffsetDelta);
    const recordCount = h.readInt32BE(BatchField.recordCount);
    if (lastOffsetDelta < 0 || recordCount < 0) throw new StrataError('CORRUPT_MESSAGE', `${at}: negative lastOffsetDelta or recordCount`);
    const maxTimestamp = readInt64(h, BatchField.maxTimestamp);
    const relativeOffset = baseOffset - this.#baseOffset;
    if (relativeOffset + lastOffsetDelta > MAX_U32) throw invalidRequest(`${at}: offsets span more than 2^32 in one segment`);

    if (this.#batchCount === 0 || this.#bytesSinceIndexEntry >= this.#intervalBytes) {
      // Record the max so far before this batch joins it: entries stay valid either way
      // (see the file header), and this keeps the time index as sparse as the offset index.
      if (this.#batchCount > 0 && (this.#timeIndex.length === 0 || this.#maxTimestamp > this.#timeIndex[this.#timeIndex.length - 2]!)) {
        this.#timeIndex.push(this.#maxTimestamp, this.#relativeOffsetOfMax);
      }
      this.#offsetIndex.push(relativeOffset, this.#batchStart);
      this.#bytesSinceIndexEntry = 0;
    }
    if (maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestamp = maxTimestamp;
      this.#relativeOffsetOfMax = relativeOffset;
    }
    this.#batchLastOffset = baseOffset + lastOffsetDelta;
    this.#recordCount += recordCount;
    this.#storedCrc = h.readUInt32BE(BatchField.crc);
    // The data CRC takes the bytes the batch CRC does not cover here, the rest at the batch's end.
    this.#dataCrc = crc32c(h.subarray(0, BatchField.attributes), this.#dataCrc);
    this.#batchCrc = crc32c(h.subarray(BatchField.attributes, BATCH_HEADER_SIZE));
    this.#bodyRemaining = BATCH_LOG_OVERHEAD + batchLength - BATCH_HEADER_SIZE;
    if (this.#bodyRemaining === 0) this.#onBatchEnd();
  }

  #onBatchEnd(): void {
    if (this.#batchCrc !== this.#storedCrc) {
      throw new StrataError(
        'CORRUPT_MESSAGE',
        `segment data byte ${this.#batchStart}: batch CRC mismatch (stored 0x${hex(this.#storedCrc)}, computed 0x${hex(this.#batchCrc)})`,
      );
    }
    // One pass over the bytes: the data CRC is the batch CRC joined on, not a second scan (issue #16).
    this.#dataCrc = crc32cCombine(this.#dataCrc, this.#batchCrc, this.#position - this.#batchStart - BatchField.attributes);
    this.#batchCount++;
    this.#bytesSinceIndexEntry += this.#position - this.#batchStart;
    this.#nextOffset = this.#batchLastOffset + 1;
    this.#batchStart = this.#position;
    this.#headerFill = 0;
  }
}


export function buildSegmentObject(data: Buffer, info: SegmentObjectInfo): { parts: Buffer[]; footer: SegmentFooter; sizeBytes: number } {
  const writer = new SegmentObjectWriter(info);
  writer.update(data);
  const { tail, footer } = writer.finish();
  return { parts: [data, tail], footer, sizeBytes: footer.objectBytes };
}

/**
 * The object as a stream for ObjectStore.putStream, built while `source` (the
 * segment file, say) streams through: memory stays at one chunk plus the indexes.
 * `footer` is there once the stream has been read to the end.
 */
export function segmentObjectParts(source: Buffer | AsyncIterable<Buffer>, info: SegmentObjectInfo): SegmentObjectStream {
  return new SegmentObjectStream(source, info);
}

export class SegmentObjectStream implements AsyncIterable<Buffer> {
  readonly #source: Buffer | AsyncIterable<Buffer>;
  readonly #info: SegmentObjectInfo;
  #footer: SegmentFooter | null = null;
  #started = false;

  constructor(source: Buffer | AsyncIterable<Buffer>, info: SegmentObjectInfo) {
    this.#source = source;
    this.#info = info;
  }

  /** The footer of the object streamed; throws until the stream has ended. */
  get footer(): SegmentFooter {
    if (this.#footer === null) throw new StrataError('INTERNAL_ERROR', 'segment object footer asked for before the stream ended');
    return this.#footer;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.#started) throw new StrataError('INTERNAL_ERROR', 'a SegmentObjectStream can be read once');
    this.#started = true;
    const writer = new SegmentObjectWriter(this.#info);
    const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(this.#source) ? [this.#source] : this.#source;
    for await (const chunk of chunks) {
      // Checked before it is handed on: a bad batch stops the upload before its last byte.
      writer.update(chunk);
      yield chunk;
    }
    const { tail, footer } = writer.finish();
    this.#footer = footer;
    yield tail;
  }
}

