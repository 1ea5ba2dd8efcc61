// The console's only door to the broker: the public HTTP API v1 and /metrics, with the API's own
// types. A refusal becomes an ApiError carrying the API's code and message, shown as the API wrote it.

import type {
  Cluster, CreateTopicRequest, EventKind, EventList, FetchResponse, GroupDescription, GroupList, OffsetResponse, ProduceRequest, ProduceResponse,
  ResetOffsetsRequest, ResetOffsetsResponse, Topic, TopicList,
} from '@strata/api';

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

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, 'BROKER_UNREACHABLE', `the broker did not answer (${e instanceof Error ? e.message : String(e)})`);
  }
  const text = await res.text();
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = text.slice(0, 500) || res.statusText;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (parsed.error?.code) code = parsed.error.code;
      if (parsed.error?.message) message = parsed.error.message;
    } catch {
      // not the API's JSON error body (a proxy's page): keep the text
    }
    throw new ApiError(res.status, code, message);
  }
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
    const res = await fetch('/metrics', { signal: signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).catch(() => null);
    if (!res?.ok) throw new ApiError(res?.status ?? 0, 'BROKER_UNREACHABLE', 'the broker did not answer /metrics');
    return res.text();
  },
};

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
