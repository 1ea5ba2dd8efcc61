// DescribeCluster (key 60), v0-1: the brokers clients may reach with their Kafka addresses, the
// controller and the cluster id, as Metadata answers them in either metadata mode
// (kafka/cluster-view.ts). Only the brokers endpoint type is served (Strata has no separate
// controller endpoints): endpoint type 2 is UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker answers.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { checkCluster } from '../../core/cluster.js';
import { toStrataError } from '../../core/errors.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'DescribeCluster';
/** DescribeCluster's endpoint types (KIP-919). */
const ENDPOINT_TYPE_BROKERS = 1;

export function describeClusterHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, view } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.DescribeCluster, request);
    const endpointType = request.header.apiVersion >= 1 ? body.endpointType : ENDPOINT_TYPE_BROKERS;
    try {
      checkCluster(ctx, originOf(request), 'describe');
    } catch (e) {
      const { error } = toStrataError(e);
      return respond(ApiKey.DescribeCluster, request, {
        throttleTimeMs: 0,
        errorCode: errorCode(deps, API, error),
        errorMessage: error.message,
        endpointType,
        clusterId: ctx.clusterId,
        controllerId: -1,
        brokers: [],
      });
    }
    if (endpointType !== ENDPOINT_TYPE_BROKERS) {
      return respond(ApiKey.DescribeCluster, request, {
        throttleTimeMs: 0,
        errorCode: countError(deps, API, KafkaError.UNSUPPORTED_ENDPOINT_TYPE),
        errorMessage: `endpoint type ${endpointType} is not served: Strata's brokers are its controllers (ask for type ${ENDPOINT_TYPE_BROKERS})`,
        endpointType,
        clusterId: ctx.clusterId,
        controllerId: -1,
        brokers: [],
      });
    }
    return respond(ApiKey.DescribeCluster, request, {
      throttleTimeMs: 0,
      errorCode: KafkaError.NONE,
      errorMessage: null,
      endpointType,
      clusterId: ctx.clusterId,
      controllerId: view.controllerId(),
      brokers: view.brokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: null })),
    });
  };
}
