import { describe, expect, it } from 'vitest';
import {
  MAX_RELATIVE_KEY_BYTES,
  MAX_STORE_PREFIX_BYTES,
  compareKeys,
  manifestSnapshotKey,
  normalizeStorePrefix,
  objectKeyProblem,
  parseSegmentObjectKey,
  partitionSegmentsPrefix,
  segmentObjectKey,
  stripStorePrefix,
  topicConfigKey,
  withStorePrefix,
} from '@strata/storage';

describe('object keys (docs/architecture.md#object-storage)', () => {
  it('names a segment object with 20-digit offsets and the uploader epoch', () => {
    const key = segmentObjectKey({ topic: 'orders', partition: 3, baseOffset: 42, lastOffset: 99, epoch: 7 });
    expect(key).toBe('topics/orders/3/00000000000000000042-00000000000000000099-e7.seg');
    expect(key.startsWith(partitionSegmentsPrefix('orders', 3))).toBe(true);
    expect(parseSegmentObjectKey(key)).toEqual({ topic: 'orders', partition: 3, baseOffset: 42, lastOffset: 99, epoch: 7 });
    const max = { topic: 'a.b-c_D', partition: 2147483647, baseOffset: Number.MAX_SAFE_INTEGER - 1, lastOffset: Number.MAX_SAFE_INTEGER, epoch: 2147483647 };
    expect(parseSegmentObjectKey(segmentObjectKey(max))).toEqual(max);
  });

  it('sorts segment keys of a partition in offset order', () => {
    const offsets = [0, 9, 10, 99, 100, 123_456_789, 2 ** 40];
    const keys = offsets.map((o) => segmentObjectKey({ topic: 't', partition: 0, baseOffset: o, lastOffset: o + 5, epoch: 1 }));
    expect([...keys].reverse().sort(compareKeys)).toEqual(keys);
  });

  it('parses nothing but segment keys', () => {
    for (const key of [
      'topics/orders/topic.json',
      'manifests/orders/0.json',
      'topics/orders/3/00000000000000000042-00000000000000000099-e7.seg.tmp',
      'topics/orders/3/0000000000000000042-00000000000000000099-e7.seg', // 19 digits
      'topics/orders/03/00000000000000000042-00000000000000000099-e7.seg', // padded partition
      'topics/orders/3/00000000000000000042-00000000000000000099-e07.seg', // padded epoch
      'topics/orders/3/00000000000000000099-00000000000000000042-e7.seg', // last < base
      'topics/orders/3/99999999999999999999-99999999999999999999-e7.seg', // unsafe integer
      'topics/../3/00000000000000000042-00000000000000000099-e7.seg',
      'topics/or ders/3/00000000000000000042-00000000000000000099-e7.seg',
      'prefix/topics/orders/3/00000000000000000042-00000000000000000099-e7.seg', // store prefix not stripped
    ]) {
      expect(parseSegmentObjectKey(key), key).toBeNull();
    }
  });

  it('refuses ids that would make a bad key', () => {
    const ok = { topic: 'orders', partition: 0, baseOffset: 0, lastOffset: 0, epoch: 0 };
    expect(() => segmentObjectKey({ ...ok, topic: 'a/b' })).toThrow(/topic name/);
    expect(() => segmentObjectKey({ ...ok, topic: '..' })).toThrow(/topic name/);
    expect(() => segmentObjectKey({ ...ok, topic: 'x'.repeat(250) })).toThrow(/topic name/);
    expect(() => segmentObjectKey({ ...ok, partition: -1 })).toThrow(/partition/);
    expect(() => segmentObjectKey({ ...ok, baseOffset: 1.5 })).toThrow(/baseOffset/);
    expect(() => segmentObjectKey({ ...ok, baseOffset: 5, lastOffset: 4 })).toThrow(/below/);
    expect(() => segmentObjectKey({ ...ok, epoch: 2 ** 31 })).toThrow(/epoch/);
  });

  it('keeps every key of the longest names within S3\'s 1024 bytes, and each segment a file name (the local-directory engine)', () => {
    // The bound holds for every key: a 249-character topic (the longest valid), int32 partition and
    // epoch, 20-digit offsets. Each '/'-separated segment becomes a file or directory name of the
    // local-directory engine, so it must fit in 255 bytes too.
    const topic = 't'.repeat(249);
    const max = Number.MAX_SAFE_INTEGER;
    const keys = [
      segmentObjectKey({ topic, partition: 0x7fff_ffff, baseOffset: max, lastOffset: max, epoch: 0x7fff_ffff }),
      topicConfigKey(topic),
      manifestSnapshotKey(topic, 0x7fff_ffff),
    ];
    const prefix = normalizeStorePrefix('p'.repeat(MAX_STORE_PREFIX_BYTES)); // the longest accepted
    expect(() => normalizeStorePrefix('p'.repeat(MAX_STORE_PREFIX_BYTES + 1))).toThrow(/over/);
    for (const key of keys) {
      expect(objectKeyProblem(key)).toBeNull();
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(MAX_RELATIVE_KEY_BYTES);
      expect(objectKeyProblem(withStorePrefix(prefix, key))).toBeNull();
      for (const segment of key.split('/')) expect(Buffer.byteLength(segment)).toBeLessThanOrEqual(255);
    }
  });

  it('names the topic config and the manifest snapshot', () => {
    expect(topicConfigKey('orders')).toBe('topics/orders/topic.json');
    expect(manifestSnapshotKey('orders', 12)).toBe('manifests/orders/12.json');
  });

  it('puts the store prefix in front of keys, and takes it off again', () => {
    expect(normalizeStorePrefix(undefined)).toBe('');
    expect(normalizeStorePrefix('/strata/prod/')).toBe('strata/prod');
    expect(() => normalizeStorePrefix('a//b')).toThrow(/prefix/);
    expect(withStorePrefix('strata/prod', 'topics/t/topic.json')).toBe('strata/prod/topics/t/topic.json');
    expect(withStorePrefix('', 'topics/t/topic.json')).toBe('topics/t/topic.json');
    expect(stripStorePrefix('strata/prod', 'strata/prod/topics/t/topic.json')).toBe('topics/t/topic.json');
    expect(stripStorePrefix('strata/prod', 'strata/production/x')).toBeNull();
  });

  it('says what is wrong with a key', () => {
    expect(objectKeyProblem('topics/a/0/x.seg')).toBeNull();
    expect(objectKeyProblem('odd chars !$&()+,;=@ é 🚀')).toBeNull();
    expect(objectKeyProblem('')).toMatch(/empty/);
    expect(objectKeyProblem('a//b')).toMatch(/empty segment/);
    expect(objectKeyProblem('a/..')).toMatch(/'\.\.'/);
    expect(objectKeyProblem('tab\there')).toMatch(/control/);
    expect(objectKeyProblem('é'.repeat(513))).toMatch(/1026 UTF-8 bytes/);
  });
});
