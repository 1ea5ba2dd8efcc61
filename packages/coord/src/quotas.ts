// Client quotas as Kafka stores them (KIP-13, KIP-55, KIP-257, KIP-612): an entity (a user, a
// client id, both, or an IP address; each name or the `<default>` of its type) and, per entity, a
// few numeric quota values. The coordinator stores them; the broker resolves which entity applies
// to a request and enforces it (services/broker/src/quotas/).
//
// The stored form of an entity is one string (quotaEntityKey): `user=<name>,client-id=<name>` or
// `ip=<name>`, each name URI-encoded and the default written `<default>`, which no encoded name
// can be ('<' is encoded). Both engines key their storage by it.

import { StrataError } from '@strata/protocol';
import { CONTROL_CHARS, Checks, LIMITS } from './validate.js';

export const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'connection_creation_rate'] as const;
export type QuotaKey = (typeof QUOTA_KEYS)[number];
export type QuotaValues = Partial<Record<QuotaKey, number>>;

/** Kafka's entity types; `clientId` is Kafka's `client-id`. */
export const QUOTA_ENTITY_TYPES = ['user', 'client-id', 'ip'] as const;
export type QuotaEntityType = (typeof QUOTA_ENTITY_TYPES)[number];

/**
 * Which clients a quota applies to. A present field names its type: a string is that name, null is
 * the type's default (Kafka's `<default>`). Allowed: user, clientId, user and clientId, or ip alone.
 */
export interface QuotaEntity {
  user?: string | null;
  clientId?: string | null;
  ip?: string | null;
}

export interface QuotaRecord {
  entity: QuotaEntity;
  values: QuotaValues;
}

export interface QuotaChange {
  entity: QuotaEntity;
  /** Values to set (or replace). */
  set?: QuotaValues;
  /** Keys to remove. A key may not be both set and removed. */
  remove?: readonly QuotaKey[];
}

export const QUOTA_LIMITS = Object.freeze({
  /** Characters of a user, client id or IP name in an entity (Kafka bounds none; client ids are short). */
  entityNameLengthMax: LIMITS.clientIdLengthMax,
  /** Quota values the coordinator stores in all (each entity holds at most QUOTA_KEYS.length). */
  valuesMax: 30_000,
  /** Entities one alterQuotas call may change. */
  changesPerCallMax: 1_000,
  /** request_percentage may exceed 100 (Kafka: a share of one thread, and a broker has several). */
  requestPercentageMax: 100_000,
  /** Byte and connection rates (per second). */
  rateMax: Number.MAX_SAFE_INTEGER,
});

/** The stored key of an entity (see the header). The entity must be valid. */
export function quotaEntityKey(entity: QuotaEntity): string {
  const parts: string[] = [];
  if (entity.user !== undefined) parts.push(`user=${encodeName(entity.user)}`);
  if (entity.clientId !== undefined) parts.push(`client-id=${encodeName(entity.clientId)}`);
  if (entity.ip !== undefined) parts.push(`ip=${encodeName(entity.ip)}`);
  return parts.join(',');
}

/** The entity of a stored key; throws STORAGE_ERROR on a key no quotaEntityKey made. */
export function quotaEntityFromKey(key: string): QuotaEntity {
  const entity: QuotaEntity = {};
  for (const part of key.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new StrataError('STORAGE_ERROR', `corrupt stored quota entity ${JSON.stringify(key)}`);
    const type = part.slice(0, eq);
    const name = decodeName(part.slice(eq + 1), key);
    if (type === 'user') entity.user = name;
    else if (type === 'client-id') entity.clientId = name;
    else if (type === 'ip') entity.ip = name;
    else throw new StrataError('STORAGE_ERROR', `corrupt stored quota entity ${JSON.stringify(key)}`);
  }
  return entity;
}

const DEFAULT_NAME = '<default>';

