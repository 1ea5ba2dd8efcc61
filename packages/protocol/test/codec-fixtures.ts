// The codec fixtures (fixtures/README.md): what they decompress to, and how to load them.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RecordInput } from '@strata/protocol';

export function fixtureFile(name: string): Buffer {
  return readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)));
}

export function fixtureHex(name: string): Buffer {
  return Buffer.from(fixtureFile(name).toString('utf8').trim(), 'hex');
}

/** The 128,128 bytes the codec-*-cli / codec-snappy-* fixtures compress: 2,000 JSON lines. */
export function fixturePayload(): Buffer {
  let text = '';
  for (let i = 0; i < 2000; i++) text += `{"id":${i},"user":"user-${i % 37}","event":"click","path":"/items/${(i * 7919) % 1000}"}\n`;
  return Buffer.from(text);
}

/** The records of the codec-batch-<codec>.hex fixtures (fixtures/make-codec-batches.mjs). */
export function fixtureRecords(): RecordInput[] {
  const records: RecordInput[] = [];
  for (let i = 0; i < 5; i++) {
    records.push({
      key: i === 3 ? null : Buffer.from(`key-${i}`),
      value: i === 4 ? null : Buffer.from(JSON.stringify({ id: i, text: 'strata '.repeat(20 + i) })),
      timestamp: 1_700_000_000_000 + i,
      headers: [
        { key: 'trace', value: Buffer.from(`t-${i}`) },
        { key: 'empty', value: null },
      ],
    });
  }
  return records;
}
