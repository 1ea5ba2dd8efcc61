// One classic consumer group (Kafka's JoinGroup/SyncGroup generation protocol) as its coordinating
// broker runs it, in memory: the join round's waits, the sync, the members' sessions. Each
// generation (members, protocol, leader) and each assignment is stored in the coordinator before
// anyone is answered (ClassicGroupStore), so a broker that takes the group over starts from it.
//
// States (Kafka's): Empty -> PreparingRebalance (a join round: members (re)join until every known
// member has, or the rebalance timeout) -> CompletingRebalance (the new generation is stored and
// the members answered; the leader's SyncGroup brings the assignment) -> Stable. A member that
// joins, leaves, changes its protocols, or whose session expires starts a new round.
//
// A member waiting in a join or a sync is alive (Kafka's shouldKeepAlive): its session restarts when
// it is answered. The round's rebalance timeout bounds a join's wait; the leader's session bounds a
// sync's. (Expiring a waiting member once made a coordinator failover complete a generation without
// a member that was waiting in its join, and rebalance again when it came back: issue #13.)

import type { ClassicGroupState, ClassicMember } from '@strata/coord';
import { EMPTY, metadataFor, newMemberId, restoredMember, sameProtocols, unrefTimer } from './classic-member.js';

import type { ClassicError, GroupPhase, ProtocolOffer, JoinArgs, JoinAnswer, SyncAnswer, ClassicGroupStore, ClassicGroupOptions, Member, RemovalReason } from './classic-group-types.js';

export type { ClassicError, GroupPhase, ProtocolOffer, JoinArgs, JoinAnswer, SyncAnswer, ClassicGroupStore, ClassicGroupOptions, ClassicGroupEvent } from './classic-group-types.js';

export class ClassicGroup {
  readonly id: string;
  #phase: GroupPhase = 'Empty';
  #generation = 0;
  #protocolType = '';
  #protocol = '';
  #leader = '';
  readonly #members = new Map<string, Member>();
  /** Ids handed out with MEMBER_ID_REQUIRED, each expiring after its session timeout. */
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #store: ClassicGroupStore;
  readonly #options: ClassicGroupOptions;
  #roundTimer: NodeJS.Timeout | null = null;
  /** While the first round of an empty group waits (group.initial.rebalance.delay.ms): when it may end at the latest. */
  #initialDeadlineMs = 0;
  #closed = false;

  constructor(id: string, store: ClassicGroupStore, options: ClassicGroupOptions, stored: ClassicGroupState | null) {
    this.id = id;
    this.#store = store;
    this.#options = options;
    if (stored !== null) this.#restore(stored);
  }