function encodeName(name: string | null): string {
  return name === null ? DEFAULT_NAME : encodeURIComponent(name);
}

function decodeName(text: string, key: string): string | null {
  if (text === DEFAULT_NAME) return null;
  try {
    return decodeURIComponent(text);
  } catch (e) {
    throw new StrataError('STORAGE_ERROR', `corrupt stored quota entity ${JSON.stringify(key)}`, { cause: e });
  }
}

/** Records sorted by entity key: both engines list in this order. */
export function sortQuotaRecords(records: QuotaRecord[]): QuotaRecord[] {
  return records
    .map((r) => ({ key: quotaEntityKey(r.entity), r }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ r }) => ({ entity: r.entity, values: sortedValues(r.values) }));
}

function sortedValues(values: QuotaValues): QuotaValues {
  const out: QuotaValues = {};
  for (const key of QUOTA_KEYS) if (values[key] !== undefined) out[key] = values[key];
  return out;
}

/** Which quota keys an entity of this shape may carry (Kafka: connection_creation_rate is for ip only, the rest never for ip). */
export function quotaKeysFor(entity: QuotaEntity): readonly QuotaKey[] {
  return entity.ip !== undefined ? ['connection_creation_rate'] : ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage'];
}

export function checkQuotaEntity(c: Checks, field: string, entity: unknown): entity is QuotaEntity {
  if (typeof entity !== 'object' || entity === null || Array.isArray(entity)) {
    c.add('INVALID_REQUEST', field, `${field} must be an object with user, clientId or ip`);
    return false;
  }
  const e = entity as Record<string, unknown>;
  let ok = true;
  for (const k of Object.keys(e)) {
    if (k !== 'user' && k !== 'clientId' && k !== 'ip') {
      c.add('INVALID_REQUEST', `${field}.${k}`, `${field}.${k} is not an entity type (user, clientId, ip)`);
      ok = false;
    }
  }
  const present = (['user', 'clientId', 'ip'] as const).filter((k) => e[k] !== undefined);
  if (present.length === 0) {
    c.add('INVALID_REQUEST', field, `${field} names no entity (user, clientId or ip)`);
    return false;
  }
  if (e['ip'] !== undefined && present.length > 1) {
    c.add('INVALID_REQUEST', field, `${field}: ip cannot be combined with user or clientId (Kafka's entity rules)`);
    ok = false;
  }
  for (const k of present) {
    const name = e[k];
    if (name === null) continue;
    if (typeof name !== 'string' || name.length === 0 || name.length > QUOTA_LIMITS.entityNameLengthMax || CONTROL_CHARS.test(name)) {
      c.add('INVALID_REQUEST', `${field}.${k}`, `${field}.${k} must be null (the default) or 1..${QUOTA_LIMITS.entityNameLengthMax} characters without control characters`);
      ok = false;
    }
  }
  return ok;
}

export function checkQuotaValue(c: Checks, field: string, key: QuotaKey, value: unknown): void {
  const max = key === 'request_percentage' ? QUOTA_LIMITS.requestPercentageMax : QUOTA_LIMITS.rateMax;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    c.add('INVALID_CONFIG', field, `${field} must be a number above 0 and at most ${max}`);
  } else if (key !== 'request_percentage' && !Number.isSafeInteger(value)) {
    c.add('INVALID_CONFIG', field, `${field} must be a whole number (per second)`);
  }
}

