// Strata's error codes (@strata/protocol's catalogue) as Kafka's, in one
// exhaustive table: a new Strata code breaks the build until it has a Kafka
// answer here, as services/broker/src/http/errors.ts does for HTTP statuses.

import type { ErrorCode } from '@strata/protocol';
import { KafkaError, type KafkaErrorName } from './kafka-errors.js';

export const KAFKA_ERROR_FOR_STRATA_CODE: Readonly<Record<ErrorCode, KafkaErrorName>> = Object.freeze({
  CORRUPT_MESSAGE: 'CORRUPT_MESSAGE',
  INVALID_RECORD: 'INVALID_RECORD',
  UNSUPPORTED_COMPRESSION_TYPE: 'UNSUPPORTED_COMPRESSION_TYPE',
  // Strata raises it for API versions and for batches of magic 0/1; Kafka 4 refuses both with this code.
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNKNOWN_TOPIC: 'UNKNOWN_TOPIC_OR_PARTITION',
  UNKNOWN_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  INVALID_TOPIC: 'INVALID_TOPIC_EXCEPTION',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_PARTITIONS: 'INVALID_PARTITIONS',
  TOPIC_ALREADY_EXISTS: 'TOPIC_ALREADY_EXISTS',
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  INVALID_TIMESTAMP: 'INVALID_TIMESTAMP',
  // Retriable, and it makes a Kafka client refresh its metadata: what a client needs to find the new leader.
  NOT_LEADER: 'NOT_LEADER_OR_FOLLOWER',
  FENCED_LEADER_EPOCH: 'FENCED_LEADER_EPOCH',
  STORAGE_ERROR: 'KAFKA_STORAGE_ERROR',
  STORAGE_FULL: 'KAFKA_STORAGE_ERROR',
  REQUEST_TIMED_OUT: 'REQUEST_TIMED_OUT',
  NOT_ENOUGH_REPLICAS: 'NOT_ENOUGH_REPLICAS',
  // Kafka's BROKER_NOT_AVAILABLE is not retriable; a broker going away hands its partitions on,
  // so the answer that makes a client retry elsewhere after a metadata refresh is this one.
  BROKER_SHUTTING_DOWN: 'NOT_LEADER_OR_FOLLOWER',
  THROTTLING_QUOTA_EXCEEDED: 'THROTTLING_QUOTA_EXCEEDED',
  NOT_FOUND: 'RESOURCE_NOT_FOUND',
  UNKNOWN_MEMBER_ID: 'UNKNOWN_MEMBER_ID',
  FENCED_MEMBER_EPOCH: 'FENCED_MEMBER_EPOCH',
  INVALID_GROUP_ID: 'INVALID_GROUP_ID',
  NON_EMPTY_GROUP: 'NON_EMPTY_GROUP',
  GROUP_MAX_SIZE_REACHED: 'GROUP_MAX_SIZE_REACHED',
  // Kafka has no "too many groups on this coordinator"; a limit set by the operator is a policy.
  GROUP_LIMIT_REACHED: 'POLICY_VIOLATION',
  INCONSISTENT_GROUP_PROTOCOL: 'INCONSISTENT_GROUP_PROTOCOL',
  ILLEGAL_GENERATION: 'ILLEGAL_GENERATION',
  OFFSET_METADATA_TOO_LARGE: 'OFFSET_METADATA_TOO_LARGE',
  OUT_OF_ORDER_SEQUENCE_NUMBER: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  INVALID_PRODUCER_EPOCH: 'INVALID_PRODUCER_EPOCH',
  // HTTP-only codes: on the Kafka port they can only mean a malformed request.
  METHOD_NOT_ALLOWED: 'INVALID_REQUEST',
  UNSUPPORTED_MEDIA_TYPE: 'INVALID_REQUEST',
  // Neither reaches a Kafka client from its own request (both are HTTP-side checks); the closest names.
  BROKER_AUTHENTICATION_FAILED: 'SASL_AUTHENTICATION_FAILED',
  ORIGIN_NOT_ALLOWED: 'CLUSTER_AUTHORIZATION_FAILED',
  INTERNAL_ERROR: 'UNKNOWN_SERVER_ERROR',
});

/** The Kafka error code to answer for a Strata error code. */
export function kafkaErrorCodeFor(code: ErrorCode): number {
  return KafkaError[KAFKA_ERROR_FOR_STRATA_CODE[code]];
}
