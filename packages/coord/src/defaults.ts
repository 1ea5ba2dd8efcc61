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
  /**
   * The interval while the member's group is reconciling, and after a join (KIP-848's broker-driven
   * quicker heartbeat): partitions move within a short heartbeat, not a steady one (issue #15).
   */
  groupReconcilingHeartbeatIntervalMs: 250,
  /** How long a member may take to give up partitions when it does not say (Kafka's max.poll.interval.ms). */
  groupRebalanceTimeoutMs: 300_000,
  /** A joining member's session timeout when it does not say (Kafka's group.consumer.session.timeout.ms). */
  groupSessionTimeoutMs: 45_000,
  /**
   * In-process engine: longest time (ms) a committed offset stays in the OS page cache before an
   * fdatasync of the offsets log; a machine crash loses at most this much of them, a killed process
   * none (Kafka's offsets topic on one broker is flushed by the OS; Redis runs appendfsync everysec).
   */
  offsetsFlushIntervalMs: 1_000,
  /** In-process engine: bytes of the offsets log file after which it is rolled and its groups written out. */
  offsetsLogRollBytes: 16 * 1024 * 1024,
});

/**
 * What consumer groups may store (issue #10: any client could grow the coordinator without
 * limit, in the same Redis that holds the partition leases). Each engine takes these as options
 * (the broker passes its STRATA_* settings); each must lie within the LIMITS ceilings.
 *
 * The coordinator's group state is bounded by about
 *   groupsMax x (groupMetadataMaxBytes + offsets per group x ~100 B + groupMembersMax x ~1 KiB),
 * where the offsets of a group are at most the partitions that exist (a commit must name them).
 */
export interface GroupLimits {
  /** Groups the coordinator holds; a join, standalone commit or reset that would create one more is refused (GROUP_LIMIT_REACHED). */
  groupsMax: number;
  /** Members of one group (Kafka's group.consumer.max.size); a join past it gets GROUP_MAX_SIZE_REACHED. */
  groupMembersMax: number;
  /** Offsets in one commit or reset (INVALID_REQUEST, reason TOO_MANY_OFFSETS). */
  offsetsPerCommitMax: number;
  /** UTF-8 bytes of one offset's metadata (Kafka's offset.metadata.max.bytes): OFFSET_METADATA_TOO_LARGE. */
  offsetMetadataMaxBytes: number;
  /** UTF-8 bytes of metadata one group stores over all its offsets (Strata's): OFFSET_METADATA_TOO_LARGE. */
  groupMetadataMaxBytes: number;
}

export const GROUP_LIMIT_DEFAULTS: Readonly<GroupLimits> = Object.freeze({
  groupsMax: 10_000,
  groupMembersMax: 1_000,
  offsetsPerCommitMax: 10_000,
  offsetMetadataMaxBytes: 4096,
  groupMetadataMaxBytes: 64 * 1024,
});

/** Kafka's offsets.retention.minutes (7 days): an empty group's offsets expire this long after it emptied and after their commit. */
export const OFFSETS_RETENTION_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000;
