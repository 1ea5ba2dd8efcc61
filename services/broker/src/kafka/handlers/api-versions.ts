// ApiVersions (key 18), v0-3: the version range of every API this listener answers. A version
// newer than 3 gets a v0 answer with UNSUPPORTED_VERSION and the ranges, as Kafka does, so the
// client can fall back to one it shares.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import type { KafkaReply } from '../connection.js';
import type { KafkaRequest } from './context.js';
import { encodeResponse } from '@strata/kafka-protocol';

export interface ApiRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export function apiVersionsHandler(ranges: () => readonly ApiRange[], maxVersion: number): (request: KafkaRequest) => Promise<KafkaReply> {
  return async (request) => {
    const { apiVersion, correlationId } = request.header;
    // The body (client software name and version, v3+) is not needed: nothing depends on it.
    const apiKeys = ranges().map((r) => ({ apiKey: r.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion }));
    if (apiVersion > maxVersion || apiVersion < 0) {
      return { kind: 'respond', chunks: encodeResponse(ApiKey.ApiVersions, 0, correlationId, { errorCode: KafkaError.UNSUPPORTED_VERSION, apiKeys }) };
    }
    return { kind: 'respond', chunks: encodeResponse(ApiKey.ApiVersions, apiVersion, correlationId, { errorCode: KafkaError.NONE, apiKeys, throttleTimeMs: 0 }) };
  };
}
