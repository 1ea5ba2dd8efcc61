// The Kafka listener's settings (services/broker/src/kafka/): its named defaults and the table of
// their environment names and bounds, spread into DEFAULTS and INT_SETTINGS (settings.ts).

import { COORDINATOR_DEFAULTS, LIMITS } from '@strata/coord';
import type { IntSetting } from './settings.js';

const MiB = 1024 * 1024;

/** How Metadata answers: each broker at its own address (`brokers`), or one address leading every partition (`one-address`: a load balancer in front). */
export const KAFKA_METADATA_MODES = ['brokers', 'one-address'] as const;
export type KafkaMetadataMode = (typeof KAFKA_METADATA_MODES)[number];

export const KAFKA_DEFAULTS = Object.freeze({
  // The Kafka listener (services/broker/src/kafka/). Port 0 = no Kafka listener.
  kafkaPort: 9092,
  kafkaMetadataMode: 'brokers' as KafkaMetadataMode,
  /**
   * Off, unlike Kafka's auto.create.topics.enable: a metadata request or a consumer naming a mistyped
   * topic would create it (with the cluster's replication factor), and operators turn Kafka's off.
   */
  kafkaAutoCreateTopics: false,
  /**
   * Kafka's socket.request.max.bytes is 100 MiB; a client's produce is bounded by its max.request.size
   * (1 MiB) and a fetch request is small, so the HTTP request cap's 16 MiB fits every client's default
   * while bounding what one frame can pin.
   */
  kafkaMaxRequestBytes: 16 * MiB,
  /** Requests read from one connection and not yet answered; reading pauses at the cap (Kafka's broker reads one at a time). */
  kafkaMaxInFlightPerConnection: 32,
  /** Request bytes held by all Kafka connections at once (frames read or being read, until answered); reading pauses past it. */
  kafkaRequestBytesInFlight: 256 * MiB,
  kafkaMaxConnections: 10_000,
  /** As maxConnectionsPerAddress: behind a load balancer or a NAT every client shares its address. */
  kafkaMaxConnectionsPerAddress: 1_000,
  /** Kafka's connections.max.idle.ms: a connection with nothing in flight and no byte for this long is closed. */
  kafkaConnectionsMaxIdleMs: 600_000,
  /** Users one AlterUserScramCredentials may change (one coordinator change each); the rest answer INVALID_REQUEST. */
  kafkaScramUsersPerRequestMax: 100,
  /**
   * Kafka's group.consumer.session.timeout.ms (45 s): how long a KIP-848 member on the Kafka listener
   * lives without a heartbeat before its partitions move (its heartbeat interval is a third of it, at
   * most 5 s). HTTP members choose their own (sessionTimeoutMs); a Kafka member has no such field.
   */
  kafkaGroupSessionTimeoutMs: COORDINATOR_DEFAULTS.groupSessionTimeoutMs,
  // Classic consumer groups over Kafka (JoinGroup/SyncGroup; services/broker/src/core/classic-groups.ts).
  /**
   * Kafka's group.initial.rebalance.delay.ms: the first join round of an empty group waits this long
   * (each new member extends it by as much, up to the rebalance timeout) so that members starting
   * together land in one generation instead of one rebalance each.
   */
  kafkaGroupInitialRebalanceDelayMs: 3_000,
  /** Kafka's group.min.session.timeout.ms: a JoinGroup asking for less gets INVALID_SESSION_TIMEOUT. */
  kafkaGroupMinSessionTimeoutMs: 6_000,
  /** Kafka's group.max.session.timeout.ms. */
  kafkaGroupMaxSessionTimeoutMs: 1_800_000,
  /** Protocols (assignors) one JoinGroup may offer (Kafka has no bound; clients offer one to three). */
  kafkaGroupProtocolsMax: 16,
  /** Bytes of one member's protocol metadata, all its protocols together (a consumer's subscription is a few hundred bytes). */
  kafkaGroupMemberMetadataMaxBytes: 64 * 1024,
  /** Bytes of one member's assignment in the leader's SyncGroup. */
  kafkaGroupAssignmentMaxBytes: 256 * 1024,
  /**
   * How often a broker looks for the stored classic groups with members that it coordinates but does
   * not hold (their coordinating broker died, or this one restarted) and loads them, so that members
   * that never come back expire after their session, as when Kafka's coordinator loads its groups.
   */
  kafkaGroupTakeoverIntervalMs: 5_000,
});

