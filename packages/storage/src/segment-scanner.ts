// Runs scanSegmentFileTail (segment-file-scan.ts) in one worker thread, one scan at a time in
// call order: the CRC-32C passes over a sealed segment cost the uploader's thread, never the
// broker's main thread, and at most one chunk of memory. The worker starts on first use, is
// unref'd (it never keeps a process alive) and is replaced if it dies.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '@strata/protocol';
import type { SegmentFileRange } from './segment-file-scan.js';
import type { SegmentFooter, SegmentObjectInfo } from './segment-format.js';
import type { ScanRequest } from './segment-scan-worker.js';

interface Pending {
  resolve: (result: { tail: Buffer; footer: SegmentFooter }) => void;
  reject: (error: Error) => void;
}

type ScanReply = { id: number; tail: Uint8Array; footer: SegmentFooter } | { id: number; error: { code: string | null; message: string } };

export class SegmentScanner {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #closed = false;

  /** The object tail (indexes and footer) of the segment file's range; throws CORRUPT_MESSAGE at a bad batch. */
  scan(range: SegmentFileRange, info: SegmentObjectInfo): Promise<{ tail: Buffer; footer: SegmentFooter }> {
    if (this.#closed) return Promise.reject(new StrataError('STORAGE_ERROR', 'the segment scanner is closed'));
    const id = this.#nextId++;
    const request: ScanRequest = { id, range, info };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#start().postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    this.#failAll(new StrataError('STORAGE_ERROR', 'the segment scanner closed'));
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== null) return this.#worker;
    // No inherited flags: the worker loads the built packages whatever resolve conditions the parent runs under (a test runner's).
    const worker = new Worker(workerFile(), { execArgv: [] });
    worker.unref();
    worker.on('message', (reply: ScanReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if ('error' in reply) pending.reject(rebuildError(reply.error));
      else pending.resolve({ tail: Buffer.from(reply.tail.buffer, reply.tail.byteOffset, reply.tail.byteLength), footer: reply.footer });
    });
    const onGone = (cause: unknown): void => {
      if (this.#worker === worker) this.#worker = null;
      this.#failAll(new StrataError('STORAGE_ERROR', 'the segment scan worker stopped', { cause }));
    };
    worker.on('error', onGone);
    worker.on('exit', (code) => onGone(new Error(`exit code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

function rebuildError(error: { code: string | null; message: string }): StrataError {
  const code = error.code !== null && error.code in ERROR_CATALOGUE ? (error.code as ErrorCode) : 'STORAGE_ERROR';
  return new StrataError(code, error.message);
}

/**
 * The worker's compiled file. Under vitest this module runs from its TypeScript source, where no
 * `.js` sits beside it: the built one in dist/ is used then (tests build first, as the
 * integration tests' broker processes need dist anyway).
 */
function workerFile(): URL {
  const beside = new URL('./segment-scan-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../dist/segment-scan-worker.js', import.meta.url);
}
