// @strata/client: Strata's TypeScript client over the HTTP API v1 (docs/architecture.md#http-api).
// Producer (Kafka's partitioner, batching, linger, gzip, acks, retries that keep
// per-partition order, a bounded buffer), Admin, and Fetcher / PartitionReader
// (the consumer without groups), Consumer (groups), and withDeadLetter. Every error is a StrataError from
// @strata/protocol, with the server's code and `retriable`.

export { Producer } from './producer.js';
export type { Enqueued, ProducerOptions, ProducerStats, SendCallback } from './producer.js';

export { Consumer, CONSUMER_DEFAULTS, consumerChannel } from './consumer.js';
export type { ConsumerBatch, ConsumerEvent, ConsumerGroupOptions, ConsumerOptions, RunOptions, TopicPartition } from './consumer.js';
export { withDeadLetter, DEAD_LETTER_DEFAULTS, DEAD_LETTER_HEADERS } from './dead-letter.js';
export type { DeadLetterOptions, RecordHandler } from './dead-letter.js';

export { Admin } from './admin.js';
export type { AdminCallOptions, AdminOptions, PartitionOffset } from './admin.js';

export { Fetcher } from './fetcher.js';
export type { FetchOptions, FetchResult, FetcherOptions } from './fetcher.js';
export { PartitionReader, offsetResetChannel } from './partition-reader.js';
export type { OffsetResetEvent, PartitionReaderOptions, StartPosition } from './partition-reader.js';

export { Connection, requestChannel } from './connection.js';
export type { ConnectWith, HttpMethod, RequestEvent } from './connection.js';
export { retryChannel } from './retry.js';
export type { RetryEvent } from './retry.js';
export type { FailureKind, RequestFailure } from './failure.js';

export { CONNECTION_DEFAULTS, PRODUCER_CONNECTIONS_PER_BROKER_MAX, PRODUCER_DEFAULTS, READER_DEFAULTS } from './options.js';
export type { Acks, AutoOffsetReset, ClientAuth, ClientTls, ConnectionOptions, ProducerCompression, ProducerTuning } from './options.js';

export type {
  AlterQuotasRequest,
  QuotaEntity,
  QuotaRecord,
  QuotaValues,
  ClusterBroker,
  ClusterDescription,
  Encoding,
  FetchRecord,
  FetchRecordsRequest,
  FetchResponse,
  HeaderEncoding,
  GroupDescription,
  GroupListing,
  GroupMemberDescription,
  GroupOffset,
  GroupState,
  NewTopic,
  OfflinePartition,
  OffsetLookup,
  OffsetSpec,
  PartitionDescription,
  ProducedOffset,
  ProduceRecord,
  ProduceRequest,
  ProduceResponse,
  ResetTarget,
  TopicConfigValue,
  TopicPartitionOffset,
  TopicPartitions,
  TopicDescription,
  TopicListing,
  ApiToken,
  CreateUserRequest,
  IssuedToken,
  IssueTokenRequest,
  User,
} from './api.js';
export type { Bytes, ConsumerRecord, HeaderValue, ProducerRecord, RecordHeadersInput, RecordMetadata } from './records.js';

// The error type every call rejects with, re-exported for convenience.
export { StrataError, isStrataError } from '@strata/protocol';
export type { ErrorCode, RecordHeader } from '@strata/protocol';
