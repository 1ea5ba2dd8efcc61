// One classic consumer group (core/classic-group.ts) on fake timers: the sessions and rounds of a
// group taken over from the coordinator after its broker died (issue #13).

import type { ClassicGroupState, ClassicMember } from '@strata/coord';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClassicGroup, type ClassicGroupEvent, type JoinArgs } from '../src/core/classic-group.js';

const SESSION_MS = 30_000;
const REBALANCE_MS = 30_000;

function storedMember(memberId: string, assignment: string): ClassicMember {
  return { memberId, groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS, metadata: '', assignment: Buffer.from(assignment).toString('base64') };
}

function joinArgs(memberId: string): JoinArgs {
  return { memberId, groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('m') }], requireKnownMemberId: false };
}

/** A group as a broker that takes it over loads it: the last generation, stable, with its members. */
function takenOver(members: ClassicMember[], events: ClassicGroupEvent[], stored: ClassicGroupState[] = []): ClassicGroup {
  const state: ClassicGroupState = { generation: 1, protocolType: 'consumer', protocol: 'range', leader: members[0]!.memberId, state: 'stable', members };
  return new ClassicGroup('g', { store: (s) => (stored.push(s), Promise.resolve('NONE')) }, { initialRebalanceDelayMs: 0, membersMax: 100, onUnload: () => undefined, onEvent: (e) => events.push(e) }, state);
}

describe('a classic group taken over after its coordinating broker died', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  // Regression (issue #13, the 3-broker failover test): the clients came back as new members (kafkajs
  // restarts its consumer after failing to reach the dead coordinator); the round waited for the old
  // ids until their sessions ended, and the new members' sessions, running while they waited in
  // their joins, ended at the same moment: one was expired, the generation completed with the other
  // alone, and a rebalance followed when the expired one joined again.
  it('keeps a member waiting in its join alive: the round completes with every member that rejoined', async () => {
    const events: ClassicGroupEvent[] = [];
    const group = takenOver([storedMember('old-a', 'a'), storedMember('old-b', 'b')], events);
    const first = group.join(joinArgs(''));
    await vi.advanceTimersByTimeAsync(1);
    const second = group.join(joinArgs(''));
    // The old ids never come back: their sessions end, and so do the waiting members' sessions.
    await vi.advanceTimersByTimeAsync(SESSION_MS + 10);
    const [a, b] = await Promise.all([first, second]);
    expect([a.error, b.error]).toEqual(['NONE', 'NONE']);
    expect(a.generationId).toBe(2);
    expect(b.generationId).toBe(2);
    const generations = events.filter((e) => e.kind === 'generation');
    expect(generations).toHaveLength(1);
    expect(generations[0]!.kind === 'generation' && generations[0]!.members.sort()).toEqual([a.memberId, b.memberId].sort());
    const removed = events.flatMap((e) => (e.kind === 'member removed' ? [e.memberId] : []));
    expect(removed.sort()).toEqual(['old-a', 'old-b']);
  });

  it('a member answered after a long wait gets a whole session to heartbeat in', async () => {
    const events: ClassicGroupEvent[] = [];
    const group = takenOver([storedMember('old-a', 'a')], events);
    const joined = await (async () => {
      const waiting = group.join(joinArgs(''));
      await vi.advanceTimersByTimeAsync(SESSION_MS + 10);
      return waiting;
    })();
    expect(joined.error).toBe('NONE');
    await vi.advanceTimersByTimeAsync(SESSION_MS - 1_000);
    expect(group.heartbeat(joined.memberId, null, joined.generationId)).toBe('NONE');
  });
});
