// Garbage in: every failure is a KafkaProtocolError with a reason, decoding
// never reads past the frame, and no length or count is trusted before it is
// checked against the bytes that remain.

import { describe, expect, it } from 'vitest';
import {
  ApiKey,
  decodeMessage,
  decodeRequest,
  decodeRequestHeader,
  FetchResponse,
  isKafkaProtocolError,
  isKnownApiKey,
  MetadataRequest,
  ProduceRequest,
} from '@strata/kafka-protocol';
import { expectProtocolError, fixture, fixtureNames, prng } from './helpers.js';

function decodeWholeFrame(frame: Buffer): void {
  const h = decodeRequestHeader(frame);
  if (!isKnownApiKey(h.apiKey)) throw new Error('not a known API');
  decodeRequest(h.apiKey, h.apiVersion, frame, h.bodyOffset);
}

describe('hostile input', () => {
  it.each(fixtureNames())('every strict prefix of %s is refused as truncated (or over-long), never read past', (name) => {
    const frame = fixture(name);
    for (let cut = 0; cut < frame.length; cut++) {
      // A copy of exactly `cut` bytes: a read past it would throw a RangeError, not a KafkaProtocolError.
      const prefix = Buffer.from(frame.subarray(0, cut));
      expectProtocolError(() => decodeWholeFrame(prefix));
    }
  });

  it('a 2 GiB array count in a 20-byte body fails at once, without allocating it', () => {
    const body = Buffer.alloc(20);
    body.writeInt32BE(0x7fffffff, 0);
    expectProtocolError(() => decodeMessage(MetadataRequest, 1, body), 'length-exceeds-frame');
    // The same in a flexible version: an unsigned varint count of 2^32 - 2.
    const compact = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, ...Buffer.alloc(15)]);
    expectProtocolError(() => decodeMessage(MetadataRequest, 9, compact), 'length-exceeds-frame');
  });

  it('a 2 GiB records length is refused as truncated', () => {
    // Produce v3: transactionalId null, acks, timeout, 1 topic "t", 1 partition, records length 2^31-1.
    const body = Buffer.from('ffff' + '0001' + '00007530' + '00000001' + '000174' + '00000001' + '00000000' + '7fffffff' + '00', 'hex');
    expectProtocolError(() => decodeMessage(ProduceRequest, 3, body), 'truncated');
  });

  it('negative lengths other than -1 are refused; -1 where the version does not allow null too', () => {
    const negativeString = Buffer.from('00000001' + 'fffe', 'hex');
    expectProtocolError(() => decodeMessage(MetadataRequest, 1, negativeString), 'invalid-length');
    const nullName = Buffer.from('00000001' + 'ffff', 'hex');
    expectProtocolError(() => decodeMessage(MetadataRequest, 1, nullName), 'null-not-allowed');
    const negativeCount = Buffer.from('fffffff0', 'hex');
    expectProtocolError(() => decodeMessage(MetadataRequest, 1, negativeCount), 'invalid-length');
    // Metadata v0: topics is not nullable.
    expectProtocolError(() => decodeMessage(MetadataRequest, 0, Buffer.from('ffffffff', 'hex')), 'null-not-allowed');
  });

  it('a varint longer than 32 bits is refused', () => {
    expectProtocolError(() => decodeMessage(MetadataRequest, 9, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), 'invalid-length');
  });

  it('a tagged field whose size runs past the frame is refused', () => {
    // Metadata v9 request: topics null (0), three bools, then 1 tagged field (tag 5) of size 100.
    expectProtocolError(() => decodeMessage(MetadataRequest, 9, Buffer.from([0x00, 0x01, 0x00, 0x00, 0x01, 0x05, 0x64, 0x00])), 'truncated');
  });

  it('unknown tags are skipped', () => {
    // Two unknown tags: 5 (2 bytes) and 9 (empty).
    const body = Buffer.from([0x00, 0x01, 0x00, 0x00, 0x02, 0x05, 0x02, 0xaa, 0xbb, 0x09, 0x00]);
    expect(decodeMessage(MetadataRequest, 9, body)).toMatchObject({ topics: null, allowAutoTopicCreation: true });
  });

  it('bytes after the last field are refused', () => {
    expectProtocolError(() => decodeMessage(MetadataRequest, 1, Buffer.from('ffffffff00', 'hex')), 'trailing-bytes');
  });

  it('an unknown API key, an unknown version and an out-of-frame range are typed errors', () => {
    expectProtocolError(() => decodeRequest(99 as typeof ApiKey.Produce, 0, Buffer.alloc(8), 0), 'unknown-api');
    expectProtocolError(() => decodeRequest(ApiKey.Produce, 99, Buffer.alloc(8), 0), 'unsupported-version');
    expectProtocolError(() => decodeRequest(ApiKey.Produce, 3, Buffer.alloc(8), 9), 'truncated');
    expectProtocolError(() => decodeMessage(FetchResponse, -1, Buffer.alloc(8)), 'unsupported-version');
  });

  it('a header shorter than its fixed fields is truncated; an unknown API still yields its correlation id', () => {
    expectProtocolError(() => decodeRequestHeader(Buffer.from('0000', 'hex')), 'truncated');
    const unknown = Buffer.from('0063' + '0000' + '0000002a' + '0001' + '78' + 'deadbeef', 'hex');
    expect(decodeRequestHeader(unknown)).toMatchObject({ apiKey: 99, correlationId: 42, clientId: 'x', headerVersion: 1, bodyOffset: 11 });
  });

  it('fuzz: flipped bytes in captured frames decode or fail with a KafkaProtocolError, nothing else', () => {
    const random = prng(0x5eed);
    for (const name of fixtureNames()) {
      const original = fixture(name);
      for (let i = 0; i < 300; i++) {
        const frame = Buffer.from(original);
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; f++) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
        try {
          decodeWholeFrame(frame);
        } catch (e) {
          if (!isKafkaProtocolError(e) && !(e instanceof Error && e.message === 'not a known API')) {
            throw new Error(`${name} iteration ${i}: ${String(e)} (${frame.toString('hex')})`);
          }
        }
      }
    }
  });
});
