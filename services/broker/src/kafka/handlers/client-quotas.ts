// DescribeClientQuotas (48) and AlterClientQuotas (49), v0-1 (KIP-546), on QuotasCore: the same
// quotas as /v1/quotas and `strata quotas`.
//
// An entity travels as (type, name) pairs, name null for the type's default; the types are Kafka's
// "user", "client-id" and "ip". Describe filters by component (0 exact name, 1 the default, 2 any
// name) and, when strict, only entities of exactly the filtered types. Alter answers each entity
// on its own: one that is malformed (an unknown or repeated type, an unknown key, a bad value)
// gets its error and nothing else of it is applied; the valid ones are applied together in one
// coordinator change (unless validateOnly).

import { checkQuotaChanges, Checks, QUOTA_LIMITS, quotaEntityKey, type QuotaChange, type QuotaEntity, type QuotaKey, type QuotaRecord, type QuotaValues } from '@strata/coord';
import { ApiKey, ClientQuotaMatchType, KafkaError } from '@strata/kafka-protocol';
import { StrataError } from '@strata/protocol';
import { toStrataError } from '../../core/errors.js';
import type { QuotasCore } from '../../core/quotas.js';
import { decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler } from './context.js';

const TYPE_FIELDS = { user: 'user', 'client-id': 'clientId', ip: 'ip' } as const satisfies Record<string, keyof QuotaEntity>;
type EntityType = keyof typeof TYPE_FIELDS;

interface EntityPair {
  entityType: string;
  entityName: string | null;
}

function isEntityType(type: string): type is EntityType {
  return Object.prototype.hasOwnProperty.call(TYPE_FIELDS, type);
}

/** The entity of Kafka's pairs; a StrataError (INVALID_REQUEST) for an unknown or repeated type. */
function entityOf(pairs: readonly EntityPair[]): QuotaEntity {
  const entity: QuotaEntity = {};
  for (const { entityType, entityName } of pairs) {
    if (!isEntityType(entityType)) throw new StrataError('INVALID_REQUEST', `unknown quota entity type ${JSON.stringify(entityType)} (user, client-id, ip)`);
    const field = TYPE_FIELDS[entityType];
    if (entity[field] !== undefined) throw new StrataError('INVALID_REQUEST', `quota entity type ${entityType} given twice`);
    entity[field] = entityName;
  }
  return entity;
}

function pairsOf(entity: QuotaEntity): EntityPair[] {
  const pairs: EntityPair[] = [];
  for (const [type, field] of Object.entries(TYPE_FIELDS)) {
    const name = entity[field];
    if (name !== undefined) pairs.push({ entityType: type, entityName: name });
  }
  return pairs;
}

export function describeClientQuotasHandler(deps: HandlerDeps, quotas: QuotasCore): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.DescribeClientQuotas, request);
    let records: QuotaRecord[];
    try {
      const seen = new Set<string>();
      for (const c of body.components) {
        if (!isEntityType(c.entityType)) throw new StrataError('INVALID_REQUEST', `unknown quota entity type ${JSON.stringify(c.entityType)} (user, client-id, ip)`);
        if (seen.has(c.entityType)) throw new StrataError('INVALID_REQUEST', `quota entity type ${c.entityType} filtered twice`);
        if (c.matchType !== ClientQuotaMatchType.EXACT && c.matchType !== ClientQuotaMatchType.DEFAULT && c.matchType !== ClientQuotaMatchType.SPECIFIED) {
          throw new StrataError('INVALID_REQUEST', `unknown match type ${c.matchType}`);
        }
        seen.add(c.entityType);
      }
      records = (await quotas.list(request.signal)).filter((r) => {
        for (const c of body.components) {
          const name = r.entity[TYPE_FIELDS[c.entityType as EntityType]];
          if (name === undefined) return false;
          if (c.matchType === ClientQuotaMatchType.EXACT && name !== c.match) return false;
          if (c.matchType === ClientQuotaMatchType.DEFAULT && name !== null) return false;
        }
        return !body.strict || pairsOf(r.entity).length === body.components.length;
      });
    } catch (e) {
      const { error } = toStrataError(e);
      return respond(ApiKey.DescribeClientQuotas, request, { throttleTimeMs: 0, errorCode: errorCode(deps, 'DescribeClientQuotas', error), errorMessage: error.message, entries: null });
    }
    const entries = records.map((r) => ({
      entity: pairsOf(r.entity),
      values: Object.entries(r.values).map(([key, value]) => ({ key, value: value as number })),
    }));
    return respond(ApiKey.DescribeClientQuotas, request, { throttleTimeMs: 0, errorCode: KafkaError.NONE, errorMessage: null, entries });
  };
}

export function alterClientQuotasHandler(deps: HandlerDeps, quotas: QuotasCore): KafkaHandler {
  const API = 'AlterClientQuotas';
  return async (request) => {
    const body = decodeBody(ApiKey.AlterClientQuotas, request);
    const errors: (StrataError | null)[] = [];
    const valid: QuotaChange[] = [];
    const seen = new Set<string>();
    const tooMany = body.entries.length > QUOTA_LIMITS.changesPerCallMax;
    for (const entry of body.entries) {
      try {
        if (tooMany) throw new StrataError('INVALID_REQUEST', `at most ${QUOTA_LIMITS.changesPerCallMax} entities per request`);
        const entity = entityOf(entry.entity);
        const set: QuotaValues = {};
        const remove: QuotaKey[] = [];
        for (const op of entry.ops) {
          if (op.remove) remove.push(op.key as QuotaKey);
          else (set as Record<string, number>)[op.key] = op.value;
        }
        const change: QuotaChange = { entity, set, remove };
        const c = new Checks('AlterClientQuotas');
        checkQuotaChanges(c, [change]);
        c.done();
        const key = quotaEntityKey(entity);
        if (seen.has(key)) throw new StrataError('INVALID_REQUEST', 'the entity is altered twice in one request');
        seen.add(key);
        valid.push(change);
        errors.push(null);
      } catch (e) {
        errors.push(toStrataError(e).error);
      }
    }
    if (!body.validateOnly && valid.length > 0) {
      try {
        await quotas.alter(valid, request.signal);
      } catch (e) {
        const { error } = toStrataError(e);
        errors.forEach((err, i) => (errors[i] = err ?? error));
      }
    }
    const entries = body.entries.map((entry, i) => {
      const error = errors[i] ?? null;
      return {
        errorCode: error === null ? KafkaError.NONE : errorCode(deps, API, error),
        errorMessage: error?.message ?? null,
        entity: entry.entity,
      };
    });
    return respond(ApiKey.AlterClientQuotas, request, { throttleTimeMs: 0, entries });
  };
}
