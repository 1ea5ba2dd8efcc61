// Which handler answers a request: by api key, within the versions each handler supports. An
// unknown api key is garbage (the connection closes, as Kafka's broker does); an unsupported version
// of a known api gets that api's error answer (ApiVersions: v0 with UNSUPPORTED_VERSION and the
// supported ranges, so a newer client can fall back).

import type { BrokerContext } from '../context.js';
import type { DataCore } from '../core/data.js';
import type { Dispatch, InboundRequest, KafkaReply } from './connection.js';
import type { KafkaListenerMetrics } from './metrics.js';

export interface DispatchContext {
  ctx: BrokerContext;
  data: DataCore;
  metrics: KafkaListenerMetrics;
  /** host:port this broker tells clients (Metadata). */
  advertisedAddress: () => string;
}

export function createDispatch(dc: DispatchContext): Dispatch {
  return async (request: InboundRequest): Promise<KafkaReply> => {
    dc.metrics.requests.inc({ api: String(request.apiKey), version: String(request.apiVersion) });
    return { kind: 'close', reason: 'unknown_api', message: `unknown api key ${request.apiKey}` };
  };
}
