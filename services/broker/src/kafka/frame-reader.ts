// Kafka framing: each request is an int32 size followed by that many bytes. The reader keeps the
// socket's chunks as they came and hands out each frame as a slice of its chunk when the frame lies
// inside one (the common case: no copy); only a frame split across chunks is joined, once.
//
// A size <= 0 or above the cap is refused before anything is allocated for it: the caller closes
// the connection (a 2 GiB size field must cost nothing).

/** Bytes of the size prefix. */
export const FRAME_SIZE_BYTES = 4;

export type FrameEvent =
  | { kind: 'frame'; frame: Buffer }
  /** A frame's size was read: the caller reserves its bytes now, before they are all received, then calls next() again. */
  | { kind: 'size'; size: number }
  | { kind: 'bad-size'; size: number }
  | { kind: 'need-more' };

export class FrameReader {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The size of the frame being read, once its prefix is in; -1 before. */
  #size = -1;

  constructor(maxFrameBytes: number) {
    if (!(maxFrameBytes > 0)) throw new Error('maxFrameBytes must be positive');
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received and not yet handed out as a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The size of the frame being received (its prefix read), or -1. */
  get pendingSize(): number {
    return this.#size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next step: a frame's size (once per frame, before the frame), the frame, or why there is none yet. */
  next(): FrameEvent {
    if (this.#size < 0) {
      if (this.#buffered < FRAME_SIZE_BYTES) return { kind: 'need-more' };
      const size = this.#readInt32();
      if (size <= 0 || size > this.#maxFrameBytes) return { kind: 'bad-size', size };
      this.#size = size;
      this.#consume(FRAME_SIZE_BYTES);
      return { kind: 'size', size };
    }
    if (this.#buffered < this.#size) return { kind: 'need-more' };
    const frame = this.#take(this.#size);
    this.#size = -1;
    return { kind: 'frame', frame };
  }

  #readInt32(): number {
    const first = this.#chunks[0]!;
    if (first.length >= FRAME_SIZE_BYTES) return first.readInt32BE(0);
    return Buffer.concat(this.#chunks, FRAME_SIZE_BYTES).readInt32BE(0);
  }

  /** `n` bytes off the front: a slice of the first chunk when it holds them all, else one joined copy. */
  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      const frame = first.subarray(0, n);
      this.#consume(n);
      return frame;
    }
    const frame = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.length, n - at);
      chunk.copy(frame, at, 0, part);
      at += part;
      this.#consume(part);
    }
    return frame;
  }

  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      if (first.length <= n) {
        this.#chunks.shift();
        n -= first.length;
      } else {
        this.#chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}
