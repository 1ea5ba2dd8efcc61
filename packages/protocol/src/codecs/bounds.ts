// What every codec shares: the refusal of output past the bound, and the
// yield that lets a long decompression on the event loop share it.

/** Thrown by a codec when its output would pass maxBytes; compression.ts turns it into MESSAGE_TOO_LARGE. */
export class DecompressedTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`decompressed output exceeds ${maxBytes} bytes`);
    this.name = 'DecompressedTooLarge';
  }
}

/** Thrown by a codec for input that is not its format; compression.ts turns it into CORRUPT_MESSAGE. */
export class MalformedCompressedData extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedCompressedData';
  }
}

/**
 * A decompression done on the event loop (the codecs with no off-loop form)
 * gives the loop back after about this much output, so other requests are
 * answered in between: at a few hundred MB/s that is a few milliseconds.
 */
export const YIELD_EVERY_OUTPUT_BYTES = 1024 * 1024;

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function malformed(message: string): MalformedCompressedData {
  return new MalformedCompressedData(message);
}
