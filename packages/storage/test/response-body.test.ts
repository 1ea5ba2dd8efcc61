import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isStrataError } from '@strata/protocol';
import { readAnnouncedBody } from '../src/response-body.js';

function chunks(...parts: string[]): Readable {
  return Readable.from(parts.map((part) => Buffer.from(part)));
}

describe('readAnnouncedBody', () => {
  it('joins the chunks in order into a buffer of the announced length', async () => {
    const body = await readAnnouncedBody(chunks('ab', 'cde', '', 'f'), 6, 'get k', new AbortController().signal);
    expect(body.toString()).toBe('abcdef');
    expect(body.length).toBe(6);
  });

  it('returns a body that ended early short, for the caller to compare with the announced length', async () => {
    const body = await readAnnouncedBody(chunks('ab', 'c'), 5, 'get k', new AbortController().signal);
    expect(body.toString()).toBe('abc');
  });

  it('refuses, as retriable, a body that runs past its announced length before writing past it', async () => {
    const error: unknown = await readAnnouncedBody(chunks('abc', 'def'), 4, 'get k', new AbortController().signal).catch((e: unknown) => e);
    expect(isStrataError(error) && error.retriable).toBe(true);
    expect((error as Error).message).toMatch(/get k: the body runs past its Content-Length of 4 bytes/);
  });

  it('reads into the buffer it is given when the body fits, and writes nothing once its attempt is aborted', async () => {
    const into = Buffer.alloc(8, 0x2e);
    const body = await readAnnouncedBody(chunks('abc', 'de'), 5, 'get k', new AbortController().signal, into);
    expect(body.buffer).toBe(into.buffer);
    expect(into.toString()).toBe('abcde...');
    const attempt = new AbortController();
    const reused = Buffer.alloc(8, 0x2e);
    async function* abortedAfterFirst(): AsyncIterable<Buffer> {
      yield Buffer.from('xy');
      attempt.abort(new Error('timed out'));
      yield Buffer.from('zz');
    }
    await expect(readAnnouncedBody(Readable.from(abortedAfterFirst()), 4, 'get k', attempt.signal, reused)).rejects.toThrow(/timed out/);
    expect(reused.toString()).toBe('xy......');
  });

  it('refuses an announced length that is not a byte count', async () => {
    await expect(readAnnouncedBody(chunks('a'), -1, 'get k', new AbortController().signal)).rejects.toThrow(/not a byte count/);
  });
});
