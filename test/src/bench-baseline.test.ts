// The benchmarks' baseline server (bench/src/baseline-server.ts) must append every body it
// acknowledges: it is what Strata's produce figures are divided by.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness/broker-process.js';
import { freePort } from './harness/ports.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('bench baseline server', () => {
  it('keeps every append to a new partition when the first ones arrive together (regression: each opened and truncated the file)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-baseline-test-'));
    dirs.push(dir);
    const log = join(dir, 'log');
    const port = await freePort();
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bench', 'dist', 'baseline-server.js'), String(port), log], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [firstLine] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
      expect(firstLine).toBe('ready');
      const bodies = Array.from({ length: 16 }, (_, i) => Buffer.alloc(10_000 + i, i));
      const answers = await Promise.all(bodies.map((body) => fetch(`http://127.0.0.1:${port}/append?p=0`, { method: 'POST', body })));
      expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200));
      const positions = (await Promise.all(answers.map((a) => a.json() as Promise<{ position: number }>))).map((a) => a.position);
      expect(new Set(positions).size).toBe(bodies.length);
      expect((await stat(`${log}.0`)).size).toBe(bodies.reduce((sum, b) => sum + b.length, 0));
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
