// The pieces the API's schemas are built from (schemas.ts): JSON Schema helpers, the error-code
// keyword a field's own rule answers with, and the rules of names and numbers that the path
// parameters and the body fields share.

import { Type, type TSchema } from '@sinclair/typebox';
import { ERROR_CATALOGUE, GROUP_ID_LENGTH_MAX, TOPIC_NAME_LENGTH_MAX } from '@strata/protocol';

/** A safe integer in JSON (offsets and timestamps: Strata answers numbers below 2^53). */
export const Int64 = (description: string, extra: { minimum?: number; [keyword: string]: unknown } = {}) => Type.Integer({ format: 'int64', description, ...extra });
export const Nullable = <T extends TSchema>(schema: T, description?: string) => Type.Union([schema, Type.Null()], description === undefined ? {} : { description });
export const Optional = Type.Optional;

/**
 * The error code a body that fails this field's schema is refused with, when it is not
 * INVALID_REQUEST: the code the field's own rule answers with (validate.ts reads it).
 */
export const ERROR_CODE_KEYWORD = 'x-strata-error-code';
export const refusedAs = (code: keyof typeof ERROR_CATALOGUE) => ({ [ERROR_CODE_KEYWORD]: code });

// ---- names and numbers ------------------------------------------------------------------------------
// The rules of the path parameters ({topic}, {group}, {member}, {partition}), the same the body
// fields follow.

/** @strata/protocol's name rule (names.ts, the one copy) as a pattern: 1..lengthMax of [a-zA-Z0-9._-], not "." or "..". */
const namePattern = (lengthMax: number): string => `^(?!\\.\\.?$)[a-zA-Z0-9._-]{1,${lengthMax}}$`;

export const TopicName = Type.String({
  pattern: namePattern(TOPIC_NAME_LENGTH_MAX),
  ...refusedAs('INVALID_TOPIC'),
  description: `1..${TOPIC_NAME_LENGTH_MAX} of [a-zA-Z0-9._-], not "." or ".."`,
  examples: ['orders'],
});

export const GroupId = Type.String({
  pattern: namePattern(GROUP_ID_LENGTH_MAX),
  ...refusedAs('INVALID_GROUP_ID'),
  description: `1..${GROUP_ID_LENGTH_MAX} of [a-zA-Z0-9._-], not "." or ".."`,
  examples: ['billing'],
});

/** The memberId a join answers (the coordinator's bound on it: 128). */
export const MemberId = Type.String({ pattern: '^[a-zA-Z0-9._-]{1,128}$', description: '1..128 of [a-zA-Z0-9._-]', examples: ['5f0c1b9e-8a1d-4c8f-9a63-0d6f1f2a7b10'] });

/** A partition number: 0 or more (whether the topic has it is a 404, UNKNOWN_PARTITION). */
export const partitionNumber = (extra: { description?: string; examples?: number[] } = {}) => Type.Integer({ minimum: 0, ...extra });
