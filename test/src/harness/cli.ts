/** Run the built `strata` CLI as a child process (what a user's shell does). */
import { spawn } from 'node:child_process';
import { trackChild, WATCHDOG_IMPORT } from './cleanup.js';
import { CLI_MAIN, REPO_ROOT } from './broker-process.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Written to stdin, then stdin is closed (default: empty stdin). */
  stdin?: string | Buffer;
  env?: Record<string, string>;
  /** Kill with SIGKILL and fail after this long (default 30 s). */
  timeoutMs?: number;
}

export function runStrata(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', WATCHDOG_IMPORT, CLI_MAIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackChild(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`strata ${args.join(' ')}: no exit after ${timeoutMs} ms\n${Buffer.concat(stderr).toString()}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined); // the CLI may exit before reading all of stdin
    child.stdin.end(options.stdin ?? '');
  });
}
