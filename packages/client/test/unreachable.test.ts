// Issue #15: a wrong broker URL hung consumer.run() silently (90 s seen) and took the producer
// 59 s to fail. A client that never reached a broker warns at once and fails at unreachableTimeoutMs.

import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StrataError } from '@strata/protocol';
import { Admin, Consumer, Producer } from '../src/index.js';

async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);
process.on('warning', onWarning);
afterEach(() => {
  warnings.length = 0;
});

function expectUnreachable(error: unknown, url: string): void {
  expect(error).toBeInstanceOf(StrataError);
  const e = error as StrataError;
  expect(e.message).toContain(`cannot reach any broker at ${url}`);
  expect(e.message).toContain('check the brokers URL');
  expect(e.retriable).toBe(false);
}

describe('a client that cannot reach any broker', () => {
  it('consumer.run() rejects after unreachableTimeoutMs, with a warning at the first failure', async () => {
    const url = await deadUrl();
    const c = new Consumer({ brokers: url, groupId: 'g', topics: ['orders'], unreachableTimeoutMs: 300 });
    const error = await c.run({ eachRecord: () => undefined }).catch((e: unknown) => e);
    expectUnreachable(error, url);
    await c.close();
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    expect(warnings.some((w) => (w as Error & { code?: string }).code === 'STRATA_BROKERS_UNREACHABLE' && w.message.includes(url))).toBe(true);
  });

  it('producer.send() rejects after unreachableTimeoutMs, long before deliveryTimeoutMs', async () => {
    const url = await deadUrl();
    const p = new Producer({ brokers: url, unreachableTimeoutMs: 300, deliveryTimeoutMs: 600_000, maxBlockMs: 600_000 });
    const error = await p.send({ topic: 'orders', value: 'x' }).catch((e: unknown) => e);
    expectUnreachable(error, url);
    await p.close();
  });

  it('an admin call rejects the same way', async () => {
    const url = await deadUrl();
    const admin = new Admin({ brokers: url, unreachableTimeoutMs: 300, requestTimeoutMs: 600_000 });
    expectUnreachable(await admin.listTopics().catch((e: unknown) => e), url);
    await admin.close();
  });

  it('refuses a bad unreachableTimeoutMs', () => {
    expect(() => new Admin({ brokers: 'http://127.0.0.1:1', unreachableTimeoutMs: 0 })).toThrow(/unreachableTimeoutMs/);
  });
});
