/**
 * Issue 15's scripted walkthrough: a newcomer follows the README on a machine where port 8080 is
 * taken and Redis is not installed, and gets a clear instruction at each step. The commands are the
 * README's, taken from it by section (harness/readme.ts), run by bash in the repo root; the test
 * checks what each step prints, and follows the instructions it is given. Last, with redis-server
 * back on PATH, the cluster example forms its cluster. The test holds 0.0.0.0:8080 while it runs
 * (or finds it held already).
 *
 * What differs from a fresh machine, and why:
 * - `corepack enable` is a stand-in first on PATH: the real one rewrites this machine's Node
 *   install (and makes pnpm fetch itself); `pnpm install` and `pnpm start` are the real ones.
 * - Data dirs are temporary (`STRATA_DATA_DIR`, the README's `./data-b*` replaced), never the clone's.
 * - The cluster example's fixed ports are replaced by free ones, the same number by the same port
 *   (so a clash between two of them stays a clash); the Kafka listener of the single node gets a
 *   free port (9092 may be held by other tests on this machine; cli.test.ts covers that message).
 * - Redis is "not installed": PATH is rebuilt without `redis-server` (a directory holding it is
 *   replaced by a mirror of symlinks to everything else in it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, freePorts, readmeBlock, readmeBlocks, REPO_ROOT, tempDir, type ReadmeBlock } from './harness/index.js';

/** Longest a step may run before it counts as hung, in milliseconds (a cold `tsc -b` is in it). */
const STEP_TIMEOUT_MS = 180_000;
/** Longest one test may take, in milliseconds: a step, the broker's start and stop around it. */
const TEST_TIMEOUT_MS = 2 * STEP_TIMEOUT_MS;
/** Longest a signalled process group may take to exit, in milliseconds. */
const STOP_TIMEOUT_MS = 60_000;

const README_TEXT = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const BLOCKS = readmeBlocks(README_TEXT);

interface Step {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

interface RunningStep {
  /** Resolves once every process holding the step's output is gone. */
  done: Promise<Step>;
  /** Ctrl-C: SIGINT to the step's process group (SIGKILL after STOP_TIMEOUT_MS). */
  interrupt(): void;
}

/** Process groups of steps still running: killed after the suite, whatever failed. */
const runningGroups = new Set<number>();

/**
 * A command line in bash, in its own process group, as a user's terminal runs it. Background jobs
 * (`... &`) left when bash exits get SIGTERM; a step past STEP_TIMEOUT_MS is killed and fails.
 */
function startStep(script: string, env: Record<string, string>, options: { foreground?: boolean } = {}): RunningStep {
  const child = spawn('bash', ['-c', script], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  runningGroups.add(child.pid!);
  const group = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is gone already.
    }
  };
  const done = new Promise<Step>((resolve, reject) => {
    let output = '';
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const onData = (chunk: Buffer): void => void (output += chunk.toString('utf8'));
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const hung = setTimeout(() => {
      group('SIGKILL');
      reject(new Error(`step did not finish within ${STEP_TIMEOUT_MS} ms:\n${script}\n${output.slice(-4000)}`));
    }, STEP_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      if (options.foreground !== true) group('SIGTERM');
    });
    child.once('close', () => {
      runningGroups.delete(child.pid!);
      clearTimeout(hung);
      resolve({ code: exit?.code ?? null, signal: exit?.signal ?? null, output });
    });
  });
  return {
    done,
    interrupt: () => {
      group('SIGINT');
      setTimeout(() => group('SIGKILL'), STOP_TIMEOUT_MS).unref();
    },
  };
}

function runStep(script: string, env: Record<string, string>): Promise<Step> {
  return startStep(script, env).done;
}

/** Polls url's /readyz until it answers 200; false after about two minutes. */
async function becomesReady(url: string): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** PATH without `names`: each directory holding one of them is replaced by a mirror of the rest. */
function pathWithout(names: string[], path: string): string {
  return path
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => {
      if (!names.some((name) => existsSync(join(dir, name)))) return dir;
      const mirror = tempDir('strata-path-');
      for (const entry of readdirSync(dir)) if (!names.includes(entry)) symlinkSync(join(dir, entry), join(mirror, entry));
      return mirror;
    })
    .join(delimiter);
}

/** Holds 0.0.0.0:port for the walkthrough; null when something else holds it already (as good). */
async function holdPort(port: number): Promise<Server | null> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(null) : reject(e)));
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

