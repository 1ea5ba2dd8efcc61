// The in-process engine's client quotas: the stored values in cluster.json (`quotas`, field ->
// value as the Redis engine's hash holds them), rewritten durably before a change resolves.

import type { CallOptions } from '../coordinator.js';
import { QUOTA_LIMITS, quotaFieldChanges, quotaLimitReached, quotaRecordsFromFields, type QuotaChange, type QuotaRecord } from '../quotas.js';
import type { MemoryState } from './state.js';

export async function alterQuotas(s: MemoryState, changes: readonly QuotaChange[], options?: CallOptions): Promise<void> {
  s.args.alterQuotas(changes);
  const fields = quotaFieldChanges(changes);
  return s.serialize('alterQuotas', options, () =>
    s.changeCluster<void>((draft) => {
      const stored = { ...(draft.quotas ?? {}) };
      for (const [field, value] of fields) {
        if (value === '') delete stored[field];
        else stored[field] = value;
      }
      if (Object.keys(stored).length > QUOTA_LIMITS.valuesMax) return { error: quotaLimitReached() };
      return { next: { ...draft, quotas: stored }, value: undefined };
    }),
  );
}

export function listQuotas(s: MemoryState, options?: CallOptions): Promise<QuotaRecord[]> {
  return s.read('listQuotas', options, () => quotaRecordsFromFields(Object.entries(s.cluster.quotas ?? {})));
}
