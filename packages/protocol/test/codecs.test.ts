// All four of Kafka's codecs through the one entry point per direction
// (compressRecords, decompressRecords / decompressRecordsAsync): round trips,
// bytes written by other tools (fixtures/README.md), and the decompression
// bound against bombs and forged headers.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  Compression,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  ZSTD_ENGINE,
  compressRecords,
  compressionUnavailable,
  decodeRecordBatch,
  decompressRecords,
  decompressRecordsAsync,
  isStrataError,
  validateBatches,
  type CompressionName,
} from '@strata/protocol';
import { decompressZstdPortable, decompressZstdPortableAsync } from '../src/codecs/zstd.js';
import { compressSnappyRaw } from '../src/codecs/snappy.js';
import { fixtureFile, fixtureHex, fixturePayload, fixtureRecords } from './codec-fixtures.js';
import { expectStrataError, prng, randomBytes } from './helpers.js';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const MiB = 1024 * 1024;

function writable(name: CompressionName): boolean {
  return compressionUnavailable(name) === null;
}

function hasTool(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function expectRejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStrataError(error), `expected a StrataError, got ${String(error)}`).toBe(true);
  if (!isStrataError(error)) return;
  expect(error.code).toBe(code);
  if (message !== undefined) expect(error.message).toMatch(message);
}

/** Text that compresses like records do, then random bytes that do not. */
function mixedPayload(bytes: number): Buffer {
  const text = fixturePayload();
  const out = Buffer.allocUnsafe(bytes);
  for (let pos = 0; pos < bytes; pos += text.length) text.copy(out, pos, 0, Math.min(text.length, bytes - pos));
  randomBytes(prng(7), Math.min(bytes >> 3, 256 * 1024)).copy(out, bytes >> 1);
  return out;
}

describe('codecs: round trips', () => {
  for (const name of CODECS) {
    it.skipIf(!writable(name))(`${name}: 1 byte, 1 KiB, 125 KiB of text and 3 MiB mixed come back, sync and async`, async () => {
      const code = Compression[name];
      for (const data of [Buffer.from('x'), fixturePayload().subarray(0, 1024), fixturePayload(), mixedPayload(3 * MiB)]) {
        const compressed = compressRecords(code, data);
        if (data.length > 1024) expect(compressed.length).toBeLessThan(data.length);
        expect(decompressRecords(code, compressed).equals(data)).toBe(true);
        expect((await decompressRecordsAsync(code, compressed)).equals(data)).toBe(true);
      }
    });
  }

  it('zstd is written only where node:zlib has it, and read everywhere', () => {
    expect(ZSTD_ENGINE).toBe(writable('zstd') ? 'node:zlib' : 'fzstd');
    if (!writable('zstd')) {
      expectStrataError(() => compressRecords(Compression.zstd, Buffer.from('x')), 'UNSUPPORTED_COMPRESSION_TYPE', /Node\.js >= 22\.15/);
    }
  });
});

