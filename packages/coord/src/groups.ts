// The consumer group protocol (KIP-848, server side) as pure functions over one group's state.
// The in-process engine runs these; lua/_group.lua is the same algorithm, line for line in
// structure, for the Redis engine (the conformance suite holds both to the same properties).
//
// The state of a group:
//   groupEpoch       bumps on a change of membership, of a subscription, or of a subscribed
//                    topic's partition count; the target assignment is recomputed at once, so
//   assignmentEpoch  always equals groupEpoch after a call (kept apart for a later, deferred assignor)
//   topics           partition counts of the subscribed topics as last seen (0: unknown)
//   members          per member: epochs, subscription, timeouts, last heartbeat, and three sets of
//                    partitions: `target` (its share of the target assignment), `assigned` (what
//                    it may own now: its current assignment) and `revoking` (what it was told to
//                    give up and has not released yet).
//
// Invariant (asserted on every call): no partition is in two members' assigned ∪ revoking. A
// partition of a member's target joins its `assigned` only when no other member holds it there.

import { assert } from './assert.js';
import { dict, dictFrom, own, setOwn } from './dict.js';
import type { GroupDescription, GroupHeartbeatRequest, GroupHeartbeatResponse, GroupState, TopicPartitions } from './coordinator.js';
import { COORDINATOR_DEFAULTS } from './defaults.js';
import type { FailureKind } from './errors.js';
import { LIMITS } from './validate.js';

/** topic -> sorted, distinct, non-empty partition list. */
export type PartitionMap = Record<string, number[]>;

export interface MemberDoc {
  clientId: string;
  memberEpoch: number;
  previousMemberEpoch: number;
  /** Sorted, distinct. */
  subscribedTopics: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  lastHeartbeatAtMs: number;
  /** When `revoking` must be empty by (0: nothing to revoke): past it, the member is removed. */
  revokeDeadlineMs: number;
  assigned: PartitionMap;
  revoking: PartitionMap;
  target: PartitionMap;
}

export interface GroupCore {
  groupEpoch: number;
  assignmentEpoch: number;
  topics: Record<string, number>;
  members: Record<string, MemberDoc>;
}

export function emptyGroupCore(): GroupCore {
  return { groupEpoch: 0, assignmentEpoch: 0, topics: dict(), members: dict() };
}

/** A refusal, with the details coordError() formats. */
export interface GroupRefusal {
  kind: FailureKind;
  details: Record<string, unknown>;
}

// ---- partition sets ------------------------------------------------------------------------------

const SEP = '/';