export const KAFKA_INT_SETTINGS = {
  kafkaPort: { env: 'STRATA_KAFKA_PORT', default: KAFKA_DEFAULTS.kafkaPort, min: 0, max: 65_535 },
  kafkaMaxRequestBytes: { env: 'STRATA_KAFKA_MAX_REQUEST_BYTES', default: KAFKA_DEFAULTS.kafkaMaxRequestBytes, min: 64 * 1024, max: 1024 * MiB },
  kafkaMaxInFlightPerConnection: { env: 'STRATA_KAFKA_MAX_IN_FLIGHT_PER_CONNECTION', default: KAFKA_DEFAULTS.kafkaMaxInFlightPerConnection, min: 1, max: 1_000 },
  kafkaRequestBytesInFlight: { env: 'STRATA_KAFKA_REQUEST_BYTES_IN_FLIGHT', default: KAFKA_DEFAULTS.kafkaRequestBytesInFlight, min: 64 * 1024, max: 1024 * 1024 * MiB },
  kafkaMaxConnections: { env: 'STRATA_KAFKA_MAX_CONNECTIONS', default: KAFKA_DEFAULTS.kafkaMaxConnections, min: 1, max: 1_000_000 },
  kafkaMaxConnectionsPerAddress: { env: 'STRATA_KAFKA_MAX_CONNECTIONS_PER_ADDRESS', default: KAFKA_DEFAULTS.kafkaMaxConnectionsPerAddress, min: 0, max: 1_000_000 },
  kafkaScramUsersPerRequestMax: { env: 'STRATA_KAFKA_SCRAM_USERS_PER_REQUEST_MAX', default: KAFKA_DEFAULTS.kafkaScramUsersPerRequestMax, min: 1, max: 10_000 },
  kafkaConnectionsMaxIdleMs: { env: 'STRATA_KAFKA_CONNECTIONS_MAX_IDLE_MS', default: KAFKA_DEFAULTS.kafkaConnectionsMaxIdleMs, min: 1_000, max: 24 * 3_600_000 },
  kafkaGroupSessionTimeoutMs: { env: 'STRATA_KAFKA_GROUP_SESSION_TIMEOUT_MS', default: KAFKA_DEFAULTS.kafkaGroupSessionTimeoutMs, min: LIMITS.groupTimeoutMinMs, max: LIMITS.groupTimeoutMaxMs },
  kafkaGroupInitialRebalanceDelayMs: { env: 'STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS', default: KAFKA_DEFAULTS.kafkaGroupInitialRebalanceDelayMs, min: 0, max: 300_000 },
  kafkaGroupMinSessionTimeoutMs: { env: 'STRATA_KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS', default: KAFKA_DEFAULTS.kafkaGroupMinSessionTimeoutMs, min: 100, max: 3_600_000 },
  kafkaGroupMaxSessionTimeoutMs: { env: 'STRATA_KAFKA_GROUP_MAX_SESSION_TIMEOUT_MS', default: KAFKA_DEFAULTS.kafkaGroupMaxSessionTimeoutMs, min: 100, max: 3_600_000 },
  kafkaGroupProtocolsMax: { env: 'STRATA_KAFKA_GROUP_PROTOCOLS_MAX', default: KAFKA_DEFAULTS.kafkaGroupProtocolsMax, min: 1, max: 1_000 },
  // Stored base64 in the coordinator: together under @strata/coord's LIMITS.classicMemberBytesMax (4 Mi characters).
  kafkaGroupMemberMetadataMaxBytes: { env: 'STRATA_KAFKA_GROUP_MEMBER_METADATA_MAX_BYTES', default: KAFKA_DEFAULTS.kafkaGroupMemberMetadataMaxBytes, min: 1024, max: MiB },
  kafkaGroupAssignmentMaxBytes: { env: 'STRATA_KAFKA_GROUP_ASSIGNMENT_MAX_BYTES', default: KAFKA_DEFAULTS.kafkaGroupAssignmentMaxBytes, min: 1024, max: 2 * MiB },
  kafkaGroupTakeoverIntervalMs: { env: 'STRATA_KAFKA_GROUP_TAKEOVER_INTERVAL_MS', default: KAFKA_DEFAULTS.kafkaGroupTakeoverIntervalMs, min: 100, max: 300_000 },
} as const satisfies Record<string, IntSetting>;
