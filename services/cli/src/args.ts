/**
 * Argument parsing on top of node's util.parseArgs: one strict parse per command, a usage error
 * (exit status 2) for anything it rejects, and small typed validators for option values.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Bad command line: printed with the command's usage line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface ParsedArgs {
  values: OptionValues;
  positionals: string[];
}

/** Strict parse: unknown options, missing option values and (beyond maxPositionals) positionals are usage errors. */
export function parseStrict(args: string[], options: OptionSpecs, maxPositionals: number): ParsedArgs {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true }) as ParsedArgs;
  } catch (error) {
    throw new UsageError(cleanParseArgsMessage(error));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  return parsed;
}

/** parseArgs messages carry advice meant for scripts ("To specify a positional argument ..."); keep the first sentence. */
function cleanParseArgsMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstSentence = message.split(/\.\s/)[0] ?? message;
  return firstSentence.replace(/\.$/, '').replace(/^Unknown option/, 'unknown option').replace(/^Option/, 'option');
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function booleanOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** An integer option in [min, max]; undefined when absent. */
export function intOption(
  values: OptionValues,
  name: string,
  bounds: { min: number; max?: number },
): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  return parseIntStrict(raw, `--${name}`, bounds);
}

export function parseIntStrict(raw: string, what: string, bounds: { min: number; max?: number }): number {
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`${what} must be an integer, got '${raw}'`);
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < bounds.min || value > max) {
    throw new UsageError(`${what} must be between ${bounds.min} and ${max}, got '${raw}'`);
  }
  return value;
}

/** A timestamp given as epoch milliseconds or as an ISO-8601 date. */
export function parseTimestamp(raw: string, what: string): number {
  if (/^\d+$/.test(raw.trim())) return parseIntStrict(raw, what, { min: 0 });
  const ms = Date.parse(raw);
  if (Number.isNaN(ms) || ms < 0) {
    throw new UsageError(`${what} must be epoch milliseconds or an ISO-8601 date, got '${raw}'`);
  }
  return ms;
}

/** Turn `\t`, `\n`, `\\` escapes into characters, so `--key-separator '\t'` works from any shell. */
export function unescapeSeparator(raw: string): string {
  return raw.replace(/\\([tn\\])/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : '\\'));
}
