// GET /v1/openapi.json: @strata/api's generated document, with what only this broker knows: the
// error-code → status table, its caps on query parameters, and its topic-config table (every key
// with its range and default), so the document cannot drift from the code that enforces them.

import { buildOpenApiDocument as buildFromSchemas } from '@strata/api';
import { ERROR_CATALOGUE } from '@strata/protocol';
import type { BrokerConfig } from '../config.js';
import { TOPIC_CONFIG_KEYS, TOPIC_CONFIG_SPECS } from '../topics/topic-config.js';
import { ERROR_CODES, HTTP_STATUS_BY_CODE } from './errors.js';

type Json = Record<string, unknown>;

/** TopicConfigs as documented: each key of the table with its range (or values), meaning and default. */
function topicConfigsSchema(defaults: BrokerConfig['topicDefaults']['configs'] | undefined): Json {
  const properties: Json = {};
  for (const key of TOPIC_CONFIG_KEYS) {
    const spec = TOPIC_CONFIG_SPECS[key];
    let schema: Json;
    if (spec.kind === 'int') {
      const range: Json = { type: 'integer', minimum: spec.min, maximum: spec.max };
      const specials: Json[] = [];
      if (spec.minusOneMeans !== undefined) specials.push({ const: -1, description: spec.minusOneMeans });
      if (spec.minusTwoMeans !== undefined) specials.push({ const: -2, description: spec.minusTwoMeans });
      schema = specials.length > 0 ? { oneOf: [range, ...specials] } : range;
      schema = { anyOf: [schema, { type: 'string', pattern: '^-?\\d+$', description: 'the same integer as a string (Kafka style)' }] };
    } else {
      schema = { type: 'string', enum: [...spec.values] };
    }
    properties[key] = { ...schema, description: spec.description, ...(defaults ? { default: defaults[key] } : {}) };
  }
  return { type: 'object', properties, additionalProperties: false, description: 'Unknown keys and values out of range: INVALID_CONFIG (every problem listed).' };
}

export function buildOpenApiDocument(options: { serverUrl: string; config?: BrokerConfig }): Json {
  const config = options.config;
  return buildFromSchemas({
    serverUrl: options.serverUrl,
    errorStatuses: ERROR_CODES.map((code) => ({ code, status: HTTP_STATUS_BY_CODE[code], retriable: ERROR_CATALOGUE[code].retriable })),
    documented: { TopicConfigs: topicConfigsSchema(config?.topicDefaults.configs) },
    parameterBounds: config
      ? {
          maxRecords: { maximum: config.fetchMaxRecordsCap },
          maxBytes: { maximum: config.fetchMaxBytesCap },
          maxWaitMs: { maximum: config.fetchMaxWaitMsCap },
        }
      : {},
  });
}
