/**
 * kafkajs ships gzip only: snappy, lz4 and zstd codecs registered through its CompressionCodecs
 * with libraries independent of Strata's own (snappyjs, lz4js, @bokuweb/zstd-wasm: pure JS or
 * bundled WebAssembly, nothing downloaded at install), so the Kafka listener decodes batches that
 * another implementation compressed, as it would from a kafkajs user who registered one.
 */
import { compress as zstdCompress, decompress as zstdDecompress, init as zstdInit } from '@bokuweb/zstd-wasm';
import kafkajs from 'kafkajs';
import lz4 from 'lz4js';
import snappy from 'snappyjs';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/** What kafkajs hands a codec to compress (its Encoder): the batch's records as one buffer. */
interface Encoder {
  buffer: Buffer;
}

/** Snappy as kafkajs-snappy writes it (raw blocks); Kafka's xerial framing is read too. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Xerial header: magic (8 bytes), version (4), compatible version (4); then [length (4), block] chunks. */
const XERIAL_HEADER_BYTES = 16;

function unsnappy(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return Buffer.from(snappy.uncompress(buffer));
  const chunks: Buffer[] = [];
  for (let at = XERIAL_HEADER_BYTES; at + 4 <= buffer.length; ) {
    const size = buffer.readInt32BE(at);
    chunks.push(Buffer.from(snappy.uncompress(buffer.subarray(at + 4, at + 4 + size))));
    at += 4 + size;
  }
  return Buffer.concat(chunks);
}

/** zstd's level for the test batches (any level decodes the same). */
const ZSTD_LEVEL = 3;

/** Registers the three codecs (once per process; zstd's WebAssembly loads first). */
export async function registerKafkajsCodecs(): Promise<void> {
  await zstdInit();
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: async (encoder: Encoder) => Buffer.from(snappy.compress(encoder.buffer)),
    decompress: async (buffer: Buffer) => unsnappy(buffer),
  });
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: Encoder) => Buffer.from(lz4.compress(encoder.buffer)),
    decompress: async (buffer: Buffer) => Buffer.from(lz4.decompress(buffer)),
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async (encoder: Encoder) => Buffer.from(zstdCompress(encoder.buffer, ZSTD_LEVEL)),
    decompress: async (buffer: Buffer) => Buffer.from(zstdDecompress(buffer)),
  });
}