/** Every problem of an alterQuotas call, collected (nothing is changed when there is one). */
export function checkQuotaChanges(c: Checks, changes: unknown): void {
  if (!Array.isArray(changes) || changes.length > QUOTA_LIMITS.changesPerCallMax) {
    c.add('INVALID_REQUEST', 'changes', `changes must be a list of at most ${QUOTA_LIMITS.changesPerCallMax} entities`);
    return;
  }
  const seen = new Set<string>();
  changes.forEach((change: unknown, i) => {
    const field = `changes[${i}]`;
    if (typeof change !== 'object' || change === null) {
      c.add('INVALID_REQUEST', field, `${field} must be an object`);
      return;
    }
    const { entity, set, remove } = change as QuotaChange;
    if (!checkQuotaEntity(c, `${field}.entity`, entity)) return;
    const key = quotaEntityKey(entity);
    if (seen.has(key)) c.add('INVALID_REQUEST', `${field}.entity`, `${field}.entity is changed twice in one call`);
    seen.add(key);
    const allowed = quotaKeysFor(entity);
    const setKeys = set === undefined ? [] : Object.keys(set);
    if (set !== undefined && (typeof set !== 'object' || set === null)) c.add('INVALID_REQUEST', `${field}.set`, `${field}.set must be an object`);
    for (const k of setKeys) {
      if (!(allowed as readonly string[]).includes(k)) c.add('INVALID_CONFIG', `${field}.set.${k}`, `${k} is not a quota of this entity (allowed: ${allowed.join(', ')})`);
      else checkQuotaValue(c, `${field}.set.${k}`, k as QuotaKey, (set as Record<string, unknown>)[k]);
    }
    if (remove !== undefined && !Array.isArray(remove)) c.add('INVALID_REQUEST', `${field}.remove`, `${field}.remove must be a list of quota keys`);
    for (const k of Array.isArray(remove) ? (remove as unknown[]) : []) {
      if (typeof k !== 'string' || !(QUOTA_KEYS as readonly string[]).includes(k)) c.add('INVALID_CONFIG', `${field}.remove`, `${String(k)} is not a quota key (${QUOTA_KEYS.join(', ')})`);
      else if (setKeys.includes(k)) c.add('INVALID_REQUEST', `${field}.remove`, `${k} is both set and removed`);
    }
  });
}

/** The field name of one stored value (the Redis engine's hash field): entity key, a tab, the quota key. */
export function quotaValueField(entityKey: string, key: QuotaKey): string {
  return `${entityKey}\t${key}`;
}

/** Records from stored (field, value) pairs; throws STORAGE_ERROR on a field or value no writer made. */
export function quotaRecordsFromFields(pairs: Iterable<[string, string]>): QuotaRecord[] {
  const byEntity = new Map<string, QuotaValues>();
  for (const [field, text] of pairs) {
    const tab = field.indexOf('\t');
    const key = field.slice(tab + 1);
    const value = Number(text);
    if (tab < 0 || !(QUOTA_KEYS as readonly string[]).includes(key) || !Number.isFinite(value)) {
      throw new StrataError('STORAGE_ERROR', `corrupt stored quota ${JSON.stringify(field)}=${JSON.stringify(text)}`);
    }
    const entityKey = field.slice(0, tab);
    const values = byEntity.get(entityKey) ?? {};
    values[key as QuotaKey] = value;
    byEntity.set(entityKey, values);
  }
  return sortQuotaRecords([...byEntity].map(([key, values]) => ({ entity: quotaEntityFromKey(key), values })));
}

/** The (field, value) changes of a checked call: value '' removes the field. */
export function quotaFieldChanges(changes: readonly QuotaChange[]): [string, string][] {
  const out: [string, string][] = [];
  for (const change of changes) {
    const entityKey = quotaEntityKey(change.entity);
    for (const [k, v] of Object.entries(change.set ?? {})) out.push([quotaValueField(entityKey, k as QuotaKey), String(v)]);
    for (const k of change.remove ?? []) out.push([quotaValueField(entityKey, k), '']);
  }
  return out;
}

/** The refusal of a change that would store more than QUOTA_LIMITS.valuesMax values. */
export function quotaLimitReached(): StrataError {
  return new StrataError('INVALID_REQUEST', `the coordinator stores at most ${QUOTA_LIMITS.valuesMax} quota values`, { details: { reason: 'QUOTA_LIMIT_REACHED' } });
}
