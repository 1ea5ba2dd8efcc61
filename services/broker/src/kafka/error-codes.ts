// Strata's error codes as Kafka's: one exhaustive table (a new StrataError code breaks the build
// until it has a Kafka code), so every answer of the Kafka listener carries the code a Kafka
// client acts on (NOT_LEADER_OR_FOLLOWER makes it refresh its metadata, a retriable code makes it
// retry, the rest fail the call).

import type { ErrorCode } from '@strata/protocol';
import { KafkaError, kafkaErrorInfo, type KafkaErrorCode } from '@strata/kafka-protocol';

/** The Kafka name of a code ("NOT_LEADER_OR_FOLLOWER"), for metrics and logs. */
export function kafkaErrorName(code: number): string {
  return kafkaErrorInfo(code)?.name ?? `ERROR_${code}`;
}

export const KAFKA_ERROR_BY_CODE: Readonly<Record<ErrorCode, KafkaErrorCode>> = Object.freeze({
  CORRUPT_MESSAGE: KafkaError.CORRUPT_MESSAGE,
  INVALID_RECORD: KafkaError.INVALID_RECORD,
  UNSUPPORTED_COMPRESSION_TYPE: KafkaError.UNSUPPORTED_COMPRESSION_TYPE,
  // A batch of magic 0 or 1: Kafka's answer to an old message format on a v2-only log.
  UNSUPPORTED_VERSION: KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  MESSAGE_TOO_LARGE: KafkaError.MESSAGE_TOO_LARGE,
  INVALID_REQUEST: KafkaError.INVALID_REQUEST,
  UNKNOWN_TOPIC: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
  UNKNOWN_PARTITION: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
  INVALID_TOPIC: KafkaError.INVALID_TOPIC_EXCEPTION,
  INVALID_CONFIG: KafkaError.INVALID_CONFIG,
  INVALID_PARTITIONS: KafkaError.INVALID_PARTITIONS,
  TOPIC_ALREADY_EXISTS: KafkaError.TOPIC_ALREADY_EXISTS,
  OFFSET_OUT_OF_RANGE: KafkaError.OFFSET_OUT_OF_RANGE,
  INVALID_TIMESTAMP: KafkaError.INVALID_TIMESTAMP,
  // Makes a Kafka client refresh its metadata and retry at the leader it finds there.
  NOT_LEADER: KafkaError.NOT_LEADER_OR_FOLLOWER,
  FENCED_LEADER_EPOCH: KafkaError.NOT_LEADER_OR_FOLLOWER,
  STORAGE_ERROR: KafkaError.KAFKA_STORAGE_ERROR,
  STORAGE_FULL: KafkaError.KAFKA_STORAGE_ERROR,
  REQUEST_TIMED_OUT: KafkaError.REQUEST_TIMED_OUT,
  NOT_ENOUGH_REPLICAS: KafkaError.NOT_ENOUGH_REPLICAS,
  // Retriable at another broker or after the restart, as Kafka's clients treat a leader moving.
  BROKER_SHUTTING_DOWN: KafkaError.NOT_LEADER_OR_FOLLOWER,
  THROTTLING_QUOTA_EXCEEDED: KafkaError.THROTTLING_QUOTA_EXCEEDED,
  NOT_FOUND: KafkaError.RESOURCE_NOT_FOUND,
  UNKNOWN_MEMBER_ID: KafkaError.UNKNOWN_MEMBER_ID,
  FENCED_MEMBER_EPOCH: KafkaError.FENCED_MEMBER_EPOCH,
  INVALID_GROUP_ID: KafkaError.INVALID_GROUP_ID,
  NON_EMPTY_GROUP: KafkaError.NON_EMPTY_GROUP,
  GROUP_MAX_SIZE_REACHED: KafkaError.GROUP_MAX_SIZE_REACHED,
  GROUP_LIMIT_REACHED: KafkaError.GROUP_MAX_SIZE_REACHED,
  OFFSET_METADATA_TOO_LARGE: KafkaError.OFFSET_METADATA_TOO_LARGE,
  // HTTP-only codes: never raised on the Kafka path, mapped so the table stays total.
  METHOD_NOT_ALLOWED: KafkaError.INVALID_REQUEST,
  UNSUPPORTED_MEDIA_TYPE: KafkaError.INVALID_REQUEST,
  INTERNAL_ERROR: KafkaError.UNKNOWN_SERVER_ERROR,
});

export function kafkaErrorOf(code: ErrorCode): KafkaErrorCode {
  return KAFKA_ERROR_BY_CODE[code];
}
