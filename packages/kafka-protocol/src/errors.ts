// KafkaProtocolError: what decoding garbage (or encoding a value a version cannot
// carry) throws. It is a StrataError (INVALID_REQUEST), so a front door that maps
// Strata's codes already knows it; `reason` says which rule the bytes broke, for
// logs and tests.

import { StrataError } from '@strata/protocol';

export type KafkaProtocolErrorReason =
  /** The bytes end before the field does. */
  | 'truncated'
  /** A length or count larger than the bytes that remain could hold. */
  | 'length-exceeds-frame'
  /** A negative length other than -1 (null), or null where the version forbids it. */
  | 'invalid-length'
  | 'null-not-allowed'
  /** An API key this package has no schema for. */
  | 'unknown-api'
  /** A version outside the message's validVersions. */
  | 'unsupported-version'
  /** Bytes left over after the message's last field. */
  | 'trailing-bytes'
  /** A value that does not fit its type (encode). */
  | 'invalid-value'
  /** Encoding a non-default value for a non-ignorable field absent in the version (as Kafka's generator refuses). */
  | 'field-not-in-version';

export class KafkaProtocolError extends StrataError {
  readonly reason: KafkaProtocolErrorReason;

  constructor(reason: KafkaProtocolErrorReason, message: string, details?: Record<string, unknown>) {
    super(reason === 'unsupported-version' ? 'UNSUPPORTED_VERSION' : 'INVALID_REQUEST', message, details === undefined ? undefined : { details });
    this.name = 'KafkaProtocolError';
    this.reason = reason;
  }
}

export function isKafkaProtocolError(e: unknown): e is KafkaProtocolError {
  return e instanceof KafkaProtocolError;
}
