/**
 * The CLI's only HTTP code: a thin, typed client for the broker's HTTP API v1 (DESIGN.md §8).
 *
 * Every call has a deadline (an AbortSignal combining the caller's signal with a timeout), and
 * every failure is typed:
 * - the broker answered with an error body → StrataError carrying the server's code, message,
 *   retriable flag and details (plus the HTTP status, see `httpStatusOf`);
 * - the broker could not be reached or the connection broke → BrokerUnreachableError;
 * - the deadline passed → StrataError REQUEST_TIMED_OUT.
 * An abort by the caller's own signal is rethrown as is (its `name` is 'AbortError').
 */
import http from 'node:http';
import https from 'node:https';
import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '@strata/protocol';

export type Acks = '0' | '1' | 'all';
export type ValueEncoding = 'utf8' | 'base64' | 'json';

export interface TopicSummary {
  name: string;
  partitions: number;
  replicationFactor: number;
}

export interface PartitionDescription {
  partition: number;
  leader: string | number | null;
  replicas?: unknown[];
  isr?: unknown[];
  logStartOffset: number;
  highWatermark: number;
  localLogStartOffset?: number;
  localBytes?: number;
  remoteBytes?: number;
  remoteLogEndOffset?: number;
  uploadLagSegments?: number;
  uploadLagBytes?: number;
}

export interface TopicDescription {
  name: string;
  configs: Record<string, unknown>;
  partitions: PartitionDescription[];
}

export interface CreateTopicRequest {
  name: string;
  partitions: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface ProducedOffset {
  partition: number;
  /** -1 when unknown: acks=0, or this record's partition failed (then `error` says why). */
  offset: number;
  /** Set when the append to this record's partition failed while others succeeded (HTTP 207). */
  error?: { code: string; message: string; retriable: boolean };
}

export interface FetchedHeader {
  key: string;
  value: unknown;
}

export interface FetchedRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: unknown;
  headers: FetchedHeader[];
  /** Set when the broker could not render the value as JSON (valueEncoding=json): it is base64 instead. */
  valueEncoding?: 'base64';
}

export interface GroupSummary {
  group: string;
  members: number;
  state: string;
}

export interface GroupDetails {
  group: string;
  state: string;
  groupEpoch: number;
  members: Array<{ memberId: string; clientId: string; memberEpoch: number; assignment: Array<{ topic: string; partitions: number[] }>; pendingRevocation: Array<{ topic: string; partitions: number[] }> }>;
  partitions: Array<{ topic: string; partition: number; offset: number | null; highWatermark: number | null; lag: number | null; owner: string | null }>;
}

