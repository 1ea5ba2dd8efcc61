// InitProducerId (key 22), v0-4: a new idempotent producer id (epoch 0) from the producers core
// (core/producers.ts, the same call as HTTP's POST /v1/producers), unique across the cluster and
// restarts; the partition logs enforce its sequences on produce. A transactional id is refused with
// INVALID_REQUEST (logged at debug: this answer has no message field): transactions are out of
// scope (issue #12). The current id and epoch a v3+ producer sends are not reused: a producer
// without a transactional id gets a new id, as Kafka's coordinator gives it.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { toStrataError } from '../../core/errors.js';
import type { ProducersCore } from '../../core/producers.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'InitProducerId';

export function initProducerIdHandler(deps: HandlerDeps, producers: ProducersCore): KafkaHandler {
  const { ctx } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.InitProducerId, request);
    const answer = (code: number, producerId = -1n, producerEpoch = -1) => respond(ApiKey.InitProducerId, request, { throttleTimeMs: 0, errorCode: code, producerId, producerEpoch });
    if (body.transactionalId !== null) {
      ctx.logger.debug('kafka InitProducerId with a transactional id refused (no transactions)', { remote: request.remote, transactionalId: body.transactionalId });
      return answer(countError(deps, API, KafkaError.INVALID_REQUEST));
    }
    try {
      const { producerId, producerEpoch } = await producers.initProducerId({}, originOf(request), request.signal);
      return answer(KafkaError.NONE, BigInt(producerId), producerEpoch);
    } catch (e) {
      const { error, unexpected } = toStrataError(e);
      if (unexpected) ctx.logger.error('kafka init producer id failed', { err: e });
      return answer(errorCode(deps, API, error));
    }
  };
}