describe('codecs: bytes written by other tools', () => {
  const payload = fixturePayload();

  it('snappy: a raw block (librdkafka writes these; Debian python3-snappy) and xerial framing (the Java client)', async () => {
    for (const file of ['codec-snappy-python-raw.snappy', 'codec-snappy-xerial-python.snappy']) {
      expect(decompressRecords(Compression.snappy, fixtureFile(file)).equals(payload), file).toBe(true);
      expect((await decompressRecordsAsync(Compression.snappy, fixtureFile(file))).equals(payload), file).toBe(true);
    }
  });

  it("snappy: written as snappy-java's SnappyOutputStream frames it (header, then 32 KiB chunks)", () => {
    const written = compressRecords(Compression.snappy, payload);
    expect(written.subarray(0, 16).toString('hex')).toBe('82534e415050590000000001' + '00000001');
    const chunks: Buffer[] = [];
    for (let pos = 16; pos < written.length; ) {
      const length = written.readInt32BE(pos);
      chunks.push(written.subarray(pos + 4, pos + 4 + length));
      pos += 4 + length;
    }
    expect(chunks).toHaveLength(Math.ceil(payload.length / (32 * 1024)));
    const raw = chunks.map((chunk) => decompressRecords(Compression.snappy, chunk));
    expect(raw.slice(0, -1).every((part) => part.length === 32 * 1024)).toBe(true);
    expect(Buffer.concat(raw).equals(payload)).toBe(true);
  });

  it.skipIf(!hasTool('/usr/bin/python3', ['-c', 'import snappy']))('snappy: python3-snappy reads each chunk Strata writes', () => {
    const written = compressRecords(Compression.snappy, payload);
    const script =
      'import sys,struct,snappy\nd=sys.stdin.buffer.read();p=16;o=b""\n' +
      'while p<len(d):\n n=struct.unpack(">i",d[p:p+4])[0];o+=snappy.decompress(d[p+4:p+4+n]);p+=4+n\nsys.stdout.buffer.write(o)';
    expect(execFileSync('/usr/bin/python3', ['-c', script], { input: written }).equals(payload)).toBe(true);
  });

  it('lz4: frames from the lz4 CLI, with linked blocks and every checksum, or independent blocks', async () => {
    for (const file of ['codec-lz4-cli-linked-checksums.lz4', 'codec-lz4-cli-independent.lz4']) {
      expect(decompressRecords(Compression.lz4, fixtureFile(file)).equals(payload), file).toBe(true);
      expect((await decompressRecordsAsync(Compression.lz4, fixtureFile(file))).equals(payload), file).toBe(true);
    }
  });

  it.skipIf(!hasTool('lz4', ['--version']))('lz4: the lz4 CLI reads the frames Strata writes', () => {
    const data = mixedPayload(MiB);
    expect(execFileSync('lz4', ['-d', '-c'], { input: compressRecords(Compression.lz4, data) }).equals(data)).toBe(true);
  });

  it(`zstd: frames from the zstd CLI (one, and two back to back), with this Node's engine (${ZSTD_ENGINE}) and with fzstd`, async () => {
    const one = fixtureFile('codec-zstd-cli-level3.zst');
    const two = fixtureFile('codec-zstd-cli-two-frames.zst');
    const twice = Buffer.concat([payload, payload]);
    expect(decompressRecords(Compression.zstd, one).equals(payload)).toBe(true);
    expect((await decompressRecordsAsync(Compression.zstd, two)).equals(twice)).toBe(true);
    expect(decompressZstdPortable(one, MiB).equals(payload)).toBe(true);
    expect(decompressZstdPortable(two, MiB).equals(twice)).toBe(true);
    expect((await decompressZstdPortableAsync(two, MiB)).equals(twice)).toBe(true);
  });

  it.skipIf(!writable('zstd') || !hasTool('zstd', ['--version']))('zstd: the zstd CLI reads the frames Strata writes', () => {
    const data = mixedPayload(MiB);
    expect(execFileSync('zstd', ['-d', '-c', '-q'], { input: compressRecords(Compression.zstd, data) }).equals(data)).toBe(true);
  });

  it('RecordBatches compressed by other tools and written by kafka-python decode to their records (keys, null key, tombstone, headers, timestamps)', () => {
    const expected = fixtureRecords().map((r, i) => ({
      offset: i,
      timestamp: r.timestamp,
      key: r.key ?? null,
      value: r.value,
      headers: r.headers,
    }));
    const fixtures = [
      ...(['snappy', 'lz4', 'zstd'] as const).map((codec) => [codec, `codec-batch-${codec}.hex`] as const),
      ...CODECS.map((codec) => [codec, `kafka-python-batch-${codec}.hex`] as const),
    ];
    for (const [codec, file] of fixtures) {
      const batch = fixtureHex(file);
      expect(batch.readInt16BE(21) & 7, file).toBe(Compression[codec]);
      expect(validateBatches(batch), file).toHaveLength(1);
      expect(decodeRecordBatch(batch).records, file).toEqual(expected);
    }
    // kafka-python frames snappy as the Java client does (xerial), lz4 as LZ4 frames with 64 KiB blocks.
    expect(fixtureHex('kafka-python-batch-snappy.hex').subarray(61, 69).toString('hex')).toBe('82534e4150505900');
    expect(fixtureHex('kafka-python-batch-lz4.hex').readUInt32LE(61)).toBe(0x184d2204);
  });
});

