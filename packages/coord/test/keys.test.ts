import { describe, expect, it } from 'vitest';
import { CoordKeys, DEFAULT_KEY_PREFIX, hashTag, manifestEndOffset } from '@strata/coord';
import { expectStrataError, segment } from './conformance.js';

describe('CoordKeys', () => {
  it('builds every key under the prefix with the hash tags of docs/architecture.md#coordination', () => {
    const k = new CoordKeys('s1:');
    expect(k.partitionLease('orders', 3)).toBe('s1:p:{orders/3}:lease');
    expect(k.partitionState('orders', 3)).toBe('s1:p:{orders/3}:state');
    expect(k.partitionSegments('orders', 3)).toBe('s1:p:{orders/3}:segs');
    expect(k.groupMembers('g.1')).toBe('s1:g:{g.1}:members');
    expect(k.groupOffsets('g.1')).toBe('s1:g:{g.1}:offsets');
    expect([k.brokers(), k.broker('b1'), k.topics(), k.topic('t'), k.controller(), k.boot()]).toEqual([
      's1:{cluster}:brokers',
      's1:{cluster}:broker:b1',
      's1:{cluster}:topics',
      's1:{cluster}:topic:t',
      's1:{cluster}:controller',
      's1:{cluster}:boot',
    ]);
    expect(new CoordKeys().prefix).toBe(DEFAULT_KEY_PREFIX);
    expect(new CoordKeys('').topics()).toBe('{cluster}:topics');
    expect(new CoordKeys('a.b:').pattern()).toBe('a.b:*');
  });

  it('refuses a prefix that could carry a hash tag or break a pattern', async () => {
    for (const bad of ['{x}', 'a}', 'a b', 'x'.repeat(65), 'a\n']) {
      await expectStrataError(Promise.resolve().then(() => new CoordKeys(bad)), 'INVALID_CONFIG');
    }
  });

  it('finds the hash tag as Redis Cluster does', () => {
    expect(hashTag('p:{t/1}:lease')).toBe('t/1');
    expect(hashTag('{}x{y}')).toBe('{}x{y}');
    expect(hashTag('no-tag')).toBe('no-tag');
    expect(hashTag('a{b')).toBe('a{b');
  });
});

describe('manifestEndOffset', () => {
  it('is the offset after the last segment, or the log start when there is none', () => {
    expect(manifestEndOffset({ epoch: 0, logStartOffset: 40, segments: [] })).toBe(40);
    expect(manifestEndOffset({ epoch: 1, logStartOffset: 0, segments: [segment(0, 9, 1), segment(10, 19, 1)] })).toBe(20);
  });
});
