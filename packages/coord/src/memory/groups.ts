// The in-process engine's groups and committed offsets: the member protocol (../groups.ts, shared
// with nothing else: the Redis engine runs it in Lua), the offsets, and the expiry of empty groups.
// Each change is one group document, rewritten before the call resolves (state.ts), except an
// offset commit that changes nothing else: its offsets are appended to the offsets log.

import type { StrataError } from '@strata/protocol';
import type {
  CallOptions,
  ClassicGroupMember,
  ClassicGroupState,
  CommittedOffset,
  GroupDescription,
  GroupExpiry,
  GroupExpiryRequest,
  GroupHeartbeatRequest,
  GroupHeartbeatResponse,
  GroupListing,
  GroupMember,
  OffsetCommit,
} from '../coordinator.js';
import { coordError } from '../errors.js';
import { describeCore, groupHeartbeat as heartbeatCore, leaveGroup as leaveCore, sweepGroup } from '../groups.js';
import { dict, dictFrom, own, setOwn } from '../dict.js';
import { compareNames, listGroupsBy, offsetField, parseOffsetField, sortOffsets, withClassic } from '../results.js';
import { metadataBytes } from '../validate-groups.js';
import type { GroupDoc, StoredOffset } from './documents.js';
import type { MemoryState } from './state.js';

