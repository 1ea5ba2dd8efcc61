// The one table from a coordinator failure to a StrataError. Both engines raise failures
// through coordError(): the Redis engine after decoding a script's error reply
// (redis/errors.ts), the in-process engine directly, so the two fail alike byte for byte.
//
// Where @strata/protocol's catalogue has no code for a case yet, the closest existing code is
// used and the precise one is `details.reason` (README.md lists the codes to add).

import { StrataError, type ErrorCode } from '@strata/protocol';

export interface FailureSpec {
  code: ErrorCode;
  /** Kafka's name for the case when the catalogue lacks it (goes to details.reason). */
  reason: string;
  message: (d: Record<string, unknown>) => string;
}

/** "orders/3": the partition an error is about. */
function where(d: Record<string, unknown>): string {
  return `${String(d['topic'])}/${String(d['partition'])}`;
}

/** Failure kinds: these exact names are what the Lua scripts put in their error replies. */
export const FAILURES = {
  STALE_LEADER_EPOCH: {
    code: 'FENCED_LEADER_EPOCH',
    reason: 'FENCED_LEADER_EPOCH',
    message: (d) => `leader epoch ${String(d['epoch'])} of ${where(d)} is fenced: the current epoch is ${String(d['currentEpoch'])}`,
  },
  FORGOTTEN_LEADER_EPOCH: {
    code: 'FENCED_LEADER_EPOCH',
    reason: 'EPOCH_FORGOTTEN_BY_COORDINATOR',
    message: (d) =>
      `leader epoch ${String(d['epoch'])} of ${where(d)} is newer than the coordinator's ${String(d['currentEpoch'])}: ` +
      'the coordinator lost the grant (a restart or failover dropped recent writes); it now remembers the epoch, and this leader must stop',
  },
  STALE_CONTROLLER_EPOCH: {
    code: 'FENCED_LEADER_EPOCH',
    reason: 'STALE_CONTROLLER_EPOCH',
    message: (d) => `controller epoch ${String(d['epoch'])} is fenced: ${where(d)} has seen controller epoch ${String(d['currentEpoch'])}`,
  },
  TOPIC_EXISTS: {
    code: 'TOPIC_ALREADY_EXISTS',
    reason: 'TOPIC_ALREADY_EXISTS',
    message: (d) => `topic "${String(d['topic'])}" already exists`,
  },
  TOPIC_COLLISION: {
    code: 'INVALID_TOPIC',
    reason: 'TOPIC_COLLISION',
    message: (d) => `topic "${String(d['topic'])}" collides with existing topic "${String(d['existing'])}" ("." and "_" are the same in metric names)`,
  },
  UNKNOWN_TOPIC: {
    code: 'UNKNOWN_TOPIC',
    reason: 'UNKNOWN_TOPIC_OR_PARTITION',
    message: (d) => `topic "${String(d['topic'])}" does not exist`,
  },
  PARTITIONS_SHRINK: {
    code: 'INVALID_PARTITIONS',
    reason: 'PARTITIONS_SHRINK',
    message: (d) => `topic "${String(d['topic'])}" has ${String(d['current'])} partitions: it cannot shrink to ${String(d['partitions'])}`,
  },
  NOT_CONTIGUOUS: {
    code: 'INVALID_REQUEST',
    reason: 'NOT_CONTIGUOUS',
    message: (d) => `segment ${String(d['baseOffset'])}-${String(d['lastOffset'])} does not continue the manifest of ${where(d)} at ${String(d['endOffset'])}`,
  },
  BELOW_LOG_START: {
    code: 'INVALID_REQUEST',
    reason: 'BELOW_LOG_START',
    message: (d) => `${String(d['what'])} ${String(d['offset'])} is below the log start ${String(d['logStartOffset'])} of ${where(d)}`,
  },
  INVALID_ISR: {
    code: 'INVALID_REQUEST',
    reason: 'INVALID_ISR',
    message: (d) => `ISR [${String(d['isr'])}] of ${where(d)} must be a subset of the replicas [${String(d['replicas'])}] containing the leader ${String(d['leader'])}`,
  },
  TOO_MANY_CONFIGS: {
    code: 'INVALID_CONFIG',
    reason: 'TOO_MANY_CONFIGS',
    message: (d) => `topic "${String(d['topic'])}" would have ${String(d['count'])} configs, over the limit of ${String(d['max'])}`,
  },
  EPOCH_EXHAUSTED: {
    code: 'INTERNAL_ERROR',
    reason: 'EPOCH_EXHAUSTED',
    message: (d) => `epoch of ${where(d)} would pass the int32 limit`,
  },
  UNKNOWN_MEMBER: {
    code: 'UNKNOWN_MEMBER_ID',
    reason: 'UNKNOWN_MEMBER_ID',
    message: (d) => `member "${String(d['memberId'])}" is not in group "${String(d['group'])}"`,
  },
  FENCED_MEMBER: {
    code: 'FENCED_MEMBER_EPOCH',
    reason: 'FENCED_MEMBER_EPOCH',
    message: (d) =>
      `member "${String(d['memberId'])}" of group "${String(d['group'])}" is at epoch ${String(d['currentEpoch'])}, not ${String(d['memberEpoch'])}`,
  },
  NON_EMPTY_GROUP: {
    code: 'NON_EMPTY_GROUP',
    reason: 'NON_EMPTY_GROUP',
    message: (d) => `group "${String(d['group'])}" has ${String(d['members'])} member(s): ${String(d['what'])} only while it has none`,
  },
  INCONSISTENT_PROTOCOL: {
    code: 'INCONSISTENT_GROUP_PROTOCOL',
    reason: 'INCONSISTENT_GROUP_PROTOCOL',
    message: (d) =>
      d['protocol'] === 'classic'
        ? `group "${String(d['group'])}" has ${String(d['members'])} classic (Kafka JoinGroup) member(s): a consumer-protocol member cannot join it until they leave; use another group id`
        : `group "${String(d['group'])}" has ${String(d['members'])} consumer-protocol (HTTP or KIP-848) member(s): a classic (Kafka JoinGroup) member cannot join it until they leave; use another group id`,
  },
  ILLEGAL_GENERATION: {
    code: 'ILLEGAL_GENERATION',
    reason: 'ILLEGAL_GENERATION',
    message: (d) =>
      `classic group "${String(d['group'])}" is at generation ${String(d['currentGeneration'])}, not ${String(d['generationId'])}${d['memberId'] ? ` (member "${String(d['memberId'])}")` : ''}: rejoin`,
  },
  GROUP_FULL: {
    code: 'GROUP_MAX_SIZE_REACHED',
    reason: 'GROUP_MAX_SIZE_REACHED',
    message: (d) => `group "${String(d['group'])}" has ${String(d['members'])} members, the most it may have`,
  },
  GROUP_LIMIT: {
    code: 'GROUP_LIMIT_REACHED',
    reason: 'GROUP_LIMIT_REACHED',
    message: (d) =>
      `group "${String(d['group'])}" cannot be created: the coordinator holds ${String(d['groups'])} groups, the most it may (delete unused groups; empty groups expire after offsets.retention)`,
  },
  GROUP_METADATA_TOO_LARGE: {
    code: 'OFFSET_METADATA_TOO_LARGE',
    reason: 'GROUP_METADATA_TOO_LARGE',
    message: (d) =>
      `group "${String(d['group'])}" would store ${String(d['bytes'])} bytes of offset metadata, over the limit of ${String(d['max'])}: nothing was committed`,
  },
  GROUP_PARTITIONS_EXCEEDED: {
    code: 'INVALID_REQUEST',
    reason: 'GROUP_PARTITIONS_EXCEEDED',
    message: (d) =>
      `group "${String(d['group'])}" would assign ${String(d['partitions'])} partitions, over the limit of ${String(d['max'])}: subscribe to fewer topics in one group`,
  },
  UNKNOWN_USER: {
    code: 'NOT_FOUND',
    reason: 'UNKNOWN_USER',
    message: (d) => `user "${String(d['user'])}" does not exist`,
  },
  USER_LIMIT: {
    code: 'INVALID_REQUEST',
    reason: 'USER_LIMIT_REACHED',
    message: (d) => `user "${String(d['user'])}" cannot be created: the coordinator holds ${String(d['users'])} users, the most it may`,
  },
  TOKEN_LIMIT: {
    code: 'INVALID_REQUEST',
    reason: 'TOKEN_LIMIT_REACHED',
    message: (d) => `user "${String(d['user'])}" has ${String(d['tokens'])} API tokens, the most it may: revoke one first`,
  },
  TOKEN_EXISTS: {
    code: 'INVALID_REQUEST',
    reason: 'DUPLICATE_TOKEN_ID',
    message: (d) => `an API token with id "${String(d['id'])}" already exists`,
  },
} satisfies Record<string, FailureSpec>;

export type FailureKind = keyof typeof FAILURES;

export function isFailureKind(name: string): name is FailureKind {
  return Object.prototype.hasOwnProperty.call(FAILURES, name);
}

export function coordError(kind: FailureKind, details: Record<string, unknown> = {}, cause?: unknown): StrataError {
  const spec: FailureSpec = FAILURES[kind];
  return new StrataError(spec.code, spec.message(details), {
    details: { reason: spec.reason, ...details },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The backend cannot be reached or failed: retriable (Kafka: COORDINATOR_NOT_AVAILABLE). */
export function unavailable(message: string, cause?: unknown): StrataError {
  return new StrataError('STORAGE_ERROR', message, { cause, details: { reason: 'COORDINATOR_NOT_AVAILABLE' } });
}

/** REQUEST_TIMED_OUT for an aborted call (the write may or may not have been applied). */
export function aborted(what: string, signal: AbortSignal): StrataError {
  return new StrataError('REQUEST_TIMED_OUT', `${what} was aborted; it may or may not have been applied`, { cause: signal.reason });
}

export function throwIfAborted(what: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw aborted(what, signal);
}
