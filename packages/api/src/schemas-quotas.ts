// The client quota schemas (/v1/quotas): Kafka's quota entities and keys (KIP-13, KIP-55,
// KIP-257, KIP-612), as the coordinator stores them (@strata/coord quotas.ts checks them again).

import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Optional, refusedAs } from './schema-parts.js';

/** Characters of an entity name (the coordinator's QUOTA_LIMITS.entityNameLengthMax). */
const ENTITY_NAME_LENGTH_MAX = 256;
const entityName = (what: string) =>
  Optional(Nullable(Type.String({ minLength: 1, maxLength: ENTITY_NAME_LENGTH_MAX }), `${what}; null: the default for every ${what} without one of its own (Kafka's <default>).`));

export const QuotaEntity = Type.Object(
  {
    user: entityName('user (the principal\'s name: "alice" for User:alice; ANONYMOUS when unauthenticated)'),
    clientId: entityName('client id (Kafka\'s client.id; HTTP clients send X-Client-Id)'),
    ip: entityName('IP address (connection_creation_rate only; alone)'),
  },
  { additionalProperties: false, description: 'user, clientId, both, or ip alone.', examples: [{ user: 'alice' }, { user: null, clientId: 'reporting' }] },
);

const rate = (description: string) => Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description, ...refusedAs('INVALID_CONFIG') }));

export const QuotaValues = Type.Object(
  {
    producer_byte_rate: rate('Bytes per second this entity may produce, per broker.'),
    consumer_byte_rate: rate('Bytes per second this entity may fetch, per broker.'),
    request_percentage: Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 100_000, description: 'Share of one request-handling thread, in percent, per broker (handler time per window).', ...refusedAs('INVALID_CONFIG') }),
    ),
    connection_creation_rate: rate('New connections per second from this IP address, per broker.'),
  },
  { additionalProperties: false, ...refusedAs('INVALID_CONFIG') },
);

export const QuotaKey = Type.Union([Type.Literal('producer_byte_rate'), Type.Literal('consumer_byte_rate'), Type.Literal('request_percentage'), Type.Literal('connection_creation_rate')], refusedAs('INVALID_CONFIG'));

export const QuotaRecord = Type.Object({ entity: QuotaEntity, values: QuotaValues });

export const QuotaList = Type.Object(
  { quotas: Type.Array(QuotaRecord, { description: 'Every stored quota, sorted by entity.' }) },
  { examples: [{ quotas: [{ entity: { user: 'alice' }, values: { producer_byte_rate: 1048576 } }] }] },
);

export const AlterQuotasRequest = Type.Object(
  {
    changes: Type.Array(
      Type.Object(
        {
          entity: QuotaEntity,
          set: Optional(QuotaValues),
          remove: Optional(Type.Array(QuotaKey, { maxItems: 4, description: 'Keys to remove (absent ones are ignored).' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false, examples: [{ changes: [{ entity: { user: 'alice' }, set: { producer_byte_rate: 1048576 } }] }] },
);

export type QuotaEntity = Static<typeof QuotaEntity>;
export type QuotaValues = Static<typeof QuotaValues>;
export type QuotaRecord = Static<typeof QuotaRecord>;
export type QuotaList = Static<typeof QuotaList>;
export type AlterQuotasRequest = Static<typeof AlterQuotasRequest>;
