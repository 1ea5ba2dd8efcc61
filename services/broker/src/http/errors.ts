// The one table from error code to HTTP status, and the error body every
// route answers with: {"error": {"code", "message", "retriable", "details"?}}.

import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '@strata/protocol';
import { publicDetails, publicMessage } from '../redact.js';

/** Exhaustive: a new code in the catalogue fails the build until it has a status here. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  CORRUPT_MESSAGE: 400,
  INVALID_RECORD: 400,
  UNSUPPORTED_COMPRESSION_TYPE: 400,
  UNSUPPORTED_VERSION: 400,
  MESSAGE_TOO_LARGE: 413,
  INVALID_REQUEST: 400,
  UNKNOWN_TOPIC: 404,
  UNKNOWN_PARTITION: 404,
  INVALID_TOPIC: 400,
  INVALID_CONFIG: 400,
  INVALID_PARTITIONS: 400,
  TOPIC_ALREADY_EXISTS: 409,
  OFFSET_OUT_OF_RANGE: 416,
  OFFSET_NOT_AVAILABLE: 503,
  INVALID_TIMESTAMP: 400,
  // Retriable: the client should refresh metadata / back off and try again.
  NOT_LEADER: 503,
  FENCED_LEADER_EPOCH: 409,
  STORAGE_ERROR: 503,
  // 507 Insufficient Storage: the request is fine, this broker has no room for it now.
  STORAGE_FULL: 507,
  REQUEST_TIMED_OUT: 503,
  NOT_ENOUGH_REPLICAS: 503,
  BROKER_SHUTTING_DOWN: 503,
  THROTTLING_QUOTA_EXCEEDED: 429,
  NOT_FOUND: 404,
  TOPIC_AUTHORIZATION_FAILED: 403,
  GROUP_AUTHORIZATION_FAILED: 403,
  CLUSTER_AUTHORIZATION_FAILED: 403,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 403,
  UNKNOWN_MEMBER_ID: 404,
  FENCED_MEMBER_EPOCH: 409,
  INVALID_GROUP_ID: 400,
  NON_EMPTY_GROUP: 409,
  GROUP_MAX_SIZE_REACHED: 409,
  GROUP_LIMIT_REACHED: 409,
  INCONSISTENT_GROUP_PROTOCOL: 409,
  ILLEGAL_GENERATION: 409,
  OFFSET_METADATA_TOO_LARGE: 400,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 409,
  INVALID_PRODUCER_EPOCH: 409,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  AUTHENTICATION_FAILED: 401,
  BROKER_AUTHENTICATION_FAILED: 401,
  ORIGIN_NOT_ALLOWED: 403,
  INTERNAL_ERROR: 500,
});

export interface ErrorBody {
  error: { code: ErrorCode; message: string; retriable: boolean; details?: Record<string, unknown> };
}

/**
 * The body of an error answer. Everything a client reads passes redact.ts: no server path
 * (the data dir, a file-system error's path), the message cut to MAX_ERROR_MESSAGE_CHARS and each
 * detail string to MAX_ECHOED_INPUT_CHARS, so a request cannot make the broker echo megabytes.
 */
export function errorBody(error: StrataError): ErrorBody {
  const body: ErrorBody = { error: { code: error.code, message: publicMessage(error.message), retriable: error.retriable } };
  if (error.details !== undefined) body.error.details = publicDetails(error.details);
  return body;
}

export function statusFor(code: ErrorCode): number {
  return HTTP_STATUS_BY_CODE[code];
}

export { toStrataError } from '../core/errors.js';

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
