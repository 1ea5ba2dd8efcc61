// The interpreter: from a message schema and one version, build (once) a decoder
// and an encoder made of small closures, one per field, with every version
// question (is the field there, nullable, tagged, compact) answered at compile
// time, not per message.
//
// Wire rules (Kafka protocol guide, "Protocol Primitive Types"):
// - non-flexible versions: strings int16 length, bytes/records int32 length,
//   arrays int32 count; -1 is null.
// - flexible versions: COMPACT_* (unsigned varint of length + 1; 0 is null) and,
//   after each struct's fields, a tagged-field section: count, then (tag, size,
//   value) in ascending tag order. Unknown tags are skipped on decode.
// - a field absent in a version decodes as its default and is not written; a
//   non-default value for it is an error unless the field is ignorable (Kafka's
//   generator throws UnsupportedVersionException the same way).

import { StrataError } from '@strata/protocol';
import { KafkaProtocolError } from '../errors.js';
import { inVersions } from '../schema/versions.js';
import type { DefaultValue, FieldSchema, PrimitiveType } from '../schema/types.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

/** Kafka's all-zero uuid in its textual form (Uuid.ZERO_UUID): "no topic id". */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const UUID_BYTES = 16;
const STRING_NON_COMPACT_MAX_BYTES = 0x7fff;
const EMPTY_BYTES = Buffer.alloc(0);

interface ValueCodec {
  decode(r: Reader): unknown;
  encode(w: Writer, v: unknown): void;
  /** The fewest bytes a value takes: bounds an array's count by the bytes left. */
  readonly minBytes: number;
}

export interface StructCodec {
  decode(r: Reader): Record<string, unknown>;
  encode(w: Writer, v: Readonly<Record<string, unknown>>): void;
  readonly minBytes: number;
}

interface FieldPlan {
  readonly name: string;
  readonly mode: 'inline' | 'tagged' | 'absent';
  readonly tag: number;
  readonly ignorable: boolean;
  readonly codec: ValueCodec | undefined;
  readonly makeDefault: () => unknown;
  readonly isDefault: (v: unknown) => boolean;
}

