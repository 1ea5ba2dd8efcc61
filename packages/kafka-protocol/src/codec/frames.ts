// Whole requests and responses: header + body, with Kafka's 4-byte size prefix
// on what is encoded. A "frame" handed to the decoders is the bytes after the
// size prefix (the listener strips it while framing the stream).
//
// Header versions follow the API's flexibleVersions: a flexible request has
// header v2 (else v1), a flexible response header v1 (else v0), except that an
// ApiVersions response always has header v0, so a client that does not yet know
// the broker's versions can read it (Kafka's special case).

import { ApiKey } from '../api-keys.js';
import { KafkaProtocolError } from '../errors.js';
import { MESSAGES, isKnownApiKey, type KnownApiKey, type RequestBody, type RequestInput, type ResponseBody, type ResponseInput } from '../messages/index.js';
import { RequestHeader, ResponseHeader } from '../messages/headers.js';
import { parseVersions } from '../schema/versions.js';
import { codecFor, decodeWith, isFlexibleVersion } from './message-codec.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

const SIZE_PREFIX_BYTES = 4;

export interface RequestHeaderFields {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Null when the client sent none (or the header is v0). */
  clientId: string | null;
  headerVersion: 0 | 1 | 2;
  /** Where the body starts in the frame. */
  bodyOffset: number;
}

/**
 * The request header version for (apiKey, apiVersion). For a version newer than
 * the schema knows, the flexible rule extends ("N+" stays flexible), so the
 * header of an ApiVersions request from a newer client is still read right.
 * An unknown API key gets v1: its correlation id and client id are still read.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  if (!isKnownApiKey(apiKey)) return 1;
  const flexible = parseVersions(MESSAGES[apiKey].request.flexibleVersions);
  return apiVersion >= flexible.min && apiVersion <= flexible.max ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions || !isKnownApiKey(apiKey)) return 0;
  return isFlexibleVersion(MESSAGES[apiKey].response, apiVersion) ? 1 : 0;
}

/** Decode a request header at the start of a frame (the bytes after the size prefix). */
export function decodeRequestHeader(frame: Buffer): RequestHeaderFields {
  const peek = new Reader(frame, 0, frame.length);
  const apiKey = peek.int16('RequestHeader.requestApiKey');
  const apiVersion = peek.int16('RequestHeader.requestApiVersion');
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const r = new Reader(frame, 0, frame.length);
  const header = codecFor(RequestHeader, headerVersion).decode(r);
  return {
    apiKey,
    apiVersion,
    correlationId: header['correlationId'] as number,
    clientId: header['clientId'] as string | null,
    headerVersion,
    bodyOffset: r.pos,
  };
}

function schemaOf(apiKey: number, kind: 'request' | 'response') {
  if (!isKnownApiKey(apiKey)) throw new KafkaProtocolError('unknown-api', `no schema for API key ${apiKey}`, { apiKey });
  return MESSAGES[apiKey][kind];
}

/** Decode a request body from frame[offset, end): the whole range must be the body. */
export function decodeRequest<K extends KnownApiKey>(apiKey: K, apiVersion: number, frame: Buffer, offset: number, end = frame.length): RequestBody<K> {
  const schema = schemaOf(apiKey, 'request');
  return decodeWith(codecFor(schema, apiVersion), schema.name, frame, offset, end) as RequestBody<K>;
}

/**
 * Encode a response with its size prefix and header, as chunks for writev:
 * record slices over RECORDS_INLINE_COPY_MAX_BYTES are their own chunks, not
 * copied. Concatenate them (Buffer.concat) where one buffer is needed.
 */
export function encodeResponse<K extends KnownApiKey>(apiKey: K, apiVersion: number, correlationId: number, body: ResponseInput<K>): Buffer[] {
  const schema = schemaOf(apiKey, 'response');
  const bodyCodec = codecFor(schema, apiVersion);
  const w = new Writer();
  w.int32(0);
  codecFor(ResponseHeader, responseHeaderVersion(apiKey, apiVersion)).encode(w, { correlationId });
  bodyCodec.encode(w, body as Readonly<Record<string, unknown>>);
  return sealFrame(w);
}

/** Encode a request with its size prefix and header (for clients, forwarding and tests). */
export function encodeRequest<K extends KnownApiKey>(apiKey: K, apiVersion: number, correlationId: number, clientId: string | null, body: RequestInput<K>): Buffer[] {
  const schema = schemaOf(apiKey, 'request');
  const bodyCodec = codecFor(schema, apiVersion);
  const w = new Writer();
  w.int32(0);
  codecFor(RequestHeader, requestHeaderVersion(apiKey, apiVersion)).encode(w, {
    requestApiKey: apiKey,
    requestApiVersion: apiVersion,
    correlationId,
    clientId,
  });
  bodyCodec.encode(w, body as Readonly<Record<string, unknown>>);
  return sealFrame(w);
}

/** Decode a response frame (the bytes after the size prefix): its correlation id and body. */
export function decodeResponse<K extends KnownApiKey>(apiKey: K, apiVersion: number, frame: Buffer): { correlationId: number; body: ResponseBody<K> } {
  const schema = schemaOf(apiKey, 'response');
  const bodyCodec = codecFor(schema, apiVersion);
  const r = new Reader(frame, 0, frame.length);
  const header = codecFor(ResponseHeader, responseHeaderVersion(apiKey, apiVersion)).decode(r);
  const body = decodeWith(bodyCodec, schema.name, frame, r.pos, frame.length) as ResponseBody<K>;
  return { correlationId: header['correlationId'] as number, body };
}

function sealFrame(w: Writer): Buffer[] {
  const total = w.length();
  const chunks = w.finish();
  chunks[0]!.writeInt32BE(total - SIZE_PREFIX_BYTES, 0);
  return chunks;
}
