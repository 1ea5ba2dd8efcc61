// Query and path parameters, read and checked in one generic step against @strata/api's
// parameter specs (the same specs the OpenAPI document is generated from): strict integers with
// their minimum, enums, and unions of both (`at`). Bad input is INVALID_REQUEST naming the
// parameter. Domain limits (the broker's caps, which clamp rather than refuse) are the handler's.

import { PARAMETERS, apiRoute, type ParameterSpec, type RouteId } from '@strata/api';
import { StrataError } from '@strata/protocol';

const INTEGER = /^-?\d+$/;

/** A strict decimal integer, or null if the text is not one (or not a safe integer). */
export function parseInteger(text: string): number | null {
  if (!INTEGER.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/** The values of a route's parameters, checked against their schemas (an enum's value is one of its literals); absent optional ones are undefined. */
export type ParamValues = Readonly<Record<string, string | number | undefined>>;

/**
 * Reads every query parameter the route declares, each against its spec. An absent or empty optional parameter is undefined (the handler
 * picks its default: some depend on the broker's caps); an absent required one is refused.
 */
export function queryParams(id: RouteId, query: URLSearchParams): ParamValues {
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
    values[spec.name] = parseValue(spec.name, text, spec.schema);
  }
  return values;
}

/** The JSON Schema keywords a parameter's schema is read by. */
interface Schema {
  type?: string;
  const?: unknown;
  minimum?: number;
  anyOf?: Schema[];
}

/** The literals a schema admits (flattening nested unions), and whether it admits integers (with their minimum). */
function admitted(schema: Schema, into: { literals: string[]; integer: { minimum?: number } | null; string: boolean }): typeof into {
  if (schema.anyOf !== undefined) for (const s of schema.anyOf) admitted(s, into);
  else if (schema.const !== undefined) into.literals.push(String(schema.const));
  else if (schema.type === 'integer') into.integer = schema.minimum !== undefined ? { minimum: schema.minimum } : {};
  else if (schema.type === 'string') into.string = true;
  return into;
}

function parseValue(name: string, text: string, schema: unknown): string | number {
  const { literals, integer, string } = admitted(schema as Schema, { literals: [], integer: null, string: false });
  if (literals.includes(text) || (string && literals.length === 0 && integer === null)) return text;
  if (integer === null) throw new StrataError('INVALID_REQUEST', `query parameter "${name}" must be one of ${literals.join(', ')}, got "${text}"`);
  const value = parseInteger(text.trim());
  if (value === null) {
    const expected = literals.length > 0 ? `${literals.join(', ')} or an integer` : 'an integer';
    throw new StrataError('INVALID_REQUEST', `query parameter "${name}" must be ${expected}, got "${text}"`);
  }
  if (integer.minimum !== undefined && value < integer.minimum) {
    throw new StrataError('INVALID_REQUEST', `query parameter "${name}" must be >= ${integer.minimum}, got ${value}`);
  }
  return value;
}

/** The {partition} path parameter: a non-negative integer (existence is checked by the registry). */
export function partitionParam(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new StrataError('INVALID_REQUEST', `partition must be a non-negative integer, got "${text}"`);
  return value;
}