/** Every whole-word occurrence of each port in `text` replaced by its free stand-in. */
async function withFreePorts(text: string, ports: number[]): Promise<{ text: string; map: Map<number, number> }> {
  const map = new Map<number, number>();
  const free = await freePorts(ports.length);
  ports.forEach((port, i) => map.set(port, free[i]!));
  let out = text;
  for (const [port, free] of map) out = out.replace(new RegExp(`\\b${port}\\b`, 'g'), String(free));
  return { text: out, map };
}

/** The JSON object starting at `start` in `text` (followed by other output on the same line), or null. */
function jsonObjectAt(text: string, start: number): string | null {
  if (start < 0) return null;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}

function firstLineWith(block: ReadmeBlock, containing: string): string {
  const line = block.text.split('\n').find((l) => l.includes(containing));
  if (line === undefined) throw new Error(`README.md:${block.line}: no line with ${JSON.stringify(containing)}`);
  return line;
}

describe("a newcomer's first hour, from the README, with port 8080 taken and no Redis installed", () => {
  let held: Server | null = null;
  let env: Record<string, string>;

  beforeAll(async () => {
    held = await holdPort(8080);
    const standIns = tempDir('strata-standins-');
    writeFileSync(join(standIns, 'corepack'), '#!/bin/sh\necho "corepack $* (stand-in: this machine\'s Node install is left as it is)"\n');
    chmodSync(join(standIns, 'corepack'), 0o755);
    const path = `${standIns}${delimiter}${pathWithout(['redis-server'], process.env['PATH'] ?? '')}`;
    env = { ...(process.env as Record<string, string>), PATH: path };
    // Whatever the machine or the test run exports must not steer the walkthrough.
    for (const name of Object.keys(env)) if (name.startsWith('STRATA_')) delete env[name];
    expect(spawnSync('bash', ['-c', 'command -v redis-server'], { env }).status, 'redis-server is still on PATH').not.toBe(0);
  });
  afterAll(async () => {
    for (const pgid of runningGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise<void>((resolve) => (held === null ? resolve() : held.close(() => resolve())));
    cleanupAll(); // the temp dirs (a PATH mirror holds a symlink per program)
  });

  /** Filled by the first step: what the port message told the user to run and to point clients at. */
  let suggested: { start: string; url: string } | undefined;

  it('quick start: `pnpm start` with 8080 taken stops at once, naming the port and the command for another', async () => {
    const quickStart = firstLineWith(readmeBlock(BLOCKS, 'Two commands', 'pnpm start'), 'pnpm start');
    expect(quickStart).toMatch(/^corepack enable && pnpm install && pnpm start\b/);
    const step = await runStep(quickStart, { ...env, STRATA_DATA_DIR: tempDir('strata-first-hour-') });
    expect(step.code, step.output).toBe(1);
    expect(step.output).toMatch(/corepack enable \(stand-in/);
    expect(step.output).toMatch(/error: cannot listen on 0\.0\.0\.0:8080: the address is already in use/);
    expect(step.output).not.toMatch(/broker ready/);
    const start = /STRATA_HTTP_PORT=(\d+) pnpm start/.exec(step.output);
    const url = /STRATA_URL=(http:\/\/[\w.]+:\d+)/.exec(step.output);
    expect(start, step.output).not.toBeNull();
    expect(url, step.output).not.toBeNull();
    // The README says the same right after the two commands.
    expect(README_TEXT).toContain(start![0]);
    suggested = { start: start![0], url: url![1]! };
  }, TEST_TIMEOUT_MS);

  it('following the message: the broker starts on another port, and the curl walkthrough runs against STRATA_URL', async () => {
    expect(suggested, 'the first step gave no instruction').toBeDefined();
    // The suggested port, or a free one if this machine holds it as well.
    const suggestedPort = /\d+/.exec(suggested!.start)![0];
    const [port, kafkaPort] = (await freePorts(2)).map(String);
    const start = suggested!.start.replace(suggestedPort, port!);
    const dataDir = tempDir('strata-first-hour-');
    const broker = startStep(start, { ...env, STRATA_DATA_DIR: dataDir, STRATA_KAFKA_PORT: kafkaPort! }, { foreground: true });
    const url = suggested!.url.replace(suggestedPort, port);
    expect(await becomesReady(url), `no broker became ready at ${url}`).toBe(true);
    const walkthrough = readmeBlock(BLOCKS, 'Walkthrough with curl', 'STRATA_URL=${STRATA_URL:-http://localhost:8080}');
    const curl = await runStep(walkthrough.text, { ...env, STRATA_URL: url });
    expect(curl.code, curl.output).toBe(0);
    expect(curl.output).toContain('"name":"orders"');
    expect(curl.output).toMatch(/\{"offsets":\[\{"partition":0,"offset":0\},\{"partition":1,"offset":0\},\{"partition":0,"offset":1\}\]\}/);
    // curl -s exits 0 on an HTTP error: no answer may be an error body (one starts a line or follows another's brace).
    const refused = /(^|\}\s*)(\{"error":\{"code":"[A-Z_]+"[^\n]{0,300})/.exec(curl.output);
    expect(refused?.[2], 'the broker refused a request of the walkthrough').toBeUndefined();
    // Ctrl-C: a graceful stop.
    broker.interrupt();
    const stopped = await broker.done;
    expect(stopped.output).toMatch(/"broker stopped"/);
  }, TEST_TIMEOUT_MS);

  it('the cluster example without redis-server: the README says how to install it, and each broker says how to get one running', async () => {
    const block = readmeBlock(BLOCKS, 'A cluster (Redis)', 'redis-server --port 6379');
    // The instruction is on the page before the block and beside its first line.
    const before = README_TEXT.slice(0, README_TEXT.split('\n').slice(0, block.line - 1).join('\n').length);
    expect(before.slice(before.lastIndexOf('## A cluster (Redis)'))).toContain('apt-get install -y redis-server');
    expect(firstLineWith(block, 'redis-server --port')).toContain('apt-get install -y redis-server');

    const ports = [...new Set([...block.text.matchAll(/\b(\d{4,5})\b/g)].map((m) => Number(m[1])))];
    const { text, map } = await withFreePorts(block.text, ports);
    const dataDir = tempDir('strata-first-hour-');
    const script = text.replaceAll('./data-b1', join(dataDir, 'b1')).replaceAll('./data-b2', join(dataDir, 'b2'));
    // The brokers give up on Redis by themselves: the step ends when they have.
    const step = await startStep(script, env, { foreground: true }).done;
    const redisPort = map.get(6379)!;
    expect(step.output).toMatch(/redis-server: command not found/);
    // Both brokers stop at start, each naming the Redis it tried and how to start or install one.
    const unreachable = step.output.match(new RegExp(`error: [A-Z_]+: cannot reach Redis at redis://127\\.0\\.0\\.1:${redisPort} \\(STRATA_REDIS_URL\\)`, 'g')) ?? [];
    expect(unreachable.length, step.output).toBe(2);
    expect(step.output).toContain(`Start one: redis-server --port ${redisPort} --daemonize yes`);
    expect(step.output).toContain('apt-get install -y redis-server');
    expect(step.output).not.toMatch(/EADDRINUSE|already in use/);
  }, TEST_TIMEOUT_MS);

  it.skipIf(spawnSync('bash', ['-c', 'command -v redis-server && command -v redis-cli']).status !== 0)(
    'the cluster example, once redis-server is installed: two brokers, each on its own ports, form a cluster',
    async () => {
      const block = readmeBlock(BLOCKS, 'A cluster (Redis)', 'redis-server --port 6379');
      const ports = [...new Set([...block.text.matchAll(/\b(\d{4,5})\b/g)].map((m) => Number(m[1])))];
      const { text, map } = await withFreePorts(block.text, ports);
      const dataDir = tempDir('strata-first-hour-');
      const script = text.replaceAll('./data-b1', join(dataDir, 'b1')).replaceAll('./data-b2', join(dataDir, 'b2'));
      const redisPort = map.get(6379)!;
      const withRedis = { ...env, PATH: process.env['PATH'] ?? '' };
      try {
        // The brokers run in the background: bash exits after the curl, and they get SIGTERM then.
        const step = await runStep(script, withRedis);
        expect(step.output).not.toMatch(/already in use|cannot reach Redis/);
        const cluster = jsonObjectAt(step.output, step.output.indexOf('{"clusterId"'));
        expect(cluster, step.output).not.toBeNull();
        const ids = (JSON.parse(cluster!) as { brokers: Array<{ id: string; live: boolean }> }).brokers.map((b) => b.id).sort();
        expect(ids).toEqual(['b1', 'b2']);
      } finally {
        // Daemonized, so in a session of its own: stopped by its port, without writing a dump.
        spawnSync('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave']);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it('the data dirs the examples create are ignored by git', () => {
    const ignored = spawnSync('git', ['check-ignore', '--no-index', 'data/x', 'data-b1/x', 'data-b2/x'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(ignored.stdout.trim().split('\n')).toEqual(['data/x', 'data-b1/x', 'data-b2/x']);
  });
});
