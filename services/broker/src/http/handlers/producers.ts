// /v1/producers: an idempotent producer's id (core/producers.ts), for clients of the HTTP API.

import type { ReplyBody } from '@strata/api';
import type { BrokerContext } from '../../context.js';
import type { ProducersCore } from '../../core/producers.js';
import { readRequestJson } from '../body.js';
import type { Handler } from '../router.js';

export function producerHandlers(ctx: BrokerContext, producers: ProducersCore): Record<'initProducerId', Handler> {
  return {
    initProducerId: async (rc) => {
      const body = await readRequestJson(rc.req, 'initProducerId', ctx.config.maxRequestBytes);
      const id = await producers.initProducerId(body, rc.origin, rc.signal);
      return { status: 200, json: id satisfies ReplyBody<'initProducerId'> };
    },
  };
}
