/**
 * A real `redis-server` for integration and fault tests, on a free 127.0.0.1 port over a fresh
 * directory, configured as Strata runs it in production: AOF on with `appendfsync everysec`,
 * RDB snapshots off. Faults like BrokerProcess: stop() (SIGTERM: Redis fsyncs its AOF and
 * exits), kill() (SIGKILL: a crash; what Redis wrote to its AOF file survives in the page cache),
 * pause()/resume() (SIGSTOP/SIGCONT: a hung server; connections stay open, nothing answers) and
 * restart() on the same port and directory, so the AOF replays and a broker's STRATA_REDIS_URL
 * stays valid. snapshotDir()/restoreDir() make Redis forget its last writes (restore an earlier
 * copy while it is stopped), as a failover to a lagging replica or a lost fsync would.
 *
 * Ready means PING answers +PONG (not -LOADING: the AOF has been replayed). Output (Redis' own
 * log, at `notice`) is kept in a ring buffer for failure reports. Every process is registered with
 * cleanup.ts, so a test that forgets stop() still leaves no server behind; the binary can be
 * overridden with STRATA_REDIS_SERVER.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { trackChild } from './cleanup.js';
import { freePort } from './ports.js';
import { RingBuffer } from './ring-buffer.js';
import { tempDir } from './temp.js';
import type { ExitInfo } from './broker-process.js';

export interface RedisServerOptions {
  /** Port on 127.0.0.1 (default: a free one, kept across restarts). */
  port?: number;
  /** Data directory (default: a fresh temp dir, removed by cleanupAll()). */
  dir?: string;
  /** Extra `redis-server` arguments (`['--maxmemory', '64mb']`). */
  args?: string[];
  /** How long to wait for PING (default 20 s: an AOF replay can take a while). */
  readyTimeoutMs?: number;
  /** Output kept for failure reports (default 256 KiB). */
  outputLimitBytes?: number;
}

const REDIS_SERVER = process.env['STRATA_REDIS_SERVER'] ?? 'redis-server';
const PORT_ATTEMPTS_MAX = 3;
const PING_INTERVAL_MS = 20;

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  /** redis://127.0.0.1:<port>: what STRATA_REDIS_URL is set to. */
  readonly url: string;
  private readonly options: RedisServerOptions;
  private readonly output: RingBuffer;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private incarnation = 0;

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
    this.options = options;
    this.output = new RingBuffer(options.outputLimitBytes);
  }

  /** Spawn redis-server and wait until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ?? tempDir('strata-redis-');
    // A port that was free a moment ago can be taken before the child binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), dir, options);
      try {
        await server.spawn();
        return server;
      } catch (error) {
        const portTaken = /Address already in use/i.test(server.logs());
        if (!portTaken || options.port !== undefined || attempt >= PORT_ATTEMPTS_MAX) throw error;
      }
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The environment that points a BrokerProcess at this server: pass it as `env`. */
  brokerEnv(): Record<string, string> {
    return { STRATA_REDIS_URL: this.url };
  }

  logs(): string {
    return this.output.toString();
  }

  printLogs(label = `redis :${this.port}`): void {
    process.stderr.write(
      `\n----- ${label} output (pid ${String(this.pid)}, dir ${this.dir}) -----\n${this.logs()}\n----- end of ${label} output -----\n`,
    );
  }

  private async spawn(): Promise<void> {
    if (this.running) throw new Error(`redis-server :${this.port} is already running (pid ${String(this.pid)})`);
    this.incarnation++;
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'no',
      '--loglevel', 'notice',
      ...(this.options.args ?? []),
    ];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    this.child = child;
    this.output.push(Buffer.from(`[harness] redis-server incarnation ${this.incarnation}: pid ${String(child.pid)} port ${this.port}\n`));
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.output.push(Buffer.from(`[harness] redis-server pid ${String(child.pid)} exited: code ${code} signal ${signal}\n`));
        resolve({ code, signal });
      });
    });
    child.once('error', (error) => this.output.push(Buffer.from(`[harness] cannot run ${REDIS_SERVER}: ${error.message}\n`)));
    await this.waitReady(this.options.readyTimeoutMs ?? 20_000);
  }

  /** Poll PING until +PONG; fail early if the process exits, SIGKILL it on timeout. */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server exited before it answered PING:\n${this.logs()}`);
      try {
        const reply = await ping(this.port, 500);
        if (reply === '+PONG') return;
        lastProblem = reply;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS));
    }
    await this.kill();
    throw new Error(`redis-server not ready after ${timeoutMs} ms (${lastProblem}):\n${this.logs()}`);
  }

  /** SIGTERM (Redis fsyncs the AOF and exits) and wait; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<ExitInfo> {
    const child = this.child;
    if (child === undefined || this.exited === undefined) return { code: null, signal: null };
    if (this.running) {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.output.push(Buffer.from(`[harness] redis-server: no exit ${timeoutMs} ms after SIGTERM: SIGKILL\n`));
        child.kill('SIGKILL');
      }, timeoutMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }

  /** SIGKILL and wait: connections reset, then refused until restart(). */
  async kill(): Promise<ExitInfo> {
    const child = this.child;
    if (child === undefined || this.exited === undefined) return { code: null, signal: null };
    if (this.running) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    return this.exited;
  }

  /** SIGSTOP: the kernel still accepts connections, nothing answers (a hung or partitioned Redis). */
  pause(): void {
    if (!this.running) throw new Error('pause: redis-server is not running');
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    if (!this.running) throw new Error('resume: redis-server is not running');
    this.child?.kill('SIGCONT');
  }

  /** Start again on the same port and directory (stopping first, gracefully, if still running): the AOF replays. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.spawn();
  }

  /** A copy of the data directory, to restore later (take it while stopped, for a consistent AOF). */
  snapshotDir(): string {
    const copy = tempDir('strata-redis-copy-');
    cpSync(this.dir, copy, { recursive: true });
    return copy;
  }

  /** Replace the data directory with `copy` (while stopped): the next restart forgets what came after it. */
  restoreDir(copy: string): void {
    if (this.running) throw new Error('restoreDir: stop or kill the server first');
    rmSync(this.dir, { recursive: true, force: true });
    cpSync(copy, this.dir, { recursive: true });
  }

  /** Wait for the current incarnation to exit by itself. */
  async waitExit(): Promise<ExitInfo> {
    if (this.exited === undefined) return { code: null, signal: null };
    return this.exited;
  }
}

/** PING over a raw socket (no client library in the harness): the reply's first line. */
function ping(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to PING within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
      const end = data.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data.slice(0, end));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
