import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from '../src/http/request-target.js';

/** What the request listener used before the fast path: the WHATWG parser. */
function viaUrl(target: string): { pathname: string; search: string; query: string[][] } | 'invalid' {
  try {
    const url = new URL(target, 'http://broker');
    return { pathname: url.pathname, search: url.search, query: [...url.searchParams] };
  } catch {
    return 'invalid';
  }
}

function viaFastPath(target: string): { pathname: string; search: string; query: string[][] } | 'invalid' {
  try {
    const parsed = parseRequestTarget(target);
    return { pathname: parsed.pathname, search: parsed.search, query: [...parsed.searchParams] };
  } catch (e) {
    expect((e as { code?: string }).code).toBe('INVALID_REQUEST');
    return 'invalid';
  }
}

describe('parseRequestTarget', () => {
  it('gives what URL gives for the targets of the hot paths and for the awkward ones', () => {
    const targets = [
      '/',
      '/v1/topics/orders.v1/partitions/0/batches?acks=1',
      '/v1/topics/t/records?acks=all',
      '/v1/topics/t/partitions/3/batches?offset=10&maxBytes=1048576&maxWaitMs=0',
      '/v1/topics/t/partitions/0/batches?',
      '/v1/topics/a%20b/records',
      '/v1/topics/%2e%2e/records',
      '/v1/topics/../../metrics',
      '/v1/./topics',
      '/v1/topics/.hidden',
      '//evil/v1/topics',
      'http://evil/v1/topics?x=1',
      '/v1/topics/t#frag',
      '/v1/topics/t?q=a b',
      "/v1/topics/t?q='x'",
      '/v1/topics/é',
      '/v1\\topics',
      '/v1/topics/{t}',
      '/v1/topics/t?a=%zz&b=%41&c=+&d',
      '*',
      '',
    ];
    for (const target of targets) expect(viaFastPath(target), target).toEqual(viaUrl(target));
  });

  it('agrees with URL on random targets (fixed seed)', () => {
    const alphabet = "abz09-._~!$&'()*+,;=:@/%?#2eE \\\"<>`{}|^[]é\t";
    let seed = 0x5eed;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let n = 0; n < 20_000; n++) {
      let target = '/';
      const length = next() % 24;
      for (let i = 0; i < length; i++) target += alphabet[next() % alphabet.length];
      expect(viaFastPath(target), JSON.stringify(target)).toEqual(viaUrl(target));
    }
  });
});
