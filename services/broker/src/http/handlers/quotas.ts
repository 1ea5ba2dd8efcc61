// /v1/quotas: client quotas (core/quotas.ts), listed and changed.

import type { ReplyBody } from '@strata/api';
import type { QuotaChange } from '@strata/coord';
import type { BrokerContext } from '../../context.js';
import { QuotasCore } from '../../core/quotas.js';
import { readRequestJson } from '../body.js';
import type { Handler } from '../router.js';

export function quotaHandlers(ctx: BrokerContext, quotas: QuotasCore = new QuotasCore(ctx)): Record<'listQuotas' | 'alterQuotas', Handler> {
  return {
    listQuotas: async (rc) => ({ status: 200, json: { quotas: await quotas.list(rc.signal) } satisfies ReplyBody<'listQuotas'> }),
    alterQuotas: async (rc) => {
      const body = await readRequestJson(rc.req, 'alterQuotas', ctx.config.maxRequestBytes);
      const records = await quotas.alter(body.changes as QuotaChange[], rc.signal);
      return { status: 200, json: { quotas: records } satisfies ReplyBody<'alterQuotas'> };
    },
  };
}