function keyOf(topic: string, partition: number): string {
  return `${topic}${SEP}${partition}`;
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(SEP);
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

export function mapKeys(map: PartitionMap): string[] {
  const out: string[] = [];
  for (const topic of Object.keys(map).sort(compare)) for (const p of map[topic]!) out.push(keyOf(topic, p));
  return out;
}

export function mapFromKeys(keys: Iterable<string>): PartitionMap {
  const out = new Map<string, number[]>();
  for (const key of keys) {
    const [topic, p] = splitKey(key);
    const list = out.get(topic);
    if (list === undefined) out.set(topic, [p]);
    else list.push(p);
  }
  const sorted: PartitionMap = dict();
  for (const topic of [...out.keys()].sort(compare)) sorted[topic] = out.get(topic)!.sort((a, b) => a - b);
  return sorted;
}

export function mapSize(map: PartitionMap): number {
  let n = 0;
  for (const list of Object.values(map)) n += list.length;
  return n;
}

export function toTopicPartitions(map: PartitionMap): TopicPartitions[] {
  return Object.keys(map)
    .sort(compare)
    .map((topic) => ({ topic, partitions: [...map[topic]!] }));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- the assignor ----------------------------------------------------------------------------------

export interface AssignorMember {
  memberId: string;
  subscribedTopics: readonly string[];
  /** The previous target: kept where still valid (stickiness). */
  target: PartitionMap;
}

/**
 * A uniform, sticky assignor for any mix of subscriptions, deterministic:
 * 1. every member keeps the partitions of its previous target that are still valid (topic still
 *    subscribed by it and still that large);
 * 2. each partition nobody holds goes to the least loaded member subscribed to its topic (ties:
 *    member id), in topic then partition order;
 * 3. while some member holds 2+ more partitions than another member that could take one of them,
 *    the most loaded gives one (its last) to the least loaded. Each move lowers the sum of squared
 *    counts, so this ends; at the end, members with the same subscription differ by at most 1.
 * A membership change thus moves only what balance needs: a joining member takes one partition
 * from each of the most loaded until balanced, a leaving member's partitions go to the least loaded.
 */
export function assignPartitions(members: readonly AssignorMember[], topics: Readonly<Record<string, number>>): Map<string, PartitionMap> {
  const ids = members.map((m) => m.memberId).sort(compare);
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const subs = new Map(members.map((m) => [m.memberId, new Set(m.subscribedTopics)]));
  const held = new Map<string, string[]>(ids.map((id) => [id, []]));
  const taken = new Set<string>();
  // 1. sticky
  for (const id of ids) {
    const m = byId.get(id)!;
    for (const key of mapKeys(m.target)) {
      const [topic, p] = splitKey(key);
      if (!subs.get(id)!.has(topic) || p >= (own(topics, topic) ?? 0) || taken.has(key)) continue;
      taken.add(key);
      held.get(id)!.push(key);
    }
  }
  // 2. the rest to the least loaded
  const topicNames = Object.keys(topics).sort(compare);
  let total = 0;
  for (const topic of topicNames) {
    const eligible = ids.filter((id) => subs.get(id)!.has(topic));
    const count = topics[topic]!;
    if (eligible.length === 0) continue;
    total += count;
    for (let p = 0; p < count; p++) {
      const key = keyOf(topic, p);
      if (taken.has(key)) continue;
      let best = eligible[0]!;
      for (const id of eligible) if (held.get(id)!.length < held.get(best)!.length) best = id;
      taken.add(key);
      held.get(best)!.push(key);
    }
  }
  // 3. balance
  const movesMax = total * Math.max(1, ids.length) + 1;
  for (let moves = 0; ; moves++) {
    assert(moves <= movesMax, 'the assignor does not converge');
    const order = [...ids].sort((a, b) => held.get(a)!.length - held.get(b)!.length || compare(a, b));
    let moved = false;
    for (let i = order.length - 1; i >= 0 && !moved; i--) {
      const donor = held.get(order[i]!)!;
      for (let j = 0; j < i && !moved; j++) {
        const receiver = order[j]!;
        if (donor.length <= held.get(receiver)!.length + 1) break;
        const can = subs.get(receiver)!;
        let pick = -1;
        for (let k = 0; k < donor.length; k++) {
          if (can.has(splitKey(donor[k]!)[0]) && (pick < 0 || comparePartitionKeys(donor[k]!, donor[pick]!) > 0)) pick = k;
        }
        if (pick < 0) continue;
        held.get(receiver)!.push(donor[pick]!);
        donor.splice(pick, 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return new Map(ids.map((id) => [id, mapFromKeys(held.get(id)!)]));
}

function comparePartitionKeys(a: string, b: string): number {
  const [ta, pa] = splitKey(a);
  const [tb, pb] = splitKey(b);
  return compare(ta, tb) || pa - pb;
}

// ---- the protocol ------------------------------------------------------------------------------------

/** Removes members whose session, or rebalance timeout while revoking, has passed; returns their ids. */
export function sweepGroup(g: GroupCore, nowMs: number): string[] {
  const expired = Object.keys(g.members)
    .sort(compare)
    .filter((id) => {
      const m = own(g.members, id)!;
      return m.lastHeartbeatAtMs + m.sessionTimeoutMs <= nowMs || (m.revokeDeadlineMs > 0 && m.revokeDeadlineMs <= nowMs);
    });
  for (const id of expired) delete g.members[id];
  if (expired.length > 0) rebalance(g, {}, null);
  return expired;
}

/** The union of subscriptions, with counts: `given` wins, then 0 for `own` topics, then what was known. */
function nextTopics(g: GroupCore, given: Readonly<Record<string, number>>, ownTopics: readonly string[] | null): Record<string, number> {
  const union = new Set<string>();
  for (const m of Object.values(g.members)) for (const t of m.subscribedTopics) union.add(t);
  const out = dict<number>();
  for (const topic of [...union].sort(compare)) {
    const count = own(given, topic) ?? (ownTopics?.includes(topic) ? 0 : (own(g.topics, topic) ?? 0));
    out[topic] = count;
  }
  return out;
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a).sort(compare);
  const kb = Object.keys(b).sort(compare);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && own(a, k) === own(b, k));
}

/**
 * Brings `topics` up to date and, if that or `force` says the group changed, bumps the group epoch
 * and recomputes the target. Returns a refusal when the group would assign too many partitions.
 */
function rebalance(g: GroupCore, given: Readonly<Record<string, number>>, ownTopics: readonly string[] | null, force = true): GroupRefusal | null {
  const topics = nextTopics(g, given, ownTopics);
  const changed = force || !sameCounts(topics, g.topics);
  if (!changed) return null;
  let total = 0;
  for (const count of Object.values(topics)) total += count;
  if (total > LIMITS.groupPartitionsMax) return { kind: 'GROUP_PARTITIONS_EXCEEDED', details: { partitions: total, max: LIMITS.groupPartitionsMax } };
  g.topics = topics;
  g.groupEpoch += 1;
  assert(g.groupEpoch <= LIMITS.epochMax, 'group epoch passed the int32 limit');
  const ids = Object.keys(g.members).sort(compare);
  const target = assignPartitions(
    ids.map((id) => ({ memberId: id, subscribedTopics: own(g.members, id)!.subscribedTopics, target: own(g.members, id)!.target })),
    topics,
  );
  for (const id of ids) own(g.members, id)!.target = target.get(id)!;
  g.assignmentEpoch = g.groupEpoch;
  return null;
}

/** Who holds each partition (assigned or revoking); asserts that nobody else does. */
function owners(g: GroupCore): Map<string, string> {
  const out = new Map<string, string>();
  for (const id of Object.keys(g.members).sort(compare)) {
    const m = own(g.members, id)!;
    for (const key of [...mapKeys(m.assigned), ...mapKeys(m.revoking)]) {
      assert(!out.has(key), `partition ${key} is held by both ${out.get(key)} and ${id}`);
      out.set(key, id);
    }
  }
  return out;
}

/**
 * Moves one member toward its target: what it must give up goes to `revoking` first (the member
 * is told its smaller assignment); only with nothing left to revoke does it take the partitions of
 * its target that nobody else holds, and reach the assignment epoch.
 */
function reconcile(g: GroupCore, memberId: string, nowMs: number, held: Map<string, string>): void {
  const m = own(g.members, memberId)!;
  const target = new Set(mapKeys(m.target));
  const assigned = mapKeys(m.assigned);
  const revoking = new Set(mapKeys(m.revoking));
  const keep = assigned.filter((k) => target.has(k));
  for (const k of assigned) if (!target.has(k)) revoking.add(k);
  m.revoking = mapFromKeys(revoking);
  if (revoking.size > 0) {
    m.assigned = mapFromKeys(keep);
    if (m.revokeDeadlineMs === 0) m.revokeDeadlineMs = nowMs + m.rebalanceTimeoutMs;
    return;
  }
  m.revokeDeadlineMs = 0;
  const next = new Set(keep);
  for (const k of mapKeys(m.target)) {
    if (next.has(k) || held.has(k)) continue;
    next.add(k);
    held.set(k, memberId);
  }
  m.assigned = mapFromKeys(next);
  if (m.memberEpoch !== g.assignmentEpoch) {
    m.previousMemberEpoch = m.memberEpoch;
    m.memberEpoch = g.assignmentEpoch;
  }
}

/**
 * When the member heartbeats next: a third of its session at most; short while a reconciliation
 * is pending (partitions wait for a member to hear of a revocation or of its new share) and after
 * a join (members started together join moments apart: the first hears of the next ones quickly).
 */
export function heartbeatIntervalMs(sessionTimeoutMs: number, reconciling = false): number {
  const steady = Math.min(COORDINATOR_DEFAULTS.groupHeartbeatIntervalMs, Math.floor(sessionTimeoutMs / 3));
  return Math.max(1, reconciling ? Math.min(steady, COORDINATOR_DEFAULTS.groupReconcilingHeartbeatIntervalMs) : steady);
}

function subset(owned: readonly TopicPartitions[], map: PartitionMap): boolean {
  const have = new Set(mapKeys(map));
  return owned.every((tp) => tp.partitions.every((p) => have.has(keyOf(tp.topic, p))));
}

/**
 * One heartbeat (or join) of a validated request, after the sweep. Mutates `g`; on a refusal,
 * `g` holds only what the sweep changed.
 */
export function groupHeartbeat(
  g: GroupCore,
  r: GroupHeartbeatRequest,
  nowMs: number,
  membersMax: number = LIMITS.groupMembersMax,
): { refusal: GroupRefusal } | { response: GroupHeartbeatResponse } {
  sweepGroup(g, nowMs);
  const id = r.memberId;
  const existing = own(g.members, id);
  const subs = r.subscribedTopics === undefined ? null : [...new Set(r.subscribedTopics)].sort(compare);
  let force = false;
  const draft = structuredClone(g);
  let m: MemberDoc;
  if (r.memberEpoch === 0) {
    const count = Object.keys(g.members).length;
    if (existing === undefined && count >= membersMax) return { refusal: { kind: 'GROUP_FULL', details: { members: count } } };
    // A join, or a rejoin: the member owns nothing now; its old target stays as the sticky basis.
    m = {
      clientId: r.clientId ?? existing?.clientId ?? '',
      memberEpoch: 0,
      previousMemberEpoch: existing?.memberEpoch ?? 0,
      subscribedTopics: subs!,
      sessionTimeoutMs: r.sessionTimeoutMs ?? COORDINATOR_DEFAULTS.groupSessionTimeoutMs,
      rebalanceTimeoutMs: r.rebalanceTimeoutMs ?? COORDINATOR_DEFAULTS.groupRebalanceTimeoutMs,
      lastHeartbeatAtMs: nowMs,
      revokeDeadlineMs: 0,
      assigned: dict(),
      revoking: dict(),
      target: existing?.target ?? dict(),
    };
    force = true;
  } else {
    if (existing === undefined) return { refusal: { kind: 'UNKNOWN_MEMBER', details: { memberId: id } } };
    if (r.memberEpoch !== existing.memberEpoch) {
      // KIP-848: the previous epoch passes when the member owns no more than its current assignment
      // (it did not get the answer that moved it on).
      const owned = r.ownedPartitions;
      const previousOk = r.memberEpoch === existing.previousMemberEpoch && owned !== undefined && owned !== null && subset(owned, existing.assigned);
      if (!previousOk) return { refusal: { kind: 'FENCED_MEMBER', details: { memberId: id, memberEpoch: r.memberEpoch, currentEpoch: existing.memberEpoch } } };
    }
    m = structuredClone(existing);
    m.lastHeartbeatAtMs = nowMs;
    // Omitted means unchanged (KIP-848): the default is for a join only.
    if (r.sessionTimeoutMs !== undefined) m.sessionTimeoutMs = r.sessionTimeoutMs;
    if (r.rebalanceTimeoutMs !== undefined) m.rebalanceTimeoutMs = r.rebalanceTimeoutMs;
    if (r.clientId !== undefined) m.clientId = r.clientId;
    if (subs !== null && (subs.length !== m.subscribedTopics.length || subs.some((t, i) => t !== m.subscribedTopics[i]))) {
      m.subscribedTopics = subs;
      force = true;
    }
    // A partition the member was told to give up is released once a heartbeat leaves it out.
    if (r.ownedPartitions !== undefined && r.ownedPartitions !== null) {
      const owned = new Set<string>();
      for (const tp of r.ownedPartitions) for (const p of tp.partitions) owned.add(keyOf(tp.topic, p));
      m.revoking = mapFromKeys(mapKeys(m.revoking).filter((k) => owned.has(k)));
    }
  }
  setOwn(draft.members, id, m);
  const refusal = rebalance(draft, r.topicPartitions, m.subscribedTopics, force);
  if (refusal !== null) return { refusal };
  reconcile(draft, id, nowMs, owners(draft));
  owners(draft); // the invariant, once more after the change
  Object.assign(g, draft);
  const after = own(g.members, id)!;
  return {
    response: {
      memberId: id,
      memberEpoch: after.memberEpoch,
      groupEpoch: g.groupEpoch,
      assignment: toTopicPartitions(after.assigned),
      heartbeatIntervalMs: heartbeatIntervalMs(after.sessionTimeoutMs, r.memberEpoch === 0 || groupState(g) === 'reconciling'),
    },
  };
}

/** After the sweep: false when the member is not there. */
export function leaveGroup(g: GroupCore, memberId: string, nowMs: number): boolean {
  sweepGroup(g, nowMs);
  if (own(g.members, memberId) === undefined) return false;
  delete g.members[memberId];
  rebalance(g, {}, null);
  return true;
}

export function groupState(g: GroupCore): GroupState {
  const members = Object.values(g.members);
  if (members.length === 0) return 'empty';
  const stable = members.every(
    (m) => m.memberEpoch === g.assignmentEpoch && mapSize(m.revoking) === 0 && mapKeys(m.assigned).join(',') === mapKeys(m.target).join(','),
  );
  return stable ? 'stable' : 'reconciling';
}

export function describeCore(group: string, g: GroupCore): GroupDescription {
  return {
    group,
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    state: groupState(g),
    topicPartitions: dictFrom(g.topics),
    members: Object.keys(g.members)
      .sort(compare)
      .map((memberId) => {
        const m = own(g.members, memberId)!;
        return {
          memberId,
          clientId: m.clientId,
          memberEpoch: m.memberEpoch,
          subscribedTopics: [...m.subscribedTopics],
          assignment: toTopicPartitions(m.assigned),
          pendingRevocation: toTopicPartitions(m.revoking),
          target: toTopicPartitions(m.target),
          lastHeartbeatAtMs: m.lastHeartbeatAtMs,
          sessionTimeoutMs: m.sessionTimeoutMs,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        };
      }),
  };
}
