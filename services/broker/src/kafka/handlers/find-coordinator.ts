// FindCoordinator (key 10), v0-4 (batched keys from v4): which broker coordinates a key.
// - key type 0 (group): refused with GROUP_AUTHORIZATION_FAILED (audited, counted) unless the
//   principal may describe the group, as Kafka checks before anything else (per key from v4); then the broker KafkaClusterView.groupCoordinator names (the advertised address
//   in one-address mode; a rendezvous choice among the live brokers in brokers mode, the same on
//   every broker), COORDINATOR_NOT_AVAILABLE when none is live (retriable: the client asks again),
//   INVALID_GROUP_ID for an id Strata's group names refuse (@strata/protocol groupIdProblem).
//   Consumer groups themselves come with issue #13: this answer is where they will be served.
// - key type 1 (transaction): INVALID_REQUEST, as InitProducerId answers a transactional id: Strata
//   has no transactions, and a non-retriable code makes the client fail at once instead of retrying
//   COORDINATOR_NOT_AVAILABLE forever (Kafka has no "transactions unsupported" code).
// - any other key type: INVALID_REQUEST, as Kafka answers one it does not know.
// Advertised before groups exist because librdkafka 2.0.2 compresses with lz4 only when
// FindCoordinator v0 is advertised (@strata/kafka-protocol supported.ts).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { groupIdProblem } from '@strata/protocol';
import type { RequestOrigin } from '../../core/leader-client.js';
import { countError, decodeBody, errorCode, originOf, respond, type HandlerDeps, type KafkaHandler } from './context.js';

const API = 'FindCoordinator';
/** FindCoordinator's key types (KIP-98 added 1). */
const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;
/** The first version that carries a batch of keys (KIP-699). */
const BATCHED_KEYS_VERSION = 4;

interface CoordinatorAnswer {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

export function findCoordinatorHandler(deps: HandlerDeps): KafkaHandler {
  const { view } = deps;
  const { authorizer } = deps.ctx;
  const find = (key: string, keyType: number, origin: RequestOrigin): CoordinatorAnswer => {
    const refuse = (code: number, errorMessage: string): CoordinatorAnswer => ({ key, nodeId: -1, host: '', port: -1, errorCode: countError(deps, API, code), errorMessage });
    if (keyType === KEY_TYPE_TRANSACTION) return refuse(KafkaError.INVALID_REQUEST, 'transactions are not supported by Strata');
    if (keyType !== KEY_TYPE_GROUP) return refuse(KafkaError.INVALID_REQUEST, `unknown coordinator key type ${keyType}`);
    const group = { type: 'group', name: key } as const;
    if (!authorizer.allows(origin, 'describe', group)) {
      const denied = authorizer.denied(origin, 'describe', group);
      return { key, nodeId: -1, host: '', port: -1, errorCode: errorCode(deps, API, denied), errorMessage: denied.message };
    }
    const problem = groupIdProblem(key);
    if (problem !== null) return refuse(KafkaError.INVALID_GROUP_ID, `group id: ${problem}`);
    const node = view.groupCoordinator(key);
    if (node === null) return refuse(KafkaError.COORDINATOR_NOT_AVAILABLE, 'no live broker has a Kafka listener');
    return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: KafkaError.NONE, errorMessage: null };
  };
  return async (request) => {
    const body = decodeBody(ApiKey.FindCoordinator, request);
    const keyType = request.header.apiVersion >= 1 ? body.keyType : KEY_TYPE_GROUP;
    const origin = originOf(request);
    if (request.header.apiVersion >= BATCHED_KEYS_VERSION) {
      const coordinators = body.coordinatorKeys.map((key) => find(key, keyType, origin));
      return respond(ApiKey.FindCoordinator, request, { throttleTimeMs: 0, coordinators });
    }
    const one = find(body.key, keyType, origin);
    return respond(ApiKey.FindCoordinator, request, { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port });
  };
}
