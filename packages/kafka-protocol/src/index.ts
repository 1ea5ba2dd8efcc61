// @strata/kafka-protocol: Kafka's wire protocol as data. One declarative schema
// per message (src/messages), an interpreter that encodes and decodes every
// version of it (src/codec), request/response headers and frames, Kafka's error
// codes and API keys, and the version ranges Strata advertises. Bytes in, bytes
// out: no I/O (the listener lives in services/broker/src/kafka).

export { ApiKey, apiKeyName } from './api-keys.js';
export type { ApiKeyName, ApiKeyNumber } from './api-keys.js';

export { KafkaError, KafkaErrorTable, kafkaErrorInfo } from './kafka-errors.js';
export type { KafkaErrorCode, KafkaErrorInfo, KafkaErrorName } from './kafka-errors.js';
export { KAFKA_ERROR_FOR_STRATA_CODE, kafkaErrorCodeFor } from './strata-errors.js';

export { KafkaProtocolError, isKafkaProtocolError } from './errors.js';
export { consumerAssignmentPartitions, consumerSubscriptionTopics } from './consumer-protocol.js';
export type { KafkaProtocolErrorReason } from './errors.js';

export type {
  DefaultValue,
  FieldSchema,
  FieldType,
  MessageInput,
  MessageKind,
  MessageSchema,
  MessageValue,
  PrimitiveType,
  PrimitiveValues,
  StructInput,
  StructValue,
} from './schema/types.js';
export { parseVersions } from './schema/versions.js';
export type { VersionRange } from './schema/versions.js';

export { ZERO_UUID } from './codec/compile.js';
export { RECORDS_INLINE_COPY_MAX_BYTES } from './codec/writer.js';
export { decodeMessage, encodeMessage, isFlexibleVersion, isValidVersion } from './codec/message-codec.js';
export {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  requestHeaderVersion,
  responseHeaderVersion,
} from './codec/frames.js';
export type { RequestHeaderFields } from './codec/frames.js';

export * from './messages/index.js';
export { RequestHeader, ResponseHeader } from './messages/headers.js';
export { AUTHORIZED_OPERATIONS_OMITTED } from './messages/metadata.js';
export { ListOffsetsTimestamp } from './messages/list-offsets.js';
export { AlterConfigOp, ConfigResourceType } from './messages/configs.js';
export { ClientQuotaMatchType } from './messages/client-quotas.js';
export { ScramMechanismCode } from './messages/scram-credentials.js';

export { SUPPORTED_APIS, isSupportedVersion } from './supported.js';
export type { VersionSpan } from './supported.js';
export { ACL_ANY, ACL_PATTERN_MATCH, aclOperationCode, aclPatternTypeCode, aclPermissionCode, aclResourceTypeCode } from './acl-codes.js';
