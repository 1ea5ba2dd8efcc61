// Kafka's default partitioner: partition = toPositive(murmur2(key)) % n, with
// murmur2 exactly as org.apache.kafka.common.utils.Utils.murmur2 computes it
// (32-bit, seed 0x9747b28c, little-endian 4-byte blocks). Java int arithmetic
// is reproduced with Math.imul and `| 0`, so a key lands where Kafka puts it.

import { StrataError } from './errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Signed int32 murmur2 hash of data, bit-for-bit Kafka's Utils.murmur2. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const blocksEnd = length & ~3;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Kafka's switch falls through 3 -> 2 -> 1; the tail bytes are XORed in order.
  const tail = length & 3;
  if (tail >= 3) h ^= data[blocksEnd + 2] << 16;
  if (tail >= 2) h ^= data[blocksEnd + 1] << 8;
  if (tail >= 1) {
    h ^= data[blocksEnd];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which breaks on INT32_MIN). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > 0x7fffffff) {
    throw new StrataError('INVALID_PARTITIONS', `partition count must be a positive int32, got ${String(numPartitions)}`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}
