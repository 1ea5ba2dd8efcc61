// Kafka's version-range strings ("0+", "3-7", "5", "none") parsed once, when a
// codec is compiled, never per message.

import { StrataError } from '@strata/protocol';

export interface VersionRange {
  readonly min: number;
  /** Inclusive; Infinity for "N+". */
  readonly max: number;
}

const NONE: VersionRange = Object.freeze({ min: 1, max: 0 });

/** Parsed ranges by their text: the schemas use a few dozen, and headers ask on every request. */
const parsed = new Map<string, VersionRange>();
/** A bound on that cache (entries), should a caller parse texts of its own. */
const PARSED_CACHE_ENTRIES_MAX = 256;

export function parseVersions(text: string): VersionRange {
  let range = parsed.get(text);
  if (range === undefined) {
    range = parseUncached(text);
    if (parsed.size < PARSED_CACHE_ENTRIES_MAX) parsed.set(text, range);
  }
  return range;
}

function parseUncached(text: string): VersionRange {
  if (text === 'none') return NONE;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus !== null) return Object.freeze({ min: Number(plus[1]), max: Infinity });
  const span = /^(\d+)-(\d+)$/.exec(text);
  if (span !== null && Number(span[1]) <= Number(span[2])) return Object.freeze({ min: Number(span[1]), max: Number(span[2]) });
  const one = /^(\d+)$/.exec(text);
  if (one !== null) return Object.freeze({ min: Number(one[1]), max: Number(one[1]) });
  // A schema is code: a bad range is a bug in this package, found when the codec is first compiled.
  throw new StrataError('INTERNAL_ERROR', `bad version range "${text}" in a Kafka message schema`);
}

export function inVersions(text: string | undefined, version: number): boolean {
  if (text === undefined) return false;
  const range = parseVersions(text);
  return version >= range.min && version <= range.max;
}
