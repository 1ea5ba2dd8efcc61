// Test helpers: the captured client frames, a seeded PRNG, and sample values
// generated from a schema (every field present in a version set to a value that
// differs from its default, so that tagged fields are really written).

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isKafkaProtocolError, parseVersions, type FieldSchema, type KafkaProtocolErrorReason, type PrimitiveType } from '@strata/kafka-protocol';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.bin')).sort();
}

export function fixture(name: string): Buffer {
  return readFileSync(FIXTURES + name);
}

/** mulberry32: small, fast, and reproducible from a printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function expectProtocolError(fn: () => unknown, reason?: KafkaProtocolErrorReason): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(isKafkaProtocolError(thrown), `expected a KafkaProtocolError, got ${String(thrown)}`).toBe(true);
  if (reason !== undefined) expect((thrown as { reason: string }).reason).toBe(reason);
}

function inRange(text: string | undefined, version: number): boolean {
  if (text === undefined) return false;
  const r = parseVersions(text);
  return version >= r.min && version <= r.max;
}

/** Large enough to travel as its own chunk (over RECORDS_INLINE_COPY_MAX_BYTES). */
export const LARGE_RECORDS = Buffer.alloc(3000, 0xab);

function primitiveSample(type: PrimitiveType, f: FieldSchema, seed: number): unknown {
  switch (type) {
    case 'int8':
      return 7 + (seed % 3);
    case 'int16':
      return 300 + seed;
    case 'uint16':
      return 60000 + seed;
    case 'int32':
      return 70000 + seed;
    case 'uint32':
      return 3_000_000_000 + seed;
    case 'int64':
      return 2n ** 40n + BigInt(seed);
    case 'float64':
      return 1.5 + seed;
    case 'bool':
      return f.default !== true;
    case 'string':
      return `s-é-${f.name}-${seed}`;
    case 'bytes':
      return Buffer.from([1, 2, 3, seed & 0xff]);
    case 'records':
      return seed % 2 === 0 ? LARGE_RECORDS : Buffer.from([9, 8, 7]);
    case 'uuid': {
      const b = Buffer.alloc(16, seed + 1);
      return b.toString('base64url');
    }
  }
}

/**
 * A value for fields at version: every field present set to a non-default value
 * (or null where nullable, when `nulls`), absent fields left out.
 */
export function sampleStruct(fields: readonly FieldSchema[], version: number, nulls: boolean, seed = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  fields.forEach((f, i) => {
    if (!inRange(f.versions, version)) return;
    if (nulls && inRange(f.nullableVersions, version)) {
      out[f.name] = null;
      return;
    }
    const s = seed + i;
    if (f.type === 'struct') out[f.name] = sampleStruct(f.fields!, version, nulls, s);
    else if (f.type === '[]struct') out[f.name] = [sampleStruct(f.fields!, version, nulls, s), sampleStruct(f.fields!, version, nulls, s + 1)];
    else if (f.type.startsWith('[]')) {
      const t = f.type.slice(2) as PrimitiveType;
      out[f.name] = [primitiveSample(t, f, s), primitiveSample(t, f, s + 1)];
    } else out[f.name] = primitiveSample(f.type as PrimitiveType, f, s);
  });
  return out;
}

export function versionsOf(validVersions: string): number[] {
  const r = parseVersions(validVersions);
  return Array.from({ length: r.max - r.min + 1 }, (_, i) => r.min + i);
}
