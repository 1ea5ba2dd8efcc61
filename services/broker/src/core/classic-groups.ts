// Classic consumer groups (Kafka's JoinGroup/SyncGroup), the broker core's side: which groups this
// broker coordinates in memory (classic-group.ts runs one), the checks every request passes first
// (the group id, this broker being the group's coordinator, the named bounds), loading a group from
// the coordinator when this broker takes it over, and the offset commits of classic members (fenced
// in memory, then again by the coordinator when they are stored). Offsets live where the HTTP
// groups' do (GroupsCore, coordinator commitOffsets): one truth for HTTP, the CLI and Kafka tools.

import { groupIdProblem, isStrataError } from '@strata/protocol';
import type { ClassicGroupState, OffsetCommit } from '@strata/coord';
import type { BrokerContext } from '../context.js';
import type { KafkaGroupsConfig } from '../config/types.js';
import { ClassicGroup, type ClassicError, type GroupPhase, type JoinAnswer, type JoinArgs, type SyncAnswer } from './classic-group.js';
import type { GroupsCore } from './groups.js';
import type { RequestOrigin } from './leader-client.js';

export type { ClassicError, GroupPhase, JoinAnswer, JoinArgs, SyncAnswer, ProtocolOffer } from './classic-group.js';

/** Deadline of one coordinator call made for a group. */
const COORDINATOR_CALL_MS = 10_000;

export interface ClassicGroupsOptions {
  config: KafkaGroupsConfig;
  /** Members of one group (STRATA_GROUP_MAX_SIZE, shared with the HTTP groups). */
  membersMax: number;
  /** Groups held in memory at once (STRATA_MAX_GROUPS: the coordinator holds no more either). */
  groupsMax: number;
  /** Whether this broker coordinates the group now (the Kafka layer's FindCoordinator answer). */
  isCoordinator: (group: string) => boolean;
}

/** A refusal before the group is looked at: the request's own fault, or this broker's. */
export type RequestRefusal = ClassicError | 'INVALID_GROUP_ID' | 'INVALID_SESSION_TIMEOUT' | 'INVALID_REQUEST' | 'GROUP_MAX_SIZE_REACHED' | 'GROUP_AUTHORIZATION_FAILED';

export class ClassicGroups {
  readonly #ctx: BrokerContext;
  readonly #groupsCore: GroupsCore;
  readonly #options: ClassicGroupsOptions;
  readonly #groups = new Map<string, ClassicGroup>();
  /** Loads in flight, so that concurrent first requests share one. */
  readonly #loading = new Map<string, Promise<ClassicGroup>>();

  constructor(ctx: BrokerContext, groupsCore: GroupsCore, options: ClassicGroupsOptions) {
    this.#ctx = ctx;
    this.#groupsCore = groupsCore;
    this.#options = options;
  }

