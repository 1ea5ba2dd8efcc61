/**
 * No leaked children, no leaked temp dirs: every process the harness spawns and every temp dir it
 * makes is registered here and removed when the test process exits, even if a test forgot to
 * (afterAll hooks stop them earlier in the normal case). A process killed by a signal runs no exit
 * hook, so each spawned broker also carries a watchdog (see WATCHDOG_IMPORT) that ends it when its
 * parent goes away.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const closers = new Set<() => void>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => cleanupAll());
}

/**
 * Kill every child still running and remove every temp dir (kept with STRATA_KEEP_TMP=1).
 * Suites call it after their last test; the exit hook is the backstop.
 */
export function cleanupAll(options: { keepDirs?: boolean } = {}): void {
  for (const close of closers) close();
  closers.clear();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
  if (options.keepDirs === true || process.env['STRATA_KEEP_TMP'] === '1') return;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

export function trackChild(child: ChildProcess): void {
  hook();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackDir(dir: string): void {
  hook();
  dirs.add(dir);
}

/**
 * An in-process resource (a proxy's listening socket) that cleanupAll() must close: `close` runs
 * synchronously and must not throw. Returns the function that unregisters it (call it on a normal stop).
 */
export function trackCloser(close: () => void): () => void {
  hook();
  closers.add(close);
  return () => {
    closers.delete(close);
  };
}

/** Children still running (a test can assert none leaked). */
export function liveChildren(): number {
  return [...children].filter((c) => c.exitCode === null && c.signalCode === null).length;
}

/**
 * Preloaded into every spawned broker (`node --import <this> ...`): if the parent (the test
 * process) dies, even by SIGKILL, the child notices that it was re-parented and kills itself.
 */
const WATCHDOG_SOURCE =
  'const parent = process.ppid;' +
  'setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, "SIGKILL"); }, 500).unref();';
export const WATCHDOG_IMPORT = `data:text/javascript,${encodeURIComponent(WATCHDOG_SOURCE)}`;
