/**
 * What a process holds, read from /proc: resident memory and open file descriptors. The hostile-input
 * suites assert ceilings on these while they attack a broker (Linux only; the tests run there).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'undici';

export interface ProcessStats {
  /** Resident set size, bytes. */
  rssBytes: number;
  /** Open file descriptors (sockets included). */
  openFds: number;
}

export function processStats(pid: number): ProcessStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return { rssBytes: Number(match[1]) * 1024, openFds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Samples a process every `intervalMs` and keeps the peaks, until stop(). */
export class StatsSampler {
  peak: ProcessStats = { rssBytes: 0, openFds: 0 };
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    try {
      const now = processStats(this.pid);
      this.peak = { rssBytes: Math.max(this.peak.rssBytes, now.rssBytes), openFds: Math.max(this.peak.openFds, now.openFds) };
      this.samples++;
    } catch {
      // the process is gone: the test's liveness check reports it
    }
  }

  stop(): ProcessStats {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/**
 * Another client's view while an attack runs: GET `path` one request at a time until stop(), and
 * the latencies seen (ms) and failures. Tests print these and assert that answers kept coming
 * (a count, not a timing: the machine is shared and noisy).
 */
/** How many failures a probe describes (it counts them all). */
const FAILURE_REASONS_KEPT = 10;

export class ResponsivenessProbe {
  readonly latenciesMs: number[] = [];
  failures = 0;
  /** What the first failures were (a status and its body, or the client's error), for the report. */
  readonly failureReasons: string[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly url: string, private readonly timeoutMs = 10_000) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = performance.now();
      try {
        const answer = await request(this.url, { signal: AbortSignal.timeout(this.timeoutMs) });
        const body = Buffer.from(await answer.body.arrayBuffer());
        if (answer.statusCode >= 500) this.fail(`${answer.statusCode} ${body.subarray(0, 300).toString('utf8')}`);
        else this.latenciesMs.push(performance.now() - started);
      } catch (e) {
        this.fail(`${(e as { code?: string }).code ?? ''} ${(e as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private fail(reason: string): void {
    this.failures++;
    if (this.failureReasons.length < FAILURE_REASONS_KEPT) this.failureReasons.push(reason);
  }

  async stop(): Promise<{ answered: number; failures: number; failureReasons: string[]; p50Ms: number; maxMs: number }> {
    this.stopped = true;
    await this.loop;
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return {
      answered: sorted.length,
      failures: this.failures,
      failureReasons: this.failureReasons,
      p50Ms: sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!,
      maxMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    };
  }
}
