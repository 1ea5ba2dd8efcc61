/**
 * What `pnpm bench peers` needs of the processes it measures: the CPU time a server process spent
 * (from /proc, the same way for nats-server, redis-server and a broker, so CPU-s/GB compare), pinning a
 * process to a core with util-linux's `taskset`, and whether a peer's server binary is installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every mainstream build). */
const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** User + system CPU seconds of a process and all its threads so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot read the CPU time of pid ${pid}`);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/**
 * Of a process's main thread so far: time on a CPU, and time runnable but waiting in the run queue
 * for one (/proc/<pid>/task/<pid>/schedstat, ns; Linux with schedstats, which every distribution
 * kernel has). The wait is CPU contention: time the thread would have run on a free core.
 */
export function mainThreadSchedMs(pid: number): { runMs: number; waitMs: number } {
  const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  if (!Number.isFinite(runNs) || !Number.isFinite(waitNs)) throw new Error(`cannot read the schedstat of pid ${pid}`);
  return { runMs: runNs! / 1e6, waitMs: waitNs! / 1e6 };
}

/** Whether `command` is on the PATH (a peer whose server is not installed is skipped, and said so). */
export function installed(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Pinning needs `taskset` and two cores at least: one for the server measured, one for the rest. */
export function canPin(): boolean {
  return availableParallelism() >= 2 && installed('taskset');
}

/** Pins every thread of `pid` (threads started later inherit it) to the given cores. */
export function pin(pid: number, cores: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset -a -p -c ${cores} ${pid}: ${result.stderr.trim()}`);
}

/** Every core this machine has, as taskset writes a list ("0-1"): what unpinning sets back. */
export function allCores(): string {
  return `0-${availableParallelism() - 1}`;
}
