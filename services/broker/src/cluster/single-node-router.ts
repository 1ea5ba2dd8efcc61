// The router of a broker that is not in a cluster. (Making the single node a cluster of one on the
// in-process coordinator is a later step: then this goes, and its leaders come from leases too.)

import { PartitionLeader, type LeaderEnvironment } from '../partition/partition-leader.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import { notLeader, type PartitionRoute, type PartitionRouter } from './routing.js';

/** A single node leads every partition, in epoch 0, for as long as it runs: one leader object per partition, alone. */
export class SingleNodeRouter implements PartitionRouter {
  readonly clustered = false;
  readonly #leaders = new WeakMap<PartitionHandle, PartitionLeader>();
  readonly #env: LeaderEnvironment;

  constructor(env: Omit<LeaderEnvironment, 'notLeader' | 'onUnacknowledged' | 'replicaAckTimeoutMs'>) {
    this.#env = { ...env, notLeader: (handle, why) => notLeader(handle, this.route(handle), why), onUnacknowledged: () => undefined, replicaAckTimeoutMs: 0 };
  }

  route(handle: PartitionHandle): PartitionRoute {
    let leader = this.#leaders.get(handle);
    if (leader === undefined) this.#leaders.set(handle, (leader = PartitionLeader.alone(handle, this.#env)));
    return { kind: 'local', leader };
  }

  leaderUnreachable(): void {}

  highWatermark(handle: PartitionHandle): number {
    return handle.log.logEndOffset;
  }
}
