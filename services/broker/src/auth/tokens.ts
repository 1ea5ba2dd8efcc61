// API tokens: `strata_<id>_<secret>`. The id (16 hex digits) finds the stored record in one read;
// the secret (32 random bytes, base64url) is shown once when issued and stored only as its SHA-256,
// compared in constant time. The "strata_" prefix lets secret scanners recognise a leaked token.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiTokenRecord } from '@strata/coord';

const TOKEN_PATTERN = /^strata_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewToken {
  /** What the holder presents (shown once). */
  token: string;
  id: string;
  hash: string;
}

export function newToken(): NewToken {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { token: `strata_${id}_${secret}`, id, hash: hashOf(secret) };
}

function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The id and secret of a presented token; null when it is not a token's shape. */
export function parseToken(text: string): { id: string; secret: string } | null {
  const m = TOKEN_PATTERN.exec(text);
  return m === null ? null : { id: m[1]!, secret: m[2]! };
}

export function secretMatches(record: ApiTokenRecord, secret: string): boolean {
  const expected = Buffer.from(record.hash, 'hex');
  const actual = Buffer.from(hashOf(secret), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
