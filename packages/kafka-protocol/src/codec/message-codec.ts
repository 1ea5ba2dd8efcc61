// Encode and decode one message body of a given version: the compiled codec for
// (schema, version) is built on first use and kept.

import { KafkaProtocolError } from '../errors.js';
import type { MessageInput, MessageSchema, MessageValue } from '../schema/types.js';
import { inVersions } from '../schema/versions.js';
import { compileStruct, type StructCodec } from './compile.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

const compiled = new WeakMap<MessageSchema, Map<number, StructCodec>>();

export function isValidVersion(schema: MessageSchema, version: number): boolean {
  return Number.isInteger(version) && inVersions(schema.validVersions, version);
}

export function isFlexibleVersion(schema: MessageSchema, version: number): boolean {
  return inVersions(schema.flexibleVersions, version);
}

export function codecFor(schema: MessageSchema, version: number): StructCodec {
  let byVersion = compiled.get(schema);
  if (byVersion === undefined) {
    byVersion = new Map();
    compiled.set(schema, byVersion);
  }
  let codec = byVersion.get(version);
  if (codec === undefined) {
    if (!isValidVersion(schema, version)) {
      throw new KafkaProtocolError('unsupported-version', `${schema.name} has no version ${version} (valid: ${schema.validVersions})`, {
        message: schema.name,
        version,
      });
    }
    codec = compileStruct(schema.fields, version, isFlexibleVersion(schema, version), schema.name);
    byVersion.set(version, codec);
  }
  return codec;
}

/**
 * Decode a message body in buf[offset, end). The whole range must be the
 * message: bytes left over are an error. `bytes` and `records` fields are
 * slices of buf (no copy).
 */
export function decodeMessage<M extends MessageSchema>(schema: M, version: number, buf: Buffer, offset = 0, end = buf.length): MessageValue<M> {
  return decodeWith(codecFor(schema, version), schema.name, buf, offset, end) as MessageValue<M>;
}

export function decodeWith(codec: StructCodec, name: string, buf: Buffer, offset: number, end: number): Record<string, unknown> {
  if (!Number.isInteger(offset) || !Number.isInteger(end) || offset < 0 || end > buf.length || offset > end) {
    throw new KafkaProtocolError('truncated', `${name}: range [${offset}, ${end}) is outside the ${buf.length}-byte frame`);
  }
  const r = new Reader(buf, offset, end);
  const value = codec.decode(r);
  if (r.pos !== end) {
    throw new KafkaProtocolError('trailing-bytes', `${name}: ${end - r.pos} bytes follow the last field`, { position: r.pos });
  }
  return value;
}

/** Encode a message body into one buffer (no size prefix, no header). */
export function encodeMessage<M extends MessageSchema>(schema: M, version: number, value: MessageInput<M>): Buffer {
  const w = new Writer();
  codecFor(schema, version).encode(w, value as Readonly<Record<string, unknown>>);
  return w.finishAsBuffer();
}

export function encodeInto<M extends MessageSchema>(w: Writer, schema: M, version: number, value: MessageInput<M>): void {
  codecFor(schema, version).encode(w, value as Readonly<Record<string, unknown>>);
}
