// Path and query parameters, read and checked in one generic step against the parameter specs of
// the route table (the same specs the OpenAPI document is generated from). A parameter arrives as
// text: it is read as what its schema admits (one of its literals, a strict decimal integer, or
// text), then checked by the schema's compiled checker (validate.ts, as the bodies are): minimums,
// patterns, lengths. Bad input is refused naming the parameter, with INVALID_REQUEST or the code
// the schema names (x-strata-error-code: INVALID_TOPIC for a topic name, ...). Domain limits (the
// broker's caps, which clamp rather than refuse) and existence (404) are the handler's.

import type { Static } from '@sinclair/typebox';
import { StrataError, describeValue } from '@strata/protocol';
import { PARAMETERS, apiRoute, type ParameterSpec, type RouteId } from './routes.js';
import { problemsOf } from './validate.js';

/** The path parameters a route may have (every `{name}` in a path is one of these). */
export type PathParameterName = {
  [K in keyof typeof PARAMETERS]: (typeof PARAMETERS)[K]['in'] extends 'path' ? K : never;
}[keyof typeof PARAMETERS];

/** The checked values of a route's path parameters, typed by their schemas (`partition` is a number). */
export type PathParams = { readonly [K in PathParameterName]?: Static<(typeof PARAMETERS)[K]['schema']> };

/** The values of a route's query parameters, checked against their schemas (an enum's value is one of its literals); absent optional ones are undefined. */
export type QueryParams = Readonly<Record<string, string | number | undefined>>;

const INTEGER = /^-?\d+$/;

/** A strict decimal integer, or null if the text is not one (or not a safe integer). */
export function parseInteger(text: string): number | null {
  if (!INTEGER.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * The path parameters of a matched route (`{topic}` → text, as the router decoded it), each read
 * and checked by its spec in PARAMETERS. A name the table does not declare is a bug in the table.
 */
export function pathParams(values: Readonly<Record<string, string>>): PathParams {
  const checked: Record<string, string | number> = {};
  for (const [name, text] of Object.entries(values)) {
    const spec: ParameterSpec | undefined = (PARAMETERS as Record<string, ParameterSpec>)[name];
    if (spec?.in !== 'path') throw new Error(`path parameter {${name}} is not declared in @strata/api's PARAMETERS`);
    checked[name] = parameterValue(spec, text);
  }
  return checked as PathParams;
}

/**
 * Reads every query parameter the route declares, each against its spec. An absent or empty optional parameter is undefined (the handler
 * picks its default: some depend on the broker's caps); an absent required one is refused.
 */
export function queryParams(id: RouteId, query: URLSearchParams): QueryParams {
  const route = apiRoute(id);
  const values: Record<string, string | number | undefined> = {};
  for (const entry of route.query ?? []) {
    const spec: ParameterSpec = typeof entry === 'string' ? PARAMETERS[entry] : entry;
    const text = query.get(spec.name);
    if (text === null || text === '') {
      if (spec.required === true) throw new StrataError('INVALID_REQUEST', `query parameter "${spec.name}" is required`);
      values[spec.name] = undefined;
      continue;
    }
    values[spec.name] = parameterValue(spec, text);
  }
  return values;
}

/** The JSON Schema keywords a parameter's text is read by. */
interface Schema {
  type?: string;
  const?: unknown;
  minimum?: number;
  anyOf?: Schema[];
  description?: string;
}

interface Admitted {
  literals: string[];
  integer: { minimum?: number } | null;
  string: boolean;
}

/** The literals a schema admits (flattening nested unions), and whether it admits integers (with their minimum) or any text. */
function admitted(schema: Schema, into: Admitted): Admitted {
  if (schema.anyOf !== undefined) for (const s of schema.anyOf) admitted(s, into);
  else if (schema.const !== undefined) into.literals.push(String(schema.const));
  else if (schema.type === 'integer') into.integer = schema.minimum !== undefined ? { minimum: schema.minimum } : {};
  else if (schema.type === 'string') into.string = true;
  return into;
}

/**
 * What each spec's schema admits, read once: every request reads its path and query parameters, and
 * walking the schema (with the arrays it fills) for each one cost the produce hot path about as much as
 * the rest of the parameter checks (issue #11's single-record latency).
 */
const ADMITTED = new WeakMap<ParameterSpec, Readonly<Admitted>>();

function admittedBy(spec: ParameterSpec): Readonly<Admitted> {
  let found = ADMITTED.get(spec);
  if (found === undefined) {
    found = admitted(spec.schema as Schema, { literals: [], integer: null, string: false });
    ADMITTED.set(spec, found);
  }
  return found;
}

/** One parameter's text, read as its schema admits and checked by the schema; a StrataError naming the parameter otherwise. */
export function parameterValue(spec: ParameterSpec, text: string): string | number {
  const what = (): string => `${spec.in} parameter "${spec.name}"`;
  const { literals, integer, string } = admittedBy(spec);
  let value: string | number;
  if (literals.includes(text) || (string && literals.length === 0 && integer === null)) {
    value = text;
  } else if (integer === null) {
    throw new StrataError('INVALID_REQUEST', `${what()} must be one of ${literals.join(', ')}, got "${text}"`);
  } else {
    const parsed = parseInteger(text);
    if (parsed === null) {
      const expected = literals.length > 0 ? `${literals.join(', ')} or an integer` : 'an integer';
      throw new StrataError('INVALID_REQUEST', `${what()} must be ${expected}, got "${text}"`);
    }
    if (integer.minimum !== undefined && parsed < integer.minimum) throw new StrataError('INVALID_REQUEST', `${what()} must be >= ${integer.minimum}, got ${parsed}`);
    value = parsed;
  }
  // What reading the text did not decide (a name's pattern and length) the schema's checker does.
  const problems = problemsOf(spec.schema, value);
  if (problems.length > 0) {
    const rule = (spec.schema as Schema).description ?? problems[0]!.message.replace(/^the body: /, '');
    throw new StrataError(problems[0]!.code, `${what()} must be ${rule}, got ${describeValue(text)}`);
  }
  return value;
}
