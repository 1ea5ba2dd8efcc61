import { Pool } from 'undici';

export interface LoadOptions {
  origin: string;
  method: 'POST' | 'GET';
  /** Path and body of request number i (and its origin, when requests spread over several servers). */
  request: (i: number) => { path: string; body?: Buffer; headers?: Record<string, string>; origin?: string };
  concurrency: number;
  durationMs: number;
  maxRequests?: number;
  /** Bytes and records a successful answer counts for (defaults: request body length, 0). */
  account?: (i: number, responseBytes: number) => { bytes: number; records: number };
}

export interface LoadResult {
  requests: number;
  errors: number;
  bytes: number;
  records: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/** Closed-loop load: `concurrency` workers, each with one request in flight, for a bounded time and count. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const pools = new Map<string, Pool>();
  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (!pool) pools.set(origin, (pool = new Pool(origin, { connections: options.concurrency, pipelining: 1 })));
    return pool;
  };
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  let bytes = 0;
  let records = 0;
  const maxRequests = options.maxRequests ?? Number.MAX_SAFE_INTEGER;
  const started = performance.now();
  const deadline = started + options.durationMs;
  let firstError: string | null = null;

  async function worker(): Promise<void> {
    while (performance.now() < deadline && issued < maxRequests) {
      const i = issued++;
      const { path, body, headers, origin } = options.request(i);
      const t0 = performance.now();
      const response = await poolFor(origin ?? options.origin).request({ method: options.method, path, body, headers });
      const payload = Buffer.from(await response.body.arrayBuffer());
      latencies.push(performance.now() - t0);
      if (response.statusCode >= 300) {
        errors++;
        firstError ??= `${response.statusCode} ${payload.toString().slice(0, 200)}`;
        continue;
      }
      const counted = options.account?.(i, payload.length) ?? { bytes: body?.length ?? payload.length, records: 0 };
      bytes += counted.bytes;
      records += counted.records;
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all([...pools.values()].map((pool) => pool.close()));
  if (firstError) console.error(`load: ${errors} errors, first: ${firstError}`);
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, bytes, records, seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
