/**
 * Sparse indexes beside each segment, Kafka's layout:
 * - offset index: (relativeOffset uint32, position uint32) per entry, 8 bytes big-endian;
 * - time index: (timestamp int64, relativeOffset uint32) per entry, 12 bytes big-endian,
 *   where timestamp is the segment's max timestamp so far (monotonic).
 * Entries are kept in typed arrays that grow by doubling, so one entry costs no allocation.
 */

const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;

export class OffsetIndex {
  #relativeOffsets = new Uint32Array(64);
  #positions = new Uint32Array(64);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  append(relativeOffset: number, position: number): void {
    if (this.#count > 0) {
      // Entries must be strictly increasing in both columns, or lookups are wrong.
      if (relativeOffset <= this.#relativeOffsets[this.#count - 1]!) throw new Error('offset index: offset not increasing');
      if (position <= this.#positions[this.#count - 1]!) throw new Error('offset index: position not increasing');
    }
    if (this.#count === this.#positions.length) {
      this.#relativeOffsets = grow(this.#relativeOffsets);
      this.#positions = grow(this.#positions);
    }
    this.#relativeOffsets[this.#count] = relativeOffset;
    this.#positions[this.#count] = position;
    this.#count++;
  }

  /** Position of the last indexed batch whose relative base offset is <= relativeOffset, else 0. */
  floorPosition(relativeOffset: number): number {
    const i = floorSearch(this.#relativeOffsets, this.#count, relativeOffset);
    return i < 0 ? 0 : this.#positions[i]!;
  }

  lastPosition(): number {
    return this.#count === 0 ? 0 : this.#positions[this.#count - 1]!;
  }

  /** Drops entries at or past `position` (truncation). */
  truncateToPosition(position: number): void {
    while (this.#count > 0 && this.#positions[this.#count - 1]! >= position) this.#count--;
  }

  serialize(): Buffer {
    const out = Buffer.allocUnsafe(this.#count * OFFSET_ENTRY_BYTES);
    for (let i = 0; i < this.#count; i++) {
      out.writeUInt32BE(this.#relativeOffsets[i]!, i * OFFSET_ENTRY_BYTES);
      out.writeUInt32BE(this.#positions[i]!, i * OFFSET_ENTRY_BYTES + 4);
    }
    return out;
  }

  /**
   * Parses an index file, or returns null when it cannot be trusted
   * (odd size, entries not increasing, a position past the segment's end): the caller rebuilds it.
   */
  static parse(bytes: Buffer, segmentSize: number): OffsetIndex | null {
    if (bytes.length % OFFSET_ENTRY_BYTES !== 0) return null;
    const index = new OffsetIndex();
    for (let at = 0; at < bytes.length; at += OFFSET_ENTRY_BYTES) {
      const relativeOffset = bytes.readUInt32BE(at);
      const position = bytes.readUInt32BE(at + 4);
      if (position >= segmentSize) return null;
      if (index.#count > 0 && (relativeOffset <= index.#relativeOffsets[index.#count - 1]! || position <= index.#positions[index.#count - 1]!)) {
        return null;
      }
      index.append(relativeOffset, position);
    }
    return index;
  }
}

export class TimeIndex {
  #timestamps = new Float64Array(64);
  #relativeOffsets = new Uint32Array(64);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  lastTimestamp(): number {
    return this.#count === 0 ? -1 : this.#timestamps[this.#count - 1]!;
  }

  lastRelativeOffset(): number {
    return this.#count === 0 ? -1 : this.#relativeOffsets[this.#count - 1]!;
  }

  /** Adds an entry only when it raises the max timestamp, keeping the column monotonic. */
  maybeAppend(timestamp: number, relativeOffset: number): void {
    if (this.#count > 0) {
      if (timestamp <= this.#timestamps[this.#count - 1]!) return;
      if (relativeOffset <= this.#relativeOffsets[this.#count - 1]!) return;
    }
    if (this.#count === this.#timestamps.length) {
      this.#timestamps = grow(this.#timestamps);
      this.#relativeOffsets = grow(this.#relativeOffsets);
    }
    this.#timestamps[this.#count] = timestamp;
    this.#relativeOffsets[this.#count] = relativeOffset;
    this.#count++;
  }

  /**
   * Relative offset of the batch to start scanning from when looking for the first record at or
   * after `timestamp`: the entry just before the first entry whose timestamp reaches it (every
   * batch before that entry's batch has a smaller max timestamp), or -1 to scan from the start.
   */
  scanStartFor(timestamp: number): number {
    let lo = 0;
    let hi = this.#count; // first index with timestamps[i] >= timestamp
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#timestamps[mid]! < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? -1 : this.#relativeOffsets[lo - 1]!;
  }

  truncateToRelativeOffset(relativeOffset: number): void {
    while (this.#count > 0 && this.#relativeOffsets[this.#count - 1]! >= relativeOffset) this.#count--;
  }

  serialize(): Buffer {
    const out = Buffer.allocUnsafe(this.#count * TIME_ENTRY_BYTES);
    for (let i = 0; i < this.#count; i++) {
      out.writeBigInt64BE(BigInt(this.#timestamps[i]!), i * TIME_ENTRY_BYTES);
      out.writeUInt32BE(this.#relativeOffsets[i]!, i * TIME_ENTRY_BYTES + 8);
    }
    return out;
  }

  static parse(bytes: Buffer): TimeIndex | null {
    if (bytes.length % TIME_ENTRY_BYTES !== 0) return null;
    const index = new TimeIndex();
    for (let at = 0; at < bytes.length; at += TIME_ENTRY_BYTES) {
      const timestamp = Number(bytes.readBigInt64BE(at));
      const relativeOffset = bytes.readUInt32BE(at + 8);
      if (!Number.isSafeInteger(timestamp)) return null;
      if (index.#count > 0 && (timestamp <= index.#timestamps[index.#count - 1]! || relativeOffset <= index.#relativeOffsets[index.#count - 1]!)) {
        return null;
      }
      index.maybeAppend(timestamp, relativeOffset);
    }
    return index;
  }
}

function floorSearch(sorted: Uint32Array, count: number, key: number): number {
  let lo = 0;
  let hi = count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function grow<T extends Uint32Array | Float64Array>(array: T): T {
  const bigger = new (array.constructor as new (n: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}
