/**
 * Request generation for the HTTP API fuzz (http-fuzz.test.ts): valid requests built from the
 * broker's own OpenAPI document, then mutated (wrong types, missing and extra fields, hostile
 * numbers and strings, `__proto__` keys, path traversal, odd content types, broken JSON, wrong
 * methods, RecordBatch bodies with flipped bytes).
 *
 * Everything here draws only from the SeededRandom it is given and never from the broker's
 * answers, so the request sequence is a function of the seed (and of the batches' create time):
 * STRATA_SEED replays it.
 */
import { compressionUnavailable, encodeRecordBatch } from '@strata/protocol';
import type { SeededRandom } from '../harness/index.js';

/** The codecs a produce body may use: every one this Node can write (zstd needs Node >= 22.15). */
const WRITABLE_CODECS = (['gzip', 'snappy', 'lz4', 'zstd'] as const).filter((c) => compressionUnavailable(c) === null);

export const RECORD_BATCH_MEDIA_TYPE = 'application/vnd.kafka.record-batch';

type Json = Record<string, unknown>;

/** The names the generator uses for path and body fields; some exist on the broker, some do not. */
export interface FuzzPools {
  topics: readonly string[];
  groups: readonly string[];
  members: readonly string[];
}

export interface FuzzRequest {
  /** Which generator made it: valid, mutated-body, bad-json, wrong-method, ... */
  kind: string;
  /** The OpenAPI operation (or `path METHOD` for a wrong method). */
  operation: string;
  method: string;
  /** Path and query exactly as sent (already percent-encoded where meant to be). */
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Sent over a raw socket: the path or method is something an HTTP client library refuses to send. */
  raw: boolean;
}

/** Text emitted verbatim by toJsonText: numbers JSON.stringify cannot write, deep nesting. */
class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text, with RawJson inlined; an own `__proto__` key is written like any other. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  return `{${Object.keys(value)
    .map((key) => `${JSON.stringify(key)}:${toJsonText((value as Json)[key])}`)
    .join(',')}}`;
}

const HOSTILE_NUMBERS = [
  '-1', '0', '-0', '1.5', '1e308', '1e999', '-1e999', 'NaN', 'Infinity', '-Infinity', '9007199254740991', '9007199254740993',
  '-9007199254740993', '18446744073709551616', '123456789012345678901234567890', '2147483648', '-2147483649', '0.0000001',
];
const HOSTILE_STRINGS = [
  '', ' ', '.', '..', '../../etc/passwd', '..\\..\\windows', '%2e%2e%2f', '__proto__', 'constructor', 'prototype', 'toString',
  'hasOwnProperty', '\u0000', 'a\u0000b', '\uFFFF', '\uD800', '💩'.repeat(8), 'ä€𝄞', '\u202Eevil', '<script>', 'null', '-1', 'NaN',
  '${jndi:ldap://x}', 'A'.repeat(250), 'A'.repeat(4096),
];
/** Path segments, as sent (so already percent-encoded, or deliberately not). */
const HOSTILE_SEGMENTS = [
  '..', '.', '%2e%2e', '%2e%2e%2f', '..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fetc', '..%5c..%5c', '%00', 'a%00b', '%', '%zz', '%C0%AE',
  '%E0%80%AF', '%F0%9F%92%A9', '%ED%A0%80', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', '-1', '1.5', '1e3', '0x10',
  '99999999999999999999', '%20', '%2F', 'a%2Fb', '%3F', '%23', '+', 'NaN', 'Infinity', 'a'.repeat(249), 'a'.repeat(250), 'a'.repeat(4000),
  '%E2%80%AE', '%EF%BB%BF', '~', '*', 'CON', 'nul',
];
const CONTENT_TYPES = [
  'text/plain', 'application/json; charset=utf-16', 'application/xml', 'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded', RECORD_BATCH_MEDIA_TYPE, `${RECORD_BATCH_MEDIA_TYPE}; foo=bar`, 'application/problem+json',
  ';;;', '', 'application/octet-stream', 'APPLICATION/JSON', 'x'.repeat(2000),
];
/** Every this many requests, one re-creates a pool topic. */
const REPLENISH_EVERY = 25;
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD'];

