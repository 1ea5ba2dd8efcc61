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
import { spawn } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { ManagedProcess, startOnFreePort, type ExitInfo } from './managed-process.js';
import { tempDir } from './temp.js';

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
const PING_INTERVAL_MS = 20;

export class RedisServer extends ManagedProcess {
  readonly port: number;
  readonly dir: string;
  /** redis://127.0.0.1:<port>: what STRATA_REDIS_URL is set to. */
  readonly url: string;
  private readonly options: RedisServerOptions;

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    super(
      { name: 'redis-server', outputTag: 'redis-server', label: `redis :${port}`, dirNote: `dir ${dir}` },
      { stopTimeoutMs: 10_000, outputLimitBytes: options.outputLimitBytes },
    );
    this.port = port;
    this.dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
    this.options = options;
  }

  /** Spawn redis-server and wait until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ?? tempDir('strata-redis-');
    return startOnFreePort(
      options.port,
      (port) => new RedisServer(port, dir, options),
      (server) => server.spawn(),
      (logs) => /Address already in use/i.test(logs),
    );
  }

  /** The environment that points a BrokerProcess at this server: pass it as `env`. */
  brokerEnv(): Record<string, string> {
    return { STRATA_REDIS_URL: this.url };
  }

  protected override async spawn(): Promise<void> {
    if (this.running) throw new Error(`redis-server :${this.port} is already running (pid ${String(this.pid)})`);
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
    this.launch(child, ` port ${this.port}`);
    child.once('error', (error) => this.note(`cannot run ${REDIS_SERVER}: ${error.message}`));
    await this.waitReady(this.options.readyTimeoutMs ?? 20_000);
  }

  /** Poll PING until +PONG; fail early if the process exits, SIGKILL it on timeout. */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    await this.pollReady(timeoutMs, PING_INTERVAL_MS, 'it answered PING', async () => {
      const reply = await ping(this.port, 500);
      return reply === '+PONG' ? undefined : reply;
    });
  }

  /** SIGKILL and wait: connections reset, then refused until restart(). SIGCONT first, should it be paused. */
  override async kill(): Promise<ExitInfo> {
    if (this.running) this.signal('SIGCONT');
    return super.kill();
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
