import { describe, expect, it } from 'vitest';
import { jsonDepthExcess } from '../src/json-depth.js';

const depthOf = (text: string, max: number): number => jsonDepthExcess(Buffer.from(text), max);

describe('jsonDepthExcess', () => {
  it('finds the first byte past the bound, counting arrays and objects alike', () => {
    expect(depthOf('[[[]]]', 3)).toBe(-1);
    expect(depthOf('[[[[]]]]', 3)).toBe(3);
    expect(depthOf('{"a":{"b":[{}]}}', 4)).toBe(-1);
    expect(depthOf('{"a":{"b":[{}]}}', 3)).toBe(11);
    expect(depthOf('[[]],[[]],[[]]', 2)).toBe(-1); // siblings do not add up
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(depthOf('["[[[[", "{{{{"]', 1)).toBe(-1);
    expect(depthOf('["\\"[[[[", "\\\\", ["x"]]', 1)).toBe(17); // the [ before "x": the others are inside strings
    expect(depthOf('{"k\\"{":"\\u005b["}', 1)).toBe(-1);
  });

  it('scans deep input without recursion', () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(depthOf(deep, 128)).toBe(128);
    expect(depthOf(deep, 1_000_000)).toBe(-1);
  });

  it('reads multi-byte UTF-8 as opaque', () => {
    expect(depthOf('{"日本":["語", {"ü": "✓"}]}', 3)).toBe(-1);
    expect(depthOf('{"日本":["語", {"ü": "✓"}]}', 2)).toBeGreaterThan(0);
  });
});
