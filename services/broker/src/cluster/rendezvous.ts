// Replica placement by rendezvous (highest-random-weight) hashing: each broker
// scores each partition, the highest scores win. Adding or removing a broker
// moves only the partitions whose winners change, about 1/N of them, and every
// controller computes the same answer from the same live set (docs/architecture.md#cluster).

import { createHash } from 'node:crypto';

/** `count` distinct brokers for the partition, best first (replicas[0] is the assigned leader). */
export function rendezvousReplicas(topicId: string, partition: number, brokerIds: readonly string[], count: number): string[] {
  const scored = brokerIds.map((id) => ({ id, score: score(topicId, partition, id) }));
  scored.sort((a, b) => (a.score !== b.score ? (a.score > b.score ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.slice(0, Math.max(0, count)).map((s) => s.id);
}

function score(topicId: string, partition: number, brokerId: string): bigint {
  // The topic id (not the name): a recreated topic spreads afresh.
  return createHash('sha256').update(`${topicId}\0${partition}\0${brokerId}`).digest().readBigUInt64BE(0);
}
