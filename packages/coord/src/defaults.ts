/** Named defaults of both engines, in one place. */
export const COORDINATOR_DEFAULTS = Object.freeze({
  /** Longest lease (partition or controller) TTL granted; the restart quarantine covers it. */
  leaseTtlMaxMs: 60_000,
  /** Longest broker registration TTL accepted. */
  brokerTtlMaxMs: 600_000,
  /** Deadline of a call that brings no signal of its own. */
  callTimeoutMs: 5_000,
  /** Heartbeat interval given to group members (Kafka's group.consumer.heartbeat.interval.ms), at most a third of the session. */
  groupHeartbeatIntervalMs: 5_000,
  /** How long a member may take to give up partitions when it does not say (Kafka's max.poll.interval.ms). */
  groupRebalanceTimeoutMs: 300_000,
});
