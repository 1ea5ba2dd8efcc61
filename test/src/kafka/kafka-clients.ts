/**
 * Real Kafka clients for the Kafka listener's tests: kcat (librdkafka) and python3 with
 * kafka-python, run as processes with a bounded time, their output returned. A test skips with a
 * clear message when the client is not installed (.ci/run installs them).
 */
import { spawn, spawnSync } from 'node:child_process';

export const KCAT = 'kcat';

/** Whether `command --version`-like probing finds the tool. */
export function hasKcat(): boolean {
  return spawnSync(KCAT, ['-V'], { stdio: 'ignore' }).status === 0;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` with `input` on stdin; killed after `timeoutMs`. */
export function run(command: string, args: string[], input = '', timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A client that exits before reading its input (a failure it reports, or one that needs none)
    // closes the pipe: EPIPE here says nothing its exit code and output do not, and unhandled it
    // fails the whole test run.
    child.stdin.once('error', () => undefined);
    child.stdin.end(input);
  });
}

/** kcat against `bootstrap`; throws with its output when it fails. */
export async function kcat(bootstrap: string, args: string[], input = ''): Promise<string> {
  const result = await run(KCAT, ['-b', bootstrap, ...args], input);
  if (result.code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** kcat -C ... -J output: one JSON object per line. */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: string[];
  key: string | null;
  payload: string | null;
}

export function parseKcatJson(out: string): KcatRecord[] {
  return out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as KcatRecord);
}

/** A python3 that imports `module`: Debian's (/usr/bin/python3, where apt installs the clients) first, else the one on PATH; null when none does. */
export function pythonWith(module: string): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0) return python;
  }
  return null;
}
