// The bytes themselves: headers and their versions, compact encodings and
// tagged fields against hand-written bytes, what an encoder refuses, and
// records passed through as chunks rather than copied.

import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ApiKey,
  decodeMessage,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeMessage,
  encodeRequest,
  encodeResponse,
  FetchRequest,
  FetchResponse,
  KafkaError,
  ListOffsetsResponse,
  MetadataRequest,
  ProduceResponse,
  RECORDS_INLINE_COPY_MAX_BYTES,
  requestHeaderVersion,
  responseHeaderVersion,
  ZERO_UUID,
  type RequestBody,
} from '@strata/kafka-protocol';
import { expectProtocolError, LARGE_RECORDS } from './helpers.js';

const hex = (chunks: Buffer[]) => Buffer.concat(chunks).toString('hex');

describe('headers', () => {
  it('an ApiVersions response has header v0 in every version, flexible ones included (Kafka special case)', () => {
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    const bytes = encodeResponse(ApiKey.ApiVersions, 3, 7, { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }] });
    // size, correlation id, error, compact array of 1, key 0 min 3 max 11 + no tags, throttle 0, no tags.
    expect(hex(bytes)).toBe('00000013' + '00000007' + '0000' + '02' + '0000' + '0003' + '000b' + '00' + '00000000' + '00');
  });

  it('the unsupported-version answer: ApiVersions v0 with UNSUPPORTED_VERSION and the supported list', () => {
    const bytes = encodeResponse(ApiKey.ApiVersions, 0, 1, { errorCode: KafkaError.UNSUPPORTED_VERSION, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }] });
    expect(hex(bytes)).toBe('00000010' + '00000001' + '0023' + '00000001' + '0012' + '0000' + '0003');
  });

  it('other flexible responses have header v1 (a tag section after the correlation id)', () => {
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Metadata, 9)).toBe(1);
    const frame = Buffer.concat(encodeResponse(ApiKey.Metadata, 9, 5, { brokers: [], topics: [] })).subarray(4);
    expect(frame.subarray(0, 5).toString('hex')).toBe('00000005' + '00');
    expect(decodeResponse(ApiKey.Metadata, 9, frame).correlationId).toBe(5);
  });

  it('request header v2: tagged fields after a client id that stays non-compact', () => {
    expect(requestHeaderVersion(ApiKey.ApiVersions, 2)).toBe(1);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    // A newer ApiVersions than the schema knows is still flexible: its header is read right.
    expect(requestHeaderVersion(ApiKey.ApiVersions, 9)).toBe(2);
    expect(requestHeaderVersion(999, 0)).toBe(1);
    const frame = Buffer.concat(encodeRequest(ApiKey.ApiVersions, 3, 9, 'ab', { clientSoftwareName: 'x', clientSoftwareVersion: '1' })).subarray(4);
    expect(frame.toString('hex')).toBe('0012' + '0003' + '00000009' + '0002' + '6162' + '00' + '0278' + '0231' + '00');
    const header = decodeRequestHeader(frame);
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 9, clientId: 'ab', headerVersion: 2, bodyOffset: 13 });
    expect(decodeRequest(ApiKey.ApiVersions, 3, frame, header.bodyOffset)).toEqual({ clientSoftwareName: 'x', clientSoftwareVersion: '1' });
  });

  it('a null client id (v1) decodes as null', () => {
    const frame = Buffer.concat(encodeRequest(ApiKey.Metadata, 1, 1, null, { topics: null })).subarray(4);
    expect(decodeRequestHeader(frame).clientId).toBeNull();
  });
});

describe('flexible encodings', () => {
  it('compact strings, arrays and uuids (Metadata v10 request)', () => {
    const body = encodeMessage(MetadataRequest, 10, { topics: [{ topicId: ZERO_UUID, name: 'ab' }], allowAutoTopicCreation: false });
    // topics: 1 (+1), zero uuid, name "ab" (2 + 1), the topic's tags; three bools; the message's tags.
    expect(body.toString('hex')).toBe('02' + '00'.repeat(16) + '03' + '6162' + '00' + '00' + '00' + '00' + '00');
  });

  it('a tagged field is written only when it differs from its default, in tag order', () => {
    const partition = { partitionIndex: 0, errorCode: 0, highWatermark: 5n, records: Buffer.alloc(0) };
    const plain = encodeMessage(FetchResponse, 12, { responses: [{ topic: 't', partitions: [partition] }] });
    const tagged = encodeMessage(FetchResponse, 12, {
      responses: [{ topic: 't', partitions: [{ ...partition, currentLeader: { leaderId: 2, leaderEpoch: 3 } }] }],
    });
    // The partition's tag section grows from "00" (1 byte) to 12: count 1, tag 1, size 9, then leaderId, leaderEpoch, no nested tags.
    expect(tagged.length - plain.length).toBe(11);
    expect(tagged.toString('hex')).toContain('01' + '01' + '09' + '00000002' + '00000003' + '00');
    const decoded = decodeMessage(FetchResponse, 12, tagged);
    expect(decoded.responses[0]!.partitions[0]!.currentLeader).toEqual({ leaderId: 2, leaderEpoch: 3 });
    expect(decodeMessage(FetchResponse, 12, plain).responses[0]!.partitions[0]!.currentLeader).toEqual({ leaderId: -1, leaderEpoch: -1 });
  });
});

