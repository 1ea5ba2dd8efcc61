// InitProducerId (key 22), v0-4: a producer id for an idempotent producer, from the core
// (core/producers.ts: ids unique across the cluster and restarts, epoch 0). Strata has no
// transactions: a transactional id is answered INVALID_REQUEST (the core's StrataError), so a
// transactional client fails at once instead of producing without the guarantees it asked for.
// The response has no message field; the broker's metrics count the refusal.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { isStrataError } from '@strata/protocol';
import type { ProducersCore } from '../../core/producers.js';
import { decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler } from './context.js';

const API = 'InitProducerId';

export function initProducerIdHandler(deps: HandlerDeps, producers: ProducersCore): KafkaHandler {
  return async (request) => {
    const body = decodeBody(ApiKey.InitProducerId, request);
    try {
      const { producerId, producerEpoch } = await producers.initProducerId({ transactionalId: body.transactionalId }, request.signal);
      return respond(ApiKey.InitProducerId, request, { throttleTimeMs: 0, errorCode: KafkaError.NONE, producerId: BigInt(producerId), producerEpoch });
    } catch (e) {
      if (!isStrataError(e)) throw e;
      return respond(ApiKey.InitProducerId, request, { throttleTimeMs: 0, errorCode: errorCode(deps, API, e), producerId: -1n, producerEpoch: -1 });
    }
  };
}
