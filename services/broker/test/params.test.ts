// Query parameters are checked in one generic step against @strata/api's parameter specs (issue #11),
// with the codes and messages the handlers answered before.
import { describe, expect, it } from 'vitest';
import { partitionParam, queryParams } from '../src/http/params.js';

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
    expect(refusal(() => queryParams('listOffsets', q('at=soon'))).message).toMatch(/"at" must be earliest, latest or an integer, got "soon"/);
    expect(refusal(() => queryParams('listOffsets', q('at=-1'))).message).toMatch(/"at" must be >= 0/);
    expect(refusal(() => queryParams('fetchBatches', q(`offset=${'9'.repeat(30)}`))).code).toBe('INVALID_REQUEST');
  });

  it('reads the {partition} path parameter as a non-negative integer', () => {
    expect(partitionParam('3')).toBe(3);
    expect(refusal(() => partitionParam('-1'))).toEqual({ code: 'INVALID_REQUEST', message: 'partition must be a non-negative integer, got "-1"' });
  });
});
