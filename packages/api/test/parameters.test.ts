// Path and query parameters are read and checked in one generic step against the parameter specs of
// the route table (issue #11), with the codes and messages the handlers answered before; path
// parameters by the same rules as the body fields they name (protocol's name rule, partition >= 0).
import { describe, expect, it } from 'vitest';
import { groupIdProblem, topicNameProblem } from '@strata/protocol';
import { PARAMETERS, pathParams, problemsOf, queryParams } from '../src/index.js';

const q = (text: string) => new URLSearchParams(text);
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  throw new Error('expected a refusal');
};

describe('queryParams', () => {
  it('reads integers, enums and their union by the route spec; absent optional ones are undefined', () => {
    expect(queryParams('fetchRecords', q('offset=5&maxBytes=10&keyEncoding=base64'))).toMatchObject({ offset: 5, maxBytes: 10, keyEncoding: 'base64', maxWaitMs: undefined });
    expect(queryParams('produceRecords', q('acks=-1')).acks).toBe('-1');
    expect(queryParams('listOffsets', q('at=earliest')).at).toBe('earliest');
    expect(queryParams('listOffsets', q('at=1700000000000')).at).toBe(1_700_000_000_000);
    expect(queryParams('fetchGroupOffsets', q('topic=orders')).topic).toBe('orders');
  });

  it('refuses bad values with INVALID_REQUEST naming the parameter', () => {
    expect(refusal(() => queryParams('fetchBatches', q('')))).toEqual({ code: 'INVALID_REQUEST', message: 'query parameter "offset" is required' });
    expect(refusal(() => queryParams('fetchBatches', q('offset=1.5')))).toEqual({ code: 'INVALID_REQUEST', message: 'query parameter "offset" must be an integer, got "1.5"' });
    expect(refusal(() => queryParams('fetchBatches', q('offset=0&maxBytes=0')))).toEqual({ code: 'INVALID_REQUEST', message: 'query parameter "maxBytes" must be >= 1, got 0' });
    expect(refusal(() => queryParams('produceBatches', q('acks=2')))).toEqual({ code: 'INVALID_REQUEST', message: 'query parameter "acks" must be one of 0, 1, all, -1, got "2"' });
    expect(refusal(() => queryParams('listOffsets', q('at=soon'))).message).toMatch(/"at" must be earliest, latest, max-timestamp or an integer, got "soon"/);
    expect(refusal(() => queryParams('listOffsets', q('at=-1'))).message).toMatch(/"at" must be >= 0/);
    expect(refusal(() => queryParams('fetchBatches', q(`offset=${'9'.repeat(30)}`))).code).toBe('INVALID_REQUEST');
  });
  it('each spec keeps its own reading of its schema: answers do not depend on which parameters were read before (it is cached per spec)', () => {
    for (let round = 0; round < 3; round++) {
      expect(queryParams('produceBatches', q('acks=1')).acks).toBe('1');
      expect(queryParams('listOffsets', q('at=latest')).at).toBe('latest');
      expect(queryParams('listOffsets', q('at=7')).at).toBe(7);
      expect(refusal(() => queryParams('produceBatches', q('acks=2')))).toEqual({ code: 'INVALID_REQUEST', message: 'query parameter "acks" must be one of 0, 1, all, -1, got "2"' });
      expect(refusal(() => queryParams('listOffsets', q('at=later'))).code).toBe('INVALID_REQUEST');
      expect(pathParams({ topic: 'orders', partition: '3' })).toEqual({ topic: 'orders', partition: 3 });
    }
  });
});

describe('pathParams', () => {
  it('reads {partition} as a number and the names as text', () => {
    expect(pathParams({ topic: 'orders', partition: '3' })).toEqual({ topic: 'orders', partition: 3 });
    expect(pathParams({ group: 'billing', member: '5f0c1b9e-8a1d-4c8f-9a63-0d6f1f2a7b10' })).toEqual({ group: 'billing', member: '5f0c1b9e-8a1d-4c8f-9a63-0d6f1f2a7b10' });
  });

  it.each(['abc', '-1', '1e3', '1.0', '0x1', ' 1', '', '99999999999999999999'])('refuses the partition %j with INVALID_REQUEST naming the parameter', (text) => {
    const { code, message } = refusal(() => pathParams({ topic: 'orders', partition: text }));
    expect(code).toBe('INVALID_REQUEST');
    expect(message).toMatch(/^path parameter "partition" must be (an integer|>= 0)/);
  });

  it('refuses a topic name or group id that breaks the name rule with the code a body field answers', () => {
    expect(refusal(() => pathParams({ topic: 'a b' }))).toEqual({
      code: 'INVALID_TOPIC',
      message: 'path parameter "topic" must be 1..249 of [a-zA-Z0-9._-], not "." or "..", got "a b"',
    });
    expect(refusal(() => pathParams({ group: 'g'.repeat(250) })).code).toBe('INVALID_GROUP_ID');
    expect(refusal(() => pathParams({ member: 'a/b' })).code).toBe('INVALID_REQUEST');
  });

  it('a name parameter is exactly protocol\'s name rule (the one copy), so path and body cannot disagree', () => {
    const samples = ['orders', 'a', '.', '..', '...', '.a', 'a.b', 'a_b-C.9', 'a b', 'a/b', 'tópico', '', 'x'.repeat(249), 'x'.repeat(250), 'a\n', 'ab*'];
    for (const name of samples) {
      expect(problemsOf(PARAMETERS.topic.schema, name).length === 0, `topic ${JSON.stringify(name)}`).toBe(topicNameProblem(name) === null);
      expect(problemsOf(PARAMETERS.group.schema, name).length === 0, `group ${JSON.stringify(name)}`).toBe(groupIdProblem(name) === null);
    }
  });

  it('a path parameter the table does not declare is a bug, not a value', () => {
    expect(() => pathParams({ colour: 'red' })).toThrow(/not declared/);
    expect(() => pathParams({ acks: '1' })).toThrow(/not declared/); // a query parameter
  });
});