export function compileStruct(fields: readonly FieldSchema[], version: number, flexible: boolean, path: string): StructCodec {
  const plans: FieldPlan[] = fields.map((f) => planField(f, version, flexible, `${path}.${f.name}`));
  const inline = plans.filter((p) => p.mode === 'inline');
  const tagged = plans.filter((p) => p.mode === 'tagged').sort((a, b) => a.tag - b.tag);
  const taggedByTag = new Map(tagged.map((p) => [p.tag, p]));
  const minBytes = inline.reduce((sum, p) => sum + p.codec!.minBytes, flexible ? 1 : 0);
  const tagsWhat = `${path} tagged fields`;

  const build = compileShape(plans, path);

  return {
    minBytes,
    decode(r: Reader): Record<string, unknown> {
      const out = build(r);
      if (flexible) {
        const count = r.unsignedVarint(tagsWhat);
        r.checkCount(count, 2, tagsWhat);
        for (let i = 0; i < count; i++) {
          const tag = r.unsignedVarint(tagsWhat);
          const size = r.unsignedVarint(tagsWhat);
          r.need(size, tagsWhat);
          const plan = taggedByTag.get(tag);
          if (plan !== undefined) out[plan.name] = plan.codec!.decode(new Reader(r.buf, r.pos, r.pos + size));
          r.pos += size;
        }
      }
      return out;
    },
    encode(w: Writer, v: Readonly<Record<string, unknown>>): void {
      for (const p of plans) {
        const value = v[p.name];
        if (p.mode === 'inline') {
          p.codec!.encode(w, value === undefined ? p.makeDefault() : value);
        } else if (p.mode === 'absent' && !p.ignorable && !p.isDefault(value)) {
          throw new KafkaProtocolError('field-not-in-version', `${path}.${p.name} does not exist in version ${version}: it cannot carry a non-default value`, {
            field: `${path}.${p.name}`,
            version,
          });
        }
      }
      if (!flexible) return;
      if (tagged.length === 0) return w.unsignedVarint(0);
      const present = tagged.filter((p) => !p.isDefault(v[p.name]));
      w.unsignedVarint(present.length);
      for (const p of present) {
        const sub = new Writer(64);
        p.codec!.encode(sub, v[p.name]);
        const bytes = sub.finishAsBuffer();
        w.unsignedVarint(p.tag);
        w.unsignedVarint(bytes.length);
        w.copy(bytes);
      }
    },
  };
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The decoded struct built as one object literal (generated once per struct and
 * version): its fields are read in schema order (a literal's properties are
 * evaluated left to right), and every decoded struct of a (message, version)
 * shares one hidden class, so a caller's property reads stay fast. The names
 * come from this package's schemas and are checked to be identifiers.
 */
function compileShape(plans: readonly FieldPlan[], path: string): (r: Reader) => Record<string, unknown> {
  const properties = plans.map((p, i) => {
    if (!FIELD_NAME.test(p.name)) throw new StrataError('INTERNAL_ERROR', `${path}: field name "${p.name}" is not an identifier`);
    return p.mode === 'inline' ? `${p.name}: c[${i}].decode(r)` : `${p.name}: d[${i}]()`;
  });
  const codecs = plans.map((p) => p.codec);
  const defaults = plans.map((p) => p.makeDefault);
  const factory = new Function('c', 'd', `return function decode(r) { return { ${properties.join(', ')} }; };`) as (
    c: readonly (ValueCodec | undefined)[],
    d: readonly (() => unknown)[],
  ) => (r: Reader) => Record<string, unknown>;
  return factory(codecs, defaults);
}

function planField(f: FieldSchema, version: number, flexible: boolean, path: string): FieldPlan {
  const present = inVersions(f.versions, version);
  const isTagged = present && flexible && inVersions(f.taggedVersions, version);
  if (f.taggedVersions !== undefined && f.tag === undefined) throw new StrataError('INTERNAL_ERROR', `${path}: taggedVersions without a tag`);
  const nullable = inVersions(f.nullableVersions, version);
  const { makeDefault, isDefault } = defaultsOf(f, path);
  const fieldFlexible = flexible && f.flexibleVersions !== 'none';
  return {
    name: f.name,
    mode: !present ? 'absent' : isTagged ? 'tagged' : 'inline',
    tag: f.tag ?? -1,
    ignorable: f.ignorable === true,
    codec: present ? valueCodec(f, version, fieldFlexible, nullable, path) : undefined,
    makeDefault,
    isDefault,
  };
}

function valueCodec(f: FieldSchema, version: number, flexible: boolean, nullable: boolean, path: string): ValueCodec {
  if (f.type === 'struct') {
    const struct = compileStruct(requireFields(f, path), version, flexible, path);
    return nullable ? nullableStructCodec(struct, path) : struct;
  }
  if (f.type === '[]struct') return arrayCodec(compileStruct(requireFields(f, path), version, flexible, path), flexible, nullable, path);
  if (f.type.startsWith('[]')) return arrayCodec(primitiveCodec(f.type.slice(2) as PrimitiveType, flexible, false, path), flexible, nullable, path);
  return primitiveCodec(f.type as PrimitiveType, flexible, nullable, path);
}

/** Kafka's nullable struct: an int8 marker before it, -1 for null, 1 for a struct (KIP-848's answers use it). */
function nullableStructCodec(struct: ValueCodec, path: string): ValueCodec {
  return {
    minBytes: 1,
    decode: (r) => (r.int8(path) < 0 ? null : struct.decode(r)),
    encode: (w, v) => {
      if (v === null) return w.int8(-1);
      w.int8(1);
      struct.encode(w, v);
    },
  };
}

function requireFields(f: FieldSchema, path: string): readonly FieldSchema[] {
  if (f.fields === undefined) throw new StrataError('INTERNAL_ERROR', `${path}: a struct without fields`);
  return f.fields;
}

// ---- primitives ---------------------------------------------------------------------------

function checkInteger(v: unknown, min: number, max: number, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new KafkaProtocolError('invalid-value', `${path}: ${String(v)} is not an integer in [${min}, ${max}]`, { field: path });
  }
  return v;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fixed(minBytes: number, decode: (r: Reader) => unknown, encode: (w: Writer, v: unknown) => void): ValueCodec {
  return { minBytes, decode, encode };
}

function primitiveCodec(type: PrimitiveType, flexible: boolean, nullable: boolean, path: string): ValueCodec {
  switch (type) {
    case 'int8':
      return fixed(1, (r) => r.int8(path), (w, v) => w.int8(checkInteger(v, -0x80, 0x7f, path)));
    case 'int16':
      return fixed(2, (r) => r.int16(path), (w, v) => w.int16(checkInteger(v, -0x8000, 0x7fff, path)));
    case 'uint16':
      return fixed(2, (r) => r.uint16(path), (w, v) => w.uint16(checkInteger(v, 0, 0xffff, path)));
    case 'int32':
      return fixed(4, (r) => r.int32(path), (w, v) => w.int32(checkInteger(v, -0x8000_0000, 0x7fff_ffff, path)));
    case 'uint32':
      return fixed(4, (r) => r.uint32(path), (w, v) => w.uint32(checkInteger(v, 0, 0xffff_ffff, path)));
    case 'int64':
      return fixed(8, (r) => r.int64(path), (w, v) => {
        if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) {
          throw new KafkaProtocolError('invalid-value', `${path}: ${String(v)} is not an int64 bigint`, { field: path });
        }
        w.int64(v);
      });
    case 'float64':
      return fixed(8, (r) => r.float64(path), (w, v) => {
        if (typeof v !== 'number') throw new KafkaProtocolError('invalid-value', `${path}: ${String(v)} is not a number`, { field: path });
        w.float64(v);
      });
    case 'bool':
      return fixed(1, (r) => r.int8(path) !== 0, (w, v) => {
        if (typeof v !== 'boolean') throw new KafkaProtocolError('invalid-value', `${path}: ${String(v)} is not a boolean`, { field: path });
        w.int8(v ? 1 : 0);
      });
    case 'uuid':
      return fixed(UUID_BYTES, (r) => r.slice(UUID_BYTES, path).toString('base64url'), (w, v) => {
        const bytes = typeof v === 'string' ? Buffer.from(v, 'base64url') : EMPTY_BYTES;
        if (bytes.length !== UUID_BYTES || bytes.toString('base64url') !== v) {
          throw new KafkaProtocolError('invalid-value', `${path}: ${String(v)} is not a uuid (22 base64url characters)`, { field: path });
        }
        w.copy(bytes);
      });
    case 'string':
      return stringCodec(flexible, nullable, path);
    case 'bytes':
    case 'records':
      return bytesCodec(flexible, nullable, path);
  }
}

