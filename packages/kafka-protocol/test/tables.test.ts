// The tables: the advertised version ranges against the schemas and against
// what old librdkafka needs, and Kafka's error codes.

import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, type ErrorCode } from '@strata/protocol';
import { ApiKey, KafkaError, KafkaErrorTable, kafkaErrorCodeFor, kafkaErrorInfo, MESSAGES, SUPPORTED_APIS, isKnownApiKey, isSupportedVersion, isValidVersion, apiKeyName } from '@strata/kafka-protocol';

describe('SUPPORTED_APIS', () => {
  it('every advertised version has a request and a response schema', () => {
    for (const [apiKey, span] of SUPPORTED_APIS) {
      expect(isKnownApiKey(apiKey), apiKeyName(apiKey)).toBe(true);
      const { request, response } = MESSAGES[apiKey as keyof typeof MESSAGES];
      for (let v = span.min; v <= span.max; v++) {
        expect(isValidVersion(request, v) && isValidVersion(response, v), `${apiKeyName(apiKey)} v${v}`).toBe(true);
      }
    }
  });

  it('follows issue #12: the probes of old clients, the flexible versions of new ones', () => {
    // Produce from 0: librdkafka 2.0.2 compresses gzip/snappy/lz4 only when Produce v0 is in range.
    expect(SUPPORTED_APIS.get(ApiKey.Produce)!.min).toBe(0);
    expect(SUPPORTED_APIS.get(ApiKey.Fetch)!.min).toBe(4);
    expect(SUPPORTED_APIS.get(ApiKey.Metadata)!.min).toBe(0);
    expect(SUPPORTED_APIS.get(ApiKey.ApiVersions)).toEqual({ min: 0, max: 3 });
    expect(SUPPORTED_APIS.get(ApiKey.Metadata)!.max).toBeGreaterThanOrEqual(9);
    expect(SUPPORTED_APIS.get(ApiKey.Fetch)!.max).toBeGreaterThanOrEqual(13);
  });

  it("keeps in range each version librdkafka 2.0.2's features depend on", () => {
    // rdkafka_feature.c: gzip/snappy/lz4 (Produce 0), MsgVer2 (Produce 3, Fetch 4), idempotence (InitProducerId 0), zstd (Produce 7, Fetch 10), offsets by time (ListOffsets 1).
    for (const [apiKey, version] of [
      [ApiKey.Produce, 0],
      [ApiKey.Produce, 3],
      [ApiKey.Fetch, 4],
      [ApiKey.InitProducerId, 0],
      [ApiKey.Produce, 7],
      [ApiKey.Fetch, 10],
      [ApiKey.ListOffsets, 1],
      [ApiKey.ApiVersions, 0],
    ] as const) {
      expect(isSupportedVersion(apiKey, version), `${apiKeyName(apiKey)} v${version}`).toBe(true);
    }
    expect(isSupportedVersion(ApiKey.Fetch, 3)).toBe(false);
  });
});

describe('Kafka error codes', () => {
  it('are unique by code and by name', () => {
    expect(new Set(KafkaErrorTable.map(([code]) => code)).size).toBe(KafkaErrorTable.length);
    expect(new Set(KafkaErrorTable.map(([, name]) => name)).size).toBe(KafkaErrorTable.length);
  });

  it("match Kafka's numbers and retriable flags", () => {
    expect(KafkaError.NONE).toBe(0);
    expect(KafkaError.OFFSET_OUT_OF_RANGE).toBe(1);
    expect(KafkaError.CORRUPT_MESSAGE).toBe(2);
    expect(KafkaError.UNKNOWN_TOPIC_OR_PARTITION).toBe(3);
    expect(KafkaError.NOT_LEADER_OR_FOLLOWER).toBe(6);
    expect(KafkaError.MESSAGE_TOO_LARGE).toBe(10);
    expect(KafkaError.INVALID_TOPIC_EXCEPTION).toBe(17);
    expect(KafkaError.NOT_ENOUGH_REPLICAS).toBe(19);
    expect(KafkaError.UNSUPPORTED_VERSION).toBe(35);
    expect(KafkaError.TOPIC_ALREADY_EXISTS).toBe(36);
    expect(KafkaError.POLICY_VIOLATION).toBe(44);
    expect(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER).toBe(45);
    expect(KafkaError.DUPLICATE_SEQUENCE_NUMBER).toBe(46);
    expect(KafkaError.INVALID_PRODUCER_EPOCH).toBe(47);
    expect(KafkaError.UNKNOWN_PRODUCER_ID).toBe(59);
    expect(KafkaError.FENCED_LEADER_EPOCH).toBe(74);
    expect(KafkaError.UNKNOWN_TOPIC_ID).toBe(100);
    expect(kafkaErrorInfo(6)).toEqual({ code: 6, name: 'NOT_LEADER_OR_FOLLOWER', retriable: true });
    expect(kafkaErrorInfo(35)!.retriable).toBe(false);
    expect(kafkaErrorInfo(12345)).toBeUndefined();
  });
});

describe('Strata codes as Kafka codes', () => {
  it('every Strata code has a Kafka code, retriable where Strata says so', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
      const info = kafkaErrorInfo(kafkaErrorCodeFor(code));
      expect(info, code).toBeDefined();
      if (ERROR_CATALOGUE[code].retriable) expect(info!.retriable, code).toBe(true);
    }
    expect(kafkaErrorCodeFor('NOT_LEADER')).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    expect(kafkaErrorCodeFor('UNKNOWN_TOPIC')).toBe(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    expect(kafkaErrorCodeFor('NOT_ENOUGH_REPLICAS')).toBe(KafkaError.NOT_ENOUGH_REPLICAS);
  });
});