export interface FetchResponse {
  records: FetchedRecord[];
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

export interface FetchOptions {
  offset: number;
  maxRecords?: number;
  maxBytes?: number;
  maxWaitMs?: number;
  valueEncoding?: ValueEncoding;
  signal?: AbortSignal;
}

export interface OffsetAnswer {
  offset: number;
  timestamp?: number;
}

/** The broker could not be reached, or the connection broke before an answer arrived. */
export class BrokerUnreachableError extends Error {
  /** The system error code when there is one (ECONNREFUSED, ENOTFOUND, ECONNRESET, ...). */
  readonly errno: string | undefined;
  constructor(readonly brokerUrl: string, errno: string | undefined, options?: { cause?: unknown }) {
    super(
      errno === 'ECONNREFUSED' || errno === 'ENOTFOUND' || errno === 'EAI_AGAIN'
        ? `cannot connect to the broker at ${brokerUrl} (${errno}): is it running? ` +
            `(set --broker URL or STRATA_URL)`
        : `lost the connection to the broker at ${brokerUrl}${errno === undefined ? '' : ` (${errno})`}`,
      options,
    );
    this.name = 'BrokerUnreachableError';
    this.errno = errno;
  }
}

const HTTP_STATUS = Symbol('httpStatus');

/** The HTTP status of an error that came from a broker answer, if it did. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && HTTP_STATUS in error) {
    return (error as { [HTTP_STATUS]: number })[HTTP_STATUS];
  }
  return undefined;
}

/** Build the StrataError for an error answer; the server's retriable flag wins over the catalogue's. */
function serverError(status: number, body: unknown, fallbackText: string): StrataError {
  const payload =
    typeof body === 'object' && body !== null && 'error' in body
      ? (body as { error: Record<string, unknown> }).error
      : undefined;
  const code = typeof payload?.code === 'string' ? payload.code : status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST';
  const message =
    typeof payload?.message === 'string'
      ? payload.message
      : `HTTP ${status}${fallbackText === '' ? '' : `: ${fallbackText.slice(0, 200)}`}`;
  const details =
    typeof payload?.details === 'object' && payload.details !== null
      ? (payload.details as Record<string, unknown>)
      : undefined;
  // The server may know codes this build's catalogue does not (a newer broker): keep its code.
  const known = Object.hasOwn(ERROR_CATALOGUE, code);
  const error = new StrataError(known ? (code as ErrorCode) : 'INTERNAL_ERROR', message, details === undefined ? undefined : { details });
  if (!known) Object.defineProperty(error, 'code', { value: code, enumerable: true });
  if (typeof payload?.retriable === 'boolean' && payload.retriable !== error.retriable) {
    Object.defineProperty(error, 'retriable', { value: payload.retriable, enumerable: true });
  }
  Object.defineProperty(error, HTTP_STATUS, { value: status });
  return error;
}

function systemErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface StrataHttpClientOptions {
  /** Deadline of one request that is not a long poll. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const MAX_SOCKETS = 64;
/** Bound on one answer held in memory (fetches ask for about 1 MiB). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Slack added to a long poll's maxWaitMs before the client gives up on it. */
const LONG_POLL_SLACK_MS = 15_000;

export class StrataHttpClient {
  readonly baseUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly agent: http.Agent;

  constructor(baseUrl: string, options: StrataHttpClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    // One keep-alive pool per client, bounded: consume holds one socket per partition (a long
    // poll each when following); past MAX_SOCKETS partitions, polls queue behind each other.
    const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
    this.agent = this.baseUrl.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  createTopic(request: CreateTopicRequest, signal?: AbortSignal): Promise<TopicDescription> {
    return this.json('POST', '/v1/topics', { body: request, signal }) as Promise<TopicDescription>;
  }

  listTopics(signal?: AbortSignal): Promise<{ topics: TopicSummary[] }> {
    return this.json('GET', '/v1/topics', { signal }) as Promise<{ topics: TopicSummary[] }>;
  }

  describeTopic(topic: string, signal?: AbortSignal): Promise<TopicDescription> {
    return this.json('GET', `/v1/topics/${enc(topic)}`, { signal }) as Promise<TopicDescription>;
  }

  async deleteTopic(topic: string, signal?: AbortSignal): Promise<void> {
    await this.json('DELETE', `/v1/topics/${enc(topic)}`, { signal });
  }

  /**
   * POST one produce request. `body` is the JSON text of `{records: [...], ...}` (the producer builds
   * it incrementally to bound its size). One offset per record, in request order; a request whose
   * partitions partly failed resolves (HTTP 207) with `error` on the failed records' entries.
   */
  async produce(topic: string, body: string, acks: Acks, signal?: AbortSignal): Promise<ProducedOffset[]> {
    const answer = (await this.json('POST', `/v1/topics/${enc(topic)}/records?acks=${acks}`, {
      rawBody: body,
      signal,
    })) as { offsets?: ProducedOffset[] } | undefined;
    return answer?.offsets ?? [];
  }

  fetchRecords(topic: string, partition: number, options: FetchOptions): Promise<FetchResponse> {
    const query = new URLSearchParams({ offset: String(options.offset) });
    if (options.maxRecords !== undefined) query.set('maxRecords', String(options.maxRecords));
    if (options.maxBytes !== undefined) query.set('maxBytes', String(options.maxBytes));
    if (options.maxWaitMs !== undefined) query.set('maxWaitMs', String(options.maxWaitMs));
    if (options.valueEncoding !== undefined) query.set('valueEncoding', options.valueEncoding);
    return this.json('GET', `/v1/topics/${enc(topic)}/partitions/${partition}/records?${query}`, {
      signal: options.signal,
      timeoutMs: (options.maxWaitMs ?? 0) + LONG_POLL_SLACK_MS,
    }) as Promise<FetchResponse>;
  }

  /** `at` is 'earliest', 'latest' or a timestamp in ms; null when no record is that recent. */
  async offsetFor(
    topic: string,
    partition: number,
    at: 'earliest' | 'latest' | number,
    signal?: AbortSignal,
  ): Promise<OffsetAnswer | null> {
    const answer = (await this.json(
      'GET',
      `/v1/topics/${enc(topic)}/partitions/${partition}/offsets?at=${encodeURIComponent(String(at))}`,
      { signal },
    )) as Partial<OffsetAnswer> | null | undefined;
    if (answer === null || answer === undefined || typeof answer.offset !== 'number' || answer.offset < 0) return null;
    return answer as OffsetAnswer;
  }

  listGroups(signal?: AbortSignal): Promise<{ groups: GroupSummary[] }> {
    return this.json('GET', '/v1/groups', { signal }) as Promise<{ groups: GroupSummary[] }>;
  }

  describeGroup(group: string, signal?: AbortSignal): Promise<GroupDetails> {
    return this.json('GET', `/v1/groups/${enc(group)}`, { signal }) as Promise<GroupDetails>;
  }

  /** `to`: earliest | latest | offset | timestamp (with `value`). Only while the group has no members. */
  resetGroupOffsets(group: string, request: { topic: string; to: string; value?: number; partitions?: number[] }, signal?: AbortSignal): Promise<{ offsets: Array<{ topic: string; partition: number; offset: number }> }> {
    return this.json('POST', `/v1/groups/${enc(group)}/offsets/reset`, { body: request, signal }) as Promise<{
      offsets: Array<{ topic: string; partition: number; offset: number }>;
    }>;
  }

  /** Release pooled connections (the CLI calls it when a command ends). */
  close(): void {
    this.agent.destroy();
  }

  private async json(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; signal?: AbortSignal | undefined; timeoutMs?: number },
  ): Promise<unknown> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.requestTimeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    let answer: { status: number; text: string };
    try {
      answer = await this.exchange(method, path, body, signal);
    } catch (error) {
      throw this.translateTransportError(error, options.signal, timeout, method, path);
    }
    let parsed: unknown = undefined;
    if (answer.text !== '') {
      try {
        parsed = JSON.parse(answer.text);
      } catch {
        if (answer.status < 300) {
          throw new StrataError('INTERNAL_ERROR', `${method} ${path}: the broker answered with invalid JSON`);
        }
      }
    }
    if (answer.status >= 300) throw serverError(answer.status, parsed, parsed === undefined ? answer.text : '');
    return parsed;
  }

  /**
   * One request over node:http(s). (Not fetch: fetch refuses the "bad ports" of the Fetch
   * standard, 6000 and 10080 among them, and a broker may well listen there.)
   */
  private exchange(
    method: string,
    path: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const url = new URL(this.baseUrl + path);
    const transport = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const request = transport.request(url, { method, headers, agent: this.agent, signal }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            response.destroy(new StrataError('INTERNAL_ERROR', `${method} ${path}: answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.once('error', reject);
        response.once('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      request.once('error', reject);
      request.end(body);
    });
  }

  private translateTransportError(
    error: unknown,
    callerSignal: AbortSignal | undefined,
    timeout: AbortSignal,
    method: string,
    path: string,
  ): unknown {
    if (callerSignal?.aborted === true) return callerSignal.reason ?? error;
    if (timeout.aborted) {
      return new StrataError('REQUEST_TIMED_OUT', `${method} ${path}: no answer from ${this.baseUrl} in time`, {
        cause: error,
      });
    }
    if (error instanceof StrataError) return error;
    return new BrokerUnreachableError(this.baseUrl, systemErrorCode(error), { cause: error });
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