/** Read a length or count: -1 is null; anything below is garbage. */
function readLength(r: Reader, flexible: boolean, shortLength: boolean, nullable: boolean, path: string): number {
  const n = flexible ? r.unsignedVarint(path) - 1 : shortLength ? r.int16(path) : r.int32(path);
  if (n === -1) {
    if (!nullable) throw new KafkaProtocolError('null-not-allowed', `${path} is null but not nullable in this version`, { field: path });
    return -1;
  }
  if (n < -1) throw new KafkaProtocolError('invalid-length', `${path}: negative length ${n}`, { field: path, length: n });
  return n;
}

function writeNull(w: Writer, flexible: boolean, shortLength: boolean, nullable: boolean, path: string): void {
  if (!nullable) throw new KafkaProtocolError('null-not-allowed', `${path} cannot be null in this version`, { field: path });
  if (flexible) w.unsignedVarint(0);
  else if (shortLength) w.int16(-1);
  else w.int32(-1);
}

function stringCodec(flexible: boolean, nullable: boolean, path: string): ValueCodec {
  return {
    minBytes: flexible ? 1 : 2,
    decode(r) {
      const n = readLength(r, flexible, true, nullable, path);
      return n === -1 ? null : r.utf8(n, path);
    },
    encode(w, v) {
      if (v === null) return writeNull(w, flexible, true, nullable, path);
      if (typeof v !== 'string') throw new KafkaProtocolError('invalid-value', `${path}: ${String(v)} is not a string`, { field: path });
      const bytes = Buffer.byteLength(v, 'utf8');
      if (flexible) w.unsignedVarint(bytes + 1);
      else if (bytes > STRING_NON_COMPACT_MAX_BYTES) throw new KafkaProtocolError('invalid-value', `${path}: ${bytes} bytes is over the ${STRING_NON_COMPACT_MAX_BYTES} a string may have`, { field: path });
      else w.int16(bytes);
      w.utf8(v, bytes);
    },
  };
}

