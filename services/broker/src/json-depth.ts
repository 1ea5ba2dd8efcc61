// How deeply a JSON text nests, found by one pass over its bytes, without
// recursion and without parsing: JSON.parse copes with any depth, but
// JSON.stringify (answers, stored values) recurses and overflows V8's stack
// at a few thousand levels, and every consumer of the value would too. So a
// depth bound is checked on the bytes, before anything is built from them.
//
// Bytes, not characters: '"', '\\', '[', ']', '{' and '}' are ASCII, and in
// UTF-8 no byte of a multi-byte character is below 0x80, so they never
// occur inside one.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The byte position at which `text` (JSON, UTF-8) first nests deeper than
 * maxDepth levels of [ and {, or -1 when it never does. Malformed text is not
 * judged here (JSON.parse reports it); the scan stops at the first excess.
 */
export function jsonDepthExcess(text: Uint8Array, maxDepth: number, start = 0, end = text.length): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const byte = text[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++; // the escaped byte cannot end the string
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > maxDepth) return i;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return -1;
}
