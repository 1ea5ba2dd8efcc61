// The Coordinator's consumer-group types (coordinator.ts re-exports them: its interface is the
// one place that names them to callers). The same conventions hold as in coordinator.ts.

// ---- groups --------------------------------------------------------------------------------------
// The consumer group protocol, server side, after Kafka's KIP-848 (README.md: consumer groups):
// membership by heartbeat, the target assignment computed here, handed over incrementally.

/** A member and the epoch it acts at: what fences an offset commit. */
export interface GroupMember {
  memberId: string;
  memberEpoch: number;
}

/** Partitions of one topic, sorted, distinct. */
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface GroupHeartbeatRequest {
  /** Chosen by the caller (the broker generates a UUID on join); 1..128 of [A-Za-z0-9._-]. */
  memberId: string;
  /**
   * 0: join (or rejoin: an existing member that rejoins is taken to own nothing and gets a new,
   * higher epoch). > 0: a heartbeat at the epoch the member was last given.
   */
  memberEpoch: number;
  /** Required on join; later, when given and different, it changes the subscription. */
  subscribedTopics?: readonly string[];
  /**
   * What the member owns now (null/undefined: unchanged since the last heartbeat). A partition the
   * member was told to give up counts as released once a heartbeat leaves it out.
   */
  ownedPartitions?: readonly TopicPartitions[] | null;
  /**
   * How long the member lives without a heartbeat. On a join (epoch 0), omitted means
   * COORDINATOR_DEFAULTS.groupSessionTimeoutMs; on a heartbeat, omitted means unchanged (KIP-848:
   * a heartbeat sends only what changed), so a member keeps the timeout it joined with.
   */
  sessionTimeoutMs?: number;
  /** How long the member may take to give up partitions (default COORDINATOR_DEFAULTS.groupRebalanceTimeoutMs). */
  rebalanceTimeoutMs?: number;
  /**
   * Partition counts as the caller knows them (topics live in another hash slot). Every topic of
   * the member's subscription that is missing here is unknown and gets no partitions; counts of
   * other topics the group subscribes to update what the group knows of them.
   */
  topicPartitions: Readonly<Record<string, number>>;
  /** Free text for operators (0..256 printable characters). */
  clientId?: string;
}

export interface GroupHeartbeatResponse {
  memberId: string;
  memberEpoch: number;
  groupEpoch: number;
  /** The partitions the member may own NOW (its current assignment), sorted by topic. */
  assignment: TopicPartitions[];
  /** When to heartbeat next. */
  heartbeatIntervalMs: number;
}

/** empty: no members; stable: every member is at the assignment epoch and owns exactly its target. */
export type GroupState = 'empty' | 'reconciling' | 'stable';

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  memberEpoch: number;
  subscribedTopics: string[];
  /** Current assignment: what the member may own now. */
  assignment: TopicPartitions[];
  /** Partitions the member was told to give up and has not yet released. */
  pendingRevocation: TopicPartitions[];
  /** Its share of the target assignment (of epoch assignmentEpoch). */
  target: TopicPartitions[];
  lastHeartbeatAtMs: number;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
}

export interface GroupDescription {
  group: string;
  /** Bumps on every change of membership, of a subscription, or of a subscribed topic's partition count. */
  groupEpoch: number;
  /** The epoch of the target assignment (it equals groupEpoch: the target is computed at once). */
  assignmentEpoch: number;
  state: GroupState;
  /** Partition counts of the subscribed topics as the group last saw them (0: unknown topic). */
  topicPartitions: Record<string, number>;
  /** Sorted by member id. */
  members: GroupMemberDescription[];
  /** The classic (Kafka JoinGroup) generation, when one was stored; its members are in neither `members` nor the KIP-848 epochs. */
  classic?: ClassicGroupState;
}

export interface GroupListing {
  group: string;
  /** KIP-848 members plus classic members. */
  members: number;
  state: GroupState;
  /**
   * Which protocol the group's members speak: "classic" while it has classic (Kafka JoinGroup)
   * members, or has none of either but a stored classic generation; else "consumer" (KIP-848 and HTTP).
   */
  type: 'classic' | 'consumer';
  /** The classic members' protocol type ("consumer" for Kafka consumers); "consumer" for a KIP-848 group. */
  protocolType: string;
}

export interface OffsetCommit {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: number;
  /** Up to 4096 characters (Kafka's offset.metadata.max.bytes). */
  metadata?: string;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
  /** Backend time of the commit. */
  committedAtMs: number;
}

/** One bounded pass of group expiry (Coordinator.expireGroups). */
export interface GroupExpiryRequest {
  /** Kafka's offsets.retention.minutes, in ms: how long an empty group keeps an offset. */
  offsetsRetentionMs: number;
  /** Groups visited in this pass at most (the Redis engine: about this many, SSCAN's COUNT). */
  groupsMax: number;
  /** Where the previous pass stopped ("" or absent: from the start). */
  cursor?: string;
}

export interface GroupExpiry {
  /** Where the next pass continues; "" once a whole round over the groups is done. */
  cursor: string;
  groupsVisited: number;
  offsetsExpired: number;
  /** Groups removed: left with neither members nor offsets. */
  groupsDeleted: number;
}

// ---- classic groups ------------------------------------------------------------------------------
// Kafka's classic protocol (JoinGroup/SyncGroup): the coordinating broker runs the joins and syncs
// in memory and stores each generation here, so another broker can take the group over. The
// assignor runs in the clients: the coordinator keeps the members' opaque protocol metadata and
// assignments (base64). One group id holds members of one protocol at a time: a classic store
// into a group with KIP-848 members, and a KIP-848 join into a group with classic members, are
// refused (INCONSISTENT_GROUP_PROTOCOL).

/** A classic member, as the coordinating broker last stored it. */
export interface ClassicMember {
  /** Chosen by the broker; 1..128 of [A-Za-z0-9._-]. */
  memberId: string;
  /** Static membership (KIP-345): the instance id, or null. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** The member's metadata for the group's protocol, base64. */
  metadata: string;
  /** What the leader's SyncGroup gave it, base64 ("" until then). */
  assignment: string;
}

/** A classic group's generation: what a broker that takes the group over starts from. */
export interface ClassicGroupState {
  /** Bumps with every completed join round (and when the group empties). */
  generation: number;
  /** "consumer" for Kafka consumers; the same for every member. */
  protocolType: string;
  /** The protocol (assignor) chosen among the members' ("" while empty). */
  protocol: string;
  /** The member that assigns ("" while empty). */
  leader: string;
  /** empty: no members; reconciling: joined, the leader's assignment not in yet; stable: assigned. */
  state: GroupState;
  /** Sorted by member id. */
  members: ClassicMember[];
}

/** A classic member and the generation it acts at: what fences its offset commits. */
export interface ClassicGroupMember {
  memberId: string;
  generationId: number;
}
