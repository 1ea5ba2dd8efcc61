// A real redis-server for the coordinator's tests, on a free 127.0.0.1 port over a fresh
// directory, with AOF on (appendfsync everysec, as DESIGN.md recommends for production), RDB off.
// Faults: kill() (SIGKILL), stop() (SHUTDOWN via SIGTERM), pause()/resume() (SIGSTOP/SIGCONT),
// restart() on the same port and directory (the AOF replays), and replaceDir() to make Redis
// "forget" its last writes (a restore of an older copy of its files, as a failover to a lagging
// replica or a lost fsync would). test/src/harness/redis-server.ts is the harness' richer twin;
// a package does not import test/.

import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS_SERVER = process.env['STRATA_REDIS_SERVER'] ?? 'redis-server';
const READY_TIMEOUT_MS = 10_000;
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of live) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** One command over a raw socket (no client library): the reply's first line. */
export function rawCommand(port: number, command: string, timeoutMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${command} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.includes('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data.split('\r\n', 1)[0]!);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export class TestRedis {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #output = '';

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<TestRedis> {
    hook();
    const dir = mkdtempSync(join(tmpdir(), 'strata-coord-redis-'));
    dirs.add(dir);
    for (let attempt = 1; ; attempt++) {
      const server = new TestRedis(await freePort(), dir);
      try {
        await server.#spawn();
        return server;
      } catch (e) {
        if (attempt >= 3 || !server.#output.includes('Address already in use')) throw e;
      }
    }
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  logs(): string {
    return this.#output;
  }

  async #spawn(): Promise<void> {
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'no',
      '--loglevel', 'warning',
    ];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    this.#child = child;
    child.stdout?.on('data', (c: Buffer) => (this.#output = (this.#output + c.toString('utf8')).slice(-64 * 1024)));
    child.stderr?.on('data', (c: Buffer) => (this.#output = (this.#output + c.toString('utf8')).slice(-64 * 1024)));
    this.#exited = new Promise((resolve) =>
      child.once('exit', () => {
        live.delete(child);
        resolve();
      }),
    );
    child.once('error', (e) => {
      this.#output += `\nspawn error: ${e.message}`;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#output += `\n${REDIS_SERVER} is not installed: apt-get install -y redis-server (or set STRATA_REDIS_SERVER to its path)`;
      }
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server exited before it answered PING:\n${this.#output}`);
      try {
        if ((await rawCommand(this.port, 'PING')) === '+PONG') return;
      } catch {
        // not listening yet, or still loading the AOF (-LOADING)
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms:\n${this.#output}`);
  }

  /** SIGKILL and wait: a crash; what Redis had written to its AOF file (the page cache) survives. */
  async kill(): Promise<void> {
    if (this.running) {
      this.#child!.kill('SIGCONT');
      this.#child!.kill('SIGKILL');
    }
    await this.#exited;
  }

  /** SIGTERM: Redis fsyncs its AOF and exits. */
  async stop(): Promise<void> {
    if (this.running) {
      this.#child!.kill('SIGCONT');
      this.#child!.kill('SIGTERM');
    }
    await this.#exited;
  }

  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Start again on the same port and directory (the AOF replays). */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.#spawn();
  }

  /** A fresh empty directory: restoring it makes Redis lose everything. */
  static emptyDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'strata-coord-redis-empty-'));
    dirs.add(dir);
    return dir;
  }

  /** A copy of the data directory (take it while stopped). */
  snapshot(): string {
    const copy = mkdtempSync(join(tmpdir(), 'strata-coord-redis-copy-'));
    dirs.add(copy);
    cpSync(this.dir, copy, { recursive: true });
    return copy;
  }

  /** Replace the data directory with an earlier snapshot (while stopped): Redis forgets what came after. */
  restoreSnapshot(copy: string): void {
    if (this.running) throw new Error('restoreSnapshot: stop the server first');
    rmSync(this.dir, { recursive: true, force: true });
    cpSync(copy, this.dir, { recursive: true });
  }

  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }
}