  async join(group: string, args: JoinArgs, origin: RequestOrigin): Promise<JoinAnswer | { error: RequestRefusal }> {
    const problem = this.#checkGroup(group, origin);
    if (problem !== null) return { error: problem };
    const { config } = this.#options;
    if (args.sessionTimeoutMs < config.minSessionTimeoutMs || args.sessionTimeoutMs > config.maxSessionTimeoutMs) return { error: 'INVALID_SESSION_TIMEOUT' };
    if (args.protocolType === '' || args.protocols.length === 0) return { error: 'INCONSISTENT_GROUP_PROTOCOL' };
    if (args.protocols.length > config.protocolsMax) return { error: 'INVALID_REQUEST' };
    let metadataBytes = 0;
    for (const p of args.protocols) metadataBytes += p.metadata.length + Buffer.byteLength(p.name);
    if (metadataBytes > config.memberMetadataMaxBytes) return { error: 'INVALID_REQUEST' };
    if (args.groupInstanceId !== null && (args.groupInstanceId === '' || args.groupInstanceId.length > 249)) return { error: 'INVALID_REQUEST' };
    const loaded = await this.#group(group);
    if ('error' in loaded) return loaded;
    // Kafka copies each protocol's metadata out of the request; a slice would pin the whole frame.
    return loaded.join({ ...args, protocols: args.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })) });
  }

  async sync(
    group: string,
    request: { memberId: string; groupInstanceId: string | null; generationId: number; protocolType: string | null; protocolName: string | null; assignments: ReadonlyArray<{ memberId: string; assignment: Buffer }> },
    origin: RequestOrigin,
  ): Promise<SyncAnswer | { error: RequestRefusal }> {
    const problem = this.#checkGroup(group, origin);
    if (problem !== null) return { error: problem };
    if (request.assignments.length > this.#options.membersMax) return { error: 'INVALID_REQUEST' };
    const assignments = new Map<string, Buffer>();
    for (const a of request.assignments) {
      if (a.assignment.length > this.#options.config.assignmentMaxBytes) return { error: 'INVALID_REQUEST' };
      assignments.set(a.memberId, Buffer.from(a.assignment));
    }
    const loaded = await this.#group(group);
    if ('error' in loaded) return loaded;
    this.#releaseIfIdle(loaded);
    return loaded.sync(request.memberId, request.groupInstanceId, request.generationId, request.protocolType, request.protocolName, assignments);
  }

  async heartbeat(group: string, memberId: string, groupInstanceId: string | null, generationId: number, origin: RequestOrigin): Promise<RequestRefusal> {
    const problem = this.#checkGroup(group, origin);
    if (problem !== null) return problem;
    const loaded = await this.#group(group);
    if ('error' in loaded) return loaded.error;
    const answer = loaded.heartbeat(memberId, groupInstanceId, generationId);
    this.#releaseIfIdle(loaded);
    return answer;
  }

  /** Each leaving member's outcome, in order; a group-level refusal for all. */
  async leave(group: string, members: ReadonlyArray<{ memberId: string; groupInstanceId: string | null }>, origin: RequestOrigin): Promise<{ error: RequestRefusal; members: Array<{ memberId: string; groupInstanceId: string | null; error: ClassicError }> }> {
    const problem = this.#checkGroup(group, origin);
    if (problem !== null) return { error: problem, members: [] };
    if (members.length > this.#options.membersMax) return { error: 'INVALID_REQUEST', members: [] };
    const loaded = await this.#group(group);
    if ('error' in loaded) return { error: loaded.error, members: [] };
    const out = members.map((m) => ({ ...m, error: loaded.leave(m.memberId, m.groupInstanceId).error }));
    this.#releaseIfIdle(loaded);
    return { error: 'NONE', members: out };
  }

  /**
   * An offset commit from Kafka. A member of a classic group (generation >= 0) is fenced here and
   * by the coordinator; generation -1 without a member id is a standalone commit (refused while the
   * group has members of either protocol); a member id unknown here with an epoch is a KIP-848
   * member's commit (its epoch fences it). Every partition must exist (GroupsCore.commit).
   */
  async commit(group: string, memberId: string, groupInstanceId: string | null, generationIdOrMemberEpoch: number, offsets: OffsetCommit[], origin: RequestOrigin, signal: AbortSignal): Promise<RequestRefusal> {
    const problem = this.#checkGroup(group, origin);
    if (problem !== null) return problem;
    const loaded = await this.#group(group);
    if ('error' in loaded) return loaded.error;
    let member: { memberId: string; generationId: number } | { memberId: string; memberEpoch: number } | null = null;
    if (loaded.hasMember(memberId) || (groupInstanceId !== null && loaded.phase !== 'Empty')) {
      const refusal = loaded.commitCheck(memberId, groupInstanceId, generationIdOrMemberEpoch);
      if (refusal !== 'NONE') return refusal;
      member = { memberId, generationId: generationIdOrMemberEpoch };
    } else if (loaded.phase !== 'Empty') {
      // Kafka: a commit naming no member of a group that has members.
      return 'UNKNOWN_MEMBER_ID';
    } else if (memberId !== '' && generationIdOrMemberEpoch >= 0) {
      member = { memberId, memberEpoch: generationIdOrMemberEpoch };
    }
    this.#releaseIfIdle(loaded);
    await this.#groupsCore.commit(group, member, offsets, origin, signal);
    return 'NONE';
  }

  /** null when this broker may serve the group; else why not (INVALID_GROUP_ID, NOT_COORDINATOR). */
  check(group: string): RequestRefusal | null {
    return this.#checkGroup(group);
  }

  /**
   * One takeover pass (listener.ts runs it every STRATA_KAFKA_GROUP_TAKEOVER_INTERVAL_MS). Loads the
   * stored classic groups with members that this broker coordinates but does not hold: their broker
   * died, or this one restarted, and their clients may never come back. Loading starts each member's
   * session, as Kafka's coordinator does for the groups it loads, so members that stay away expire
   * and the group ends Empty (its offsets kept). Forgets the held groups this broker no longer
   * coordinates, so that two brokers never run one group's sessions. Answers how many it loaded.
   */
  async takeOver(signal: AbortSignal): Promise<number> {
    for (const [group, held] of [...this.#groups]) if (!this.#options.isCoordinator(group)) held.close('NOT_COORDINATOR');
    const listed = await this.#ctx.coordinator.listGroups({ signal });
    let loaded = 0;
    for (const { group, type, members } of listed) {
      if (type !== 'classic' || members === 0 || this.#groups.has(group) || !this.#options.isCoordinator(group)) continue;
      if (!('error' in (await this.#group(group)))) loaded++;
    }
    return loaded;
  }

  /** The phase of a group this broker holds in memory (fresher than the stored generation), or null. */
  phase(group: string): GroupPhase | null {
    return this.#groups.get(group)?.phase ?? null;
  }

  /** Stops every group (the listener closes): waiting members are answered NOT_COORDINATOR. */
  close(): void {
    for (const g of [...this.#groups.values()]) g.close('NOT_COORDINATOR');
    this.#groups.clear();
  }

  /** A group with nothing in memory (a KIP-848 or unknown group looked up for a commit) does not stay. */
  #releaseIfIdle(group: ClassicGroup): void {
    if (group.idle) group.close('NOT_COORDINATOR');
  }

  /** `origin`: the request's, whose principal needs read on the group (Kafka's rule for every classic group API). */
  #checkGroup(group: string, origin?: RequestOrigin): RequestRefusal | null {
    if (origin !== undefined) {
      const resource = { type: 'group', name: group } as const;
      if (!this.#ctx.authorizer.allows(origin, 'read', resource)) {
        this.#ctx.authorizer.denied(origin, 'read', resource);
        return 'GROUP_AUTHORIZATION_FAILED';
      }
    }
    if (groupIdProblem(group) !== null) return 'INVALID_GROUP_ID';
    if (!this.#options.isCoordinator(group)) {
      // The group moved to another broker: forget it here (a later takeover loads it again).
      this.#groups.get(group)?.close('NOT_COORDINATOR');
      return 'NOT_COORDINATOR';
    }
    return null;
  }

  /** The group in memory, loaded from the coordinator when this broker first serves it. */
  async #group(group: string): Promise<ClassicGroup | { error: RequestRefusal }> {
    const held = this.#groups.get(group);
    if (held !== undefined) return held;
    let loading = this.#loading.get(group);
    if (loading === undefined) {
      if (this.#groups.size + this.#loading.size >= this.#options.groupsMax) return { error: 'GROUP_MAX_SIZE_REACHED' };
      loading = this.#load(group).finally(() => this.#loading.delete(group));
      this.#loading.set(group, loading);
    }
    try {
      return await loading;
    } catch (e) {
      this.#ctx.logger.warn('classic group: cannot load from the coordinator', { group, err: e });
      return { error: 'COORDINATOR_NOT_AVAILABLE' };
    }
  }

  async #load(group: string): Promise<ClassicGroup> {
    const stored = await this.#ctx.coordinator.loadClassicGroup(group, { signal: AbortSignal.timeout(COORDINATOR_CALL_MS) });
    const existing = this.#groups.get(group);
    if (existing !== undefined) return existing;
    const instance: ClassicGroup = new ClassicGroup(group, { store: (state) => this.#store(group, state) }, {
      initialRebalanceDelayMs: this.#options.config.initialRebalanceDelayMs,
      membersMax: this.#options.membersMax,
      onUnload: () => {
        if (this.#groups.get(group) === instance) this.#groups.delete(group);
      },
      onEvent: ({ kind, ...fields }) => this.#ctx.logger.info(`classic group: ${kind}`, { group, ...fields }),
    }, stored);
    this.#groups.set(group, instance);
    return instance;
  }

  async #store(group: string, state: ClassicGroupState): Promise<ClassicError> {
    try {
      await this.#ctx.coordinator.storeClassicGroup(group, state, { signal: AbortSignal.timeout(COORDINATOR_CALL_MS) });
      return 'NONE';
    } catch (e) {
      if (isStrataError(e) && e.code === 'INCONSISTENT_GROUP_PROTOCOL') return 'INCONSISTENT_GROUP_PROTOCOL';
      // Another broker stored a newer generation: it coordinates the group now.
      if (isStrataError(e) && e.code === 'ILLEGAL_GENERATION') return 'NOT_COORDINATOR';
      if (isStrataError(e) && e.code === 'GROUP_LIMIT_REACHED') return 'GROUP_MAX_SIZE_REACHED';
      this.#ctx.logger.warn('classic group: cannot store a generation', { group, generation: state.generation, err: e });
      return 'COORDINATOR_NOT_AVAILABLE';
    }
  }
}
