/**
 * A fresh server per trial, for each system `pnpm bench peers` compares, with persistence made as
 * comparable as the three allow (what each loses on a crash is in peers-bench.ts's header):
 * - NATS JetStream: `nats-server -js`, one stream with file storage, one replica;
 * - Redis Streams: `redis-server` with `appendonly yes`, `appendfsync everysec` (the test harness's
 *   production configuration), RDB snapshots off;
 * - Strata: one broker process (embedded coordinator and object store), one topic of one partition.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { BrokerProcess, RedisServer, freePort, tempDir } from '@strata/test';

export type Peer = 'strata' | 'nats' | 'redis';

export interface Server {
  peer: Peer;
  /** The process whose CPU time is counted. */
  pid: number;
  /** nats://, redis:// or http:// URL of the server on loopback. */
  url: string;
  port: number;
  stop: () => Promise<void>;
}

/** The stream, subject, key and topic every workload writes to. */
export const STREAM = 'bench';
export const SUBJECT = 'bench.records';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** `cliMain`: another build of the broker for Strata (STRATA_BENCH_BEFORE's), this checkout's by default. */
export async function startServer(peer: Peer, cliMain?: string): Promise<Server> {
  if (peer === 'nats') return startNats();
  if (peer === 'redis') {
    const redis = await RedisServer.start();
    return { peer, pid: redis.pid!, url: redis.url, port: redis.port, stop: async () => void (await redis.stop()) };
  }
  const broker = await BrokerProcess.start({ env: { STRATA_LOG_LEVEL: 'warn' }, ...(cliMain === undefined ? {} : { cliMain }) });
  const created = await fetch(`${broker.url}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: STREAM, partitions: 1 }),
  });
  if (created.status !== 201) {
    await broker.stop();
    throw new Error(`create topic: ${created.status} ${await created.text()}`);
  }
  return { peer, pid: broker.pid!, url: broker.url, port: broker.port, stop: async () => void (await broker.stop()) };
}

/** nats-server with JetStream over a fresh store directory; ready when it logs "Server is ready". */
async function startNats(): Promise<Server> {
  const port = await freePort();
  const child = spawn('nats-server', ['-js', '-sd', tempDir('strata-nats-'), '-a', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`nats-server was not ready within ${READY_TIMEOUT_MS} ms:\n${log}`)), READY_TIMEOUT_MS);
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`nats-server exited (${code}) before it was ready:\n${log}`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      // Bounded: only the start-up lines matter, for the error above.
      if (log.length < 16_384) log += chunk.toString('utf8');
      if (!settled && log.includes('Server is ready')) {
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.stderr!.resume();
  return { peer: 'nats', pid: child.pid!, url: `nats://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
