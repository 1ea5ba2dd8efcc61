import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, startBroker, type Broker, type BrokerDependencies, type Logger } from '@strata/broker';

export interface TestBroker {
  broker: Broker;
  url: string;
  dataDir: string;
  logs: string[];
  restart(env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** Captures log lines so tests stay quiet and can assert on them. */
export function captureLogger(lines: string[]): Logger {
  return createLogger({ level: 'debug', write: (line) => void lines.push(line) });
}

export async function startTestBroker(
  env: Record<string, string> = {},
  depsFor: BrokerDependencies | ((dataDir: string) => BrokerDependencies | Promise<BrokerDependencies>) = {},
): Promise<TestBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-broker-'));
  const deps = typeof depsFor === 'function' ? await depsFor(dataDir) : depsFor;
  const logs: string[] = [];
  const start = (extra: Record<string, string>) =>
    startBroker(loadConfig({ STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_HOST: '127.0.0.1', STRATA_DATA_DIR: dataDir, ...env, ...extra }, []), {
      logger: captureLogger(logs),
      ...deps,
    });
  const t: TestBroker = {
    broker: await start({}),
    url: '',
    dataDir,
    logs,
    async restart(extra = {}) {
      await t.broker.close();
      t.broker = await start(extra);
      t.url = t.broker.url;
    },
    async stop() {
      await t.broker.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  t.url = t.broker.url;
  return t;
}

// Tests assert on response bodies field by field; one loose type keeps them readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface JsonResponse<T = Loose> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = Loose>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const allHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) allHeaders[k.toLowerCase()] = v;
  const init: RequestInit = { method, headers: allHeaders };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    allHeaders['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text !== '') parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export async function createTopic(base: string, name: string, partitions = 1, configs?: Record<string, unknown>): Promise<void> {
  const res = await call(base, 'POST', '/v1/topics', { name, partitions, ...(configs ? { configs } : {}) });
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function produce(base: string, topic: string, body: unknown, acks = '1'): Promise<JsonResponse> {
  return call(base, 'POST', `/v1/topics/${topic}/records?acks=${acks}`, body);
}

export async function fetchRecords(base: string, topic: string, partition: number, query: string): Promise<JsonResponse> {
  return call(base, 'GET', `/v1/topics/${topic}/partitions/${partition}/records?${query}`);
}

export async function postBatch(base: string, topic: string, partition: number, bytes: Buffer, contentType = 'application/vnd.kafka.record-batch'): Promise<JsonResponse> {
  const res = await fetch(`${base}/v1/topics/${topic}/partitions/${partition}/batches`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: bytes,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text), headers: res.headers };
}
