// The shapes of one classic consumer group (classic-group.ts): the errors it answers with, its
// phases, what a join and a sync take and answer, its store, and a member as the group holds it.

import type { ClassicGroupState } from '@strata/coord';

/** Kafka's error names this protocol answers with (the Kafka handlers map them to codes). */
export type ClassicError =
  | 'NONE'
  | 'MEMBER_ID_REQUIRED'
  | 'UNKNOWN_MEMBER_ID'
  | 'ILLEGAL_GENERATION'
  | 'REBALANCE_IN_PROGRESS'
  | 'FENCED_INSTANCE_ID'
  | 'INCONSISTENT_GROUP_PROTOCOL'
  | 'GROUP_MAX_SIZE_REACHED'
  | 'NOT_COORDINATOR'
  | 'COORDINATOR_NOT_AVAILABLE';

export type GroupPhase = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface ProtocolOffer {
  name: string;
  metadata: Buffer;
}

export interface JoinArgs {
  /** "" for a new member. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly ProtocolOffer[];
  /** JoinGroup v4+: a new dynamic member is first given an id (MEMBER_ID_REQUIRED) and joins again with it. */
  requireKnownMemberId: boolean;
}

export interface JoinAnswer {
  error: ClassicError;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Only for the leader: every member with its metadata for the chosen protocol. */
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncAnswer {
  error: ClassicError;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

/** Where generations are stored; a refusal says what to answer (and the group unloads). */
export interface ClassicGroupStore {
  store(state: ClassicGroupState): Promise<ClassicError>;
}

export interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly ProtocolOffer[];
  assignment: Buffer;
  join: ((answer: JoinAnswer) => void) | null;
  sync: ((answer: SyncAnswer) => void) | null;
  session: NodeJS.Timeout | null;
}

export interface ClassicGroupOptions {
  initialRebalanceDelayMs: number;
  membersMax: number;
  /** Called when the group leaves memory (emptied, or refused by the store): the registry drops it. */
  onUnload: () => void;
  /** What the broker logs: a generation completed, a member removed, a group taken over. */
  onEvent: (event: ClassicGroupEvent) => void;
}

/** Why a member left the group. */
export type RemovalReason = 'left' | 'session expired' | 'not rejoined within the rebalance timeout';

export type ClassicGroupEvent =
  | { kind: 'generation'; generation: number; leader: string; protocol: string; members: string[] }
  | { kind: 'member removed'; generation: number; memberId: string; reason: RemovalReason }
  | { kind: 'loaded'; generation: number; phase: GroupPhase; members: string[] };
