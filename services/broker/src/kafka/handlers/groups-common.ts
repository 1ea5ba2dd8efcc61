// What the Kafka group handlers share (docs/architecture.md#kafka, "Consumer groups over Kafka"):
// the Kafka names of a Strata group's state and type, the one assignor's name, and a core error as
// the Kafka code a group answer carries.

import { KafkaError } from '@strata/kafka-protocol';
import type { GroupState } from '@strata/coord';
import { toStrataError } from '../../core/errors.js';
import { countError, errorCode, type HandlerDeps } from './context.js';

/**
 * The one server-side assignor Strata has (@strata/coord assignPartitions): uniform and sticky, as
 * Kafka's "uniform" is. A member that asks for another by name gets UNSUPPORTED_ASSIGNOR.
 */
export const SERVER_ASSIGNOR = 'uniform';

/**
 * The protocol type and group type (ListGroups v5) of a group of KIP-848 members, Kafka's or HTTP's,
 * which speak the same protocol. A classic group's type is "classic", its protocol type its members'.
 */
export const CONSUMER_GROUP_TYPE = 'consumer';

/** A Strata group state by Kafka's name for a consumer group's state (ConsumerGroupState). */
const KAFKA_STATE: Readonly<Record<GroupState, string>> = { empty: 'Empty', reconciling: 'Reconciling', stable: 'Stable' };

/** A stored classic generation's state by Kafka's classic names (joined, waiting for the leader's SyncGroup: CompletingRebalance). */
export const CLASSIC_STATE: Readonly<Record<GroupState, string>> = { empty: 'Empty', reconciling: 'CompletingRebalance', stable: 'Stable' };

export function kafkaGroupState(state: GroupState, type: 'classic' | 'consumer' = 'consumer'): string {
  return (type === 'classic' ? CLASSIC_STATE : KAFKA_STATE)[state];
}

/** A failure of a group call as its Kafka code, counted; a group the coordinator does not hold is GROUP_ID_NOT_FOUND. */
export function groupErrorCode(deps: HandlerDeps, api: string, e: unknown): { code: number; message: string } {
  const { error, unexpected } = toStrataError(e);
  if (unexpected) deps.ctx.logger.error(`kafka ${api} failed`, { err: e });
  if (error.code === 'NOT_FOUND' && error.details?.['reason'] === 'GROUP_ID_NOT_FOUND') {
    return { code: countError(deps, api, KafkaError.GROUP_ID_NOT_FOUND), message: error.message };
  }
  return { code: errorCode(deps, api, error), message: error.message };
}
