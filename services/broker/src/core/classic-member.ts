// A classic group's member as classic-group.ts handles it: its id, its protocols, the member a
// broker rebuilds from the stored generation when it takes the group over.

import { randomUUID } from 'node:crypto';
import type { ClassicGroupState, ClassicMember } from '@strata/coord';
import type { Member, ProtocolOffer } from './classic-group-types.js';

export const EMPTY: Buffer = Buffer.alloc(0);

export function metadataFor(member: Member, protocol: string): Buffer {
  return member.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY;
}

export function sameProtocols(a: readonly ProtocolOffer[], b: readonly ProtocolOffer[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}

/** Kafka's form, "<client id>-<uuid>", with the client id cut to what a Strata member id may hold. */
export function newMemberId(clientId: string): string {
  const prefix = clientId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return `${prefix === '' ? 'member' : prefix}-${randomUUID()}`;
}

export function unrefTimer(fn: () => unknown, ms: number): NodeJS.Timeout {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
}

/** A member as the stored generation has it, with no wait and no session yet. */
export function restoredMember(s: ClassicMember, stored: ClassicGroupState): Member {
  return {
    memberId: s.memberId,
    groupInstanceId: s.groupInstanceId,
    clientId: s.clientId,
    clientHost: s.clientHost,
    sessionTimeoutMs: s.sessionTimeoutMs,
    rebalanceTimeoutMs: s.rebalanceTimeoutMs,
    protocolType: stored.protocolType,
    protocols: [{ name: stored.protocol, metadata: Buffer.from(s.metadata, 'base64') }],
    assignment: Buffer.from(s.assignment, 'base64'),
    join: null,
    sync: null,
    session: null,
  };
}
