import { describe, expect, it } from 'vitest';
import { MAX_FILE_NAME_BYTES, fileNameFor, isTempFileName, tempFileNameFor } from '../src/index.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('file names derived from user names', () => {
  it('keeps every name that fits as it is (the layout of existing data dirs)', () => {
    expect(fileNameFor('orders', '-0')).toBe('orders-0');
    expect(fileNameFor('orders-12', '.json')).toBe('orders-12.json');
    expect(fileNameFor('billing')).toBe('billing');
    const fits = `${'a'.repeat(250)}`;
    expect(fileNameFor(fits, '.json')).toBe(`${fits}.json`); // exactly 255 bytes
  });

  it('bounds a name that would not fit: its start, a hash of the whole, the suffix; at most 255 bytes', () => {
    // Regression (issue #10, item 2): `<249-character topic>-<p>.json` is 256+ bytes (ENAMETOOLONG).
    const topic = 't'.repeat(249);
    const name = fileNameFor(`${topic}-0`, '.json');
    expect(bytes(name)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(name.startsWith('tttt')).toBe(true);
    expect(name.endsWith('.json')).toBe(true);
    expect(name).toMatch(/~[0-9a-f]{32}\.json$/);
    expect(fileNameFor(`${topic}-0`, '.json')).toBe(name); // deterministic
    // Two long names that share the kept prefix still get different names.
    expect(fileNameFor(`${topic}-1`, '.json')).not.toBe(name);
    expect(fileNameFor(`${'t'.repeat(248)}u-0`, '.json')).not.toBe(name);
    // Multi-byte characters are never split.
    const wide = fileNameFor('é'.repeat(200), '.json');
    expect(bytes(wide)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(Buffer.from(wide, 'utf8').toString('utf8')).toBe(wide);
  });

  it('a bounded form never equals the plain form of a valid name (~ is outside [a-zA-Z0-9._-])', () => {
    const name = fileNameFor('x'.repeat(300));
    expect(/^[a-zA-Z0-9._-]+$/.test(name)).toBe(false);
  });

  it('temp names fit whatever the target, and are told apart from user files', () => {
    for (const target of ['a.json', `${'g'.repeat(249)}.json`, fileNameFor('z'.repeat(400), '.json')]) {
      const tmp = tempFileNameFor(target);
      expect(bytes(tmp)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
      expect(isTempFileName(tmp)).toBe(true);
      expect(tempFileNameFor(target)).not.toBe(tmp);
    }
    // A group id may contain ".json.tmp-" or ".tmp-1-deadbeef": its file ends in ".json", never a temp.
    for (const user of ['a.json.tmp-b.json', 'a.tmp-1-deadbeef.json', 'orders-0', 'x.tmp-12-0badc0de-3']) expect(isTempFileName(user), user).toBe(false);
  });
});
