// Request validation from the schemas: one compiled checker per schema (TypeBox's TypeCompiler
// builds a plain function; it is compiled on first use and kept), and one error for every body
// that does not fit: INVALID_REQUEST (or the code the failing field names, ERROR_CODE_KEYWORD)
// with a message naming each field, and the problems in details, as the coordinator's Checks does.

import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '@strata/protocol';
import { ERROR_CODE_KEYWORD } from './schemas.js';
import { apiRoute, type JsonBodyRouteId, type RequestBody } from './routes.js';

/** Problems listed in one error; a body can fail in many places, the answer stays small. */
export const VALIDATION_PROBLEMS_MAX = 20;

// The string formats the schemas use (TypeBox checks only formats it was given).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID.test(value));
if (!FormatRegistry.Has('uri')) FormatRegistry.Set('uri', (value) => URL.canParse(value));

const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerOf<T extends TSchema>(schema: T): TypeCheck<T> {
  let checker = checkers.get(schema);
  if (checker === undefined) {
    checker = TypeCompiler.Compile(schema);
    checkers.set(schema, checker);
  }
  return checker as TypeCheck<T>;
}

export interface Problem {
  code: ErrorCode;
  /** The JSON pointer of the field (`/records/0/partition`), `/` for the body itself. */
  field: string;
  message: string;
}

/** The problems of `value` against `schema` (none: it fits), at most VALIDATION_PROBLEMS_MAX, one per field. */
export function problemsOf(schema: TSchema, value: unknown): Problem[] {
  const checker = checkerOf(schema);
  if (checker.Check(value)) return [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of checker.Errors(value)) {
    const field = error.path === '' ? '/' : error.path;
    if (seen.has(field)) continue;
    seen.add(field);
    const named = (error.schema as Record<string, unknown>)[ERROR_CODE_KEYWORD];
    const code = typeof named === 'string' && Object.hasOwn(ERROR_CATALOGUE, named) ? (named as ErrorCode) : 'INVALID_REQUEST';
    problems.push({ code, field, message: `${field === '/' ? 'the body' : field}: ${error.message.toLowerCase()}` });
    if (problems.length >= VALIDATION_PROBLEMS_MAX) break;
  }
  // A problem of the body's shape (an unknown field, a field without a code of its own) comes
  // first, so it decides the code; a field's own code (INVALID_TOPIC, ...) answers when only such
  // fields are wrong. This keeps the codes the broker answered before the schemas.
  return [...problems.filter((p) => p.code === 'INVALID_REQUEST'), ...problems.filter((p) => p.code !== 'INVALID_REQUEST')];
}

/** `value` as the schema's type, or a StrataError naming every field that does not fit. `what`: "create topic". */
export function checkBody<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  const problems = problemsOf(schema, value);
  if (problems.length === 0) return value as Static<T>;
  throw new StrataError(problems[0]!.code, `${what}: ${problems.map((p) => p.message).join('; ')}`, { details: { problems } });
}

/** A route's JSON body (already parsed), checked against the route's schema in the route table. */
export function requestBody<Id extends JsonBodyRouteId>(id: Id, value: unknown): RequestBody<Id> {
  const route = apiRoute(id);
  return checkBody(route.body!.schema, value, route.id) as RequestBody<Id>;
}
