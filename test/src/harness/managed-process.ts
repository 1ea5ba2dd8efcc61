/**
 * The lifecycle BrokerProcess, S3Server and RedisServer share: one child process at a time (an
 * "incarnation"), its output kept in a ring buffer across incarnations, every child registered with
 * cleanup.ts, and the faults: stop() (SIGTERM, SIGKILL after a timeout), kill() (SIGKILL),
 * pause()/resume() (SIGSTOP/SIGCONT), restart() on the same port and directory, waitExit().
 *
 * A subclass spawns its own child (command, environment, readiness check) and hands it to launch().
 * The names in errors and in the harness's own output lines come from the subclass (ManagedProcessNames),
 * so each keeps the exact lines it had before this base existed.
 */
import type { ChildProcess } from 'node:child_process';
import { trackChild } from './cleanup.js';
import { freePort } from './ports.js';
import { RingBuffer } from './ring-buffer.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcessNames {
  /** In errors: "pause: <name> is not running". */
  name: string;
  /**
   * Opens the harness's own output lines ("[harness] <outputTag> pid 123 exited: ..."); undefined
   * for none (the broker's lines carry no name).
   */
  outputTag?: string;
  /** printLogs()'s default label ("redis :6379"). */
  label: string;
  /** printLogs()'s header names the directory with this ("dir /tmp/strata-redis-x"). */
  dirNote: string;
}

export interface ManagedProcessSettings {
  /** stop()'s default wait for the exit after SIGTERM, before SIGKILL. */
  stopTimeoutMs: number;
  /** Output kept for failure reports (default: RingBuffer's, 256 KiB). */
  outputLimitBytes?: number | undefined;
}

export abstract class ManagedProcess {
  private readonly names: ManagedProcessNames;
  private readonly stopTimeoutMs: number;
  private readonly output: RingBuffer;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private incarnation = 0;

  protected constructor(names: ManagedProcessNames, settings: ManagedProcessSettings) {
    this.names = names;
    this.stopTimeoutMs = settings.stopTimeoutMs;
    this.output = new RingBuffer(settings.outputLimitBytes);
  }

  /** Spawn the next incarnation and wait until it is ready (subclasses: build the child, launch() it). */
  protected abstract spawn(): Promise<void>;

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

  /**
   * The output once it matches `pattern`: a line written while answering a request reaches this
   * process through a pipe, after the answer may have. Bounded by `timeoutMs`.
   */
  async waitForLog(pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const matches = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
    for (;;) {
      const text = this.logs();
      if (matches(text)) return text;
      if (Date.now() > deadline) throw new Error(`${this.names.label} did not log ${String(pattern)} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Print the captured output (call it when a test fails). */
  printLogs(label = this.names.label): void {
    process.stderr.write(
      `\n----- ${label} output (pid ${String(this.pid)}, ${this.names.dirNote}) -----\n${this.logs()}\n----- end of ${label} output -----\n`,
    );
  }

  /**
   * Make `child` the current incarnation: register it for cleanup, capture its output (after a
   * banner line "[harness] <outputTag> incarnation N: pid P<bannerNote>") and note its exit.
   */
  protected launch(child: ChildProcess, bannerNote = ''): void {
    this.incarnation++;
    trackChild(child);
    this.child = child;
    this.note(`${this.tag(' ')}incarnation ${this.incarnation}: pid ${String(child.pid)}${bannerNote}`);
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.note(`${this.tag(' ')}pid ${String(child.pid)} exited: code ${code} signal ${signal}`);
        resolve({ code, signal });
      });
    });
  }

  /** A line of the harness's own in the output, among the child's: "[harness] <line>". */
  protected note(line: string): void {
    this.output.push(Buffer.from(`[harness] ${line}\n`));
  }

  /** "<outputTag><separator>", or nothing without an outputTag. */
  private tag(separator: string): string {
    return this.names.outputTag === undefined ? '' : `${this.names.outputTag}${separator}`;
  }

  /**
   * Poll `probe` every `intervalMs` until it reports ready (undefined; otherwise it returns or throws
   * the problem); fail early if the process exits ("<name> exited before <readyMeans>"), SIGKILL it
   * on timeout.
   */
  protected async pollReady(
    timeoutMs: number,
    intervalMs: number,
    readyMeans: string,
    probe: () => Promise<string | undefined>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.names.name} exited before ${readyMeans}:\n${this.logs()}`);
      try {
        const problem = await probe();
        if (problem === undefined) return;
        lastProblem = problem;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    await this.kill();
    throw new Error(`${this.names.name} not ready after ${timeoutMs} ms (${lastProblem}):\n${this.logs()}`);
  }

  /**
   * SIGTERM and wait for the exit (SIGKILL after `timeoutMs`; a paused process gets SIGCONT first, so
   * it can act on the SIGTERM). Resolves at once if not running.
   */
  async stop(timeoutMs = this.stopTimeoutMs): Promise<ExitInfo> {
    const child = this.child;
    if (child === undefined || this.exited === undefined) return { code: null, signal: null };
    if (this.running) {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.note(`${this.tag(': ')}no exit ${timeoutMs} ms after SIGTERM: SIGKILL`);
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

  /** SIGSTOP: the process stays and stops answering (a GC pause, a frozen VM, a hung server). */
  pause(): void {
    if (!this.running) throw new Error(`pause: ${this.names.name} is not running`);
    this.signal('SIGSTOP');
  }

  resume(): void {
    if (!this.running) throw new Error(`resume: ${this.names.name} is not running`);
    this.signal('SIGCONT');
  }

  /** Send `signal` to the current incarnation, if there is one (no wait, no check that it runs). */
  protected signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Start again on the same port and directory (stopping first, gracefully, if still running). */
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

export const PORT_ATTEMPTS_MAX = 3;

/**
 * Make a process with `make(port)` and `start` it, on `port` or else on a free one. A port that was
 * free a moment ago can be taken before the child binds it: when `portTaken(logs)` says that is why
 * the start failed, try another free port (PORT_ATTEMPTS_MAX in all; never with a fixed `port`).
 */
export async function startOnFreePort<T extends ManagedProcess>(
  port: number | undefined,
  make: (port: number) => T,
  start: (managed: T) => Promise<void>,
  portTaken: (logs: string) => boolean,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const managed = make(port ?? (await freePort()));
    try {
      await start(managed);
      return managed;
    } catch (error) {
      if (!portTaken(managed.logs()) || port !== undefined || attempt >= PORT_ATTEMPTS_MAX) throw error;
    }
  }
}
