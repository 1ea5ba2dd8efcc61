/**
 * A tiny HTTP helper for tests: JSON in, JSON out, the status always visible (tests assert on
 * error answers as much as on successes). Raw bytes for the batch endpoints.
 */
import { Agent, request, type Dispatcher } from 'undici';

/** TLS to an https:// broker: its CA and, for mTLS, a client certificate (PEM contents). */
export interface HttpClientTls {
  ca: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
}

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface HttpRequestOptions {
  /** Query parameters (undefined values are left out). */
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Deadline for the whole exchange (default 30 s). */
  timeoutMs?: number;
}

/** Any JSON body: tests read fields freely and assert on them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** Tries of HttpClient.latestOffset, 100 ms apart: a take-over settles well within 10 s. */
const LATEST_OFFSET_ATTEMPTS_MAX = 100;

export class HttpClient {
  readonly baseUrl: string;
  readonly #dispatcher: Dispatcher | undefined;

  constructor(baseUrl: string, tls?: HttpClientTls) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    // No kept-alive connection outlives a test: each exchange closes its own (as the global one's are reused).
    this.#dispatcher = tls === undefined ? undefined : new Agent({ connect: { ...tls } });
  }

  get(path: string, options?: HttpRequestOptions): Promise<HttpAnswer<Json>> {
    return this.json('GET', path, undefined, options);
  }

  /**
   * A partition's latest offset (its high watermark). A leader that just took over answers
   * OFFSET_NOT_AVAILABLE (503, retriable) until its followers catch it up, and a partition between
   * leaders NOT_LEADER: both are retried, bounded (LATEST_OFFSET_ATTEMPTS_MAX × 100 ms).
   */
  async latestOffset(topic: string, partition: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.get(`/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/offsets?at=latest`);
      if (answer.status === 200 && Number.isSafeInteger(answer.body.offset)) return answer.body.offset as number;
      if (answer.status !== 503 || attempt >= LATEST_OFFSET_ATTEMPTS_MAX) throw new Error(`latest offset of ${topic}/${partition}: ${answer.status} ${JSON.stringify(answer.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  post(path: string, body?: unknown, options?: HttpRequestOptions): Promise<HttpAnswer<Json>> {
    return this.json('POST', path, body, options);
  }

  patch(path: string, body?: unknown, options?: HttpRequestOptions): Promise<HttpAnswer<Json>> {
    return this.json('PATCH', path, body, options);
  }

  delete(path: string, options?: HttpRequestOptions): Promise<HttpAnswer<Json>> {
    return this.json('DELETE', path, undefined, options);
  }

  /** JSON request; the answer's body is parsed when it is JSON, else left as text. */
  async json(method: string, path: string, body: unknown, options: HttpRequestOptions = {}): Promise<HttpAnswer<Json>> {
    const answer = await this.raw(method, path, {
      ...options,
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    });
    const text = answer.body.toString('utf8');
    const contentType = String(answer.headers['content-type'] ?? '');
    let parsed: unknown = text;
    if (text !== '' && (contentType.includes('json') || /^\s*[[{]/.test(text))) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: answer.status, headers: answer.headers, body: parsed };
  }

  /** Bytes in, bytes out (RecordBatch endpoints). */
  async raw(
    method: string,
    path: string,
    options: HttpRequestOptions & { body?: Buffer | string | undefined } = {},
  ): Promise<HttpAnswer<Buffer>> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const response = await request(url, {
      method: method as 'GET',
      headers: options.headers ?? {},
      body: options.body,
      signal,
      ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher }),
    });
    const body = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, headers: response.headers, body };
  }
}

/** Throw with the broker's answer in the message unless the status is the expected one. */
export function expectStatus<T>(answer: HttpAnswer<T>, status: number, what: string): HttpAnswer<T> {
  if (answer.status !== status) {
    const body = Buffer.isBuffer(answer.body) ? answer.body.toString('utf8') : JSON.stringify(answer.body);
    throw new Error(`${what}: expected HTTP ${status}, got ${answer.status}: ${body.slice(0, 2000)}`);
  }
  return answer;
}
