// Users and API tokens (issue #14): what /v1/users takes and answers. A password or a token's
// secret travels only in a request body (create) or once in an answer (issue); nothing here
// answers one again, and no example carries one.

import { Type, type Static } from '@sinclair/typebox';
import { Int64, Nullable, Optional } from './schema-parts.js';

export const UserName = Type.String({
  pattern: '^[A-Za-z0-9._@+-]{1,128}$',
  description: '1..128 of [A-Za-z0-9._@+-]; the principal is User:<name>.',
  examples: ['alice'],
});

export const ScramMechanismName = Type.Union([Type.Literal('SCRAM-SHA-256'), Type.Literal('SCRAM-SHA-512')]);

export const CreateUserRequest = Type.Object(
  {
    name: UserName,
    password: Type.String({ minLength: 8, maxLength: 1024, writeOnly: true, description: 'Stored only as SCRAM salts and keys (RFC 5802/7677), never as itself.' }),
    mechanisms: Optional(Type.Array(ScramMechanismName, { minItems: 1, maxItems: 2, uniqueItems: true, description: 'Default: both.' })),
    iterations: Optional(Type.Integer({ minimum: 4096, maximum: 1_000_000, description: 'PBKDF2 iterations; default STRATA_SCRAM_ITERATIONS.' })),
  },
  {
    additionalProperties: false,
    description: 'Creates the user, or replaces the credentials of an existing one.',
    // A placeholder, never a real password (no secret appears in this document).
    examples: [{ name: 'alice', password: '<a password of 8 or more characters>' }],
  },
);

export const UserCredentialInfo = Type.Object({ mechanism: ScramMechanismName, iterations: Type.Integer() });

export const User = Type.Object(
  { name: UserName, mechanisms: Type.Array(UserCredentialInfo), createdAtMs: Int64('ms since the epoch') },
  { examples: [{ name: 'alice', mechanisms: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }], createdAtMs: 1_700_000_000_000 }] },
);

const USER_EXAMPLE = { name: 'alice', mechanisms: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }], createdAtMs: 1_700_000_000_000 };
const TOKEN_EXAMPLE = { id: '3f2a9c1e5b7d4a60', name: 'ci', user: 'alice', createdAtMs: 1_700_000_000_000, expiresAtMs: 1_702_592_000_000, expired: false };

export const UserList = Type.Object({ users: Type.Array(User) }, { examples: [{ users: [USER_EXAMPLE] }] });

export const UserDeleted = Type.Object({ name: UserName, deleted: Type.Literal(true) }, { examples: [{ name: 'alice', deleted: true }] });

export const IssueTokenRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f]+$', description: 'What the token is for ("ci", "laptop").' }),
    expiresInMs: Optional(Type.Integer({ minimum: 1, description: 'Absent: the token does not expire (revoke it).' })),
  },
  { additionalProperties: false, examples: [{ name: 'ci', expiresInMs: 2_592_000_000 }] },
);

export const ApiToken = Type.Object({
  id: Type.String({ pattern: '^[a-f0-9]{16}$' }),
  name: Type.String(),
  user: UserName,
  createdAtMs: Int64('ms since the epoch'),
  expiresAtMs: Nullable(Int64('ms since the epoch')),
  expired: Type.Boolean(),
});

export const IssuedToken = Type.Intersect(
  [ApiToken, Type.Object({ token: Type.String({ description: 'Shown this once: Authorization: Bearer <token>. Only its hash is stored.' }) })],
  // A placeholder in the token's shape, never a real one.
  { examples: [{ ...TOKEN_EXAMPLE, token: 'strata_3f2a9c1e5b7d4a60_<the secret, shown once>' }] },
);

export const ApiTokenList = Type.Object({ tokens: Type.Array(ApiToken) }, { examples: [{ tokens: [TOKEN_EXAMPLE] }] });

export const TokenRevoked = Type.Object({ id: Type.String(), revoked: Type.Literal(true) }, { examples: [{ id: '3f2a9c1e5b7d4a60', revoked: true }] });

/** Who the caller is, as this broker authenticated it (the console's signed-in principal). */
export const WhoAmI = Type.Object(
  {
    principal: Type.String({ description: "Kafka's form: User:<name> (a password or an API token), User:<certificate subject> (mTLS), User:ANONYMOUS (no credentials)." }),
    authentication: Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')], {
      description: "This broker's STRATA_AUTH: none reads no credentials; optional checks them when given; required refuses requests without them.",
    }),
  },
  { examples: [{ principal: 'User:alice', authentication: 'required' }] },
);

export type User = Static<typeof User>;
export type CreateUserRequest = Static<typeof CreateUserRequest>;
export type IssueTokenRequest = Static<typeof IssueTokenRequest>;
export type ApiToken = Static<typeof ApiToken>;
export type IssuedToken = Static<typeof IssuedToken>;
export type WhoAmI = Static<typeof WhoAmI>;