describe('codecs: decompression is bounded', () => {
  const zeros = Buffer.alloc(16 * MiB);

  for (const name of ['gzip', 'snappy', 'lz4'] as const) {
    it(`${name}: 16 MiB of zeros is refused under a 1 MiB bound, sync and async`, async () => {
      const bomb = compressRecords(Compression[name], zeros);
      expect(bomb.length).toBeLessThan(MiB);
      expectStrataError(() => decompressRecords(Compression[name], bomb, 'b: ', MiB), 'MESSAGE_TOO_LARGE', new RegExp(`b: ${name} records decompress to more than ${MiB} bytes`));
      await expectRejects(decompressRecordsAsync(Compression[name], bomb, '', MiB), 'MESSAGE_TOO_LARGE');
      expect(decompressRecords(Compression[name], bomb, '', 16 * MiB).length).toBe(16 * MiB);
    });
  }

  it('zstd: 80 MiB of zeros in 2.5 KiB (no content size: only the streaming bound stops it) is refused at the default bound', async () => {
    const bomb = fixtureFile('codec-zstd-bomb-80MiB-zeros.zst');
    expectStrataError(() => decompressRecords(Compression.zstd, bomb), 'MESSAGE_TOO_LARGE', new RegExp(`more than ${DEFAULT_MAX_DECOMPRESSED_BYTES} bytes`));
    await expectRejects(decompressRecordsAsync(Compression.zstd, bomb, '', MiB), 'MESSAGE_TOO_LARGE');
    expect(() => decompressZstdPortable(bomb, MiB)).toThrow(/exceeds 1048576 bytes/);
    await expect(decompressZstdPortableAsync(bomb, MiB)).rejects.toThrow(/exceeds 1048576 bytes/);
  });

  it('zstd: a forged window or content size is refused before fzstd allocates it', () => {
    // Magic, descriptor (no content size, not single segment), window descriptor, one empty last raw block.
    const hugeWindow = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf0, 0x01, 0x00, 0x00]); // window 2^40 B
    expect(() => decompressZstdPortable(hugeWindow, MiB)).toThrow(/exceeds/);
    expectStrataError(() => decompressRecords(Compression.zstd, hugeWindow, '', MiB), 'MESSAGE_TOO_LARGE');
    // Single segment with an 8-byte content size of 2^40.
    const hugeContent = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0x00, 0x00]);
    expect(() => decompressZstdPortable(hugeContent, MiB)).toThrow(/exceeds/);
  });

  it('snappy: a block declaring more than it can hold is refused from its length alone; xerial chunks are summed', () => {
    const forged = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    expectStrataError(() => decompressRecords(Compression.snappy, forged, '', MiB), 'CORRUPT_MESSAGE', /declares 4294967295 bytes, more than it can hold/);
    // The densest real block (16 MiB of zeros, ~21x) is within what a block can hold; past the bound it is too large.
    expectStrataError(() => decompressRecords(Compression.snappy, compressSnappyRaw(Buffer.alloc(16 * MiB)), '', MiB), 'MESSAGE_TOO_LARGE');
    const chunk = compressSnappyRaw(Buffer.alloc(600 * 1024));
    const header = compressRecords(Compression.snappy, Buffer.alloc(0));
    const length = Buffer.alloc(4);
    length.writeInt32BE(chunk.length);
    const twoChunks = Buffer.concat([header, length, chunk, length, chunk]);
    expectStrataError(() => decompressRecords(Compression.snappy, twoChunks, '', MiB), 'MESSAGE_TOO_LARGE');
    expect(decompressRecords(Compression.snappy, twoChunks, '', 2 * MiB).length).toBe(1200 * 1024);
  });

  it('lz4: a block that decodes past its frame maximum, a zero or too distant match offset, a truncated frame are corrupt', () => {
    const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]); // FLG independent, BD 64 KiB, HC
    const frame = (block: number[]): Buffer => {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(block.length);
      return Buffer.concat([header, size, Buffer.from(block), Buffer.alloc(4)]);
    };
    // token: 1 literal 'a', match length 15+255*300 at offset 1: ~76 KiB from one block of a 64 KiB frame.
    const tooLong = frame([0x1f, 0x61, 0x01, 0x00, ...new Array<number>(300).fill(255), 0x00, 0x00]);
    expectStrataError(() => decompressRecords(Compression.lz4, tooLong), 'CORRUPT_MESSAGE', /more than its frame's maximum/);
    expectStrataError(() => decompressRecords(Compression.lz4, frame([0x10, 0x61, 0x00, 0x00])), 'CORRUPT_MESSAGE', /offset 0/);
    expectStrataError(() => decompressRecords(Compression.lz4, frame([0x10, 0x61, 0x05, 0x00])), 'CORRUPT_MESSAGE', /offset 5/);
    const good = compressRecords(Compression.lz4, fixturePayload());
    expectStrataError(() => decompressRecords(Compression.lz4, good.subarray(0, good.length - 5)), 'CORRUPT_MESSAGE');
  });

  it('lz4: output grows as blocks need (not 4 MiB per 4 MiB-block frame), and a content size that lies is corrupt', () => {
    const payload = fixturePayload();
    for (const file of ['codec-lz4-cli-linked-checksums.lz4', 'codec-lz4-cli-independent.lz4']) {
      const out = decompressRecords(Compression.lz4, fixtureFile(file));
      expect(out.equals(payload), file).toBe(true);
      expect(out.buffer.byteLength, file).toBeLessThan(2 * payload.length);
    }
    // The linked fixture (lz4 -BD: 4 MiB blocks) declares its content size; say 10 bytes instead.
    const lying = Buffer.from(fixtureFile('codec-lz4-cli-linked-checksums.lz4'));
    expect(lying[4]! & 0x08).toBe(0x08);
    lying.writeBigUInt64LE(10n, 6);
    expectStrataError(() => decompressRecords(Compression.lz4, lying), 'CORRUPT_MESSAGE', /declare 10 bytes of content and hold 128128/);
    lying.writeBigUInt64LE(BigInt(64 * MiB), 6);
    expectStrataError(() => decompressRecords(Compression.lz4, lying, '', MiB), 'MESSAGE_TOO_LARGE');
  });

  it('mangled sections (bytes flipped, cut short) give CORRUPT_MESSAGE or MESSAGE_TOO_LARGE, never another error', async () => {
    const sources: Array<[number, Buffer]> = [
      [Compression.gzip, compressRecords(Compression.gzip, fixturePayload())],
      [Compression.snappy, fixtureFile('codec-snappy-xerial-python.snappy')],
      [Compression.snappy, fixtureFile('codec-snappy-python-raw.snappy')],
      [Compression.lz4, fixtureFile('codec-lz4-cli-linked-checksums.lz4')],
      [Compression.zstd, fixtureFile('codec-zstd-cli-level3.zst')],
    ];
    const seed = 20261204;
    const rand = prng(seed);
    for (const [code, source] of sources) {
      for (let round = 0; round < 150; round++) {
        const mangled = Buffer.from(source.subarray(0, rand() < 0.3 ? Math.floor(rand() * source.length) : source.length));
        for (let flips = 1 + Math.floor(rand() * 4); flips > 0 && mangled.length > 0; flips--) {
          mangled[Math.floor(rand() * mangled.length)] = Math.floor(rand() * 256);
        }
        const where = `seed ${seed} codec ${code} round ${round}`;
        const outcome = (fn: () => unknown): string => {
          try {
            const out = fn() as Buffer;
            expect(out.length, where).toBeLessThanOrEqual(MiB);
            return 'ok';
          } catch (e) {
            if (!isStrataError(e)) throw new Error(`${where}: not a StrataError: ${String(e)}`, { cause: e });
            expect(['CORRUPT_MESSAGE', 'MESSAGE_TOO_LARGE'], where).toContain(e.code);
            return e.code;
          }
        };
        const sync = outcome(() => decompressRecords(code, mangled, '', MiB));
        if (round % 10 === 0) {
          const async = await decompressRecordsAsync(code, mangled, '', MiB).then(
            () => 'ok',
            (e: unknown) => (isStrataError(e) ? e.code : `not a StrataError: ${String(e)}`),
          );
          expect(async, where).toBe(sync);
        }
      }
    }
  });

  it('async decompression on the event loop (lz4, xerial snappy, fzstd) gives the loop back while it works', async () => {
    const data = mixedPayload(8 * MiB);
    const lz4 = compressRecords(Compression.lz4, data);
    const snappy = compressRecords(Compression.snappy, data);
    const zstdZeros = fixtureFile('codec-zstd-bomb-80MiB-zeros.zst');
    const decoders: Array<[string, () => Promise<Buffer>]> = [
      ['lz4', () => decompressRecordsAsync(Compression.lz4, lz4)],
      ['snappy', () => decompressRecordsAsync(Compression.snappy, snappy)],
      ['fzstd', () => decompressZstdPortableAsync(zstdZeros, 100 * MiB)],
    ];
    for (const [name, decode] of decoders) {
      let ranBetween = false;
      const pending = decode();
      setImmediate(() => (ranBetween = true));
      const out = await pending;
      expect(ranBetween, name).toBe(true);
      expect(out.length, name).toBe(name === 'fzstd' ? 80 * MiB : data.length);
    }
  });
});
