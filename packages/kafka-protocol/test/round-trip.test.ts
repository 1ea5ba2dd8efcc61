// Every message, request and response, in every version it has: a value with
// each present field set away from its default (tagged fields included) encodes
// and decodes back to itself, and re-encodes to the same bytes; a second value
// with every nullable field null does the same.

import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, MESSAGES, isFlexibleVersion, type MessageSchema } from '@strata/kafka-protocol';
import { sampleStruct, versionsOf } from './helpers.js';

const cases: [string, MessageSchema, number, boolean][] = [];
for (const { request, response } of Object.values(MESSAGES)) {
  for (const schema of [request, response] as MessageSchema[]) {
    for (const version of versionsOf(schema.validVersions)) {
      cases.push([schema.name, schema, version, false], [schema.name, schema, version, true]);
    }
  }
}

describe('round trip: every message, every version', () => {
  it('covers flexible and non-flexible versions', () => {
    expect(cases.some(([, s, v]) => isFlexibleVersion(s, v))).toBe(true);
    expect(cases.some(([, s, v]) => !isFlexibleVersion(s, v))).toBe(true);
    expect(cases.length).toBeGreaterThan(200);
  });

  it.each(cases)('%s v%i (nulls: %s)', (_name, schema, version, nulls) => {
    const value = sampleStruct(schema.fields, version, nulls);
    const bytes = encodeMessage(schema, version, value as never);
    const decoded = decodeMessage(schema, version, bytes);
    expect(decoded).toMatchObject(value);
    expect(encodeMessage(schema, version, decoded as never).equals(bytes)).toBe(true);
  });
});