describe('versions and defaults', () => {
  it('a field absent in a version decodes as its default', () => {
    const v4 = decodeMessage(FetchRequest, 4, encodeMessage(FetchRequest, 4, { maxWaitMs: 1, minBytes: 1, topics: [] }));
    expect(v4).toMatchObject({ sessionId: 0, sessionEpoch: -1, rackId: '', replicaId: -1, maxBytes: 0x7fffffff });
  });

  it('an ignorable field is dropped in a version without it', () => {
    const body = encodeMessage(ProduceResponse, 0, {
      responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 1n, logAppendTimeMs: 5n }] }],
      throttleTimeMs: 10,
    });
    const decoded = decodeMessage(ProduceResponse, 0, body);
    expect(decoded.responses[0]!.partitionResponses[0]!.logAppendTimeMs).toBe(-1n);
    expect(decoded.throttleTimeMs).toBe(0);
  });

  it('a non-default value for a non-ignorable field the version lacks is refused (as Kafka does)', () => {
    expectProtocolError(
      () => encodeMessage(ListOffsetsResponse, 0, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, offset: 5n }] }] }),
      'field-not-in-version',
    );
    expectProtocolError(
      () => encodeMessage(FetchResponse, 10, { responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 0n, records: null, preferredReadReplica: 2 }] }] }),
      'field-not-in-version',
    );
    // The default itself is fine.
    encodeMessage(FetchResponse, 10, { responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 0n, records: null, preferredReadReplica: -1 }] }] });
  });

  it('values that do not fit are refused with a typed error', () => {
    const partition = { partitionIndex: 0, errorCode: 0, highWatermark: 0n, records: null };
    expectProtocolError(() => encodeMessage(FetchResponse, 4, { responses: [{ topic: 't', partitions: [{ ...partition, errorCode: 70000 }] }] }), 'invalid-value');
    expectProtocolError(() => encodeMessage(FetchResponse, 4, { responses: [{ topic: 'x'.repeat(40000), partitions: [] }] }), 'invalid-value');
    expectProtocolError(() => encodeMessage(FetchResponse, 13, { responses: [{ topicId: 'not-a-uuid', partitions: [] }] }), 'invalid-value');
    expectProtocolError(() => encodeMessage(FetchResponse, 4, { responses: [{ topic: null as unknown as string, partitions: [] }] }), 'null-not-allowed');
    expectProtocolError(() => encodeMessage(FetchResponse, 4, { responses: [{ topic: 't', partitions: [{ ...partition, highWatermark: 2n ** 63n }] }] }), 'invalid-value');
  });
});

describe('records pass through', () => {
  it('large record slices are chunks of the response, not copies; small ones are copied', () => {
    const small = Buffer.from('0102', 'hex');
    const chunks = encodeResponse(ApiKey.Fetch, 11, 3, {
      responses: [
        {
          topic: 't',
          partitions: [
            { partitionIndex: 0, errorCode: 0, highWatermark: 1n, records: LARGE_RECORDS },
            { partitionIndex: 1, errorCode: 0, highWatermark: 1n, records: small },
            { partitionIndex: 2, errorCode: 0, highWatermark: 1n, records: LARGE_RECORDS },
          ],
        },
      ],
    });
    expect(LARGE_RECORDS.length).toBeGreaterThan(RECORDS_INLINE_COPY_MAX_BYTES);
    expect(chunks.filter((c) => c === LARGE_RECORDS)).toHaveLength(2);
    expect(chunks).not.toContain(small);
    const frame = Buffer.concat(chunks);
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const { correlationId, body } = decodeResponse(ApiKey.Fetch, 11, frame.subarray(4));
    expect(correlationId).toBe(3);
    expect(body.responses[0]!.partitions.map((p) => p.records)).toEqual([LARGE_RECORDS, small, LARGE_RECORDS]);
  });
});

describe('types follow the schema', () => {
  it('decoded messages have the types the schema implies', () => {
    type Produce = RequestBody<typeof ApiKey.Produce>;
    expectTypeOf<Produce['acks']>().toEqualTypeOf<number>();
    expectTypeOf<Produce['transactionalId']>().toEqualTypeOf<string | null>();
    expectTypeOf<Produce['topicData'][number]['partitionData'][number]['records']>().toEqualTypeOf<Buffer | null>();
    type Fetch = RequestBody<typeof ApiKey.Fetch>;
    expectTypeOf<Fetch['topics'][number]['partitions'][number]['fetchOffset']>().toEqualTypeOf<bigint>();
    expectTypeOf<Fetch['topics'][number]['topicId']>().toEqualTypeOf<string>();
    expectTypeOf<RequestBody<typeof ApiKey.Metadata>['topics']>().toEqualTypeOf<{ topicId: string; name: string | null }[] | null>();
  });
});
