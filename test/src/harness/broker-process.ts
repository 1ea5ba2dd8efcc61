/**
 * A real broker process: `node services/cli/dist/main.js serve` (so `pnpm build` must have run).
 *
 * Configured through the environment (DESIGN.md §8 names), with the HTTP port and data dir
 * chosen by the harness; output kept in a ring buffer to print when a test fails. Faults:
 * stop() (SIGTERM, graceful), kill() (SIGKILL), pause()/resume() (SIGSTOP/SIGCONT), and
 * restart() on the same port and data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { trackChild, WATCHDOG_IMPORT } from './cleanup.js';
import { HttpClient } from './http.js';
import { freePort } from './ports.js';
import { tempDir } from './temp.js';
import { RingBuffer } from './ring-buffer.js';

/** The repository root: this file is <root>/test/{src,dist}/harness/broker-process.{ts,js}. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI_MAIN = join(REPO_ROOT, 'services', 'cli', 'dist', 'main.js');

export interface BrokerProcessOptions {
  /** HTTP port (default: a free one). */
  port?: number;
  /** Data directory (default: a fresh temp dir). */
  dataDir?: string;
  /** Extra environment, on top of this process's (STRATA_* settings, ...). */
  env?: Record<string, string>;
  /** Extra `strata serve` flags. */
  args?: string[];
  /** How long to wait for /readyz (default 30 s). */
  readyTimeoutMs?: number;
  /** Output kept for failure reports (default 256 KiB). */
  outputLimitBytes?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class BrokerProcess {
  readonly port: number;
  readonly dataDir: string;
  readonly url: string;
  /** A JSON helper bound to this broker's URL. */
  readonly http: HttpClient;
  private readonly options: BrokerProcessOptions;
  private readonly output = new RingBuffer();
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private incarnation = 0;

  private constructor(port: number, dataDir: string, options: BrokerProcessOptions) {
    this.port = port;
    this.dataDir = dataDir;
    this.url = `http://127.0.0.1:${port}`;
    this.http = new HttpClient(this.url);
    this.options = options;
    if (options.outputLimitBytes !== undefined) this.output = new RingBuffer(options.outputLimitBytes);
  }

  /** Spawn a broker and wait until it answers /readyz. */
  static async start(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
    if (!existsSync(CLI_MAIN)) {
      throw new Error(`${CLI_MAIN} is missing: run \`pnpm build\` first (pnpm test does)`);
    }
    const broker = new BrokerProcess(options.port ?? (await freePort()), options.dataDir ?? tempDir('strata-broker-'), options);
    await broker.spawn();
    return broker;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last output of every incarnation (stdout and stderr interleaved). */
  logs(): string {
    return this.output.toString();
  }

  /** Print the captured output (call it when a test fails). */
  printLogs(label = `broker :${this.port}`): void {
    process.stderr.write(
      `\n----- ${label} output (pid ${String(this.pid)}, data dir ${this.dataDir}) -----\n${this.logs()}\n----- end of ${label} output -----\n`,
    );
  }

  private async spawn(): Promise<void> {
    this.incarnation++;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STRATA_HTTP_PORT: String(this.port),
      STRATA_DATA_DIR: this.dataDir,
      STRATA_ADVERTISED_URL: this.url,
      ...this.options.env,
    };
    const child = spawn(process.execPath, ['--import', WATCHDOG_IMPORT, CLI_MAIN, 'serve', ...(this.options.args ?? [])], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(child);
    this.child = child;
    const banner = Buffer.from(`[harness] incarnation ${this.incarnation}: pid ${String(child.pid)}\n`);
    this.output.push(banner);
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.output.push(Buffer.from(`[harness] pid ${String(child.pid)} exited: code ${code} signal ${signal}\n`));
        resolve({ code, signal });
      });
    });
    await this.waitReady(this.options.readyTimeoutMs ?? 30_000);
  }

  /** Poll /readyz until it answers 200; fail early if the process exits. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`broker exited before it was ready:\n${this.logs()}`);
      }
      try {
        const answer = await this.http.get('/readyz', { timeoutMs: 2_000 });
        if (answer.status === 200) return;
        lastProblem = `HTTP ${answer.status}`;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.kill();
    throw new Error(`broker not ready after ${timeoutMs} ms (${lastProblem}):\n${this.logs()}`);
  }

  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`). Resolves at once if not running. */
  async stop(timeoutMs = 15_000): Promise<ExitInfo> {
    const child = this.child;
    if (child === undefined || this.exited === undefined) return { code: null, signal: null };
    if (this.running) {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.output.push(Buffer.from(`[harness] no exit ${timeoutMs} ms after SIGTERM: SIGKILL\n`));
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

  /** SIGKILL (a crash of the process, not of the machine: the page cache survives) and wait. */
  async kill(): Promise<ExitInfo> {
    const child = this.child;
    if (child === undefined || this.exited === undefined) return { code: null, signal: null };
    if (this.running) child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGSTOP: the process stays, stops answering (a GC pause, a frozen VM). */
  pause(): void {
    if (!this.running) throw new Error('pause: broker is not running');
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    if (!this.running) throw new Error('resume: broker is not running');
    this.child?.kill('SIGCONT');
  }

  /** Start again on the same port and data dir (stopping first, gracefully, if still running). */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.spawn();
  }

  /** Wait for the current incarnation to exit by itself. */
  async waitExit(): Promise<ExitInfo> {
    if (this.exited === undefined) return { code: null, signal: null };
    return this.exited;
  }
}