export async function groupHeartbeat(s: MemoryState, group: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatResponse> {
  s.args.groupHeartbeat(group, request);
  const r = structuredClone(request);
  return s.serialize('groupHeartbeat', options, () =>
    s.changeGroup<GroupHeartbeatResponse>(group, (draft) => {
      const full = r.memberEpoch === 0 ? groupLimitRefusal(s, group) : null;
      if (full !== null) return { error: full };
      const classic = classicMembers(draft);
      if (r.memberEpoch === 0 && classic > 0 && !Object.prototype.hasOwnProperty.call(draft.members, r.memberId)) {
        const swept = sweepGroup(draft, s.now()).length > 0;
        return { next: swept ? draft : undefined, error: coordError('INCONSISTENT_PROTOCOL', { group, members: classic, protocol: 'classic' }) };
      }
      const before = JSON.stringify(draft);
      const result = heartbeatCore(draft, r, s.now(), s.groupLimits.groupMembersMax);
      const next = JSON.stringify(draft) === before ? undefined : draft;
      if ('refusal' in result) return { next, error: coordError(result.refusal.kind, { group, ...result.refusal.details }) };
      return { next, value: result.response };
    }),
  );
}

export async function leaveGroup(s: MemoryState, group: string, memberId: string, options?: CallOptions): Promise<boolean> {
  s.args.leaveGroup(group, memberId);
  return s.serialize('leaveGroup', options, () =>
    s.changeGroup(group, (draft) => {
      if (!s.groups.has(group)) return { value: false };
      const swept = sweepGroup(draft, s.now()).length > 0;
      const left = leaveCore(draft, memberId, s.now());
      return { next: swept || left ? draft : undefined, value: left };
    }),
  );
}

export async function describeGroup(s: MemoryState, group: string, options?: CallOptions): Promise<GroupDescription | null> {
  s.args.describeGroup(group);
  return s.serialize('describeGroup', options, () => describe(s, group));
}

/** Sweeps (a change, persisted) and describes; null when the group has no document. */
async function describe(s: MemoryState, group: string): Promise<GroupDescription | null> {
  if (!s.groups.has(group)) return null;
  return s.changeGroup(group, (draft) => {
    const swept = sweepGroup(draft, s.now()).length > 0;
    return { next: swept ? draft : undefined, value: withClassic(describeCore(group, draft), draft.classic) };
  });
}

export async function listGroups(s: MemoryState, options?: CallOptions): Promise<GroupListing[]> {
  return s.serialize('listGroups', options, async () => {
    return listGroupsBy(s.groups.keys(), (group) => describe(s, group));
  });
}

export async function deleteGroup(s: MemoryState, group: string, options?: CallOptions): Promise<boolean> {
  s.args.deleteGroup(group);
  return s.serialize('deleteGroup', options, async () => {
    if (!s.groups.has(group)) return false;
    await s.changeGroup(group, (draft) => {
      const swept = sweepGroup(draft, s.now()).length > 0;
      const members = Object.keys(draft.members).length + classicMembers(draft);
      if (members > 0) return { next: swept ? draft : undefined, error: coordError('NON_EMPTY_GROUP', { group, members, what: 'it can be deleted' }) };
      return { value: undefined };
    });
    await s.removeGroup(group);
    return true;
  });
}

export async function commitOffsets(s: MemoryState, group: string, member: GroupMember | ClassicGroupMember | null, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
  s.args.commitOffsets(group, member, offsets);
  return s.serialize('commitOffsets', options, () =>
    s.changeGroup(group, (draft) => {
      const full = member === null ? groupLimitRefusal(s, group) : null;
      if (full !== null) return { error: full };
      const swept = sweepGroup(draft, s.now()).length > 0;
      const refusal = memberRefusal(draft, group, member, 'standalone offset commits are allowed') ?? writeOffsets(s, group, draft, offsets);
      if (refusal !== null) return { next: swept ? draft : undefined, error: refusal };
      // Members expired by the sweep change the document itself: it is rewritten whole.
      if (swept) return { next: draft, value: undefined };
      const appendOffsets = dict<StoredOffset>();
      for (const o of offsets) {
        const field = offsetField(o.topic, o.partition);
        setOwn(appendOffsets, field, own(draft.offsets, field)!);
      }
      return { next: draft, value: undefined, appendOffsets };
    }),
  );
}

export async function fetchOffsets(s: MemoryState, group: string, options?: CallOptions & { topic?: string }): Promise<CommittedOffset[]> {
  s.args.fetchOffsets(group, options?.topic);
  return s.read('fetchOffsets', options, () => {
    const out: CommittedOffset[] = [];
    for (const [field, o] of Object.entries(s.groups.get(group)?.offsets ?? {})) {
      const at = parseOffsetField(field);
      if (at === null || (options?.topic !== undefined && at.topic !== options.topic)) continue;
      out.push({ ...at, offset: o.offset, metadata: o.metadata, committedAtMs: o.committedAtMs });
    }
    return sortOffsets(out);
  });
}

export async function resetOffsets(s: MemoryState, group: string, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
  s.args.resetOffsets(group, offsets);
  return s.serialize('resetOffsets', options, () =>
    s.changeGroup(group, (draft) => {
      const full = groupLimitRefusal(s, group);
      if (full !== null) return { error: full };
      const swept = sweepGroup(draft, s.now()).length > 0;
      const members = Object.keys(draft.members).length + classicMembers(draft);
      if (members > 0) return { next: swept ? draft : undefined, error: coordError('NON_EMPTY_GROUP', { group, members, what: 'offsets can be reset' }) };
      const refusal = writeOffsets(s, group, draft, offsets);
      if (refusal !== null) return { next: swept ? draft : undefined, error: refusal };
      return { next: draft, value: undefined };
    }),
  );
}

/** Writes the offsets into the draft, or refuses (the draft's offsets unchanged) when the group would store too much metadata. */
function writeOffsets(s: MemoryState, group: string, draft: GroupDoc, offsets: readonly OffsetCommit[]): StrataError | null {
  const now = s.now();
  const before = draft.offsets;
  draft.offsets = dictFrom(before);
  for (const o of offsets) setOwn(draft.offsets, offsetField(o.topic, o.partition), { offset: o.offset, metadata: o.metadata ?? '', committedAtMs: now });
  // Counted only when this write carries metadata: without any, the group's total cannot grow.
  if (offsets.some((o) => metadataBytes(o.metadata) > 0)) {
    let bytes = 0;
    for (const o of Object.values(draft.offsets)) bytes += metadataBytes(o.metadata);
    if (bytes > s.groupLimits.groupMetadataMaxBytes) {
      draft.offsets = before;
      return coordError('GROUP_METADATA_TOO_LARGE', { group, bytes, max: s.groupLimits.groupMetadataMaxBytes });
    }
  }
  return null;
}

/** GROUP_LIMIT_REACHED when `group` does not exist and groupsMax do. */
function groupLimitRefusal(s: MemoryState, group: string): StrataError | null {
  if (s.groups.has(group) || s.groups.size < s.groupLimits.groupsMax) return null;
  return coordError('GROUP_LIMIT', { group, groups: s.groups.size, max: s.groupLimits.groupsMax });
}

export async function expireGroups(s: MemoryState, request: GroupExpiryRequest, options?: CallOptions): Promise<GroupExpiry> {
  s.args.expireGroups(request);
  const { offsetsRetentionMs: retentionMs, groupsMax } = request;
  const after = request.cursor ?? '';
  return s.serialize('expireGroups', options, async () => {
    // Groups in name order after the cursor: a bounded slice per pass, resumed by the next.
    const names = [...s.groups.keys()].filter((g) => g > after).sort(compareNames);
    const slice = names.slice(0, groupsMax);
    const out: GroupExpiry = { cursor: slice.length < names.length ? slice[slice.length - 1]! : '', groupsVisited: slice.length, offsetsExpired: 0, groupsDeleted: 0 };
    for (const group of slice) {
      const now = s.now();
      const gone = await s.changeGroup<boolean>(group, (draft) => {
        const swept = sweepGroup(draft, now).length > 0;
        if (Object.keys(draft.members).length + classicMembers(draft) > 0) return { next: swept ? draft : undefined, value: false };
        const marked = draft.emptySinceMs === undefined;
        if (marked) draft.emptySinceMs = now;
        let expired = 0;
        if (now - draft.emptySinceMs! >= retentionMs) {
          for (const [field, o] of Object.entries(draft.offsets)) {
            if (now - o.committedAtMs < retentionMs) continue;
            delete draft.offsets[field];
            expired++;
          }
        }
        out.offsetsExpired += expired;
        if (Object.keys(draft.offsets).length === 0 && draft.classic === undefined) return { value: true };
        return { next: swept || marked || expired > 0 ? draft : undefined, value: false };
      });
      if (gone) {
        await s.removeGroup(group);
        out.groupsDeleted++;
      }
    }
    return out;
  });
}

function memberRefusal(draft: GroupDoc, group: string, member: GroupMember | ClassicGroupMember | null, what: string): StrataError | null {
  if (member === null) {
    const members = Object.keys(draft.members).length + classicMembers(draft);
    return members > 0 ? coordError('NON_EMPTY_GROUP', { group, members, what }) : null;
  }
  if ('generationId' in member) {
    if (draft.classic?.members.some((m) => m.memberId === member.memberId) !== true) return coordError('UNKNOWN_MEMBER', { group, memberId: member.memberId });
    if (draft.classic.generation !== member.generationId) {
      return coordError('ILLEGAL_GENERATION', { group, memberId: member.memberId, generationId: member.generationId, currentGeneration: draft.classic.generation });
    }
    return null;
  }
  if (!Object.prototype.hasOwnProperty.call(draft.members, member.memberId)) return coordError('UNKNOWN_MEMBER', { group, memberId: member.memberId });
  const current = own(draft.members, member.memberId)!.memberEpoch;
  if (current !== member.memberEpoch) {
    return coordError('FENCED_MEMBER', { group, memberId: member.memberId, memberEpoch: member.memberEpoch, currentEpoch: current });
  }
  return null;
}

export async function deleteOffsets(s: MemoryState, group: string, partitions: readonly { topic: string; partition: number }[], options?: CallOptions): Promise<number> {
  s.args.deleteOffsets(group, partitions);
  return s.serialize('deleteOffsets', options, async () => {
    if (!s.groups.has(group)) return 0;
    return s.changeGroup<number>(group, (draft) => {
      let deleted = 0;
      for (const p of partitions) {
        const field = offsetField(p.topic, p.partition);
        if (!Object.prototype.hasOwnProperty.call(draft.offsets, field)) continue;
        delete draft.offsets[field];
        deleted++;
      }
      return { next: deleted > 0 ? draft : undefined, value: deleted };
    });
  });
}

export async function loadClassicGroup(s: MemoryState, group: string, options?: CallOptions): Promise<ClassicGroupState | null> {
  s.args.loadClassicGroup(group);
  return s.read('loadClassicGroup', options, () => {
    const classic = s.groups.get(group)?.classic;
    return classic === undefined ? null : structuredClone(classic);
  });
}

export async function storeClassicGroup(s: MemoryState, group: string, state: ClassicGroupState, options?: CallOptions): Promise<void> {
  s.args.storeClassicGroup(group, state);
  const copy = structuredClone(state);
  return s.serialize('storeClassicGroup', options, () =>
    s.changeGroup(group, (draft) => {
      const full = groupLimitRefusal(s, group);
      if (full !== null) return { error: full };
      const swept = sweepGroup(draft, s.now()).length > 0;
      const members = Object.keys(draft.members).length;
      if (members > 0) return { next: swept ? draft : undefined, error: coordError('INCONSISTENT_PROTOCOL', { group, members, protocol: 'consumer' }) };
      if (draft.classic !== undefined && draft.classic.generation > copy.generation) {
        return { next: swept ? draft : undefined, error: coordError('ILLEGAL_GENERATION', { group, memberId: '', generationId: copy.generation, currentGeneration: draft.classic.generation }) };
      }
      draft.classic = copy;
      if (copy.members.length > 0) delete draft.emptySinceMs;
      return { next: draft, value: undefined };
    }),
  );
}

/** Members of the group's stored classic generation. */
function classicMembers(draft: GroupDoc): number {
  return draft.classic?.members.length ?? 0;
}
