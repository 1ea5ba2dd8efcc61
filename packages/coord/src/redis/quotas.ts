// The Redis engine's client quotas: one hash under {cluster} (keys.ts), field -> value
// (quotas.ts quotaValueField), changed all at once by alter-quotas-1.lua.

import type { CallOptions } from '../coordinator.js';
import { QUOTA_LIMITS, quotaFieldChanges, quotaLimitReached, quotaRecordsFromFields, type QuotaChange, type QuotaRecord } from '../quotas.js';
import type { RedisConnection } from './connection.js';

export async function alterQuotas(c: RedisConnection, changes: readonly QuotaChange[], options?: CallOptions): Promise<void> {
  c.args.alterQuotas(changes);
  const fields = quotaFieldChanges(changes);
  if (fields.length === 0) return;
  await c.call('alterQuotas', { entities: changes.length }, options, async () => {
    const stored = (await c.eval('alter-quotas', [c.keys.quotas()], [QUOTA_LIMITS.valuesMax, ...fields.flat()])) as number;
    if (stored === 0) throw quotaLimitReached();
  });
}

export function listQuotas(c: RedisConnection, options?: CallOptions): Promise<QuotaRecord[]> {
  return c.call('listQuotas', {}, options, async () => {
    const hash = await c.redis.hgetall(c.keys.quotas());
    return quotaRecordsFromFields(Object.entries(hash));
  });
}
