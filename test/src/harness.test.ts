/**
 * The harness itself: faults do what they say, restarts keep the data, and a test process that
 * dies (even by SIGKILL) takes its brokers with it.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, freePorts, tempDir } from './harness/index.js';
import { brokerLifecycle } from './support.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return predicate();
}

describe('test harness', () => {
  const startBroker = brokerLifecycle();

  it('picks ports for one process together: all distinct (one at a time, a second pick can be the port the first released)', async () => {
    for (let round = 0; round < 20; round++) {
      const ports = await freePorts(8);
      expect(new Set(ports).size).toBe(8);
      for (const port of ports) expect(port).toBeGreaterThan(0);
    }
  });

  it('pauses, resumes, kills and restarts a broker on the same port and data dir', async () => {
    const broker = await startBroker();
    expect((await broker.http.post('/v1/topics', { name: 'h', partitions: 1 })).status).toBe(201);
    expect((await broker.http.post('/v1/topics/h/records', { records: [{ value: 'kept' }] })).status).toBe(200);

    broker.pause();
    await expect(broker.http.get('/healthz', { timeoutMs: 300 })).rejects.toThrow();
    broker.resume();
    expect((await broker.http.get('/healthz')).status).toBe(200);

    const firstPid = broker.pid;
    expect(await broker.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(broker.running).toBe(false);
    await broker.restart();
    expect(broker.pid).not.toBe(firstPid);
    const read = await broker.http.get('/v1/topics/h/partitions/0/records', { query: { offset: 0 } });
    expect(read.body.records.map((r: { value: string }) => r.value)).toEqual(['kept']);
    expect(broker.logs()).toMatch(/incarnation 2/);

    expect(await broker.stop()).toEqual({ code: 0, signal: null });
  });

  it('ends a broker whose test process was SIGKILLed (no leaked children)', async () => {
    const dir = tempDir(); // the owner's broker lives here too, so this suite removes it
    const script = join(dir, 'owner.mjs');
    const harness = pathToFileURL(join(REPO_ROOT, 'test', 'dist', 'harness', 'index.js')).href;
    writeFileSync(
      script,
      `import { BrokerProcess } from ${JSON.stringify(harness)};\n` +
        `const broker = await BrokerProcess.start({ dataDir: ${JSON.stringify(join(dir, 'data'))} });\n` +
        `process.stdout.write(String(broker.pid) + '\\n');\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const owner = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      owner.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      owner.once('exit', () => reject(new Error('owner exited before starting its broker')));
    });
    expect(alive(pid)).toBe(true);
    owner.kill('SIGKILL');
    expect(await waitUntil(() => !alive(pid), 5_000), `broker ${pid} outlived its owner`).toBe(true);
  });
});
