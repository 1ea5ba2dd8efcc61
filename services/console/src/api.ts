// The console's only door to the broker: the public HTTP API v1 and /metrics, with the API's own
// types. A refusal becomes an ApiError carrying the API's code and message, shown as the API wrote it.
// Every request carries the tab's credentials (session.ts); a 401 to them ends the session.

import type {
  Cluster, CreateTopicRequest, EventKind, EventList, FetchResponse, GroupDescription, GroupList, OffsetResponse, ProduceRequest, ProduceResponse,
  ResetOffsetsRequest, ResetOffsetsResponse, Topic, TopicList, WhoAmI,
} from '@strata/api';
import { currentCredentials, refused } from './session.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How long one request may take before the console calls the broker unreachable. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The headers of every request. `X-Requested-With` makes the broker's 401 challenge Bearer only
 * (auth/http-auth.ts): a Basic challenge would raise the browser's own login popup over the
 * sign-in form. Credentials mode stays the default (same-origin), so a browser's client
 * certificate (mTLS) is still presented.
 */
function headersFor(authorization: string | undefined, json: boolean): Record<string, string> {
  return {
    'X-Requested-With': 'XMLHttpRequest',
    ...(authorization === undefined ? {} : { Authorization: authorization }),
    ...(json ? { 'Content-Type': 'application/json' } : {}),
  };
}

/** The answer, or BROKER_UNREACHABLE; `authorization` defaults to the tab's credentials. */
async function send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, authorization: string | undefined): Promise<Response> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  try {
    return await fetch(path, {
      method,
      headers: headersFor(authorization, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, 'BROKER_UNREACHABLE', `the broker did not answer (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** A refusal as the API wrote it; a 401 to the tab's credentials signs the tab out (session.ts). */
function failure(res: Response, text: string, authorization: string | undefined): ApiError {
  let code = `HTTP_${res.status}`;
  let message = text.slice(0, 500) || res.statusText;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) code = parsed.error.code;
    if (parsed.error?.message) message = parsed.error.message;
  } catch {
    // not the API's JSON error body (a proxy's page): keep the text
  }
  if (res.status === 401) refused(authorization, `${code}: ${message}`);
  return new ApiError(res.status, code, message);
}

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, authorization = currentCredentials()?.authorization): Promise<T> {
  const res = await send(method, path, body, signal, authorization);
  const text = await res.text();
  if (!res.ok) throw failure(res, text, authorization);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

const enc = encodeURIComponent;
const partitionPath = (topic: string, partition: number) => `/v1/topics/${enc(topic)}/partitions/${partition}`;

export const api = {
  cluster: (signal?: AbortSignal) => call<Cluster>('GET', '/v1/cluster', undefined, signal),
  events: (query: { since?: number; limit: number; kind?: EventKind; topic?: string }, signal?: AbortSignal) =>
    call<EventList>('GET', `/v1/events?${new URLSearchParams(Object.entries(query).flatMap(([k, v]) => (v === undefined || v === '' ? [] : [[k, String(v)]])))}`, undefined, signal),
  topics: (signal?: AbortSignal) => call<TopicList>('GET', '/v1/topics', undefined, signal),
  topic: (name: string, signal?: AbortSignal) => call<Topic>('GET', `/v1/topics/${enc(name)}`, undefined, signal),
  createTopic: (request: CreateTopicRequest) => call<Topic>('POST', '/v1/topics', request),
  deleteTopic: (name: string) => call<unknown>('DELETE', `/v1/topics/${enc(name)}`),
  updateConfigs: (name: string, configs: Record<string, string | number | null>) =>
    call<Topic>('PATCH', `/v1/topics/${enc(name)}/configs`, { configs }),
  produce: (topic: string, request: ProduceRequest) => call<ProduceResponse>('POST', `/v1/topics/${enc(topic)}/records`, request),
  fetch: (topic: string, partition: number, offset: number, maxRecords: number, maxWaitMs: number, signal?: AbortSignal) =>
    call<FetchResponse>(
      'GET',
      `${partitionPath(topic, partition)}/records?offset=${offset}&maxRecords=${maxRecords}&maxWaitMs=${maxWaitMs}&keyEncoding=base64&valueEncoding=base64&headerEncoding=base64`,
      undefined,
      signal,
    ),
  offset: (topic: string, partition: number, at: 'earliest' | 'latest' | number, signal?: AbortSignal) =>
    call<OffsetResponse>('GET', `${partitionPath(topic, partition)}/offsets?at=${at}`, undefined, signal),
  groups: (signal?: AbortSignal) => call<GroupList>('GET', '/v1/groups', undefined, signal),
  group: (group: string, signal?: AbortSignal) => call<GroupDescription>('GET', `/v1/groups/${enc(group)}`, undefined, signal),
  resetOffsets: (group: string, request: ResetOffsetsRequest) => call<ResetOffsetsResponse>('POST', `/v1/groups/${enc(group)}/offsets/reset`, request),
  metrics: async (signal?: AbortSignal): Promise<string> => {
    const authorization = currentCredentials()?.authorization;
    const res = await send('GET', '/metrics', undefined, signal, authorization);
    const text = await res.text();
    if (!res.ok) throw failure(res, text, authorization);
    return text;
  },
  /** Who the broker takes the tab for; `authorization` given: credentials a sign-in is trying. */
  whoami: (signal?: AbortSignal, authorization?: string) => call<WhoAmI>('GET', '/v1/whoami', undefined, signal, authorization),
};

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