export class RequestGenerator {
  readonly #doc: Json;
  /** [path template, method, operation] for every operation in the document. */
  readonly operations: Array<{ path: string; method: string; operationId: string; op: Json; pathItem: Json }> = [];
  readonly #weighted: RequestGenerator['operations'];
  #issued = 0;

  /**
   * `nowMs`: the create time stamped on generated batches (a replay differs only there, and in the
   * CRC that covers it; a fixed time in the past would meet retention).
   */
  constructor(doc: Json, private readonly rng: SeededRandom, private readonly pools: FuzzPools, private readonly nowMs = Date.now()) {
    this.#doc = doc;
    const paths = doc.paths as Record<string, Json>;
    for (const [path, item] of Object.entries(paths)) {
      for (const method of ['get', 'post', 'patch', 'delete', 'put']) {
        const op = item[method] as Json | undefined;
        if (op) this.operations.push({ path, method: method.toUpperCase(), operationId: String(op.operationId), op, pathItem: item });
      }
    }
    // Operations that take a body are drawn most (they have the most to get wrong), deletes least
    // (a deleted topic turns what follows into 404s).
    this.#weighted = this.operations.flatMap((o) => {
      const weight = o.op.requestBody !== undefined ? 4 : o.method === 'DELETE' ? 1 : 2;
      return Array.from({ length: weight }, () => o);
    });
  }

  /** The next request: about 40% valid, the rest mutated in one way each. */
  next(): FuzzRequest {
    this.#issued++;
    if (this.#issued % REPLENISH_EVERY === 0) return this.#replenish();
    const target = this.rng.pick(this.#weighted);
    const roll = this.rng.next();
    const request = this.#valid(target);
    if (roll < 0.4) return request;
    if (roll < 0.55) return this.#mutateBody(request, target);
    if (roll < 0.67) return this.#mutateQuery(request, target);
    if (roll < 0.78) return this.#mutatePath(request, target);
    if (roll < 0.85) return this.#mutateContentType(request);
    if (roll < 0.9) return this.#brokenJson(request);
    if (roll < 0.95) return this.#wrongMethod(request, target);
    return this.#rawSocket(request);
  }

  /** Re-creates one of the pool's first two topics (the fuzz deletes them now and then); 409 when it exists. */
  #replenish(): FuzzRequest {
    const name = this.pools.topics[this.rng.int(0, 1)]!;
    const body = Buffer.from(JSON.stringify({ name, partitions: 3 }));
    return { kind: 'replenish', operation: 'createTopic', method: 'POST', path: '/v1/topics', headers: { 'content-type': 'application/json' }, body, raw: false };
  }

  // ---------- valid requests, from the schemas ----------

  #valid(target: RequestGenerator['operations'][number]): FuzzRequest {
    const params = [...((target.pathItem.parameters as Json[] | undefined) ?? []), ...((target.op.parameters as Json[] | undefined) ?? [])].map(
      (p) => this.#resolve(p),
    );
    let path = target.path;
    const query: Array<[string, string]> = [];
    for (const param of params) {
      const name = String(param.name);
      if (param.in === 'path') {
        path = path.replace(`{${name}}`, encodeURIComponent(String(this.#value(param.schema as Json, name, 0))));
      } else if (param.in === 'query' && (param.required === true || this.rng.next() < 0.5)) {
        query.push([name, String(this.#value(param.schema as Json, name, 0))]);
      }
    }
    const headers: Record<string, string> = {};
    let body: Buffer | undefined;
    const content = ((target.op.requestBody as Json | undefined)?.content ?? undefined) as Record<string, Json> | undefined;
    if (content?.['application/json']) {
      headers['content-type'] = 'application/json';
      body = Buffer.from(toJsonText(this.#value(content['application/json'].schema as Json, 'body', 0)));
    } else if (content?.[RECORD_BATCH_MEDIA_TYPE]) {
      headers['content-type'] = RECORD_BATCH_MEDIA_TYPE;
      body = this.#batches();
    }
    return { kind: 'valid', operation: target.operationId, method: target.method, path: withQuery(path, query), headers, body, raw: false };
  }

  #resolve(node: Json): Json {
    let current = node;
    for (let hops = 0; typeof current.$ref === 'string' && hops < 16; hops++) {
      let resolved: unknown = this.#doc;
      for (const part of (current.$ref as string).replace(/^#\//, '').split('/')) resolved = (resolved as Json)[part];
      current = { ...(resolved as Json), ...Object.fromEntries(Object.entries(current).filter(([k]) => k !== '$ref')) };
    }
    return current;
  }

  /** A value that fits `schema`; `hint` (the field's name) picks names from the pools. */
  #value(schemaIn: Json | undefined, hint: string, depth: number): unknown {
    if (schemaIn === undefined) return this.#anyJson(depth);
    const schema = this.#resolve(schemaIn);
    // A record's key and value take any JSON in the schema (their encoding decides): mostly text,
    // which every encoding but base64 accepts, so most produces get past validation.
    if (schema.type === undefined && (hint === 'key' || hint === 'value') && this.rng.next() < 0.7) return this.rng.string(this.rng.int(0, 32));
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum)) return this.rng.pick(schema.enum as unknown[]);
    const branches = (schema.oneOf ?? schema.anyOf) as Json[] | undefined;
    if (branches) return this.#value(this.rng.pick(branches), hint, depth + 1);
    const type = Array.isArray(schema.type) ? this.rng.pick(schema.type as string[]) : (schema.type as string | undefined);
    switch (type) {
      case 'integer':
      case 'number':
        return this.#integer(schema, hint);
      case 'string':
        return this.#string(schema, hint);
      case 'boolean':
        return this.rng.next() < 0.5;
      case 'null':
        return null;
      case 'array': {
        const min = Number(schema.minItems ?? 0);
        const count = min + this.rng.int(0, 3);
        return Array.from({ length: count }, () => this.#value(schema.items as Json | undefined, singular(hint), depth + 1));
      }
      case 'object': {
        const out: Json = {};
        const required = new Set((schema.required as string[] | undefined) ?? []);
        for (const [key, sub] of Object.entries((schema.properties as Record<string, Json> | undefined) ?? {})) {
          if (required.has(key) || this.rng.next() < 0.5) out[key] = this.#value(sub, key, depth + 1);
        }
        const extra = schema.additionalProperties;
        if (extra && typeof extra === 'object') {
          for (let i = this.rng.int(0, 2); i > 0; i--) out[this.rng.string(this.rng.int(1, 6))] = this.#value(extra as Json, 'value', depth + 1);
        }
        return out;
      }
      default:
        return this.#anyJson(depth);
    }
  }

  #integer(schema: Json, hint: string): number {
    if (hint === 'partition' || hint === 'partitions') return this.rng.int(0, 2);
    if (hint === 'offset' || hint === 'value') return this.rng.int(0, 40);
    if (hint === 'maxWaitMs') return this.rng.int(0, 50);
    const min = typeof schema.minimum === 'number' ? schema.minimum : 0;
    const max = typeof schema.maximum === 'number' ? schema.maximum : min + 1000;
    // Mostly small values; the bounds themselves sometimes (partitions: a few, not thousands of files).
    if (this.rng.next() < 0.1) return this.rng.pick([min, max]);
    return this.rng.int(min, Math.min(max, min + 8));
  }

  #string(schema: Json, hint: string): string {
    // Mostly the topics that exist (the first two), so requests reach past the 404.
    if (hint === 'topic' || hint === 'topics' || hint === 'name') return this.rng.next() < 0.6 ? this.pools.topics[this.rng.int(0, 1)]! : this.rng.pick(this.pools.topics);
    if (hint === 'group') return this.rng.pick(this.pools.groups);
    if (hint === 'member' || hint === 'memberId') return this.rng.pick(this.pools.members);
    if (schema.format === 'uri') return `http://127.0.0.1:${this.rng.int(1, 65535)}`;
    const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : null;
    const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : 24;
    for (let tries = 0; tries < 4; tries++) {
      const text = this.rng.string(this.rng.int(1, Math.min(maxLength, 24)));
      if (pattern === null || pattern.test(text)) return text;
    }
    return String(this.rng.int(0, 9));
  }

  #anyJson(depth: number): unknown {
    const kind = this.rng.int(0, depth > 2 ? 3 : 5);
    switch (kind) {
      case 0:
        return this.rng.string(this.rng.int(0, 20));
      case 1:
        return this.rng.int(-1000, 1000);
      case 2:
        return null;
      case 3:
        return this.rng.next() < 0.5;
      case 4:
        return Array.from({ length: this.rng.int(0, 3) }, () => this.#anyJson(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: this.rng.int(0, 3) }, () => [this.rng.string(4), this.#anyJson(depth + 1)]));
    }
  }

  /** One or more whole RecordBatch v2 batches, uncompressed or compressed with one of the codecs this Node writes. */
  #batches(): Buffer {
    const batches: Buffer[] = [];
    for (let b = this.rng.int(1, 3); b > 0; b--) {
      const records = Array.from({ length: this.rng.int(1, 20) }, () => ({
        key: this.rng.next() < 0.5 ? null : Buffer.from(this.rng.string(this.rng.int(0, 8))),
        value: this.rng.next() < 0.1 ? null : Buffer.from(this.rng.string(this.rng.int(0, 64))),
        headers: this.rng.next() < 0.3 ? [{ key: this.rng.string(3), value: Buffer.from(this.rng.string(5)) }] : [],
      }));
      const compression = this.rng.next() < 0.3 ? this.rng.pick(WRITABLE_CODECS) : 'none';
      batches.push(encodeRecordBatch(records, { compression, now: this.nowMs }));
    }
    return Buffer.concat(batches);
  }

  // ---------- mutations ----------

  #hostileValue(): unknown {
    switch (this.rng.int(0, 7)) {
      case 0:
        return new RawJson(this.rng.pick(HOSTILE_NUMBERS));
      case 1:
        return this.rng.pick(HOSTILE_STRINGS);
      case 2:
        return this.rng.pick([null, true, false, [], {}, [null], [[]], { '': null }]);
      case 3:
        return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}') as unknown;
      case 4:
        return 'x'.repeat(this.rng.pick([1_000, 65_536, 1_000_000]));
      case 5: {
        // Nesting: shallow to deep (values nested >= 5,000 levels are issue #10 item 7).
        const depth = this.rng.pick([10, 100, 1_000, 6_000]);
        return new RawJson('['.repeat(depth) + ']'.repeat(depth));
      }
      case 6:
        return Array.from({ length: this.rng.pick([100, 10_000]) }, () => this.rng.int(0, 3));
      default:
        return this.rng.int(-5, 5);
    }
  }

  #mutateBody(request: FuzzRequest, target: RequestGenerator['operations'][number]): FuzzRequest {
    if (request.body === undefined) return { ...this.#mutateQuery(request, target), kind: 'mutated-query' };
    if (request.headers['content-type'] === RECORD_BATCH_MEDIA_TYPE) return this.#mutateBatches(request);
    const value = JSON.parse(request.body.toString('utf8')) as unknown;
    const mutated = this.#mutateValue(value, 0);
    return { ...request, kind: 'mutated-body', body: Buffer.from(toJsonText(mutated)) };
  }

  /** One change somewhere in the tree: a replaced value, a removed or an extra key. */
  #mutateValue(value: unknown, depth: number): unknown {
    const descend = depth < 6 && this.rng.next() < 0.6;
    if (Array.isArray(value) && value.length > 0 && descend) {
      const copy = [...value];
      const i = this.rng.int(0, copy.length - 1);
      copy[i] = this.#mutateValue(copy[i], depth + 1);
      return copy;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const copy: Json = { ...(value as Json) };
      const keys = Object.keys(copy);
      const roll = this.rng.next();
      if (keys.length > 0 && descend) {
        const key = this.rng.pick(keys);
        copy[key] = this.#mutateValue(copy[key], depth + 1);
        return copy;
      }
      if (keys.length > 0 && roll < 0.35) {
        delete copy[this.rng.pick(keys)];
        return copy;
      }
      if (roll < 0.7) {
        const key = this.rng.pick(['__proto__', 'constructor', 'prototype', 'toString', this.rng.string(5), '']);
        // An own property even for __proto__ (what JSON.parse makes of it on the broker).
        Object.defineProperty(copy, key, { value: this.#hostileValue(), enumerable: true, configurable: true, writable: true });
        return copy;
      }
    }
    return this.#hostileValue();
  }

  #mutateBatches(request: FuzzRequest): FuzzRequest {
    const body = Buffer.from(request.body ?? Buffer.alloc(0));
    const roll = this.rng.int(0, 6);
    let out: Buffer;
    if (roll <= 2 && body.length > 0) {
      // Flip bits: anywhere, or in the header fields that frame the batch (length, magic, crc, count).
      for (let flips = this.rng.int(1, 4); flips > 0; flips--) {
        const at = this.rng.next() < 0.5 ? this.rng.pick([8, 9, 10, 11, 16, 17, 18, 19, 20, 57, 58, 59, 60]) : this.rng.int(0, body.length - 1);
        if (at < body.length) body[at] = body[at]! ^ (1 << this.rng.int(0, 7));
      }
      out = body;
    } else if (roll === 3) {
      out = body.subarray(0, this.rng.int(0, body.length));
    } else if (roll === 4) {
      out = Buffer.concat([body, Buffer.from(this.rng.string(this.rng.int(1, 100)))]);
    } else if (roll === 5) {
      out = Buffer.from(Array.from({ length: this.rng.int(0, 200) }, () => this.rng.int(0, 255)));
    } else {
      // A huge declared batch length or record count.
      out = body;
      if (out.length >= 61) {
        if (this.rng.next() < 0.5) out.writeInt32BE(this.rng.pick([0x7fffffff, -1, 0, 49]), 8);
        else out.writeInt32BE(this.rng.pick([0x7fffffff, -1, 0, 1_000_000]), 57);
      }
    }
    return { ...request, kind: 'mutated-batches', body: out };
  }

  #mutateQuery(request: FuzzRequest, target: RequestGenerator['operations'][number]): FuzzRequest {
    const url = new URL(request.path, 'http://x');
    const names = [...((target.op.parameters as Json[] | undefined) ?? [])].map((p) => String(this.#resolve(p).name));
    const name = names.length > 0 && this.rng.next() < 0.8 ? this.rng.pick(names) : this.rng.pick(['__proto__', 'constructor', this.rng.string(4)]);
    const roll = this.rng.int(0, 3);
    const value = this.rng.pick([...HOSTILE_NUMBERS, ...HOSTILE_STRINGS.slice(0, 24), ' 1', '0x10', '1,2', '[]', 'x'.repeat(8000)]);
    if (roll === 0) url.searchParams.delete(name);
    else if (roll === 1) url.searchParams.set(name, value);
    else url.searchParams.append(name, value);
    return { ...request, kind: 'mutated-query', path: url.pathname + url.search };
  }

  #mutatePath(request: FuzzRequest, target: RequestGenerator['operations'][number]): FuzzRequest {
    const templateParts = target.path.split('/');
    const parts = request.path.split('?')[0]!.split('/');
    const search = request.path.includes('?') ? request.path.slice(request.path.indexOf('?')) : '';
    const paramAt = templateParts.flatMap((part, i) => (part.startsWith('{') ? [i] : []));
    const roll = this.rng.next();
    if (paramAt.length > 0 && roll < 0.7) parts[this.rng.pick(paramAt)] = this.rng.pick(HOSTILE_SEGMENTS);
    else if (roll < 0.8) parts.push(this.rng.pick(['', '..', 'x', '%2e%2e']));
    else if (roll < 0.9) parts.splice(this.rng.int(1, parts.length - 1), 0, '');
    else parts[this.rng.int(1, parts.length - 1)] = this.rng.pick(['..', '.', 'V1', 'topics%2F..']);
    return { ...request, kind: 'mutated-path', path: parts.join('/') + search };
  }

  #mutateContentType(request: FuzzRequest): FuzzRequest {
    const headers: Record<string, string> = { ...request.headers, 'content-type': this.rng.pick(CONTENT_TYPES) };
    if (this.rng.next() < 0.2) delete headers['content-type'];
    const body = request.body ?? (this.rng.next() < 0.5 ? Buffer.from('{"records":[{"value":"x"}]}') : undefined);
    return { ...request, kind: 'content-type', headers, body };
  }

  #brokenJson(request: FuzzRequest): FuzzRequest {
    const text = request.body?.toString('latin1') ?? '{"records":[{"value":"x"}]}';
    const broken = this.rng.pick([
      () => text.slice(0, this.rng.int(0, Math.max(0, text.length - 1))),
      () => `${text}}}`,
      () => `\uFEFF${text}`,
      () => text.replace(/"/g, "'"),
      () => '',
      () => '   ',
      () => 'null',
      () => '[]',
      () => '"text"',
      () => '123',
      () => '{"a":1,"a":2}',
      () => '{"__proto__":{"x":1},"records":[{"value":"x"}]}',
      () => text.replace(/:/, ':\u0000'),
      () => Buffer.from(Array.from({ length: 64 }, () => this.rng.int(0, 255))).toString('latin1'),
    ])();
    const headers = { ...request.headers, 'content-type': 'application/json' };
    return { ...request, kind: 'bad-json', headers, body: Buffer.from(broken, 'latin1') };
  }

  #wrongMethod(request: FuzzRequest, target: RequestGenerator['operations'][number]): FuzzRequest {
    const allowed = new Set(['get', 'post', 'patch', 'delete', 'put'].filter((m) => target.pathItem[m] !== undefined).map((m) => m.toUpperCase()));
    const others = METHODS.filter((m) => !allowed.has(m));
    const method = others.length > 0 ? this.rng.pick(others) : 'PUT';
    return { ...request, kind: 'wrong-method', method };
  }

  /** What client libraries refuse to send: unknown methods, absolute URLs, raw bytes in the path, bad headers. */
  #rawSocket(request: FuzzRequest): FuzzRequest {
    const roll = this.rng.int(0, 8);
    const out: FuzzRequest = { ...request, kind: 'raw', raw: true, headers: { ...request.headers } };
    if (roll === 0) out.method = this.rng.pick(['FOO', 'get', 'PROPFIND', 'TRACE', 'CONNECT', 'M-SEARCH']);
    else if (roll === 1) out.path = `http://evil.example${request.path}`;
    else if (roll === 2) out.path = request.path.replace(/\/v1\//, '/v1/../v1/./');
    else if (roll === 3) out.path = `${request.path}${request.path.includes('?') ? '&' : '?'}q=ä€ 💩`;
    else if (roll === 4) out.path = request.path.replace(/[^/]+$/, (last) => `${last}\u0000x`);
    else if (roll === 5) out.headers['content-length'] = this.rng.pick(['-1', 'abc', '1e3', '99999999999999999999', '0, 5']);
    else if (roll === 6) out.headers['transfer-encoding'] = this.rng.pick(['chunked', 'gzip', 'identity, chunked']);
    else if (roll === 7) Object.assign(out.headers, { connection: 'Upgrade', upgrade: this.rng.pick(['websocket', 'h2c', 'x']) });
    else out.headers['x-long'] = 'y'.repeat(this.rng.pick([1_000, 20_000]));
    return out;
  }
}

function withQuery(path: string, query: Array<[string, string]>): string {
  if (query.length === 0) return path;
  return `${path}?${query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

function singular(hint: string): string {
  return hint.endsWith('s') ? hint.slice(0, -1) : hint;
}