  get phase(): GroupPhase {
    return this.#phase;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Nothing to keep in memory: no member, no id handed out, no round running. */
  get idle(): boolean {
    return this.#members.size === 0 && this.#pending.size === 0 && this.#phase === 'Empty';
  }

  hasMember(memberId: string): boolean {
    return this.#members.has(memberId);
  }

  join(args: JoinArgs): Promise<JoinAnswer> {
    const refuse = (error: ClassicError, memberId = args.memberId): Promise<JoinAnswer> =>
      Promise.resolve({ error, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] });
    if (this.#members.size > 0 && (args.protocolType !== this.#protocolType || !this.#supportsCurrent(args.protocols))) return refuse('INCONSISTENT_GROUP_PROTOCOL');
    if (args.memberId === '') {
      if (args.groupInstanceId !== null) {
        const known = this.#byInstance(args.groupInstanceId);
        if (known !== undefined) return this.#replaceStatic(known, args);
      }
      if (this.#members.size + this.#pending.size >= this.#options.membersMax) return refuse('GROUP_MAX_SIZE_REACHED');
      const memberId = newMemberId(args.clientId);
      if (args.requireKnownMemberId && args.groupInstanceId === null) {
        this.#pending.set(memberId, unrefTimer(() => this.#pending.delete(memberId) && this.#unloadIfIdle(), args.sessionTimeoutMs));
        return refuse('MEMBER_ID_REQUIRED', memberId);
      }
      return this.#addAndJoin(memberId, args);
    }
    const pending = this.#pending.get(args.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.#pending.delete(args.memberId);
      return this.#addAndJoin(args.memberId, args);
    }
    const member = this.#members.get(args.memberId);
    if (member === undefined) return refuse('UNKNOWN_MEMBER_ID');
    if (args.groupInstanceId !== member.groupInstanceId) return refuse('FENCED_INSTANCE_ID');
    const changed = !sameProtocols(member.protocols, args.protocols);
    this.#update(member, args);
    this.#touch(member);
    if (this.#phase === 'PreparingRebalance') return this.#waitForRound(member);
    if (this.#phase === 'CompletingRebalance' && !changed) return Promise.resolve(this.#joinAnswer(member));
    if (this.#phase === 'Stable' && !changed && member.memberId !== this.#leader) return Promise.resolve(this.#joinAnswer(member));
    this.#prepareRebalance();
    return this.#waitForRound(member);
  }

  sync(memberId: string, groupInstanceId: string | null, generationId: number, protocolType: string | null, protocolName: string | null, assignments: ReadonlyMap<string, Buffer>): Promise<SyncAnswer> {
    const answer = (error: ClassicError, assignment = EMPTY): SyncAnswer => ({ error, protocolType: this.#protocolType || null, protocolName: this.#protocol || null, assignment });
    const member = this.#members.get(memberId);
    if (member === undefined) return Promise.resolve(answer(this.#unknown(groupInstanceId)));
    if (groupInstanceId !== member.groupInstanceId) return Promise.resolve(answer('FENCED_INSTANCE_ID'));
    if (generationId !== this.#generation) return Promise.resolve(answer('ILLEGAL_GENERATION'));
    if ((protocolType !== null && protocolType !== this.#protocolType) || (protocolName !== null && protocolName !== this.#protocol)) {
      return Promise.resolve(answer('INCONSISTENT_GROUP_PROTOCOL'));
    }
    this.#touch(member);
    if (this.#phase === 'PreparingRebalance') return Promise.resolve(answer('REBALANCE_IN_PROGRESS'));
    if (this.#phase === 'Stable') return Promise.resolve(answer('NONE', member.assignment));
    // CompletingRebalance: wait for the leader's assignment. A non-leader's assignments are ignored, as Kafka does.
    const waiting = new Promise<SyncAnswer>((resolve) => {
      member.sync?.(answer('REBALANCE_IN_PROGRESS'));
      member.sync = resolve;
    });
    if (memberId === this.#leader) void this.#completeSync(generationId, assignments);
    return waiting;
  }

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): ClassicError {
    const member = this.#members.get(memberId);
    if (member === undefined) return this.#unknown(groupInstanceId);
    if (groupInstanceId !== member.groupInstanceId) return 'FENCED_INSTANCE_ID';
    if (generationId !== this.#generation) return 'ILLEGAL_GENERATION';
    this.#touch(member);
    return this.#phase === 'PreparingRebalance' ? 'REBALANCE_IN_PROGRESS' : 'NONE';
  }

  /** A member leaves (by member id, or by instance id for a static member). Answers the member id it removed. */
  leave(memberId: string, groupInstanceId: string | null): { error: ClassicError; memberId: string } {
    const member = groupInstanceId !== null ? this.#byInstance(groupInstanceId) : this.#members.get(memberId);
    if (member === undefined) return { error: 'UNKNOWN_MEMBER_ID', memberId };
    if (groupInstanceId !== null && memberId !== '' && member.memberId !== memberId) return { error: 'FENCED_INSTANCE_ID', memberId };
    this.#remove(member, 'UNKNOWN_MEMBER_ID', 'left');
    return { error: 'NONE', memberId: member.memberId };
  }

  /** Whether an offset commit by this member at this generation may go on (the coordinator checks it again when it stores). */
  commitCheck(memberId: string, groupInstanceId: string | null, generationId: number): ClassicError {
    const member = this.#members.get(memberId);
    if (member === undefined) return this.#unknown(groupInstanceId);
    if (groupInstanceId !== null && groupInstanceId !== member.groupInstanceId) return 'FENCED_INSTANCE_ID';
    if (generationId !== this.#generation) return 'ILLEGAL_GENERATION';
    if (this.#phase === 'CompletingRebalance') return 'REBALANCE_IN_PROGRESS';
    this.#touch(member);
    return 'NONE';
  }

  /** Answers everyone waiting with `error` and stops every timer (the group leaves memory). */
  close(error: ClassicError = 'NOT_COORDINATOR'): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#roundTimer !== null) clearTimeout(this.#roundTimer);
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
    for (const m of this.#members.values()) {
      if (m.session !== null) clearTimeout(m.session);
      m.join?.(this.#errorJoin(m.memberId, error));
      m.sync?.({ error, protocolType: null, protocolName: null, assignment: EMPTY });
      m.join = null;
      m.sync = null;
    }
    this.#options.onUnload();
  }

  // ---- the join round ------------------------------------------------------------------------------

  #addAndJoin(memberId: string, args: JoinArgs): Promise<JoinAnswer> {
    const member: Member = {
      memberId,
      groupInstanceId: args.groupInstanceId,
      clientId: args.clientId,
      clientHost: args.clientHost,
      sessionTimeoutMs: args.sessionTimeoutMs,
      rebalanceTimeoutMs: args.rebalanceTimeoutMs,
      protocolType: args.protocolType,
      protocols: args.protocols,
      assignment: EMPTY,
      join: null,
      sync: null,
      session: null,
    };
    this.#members.set(memberId, member);
    if (this.#members.size === 1) this.#protocolType = args.protocolType;
    this.#touch(member);
    const wasEmpty = this.#phase === 'Empty';
    if (this.#phase !== 'PreparingRebalance') this.#prepareRebalance(wasEmpty);
    else if (this.#initialDeadlineMs > 0) this.#extendInitialDelay();
    return this.#waitForRound(member);
  }

  /** A static member rejoins with a new member id: the old id is fenced; its place and assignment carry over. */
  #replaceStatic(old: Member, args: JoinArgs): Promise<JoinAnswer> {
    const memberId = newMemberId(args.clientId);
    this.#members.delete(old.memberId);
    if (old.session !== null) clearTimeout(old.session);
    old.join?.(this.#errorJoin(old.memberId, 'FENCED_INSTANCE_ID'));
    old.sync?.({ error: 'FENCED_INSTANCE_ID', protocolType: null, protocolName: null, assignment: EMPTY });
    const member: Member = { ...old, memberId, join: null, sync: null, session: null };
    const changed = !sameProtocols(old.protocols, args.protocols);
    this.#update(member, args);
    this.#members.set(memberId, member);
    if (this.#leader === old.memberId) this.#leader = memberId;
    this.#touch(member);
    if (this.#phase === 'Stable' && !changed) {
      // Kafka's static rejoin: no rebalance; the generation's new member id is stored before it is used.
      return this.#store.store(this.#snapshot()).then((error) => (error === 'NONE' ? this.#joinAnswer(member) : this.#failStore(error, member)));
    }
    if (this.#phase !== 'PreparingRebalance') this.#prepareRebalance();
    return this.#waitForRound(member);
  }

  #update(member: Member, args: JoinArgs): void {
    member.clientId = args.clientId;
    member.clientHost = args.clientHost;
    member.sessionTimeoutMs = args.sessionTimeoutMs;
    member.rebalanceTimeoutMs = args.rebalanceTimeoutMs;
    member.protocols = args.protocols;
  }

  #waitForRound(member: Member): Promise<JoinAnswer> {
    const waiting = new Promise<JoinAnswer>((resolve) => {
      // A second join from the same member replaces the first (its connection gave up on it).
      member.join?.(this.#errorJoin(member.memberId, 'REBALANCE_IN_PROGRESS'));
      member.join = resolve;
    });
    this.#maybeCompleteRound();
    return waiting;
  }

  #prepareRebalance(initial = false): void {
    if (this.#roundTimer !== null) clearTimeout(this.#roundTimer);
    // Members waiting for an assignment will not get one from this generation.
    for (const m of this.#members.values()) {
      if (m.sync === null) continue;
      m.sync({ error: 'REBALANCE_IN_PROGRESS', protocolType: null, protocolName: null, assignment: EMPTY });
      m.sync = null;
      this.#touch(m);
    }
    this.#phase = 'PreparingRebalance';
    const timeoutMs = this.#rebalanceTimeoutMs();
    if (initial && this.#options.initialRebalanceDelayMs > 0) {
      this.#initialDeadlineMs = Date.now() + timeoutMs;
      this.#roundTimer = unrefTimer(() => this.#initialDelayOver(), Math.min(this.#options.initialRebalanceDelayMs, timeoutMs));
      return;
    }
    this.#initialDeadlineMs = 0;
    this.#roundTimer = unrefTimer(() => this.#roundTimedOut(), timeoutMs);
  }

  /** A member joining during the initial delay delays the round by as much again, up to the rebalance timeout. */
  #extendInitialDelay(): void {
    if (this.#roundTimer !== null) clearTimeout(this.#roundTimer);
    const leftMs = Math.max(0, this.#initialDeadlineMs - Date.now());
    this.#roundTimer = unrefTimer(() => this.#initialDelayOver(), Math.min(this.#options.initialRebalanceDelayMs, leftMs));
  }

  #initialDelayOver(): void {
    this.#initialDeadlineMs = 0;
    this.#roundTimer = unrefTimer(() => this.#roundTimedOut(), this.#rebalanceTimeoutMs());
    this.#maybeCompleteRound();
  }

  /** Members that did not rejoin within the rebalance timeout are out; the round ends with the others. */
  #roundTimedOut(): void {
    for (const m of [...this.#members.values()]) if (m.join === null) this.#drop(m, 'UNKNOWN_MEMBER_ID', 'not rejoined within the rebalance timeout');
    void this.#completeRound();
  }

  #maybeCompleteRound(): void {
    if (this.#phase !== 'PreparingRebalance' || this.#initialDeadlineMs > 0) return;
    for (const m of this.#members.values()) if (m.join === null) return;
    void this.#completeRound();
  }

  async #completeRound(): Promise<void> {
    if (this.#phase !== 'PreparingRebalance' || this.#closed) return;
    if (this.#roundTimer !== null) clearTimeout(this.#roundTimer);
    this.#roundTimer = null;
    this.#generation++;
    if (this.#members.size === 0) {
      this.#phase = 'Empty';
      this.#protocol = '';
      this.#leader = '';
      const error = await this.#store.store(this.#snapshot());
      if (error !== 'NONE') this.close(error);
      else this.#unloadIfIdle();
      return;
    }
    this.#protocol = this.#selectProtocol();
    if (!this.#members.has(this.#leader)) this.#leader = this.#members.keys().next().value!;
    for (const m of this.#members.values()) m.assignment = EMPTY;
    this.#phase = 'CompletingRebalance';
    const generation = this.#generation;
    const error = await this.#store.store(this.#snapshot());
    // A member left or joined while the generation was being stored: a newer round answers them.
    if (this.#closed || generation !== this.#generation || this.#phase !== 'CompletingRebalance') return;
    if (error !== 'NONE') return this.close(error);
    this.#options.onEvent({ kind: 'generation', generation, leader: this.#leader, protocol: this.#protocol, members: [...this.#members.keys()] });
    for (const m of this.#members.values()) {
      const answer = this.#joinAnswer(m);
      m.join?.(answer);
      m.join = null;
      this.#touch(m);
    }
  }

  /** Kafka's choice: among the protocols every member supports, the one most members prefer (their first listed). */
  #selectProtocol(): string {
    const members = [...this.#members.values()];
    const common = members[0]!.protocols.map((p) => p.name).filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>(common.map((name) => [name, 0]));
    for (const m of members) {
      const preferred = m.protocols.find((p) => votes.has(p.name));
      if (preferred !== undefined) votes.set(preferred.name, votes.get(preferred.name)! + 1);
    }
    let best = common[0]!;
    for (const name of common) if (votes.get(name)! > votes.get(best)!) best = name;
    return best;
  }

  /** Whether the offered protocols leave a protocol every member (this one included) supports. */
  #supportsCurrent(offered: readonly ProtocolOffer[]): boolean {
    if (this.#phase !== 'PreparingRebalance' && this.#protocol !== '') return offered.some((p) => p.name === this.#protocol);
    const members = [...this.#members.values()];
    return offered.some((p) => members.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  // ---- sync ----------------------------------------------------------------------------------------

  async #completeSync(generation: number, assignments: ReadonlyMap<string, Buffer>): Promise<void> {
    for (const m of this.#members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY;
    const error = await this.#store.store(this.#snapshot('stable'));
    if (this.#closed || generation !== this.#generation || this.#phase !== 'CompletingRebalance') return;
    if (error !== 'NONE') return this.close(error);
    this.#phase = 'Stable';
    for (const m of this.#members.values()) {
      m.sync?.({ error: 'NONE', protocolType: this.#protocolType, protocolName: this.#protocol, assignment: m.assignment });
      m.sync = null;
      this.#touch(m);
    }
  }

  // ---- members -------------------------------------------------------------------------------------

  #touch(member: Member): void {
    if (member.session !== null) clearTimeout(member.session);
    member.session = unrefTimer(() => this.#expire(member), member.sessionTimeoutMs);
  }

  #expire(member: Member): void {
    if (this.#members.get(member.memberId) !== member) return;
    if (member.join !== null || member.sync !== null) return this.#touch(member);
    this.#remove(member, 'UNKNOWN_MEMBER_ID', 'session expired');
  }

  /** Removes a member and starts a round for the others (or ends the running one without it). */
  #remove(member: Member, error: ClassicError, reason: RemovalReason): void {
    this.#drop(member, error, reason);
    if (this.#phase === 'PreparingRebalance') this.#maybeCompleteRound();
    else if (this.#phase !== 'Empty') {
      this.#prepareRebalance();
      this.#maybeCompleteRound();
    }
  }

  #drop(member: Member, error: ClassicError, reason: RemovalReason): void {
    this.#members.delete(member.memberId);
    this.#options.onEvent({ kind: 'member removed', generation: this.#generation, memberId: member.memberId, reason });
    if (member.session !== null) clearTimeout(member.session);
    member.join?.(this.#errorJoin(member.memberId, error));
    member.sync?.({ error, protocolType: null, protocolName: null, assignment: EMPTY });
    member.join = null;
    member.sync = null;
  }

  /** A member id this group does not know: fenced when its static instance id belongs to a newer member id (Kafka's answer), else unknown. */
  #unknown(groupInstanceId: string | null): ClassicError {
    return groupInstanceId !== null && this.#byInstance(groupInstanceId) !== undefined ? 'FENCED_INSTANCE_ID' : 'UNKNOWN_MEMBER_ID';
  }

  #byInstance(groupInstanceId: string): Member | undefined {
    for (const m of this.#members.values()) if (m.groupInstanceId === groupInstanceId) return m;
    return undefined;
  }

  #rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.#members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return Math.max(max, 1);
  }

  #unloadIfIdle(): void {
    if (this.idle && !this.#closed) {
      this.#closed = true;
      this.#options.onUnload();
    }
  }

  #failStore(error: ClassicError, member: Member): JoinAnswer {
    const answer = this.#errorJoin(member.memberId, error);
    this.close(error);
    return answer;
  }

  // ---- answers and the stored form -----------------------------------------------------------------

  #joinAnswer(member: Member): JoinAnswer {
    const isLeader = member.memberId === this.#leader;
    return {
      error: 'NONE',
      generationId: this.#generation,
      protocolType: this.#protocolType,
      protocolName: this.#protocol,
      leader: this.#leader,
      memberId: member.memberId,
      members: isLeader
        ? [...this.#members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: metadataFor(m, this.#protocol) }))
        : [],
    };
  }

  #errorJoin(memberId: string, error: ClassicError): JoinAnswer {
    return { error, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
  }

  #snapshot(state?: 'stable'): ClassicGroupState {
    const members: ClassicMember[] = [...this.#members.values()]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
      .map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        metadata: metadataFor(m, this.#protocol).toString('base64'),
        assignment: m.assignment.toString('base64'),
      }));
    return {
      generation: this.#generation,
      protocolType: this.#protocolType,
      protocol: this.#protocol,
      leader: this.#leader,
      state: members.length === 0 ? 'empty' : (state ?? (this.#phase === 'Stable' ? 'stable' : 'reconciling')),
      members,
    };
  }

  /**
   * A group taken over from the coordinator: its members keep their ids and (if it was stable)
   * their assignments, each with a fresh session. A generation stored before its assignment came
   * in starts a new round: the leader's SyncGroup went to the broker that coordinated it before.
   */
  #restore(stored: ClassicGroupState): void {
    this.#generation = stored.generation;
    this.#protocolType = stored.protocolType;
    this.#protocol = stored.protocol;
    this.#leader = stored.leader;
    for (const s of stored.members) {
      const member = restoredMember(s, stored);
      this.#members.set(s.memberId, member);
      this.#touch(member);
    }
    if (this.#members.size === 0) this.#phase = 'Empty';
    else if (stored.state === 'stable') this.#phase = 'Stable';
    else this.#prepareRebalance();
    this.#options.onEvent({ kind: 'loaded', generation: this.#generation, phase: this.#phase, members: [...this.#members.keys()] });
  }
}