function bytesCodec(flexible: boolean, nullable: boolean, path: string): ValueCodec {
  return {
    minBytes: flexible ? 1 : 4,
    decode(r) {
      const n = readLength(r, flexible, false, nullable, path);
      return n === -1 ? null : r.slice(n, path);
    },
    encode(w, v) {
      if (v === null) return writeNull(w, flexible, false, nullable, path);
      if (!Buffer.isBuffer(v)) throw new KafkaProtocolError('invalid-value', `${path} is not a Buffer`, { field: path });
      if (flexible) w.unsignedVarint(v.length + 1);
      else w.int32(v.length);
      w.passThrough(v);
    },
  };
}

function arrayCodec(element: ValueCodec, flexible: boolean, nullable: boolean, path: string): ValueCodec {
  return {
    minBytes: flexible ? 1 : 4,
    decode(r) {
      const n = readLength(r, flexible, false, nullable, path);
      if (n === -1) return null;
      r.checkCount(n, element.minBytes, path);
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = element.decode(r);
      return out;
    },
    encode(w, v) {
      if (v === null) return writeNull(w, flexible, false, nullable, path);
      if (!Array.isArray(v)) throw new KafkaProtocolError('invalid-value', `${path} is not an array`, { field: path });
      if (flexible) w.unsignedVarint(v.length + 1);
      else w.int32(v.length);
      for (const e of v) element.encode(w, e);
    },
  };
}

// ---- defaults -------------------------------------------------------------------------------

function explicitDefault(f: FieldSchema, path: string): DefaultValue | undefined {
  if (f.default === undefined) return undefined;
  if (f.default === null) {
    if (f.nullableVersions === undefined) throw new StrataError('INTERNAL_ERROR', `${path}: default null on a field that is never nullable`);
    return null;
  }
  if (f.type === 'int64') return BigInt(f.default as number | bigint);
  return f.default;
}

function defaultsOf(f: FieldSchema, path: string): { makeDefault: () => unknown; isDefault: (v: unknown) => boolean } {
  const explicit = explicitDefault(f, path);
  if (f.type === 'struct' && explicit === null) return { makeDefault: () => null, isDefault: (v) => v === undefined || v === null };
  if (f.type === 'struct') {
    const fields = requireFields(f, path);
    const parts = fields.map((sub) => ({ name: sub.name, ...defaultsOf(sub, `${path}.${sub.name}`) }));
    return {
      makeDefault: () => Object.fromEntries(parts.map((p) => [p.name, p.makeDefault()])),
      isDefault: (v) =>
        v === undefined || (typeof v === 'object' && v !== null && parts.every((p) => p.isDefault((v as Record<string, unknown>)[p.name]))),
    };
  }
  if (f.type.startsWith('[]')) {
    if (explicit === null) return { makeDefault: () => null, isDefault: (v) => v === undefined || v === null };
    return { makeDefault: () => [], isDefault: (v) => v === undefined || (Array.isArray(v) && v.length === 0) };
  }
  if (f.type === 'bytes' || f.type === 'records') {
    if (explicit === null || f.type === 'records') return { makeDefault: () => null, isDefault: (v) => v === undefined || v === null };
    return { makeDefault: () => EMPTY_BYTES, isDefault: (v) => v === undefined || (Buffer.isBuffer(v) && v.length === 0) };
  }
  const value = explicit !== undefined ? explicit : implicitDefault(f.type as PrimitiveType);
  return { makeDefault: () => value, isDefault: (v) => v === undefined || v === value };
}

function implicitDefault(type: PrimitiveType): DefaultValue {
  switch (type) {
    case 'int64':
      return 0n;
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
    default:
      return 0;
  }
}
