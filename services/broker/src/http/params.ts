// Query and path parameter parsing: strict integers, enums; bad input is INVALID_REQUEST.

import { StrataError } from '@strata/protocol';

const INTEGER = /^-?\d+$/;

/** A strict decimal integer, or null if the text is not one (or not a safe integer). */
export function parseInteger(text: string): number | null {
  if (!INTEGER.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

export interface IntParamOptions {
  min?: number;
  /** Values above are clamped to this (a cap, not an error). */
  clampTo?: number;
}

export function requiredInt(query: URLSearchParams, name: string, options: IntParamOptions = {}): number {
  const text = query.get(name);
  if (text === null || text === '') throw new StrataError('INVALID_REQUEST', `query parameter "${name}" is required`);
  return intValue(name, text, options);
}

export function optionalInt(query: URLSearchParams, name: string, fallback: number, options: IntParamOptions = {}): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  return intValue(name, text, options);
}

function intValue(name: string, text: string, options: IntParamOptions): number {
  const value = parseInteger(text.trim());
  if (value === null) throw new StrataError('INVALID_REQUEST', `query parameter "${name}" must be an integer, got "${text}"`);
  if (options.min !== undefined && value < options.min) {
    throw new StrataError('INVALID_REQUEST', `query parameter "${name}" must be >= ${options.min}, got ${value}`);
  }
  return options.clampTo !== undefined ? Math.min(value, options.clampTo) : value;
}

export function enumParam<T extends string>(query: URLSearchParams, name: string, values: readonly T[], fallback: T): T {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  if ((values as readonly string[]).includes(text)) return text as T;
  throw new StrataError('INVALID_REQUEST', `query parameter "${name}" must be one of ${values.join(', ')}, got "${text}"`);
}

/** The {partition} path parameter: a non-negative integer (existence is checked by the registry). */
export function partitionParam(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new StrataError('INVALID_REQUEST', `partition must be a non-negative integer, got "${text}"`);
  return value;
}
