// The assignor alone (src/groups.ts assignPartitions, which lua/_group.lua mirrors): balance,
// stickiness and determinism over many random groups. The conformance suite checks the same
// properties through both engines.

import { describe, expect, it } from 'vitest';
import { assignPartitions, type AssignorMember, type PartitionMap } from '@strata/coord';
import { prng } from './conformance.js';

const size = (m: PartitionMap) => Object.values(m).reduce((n, l) => n + l.length, 0);
const keys = (m: PartitionMap) => Object.entries(m).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`));

function owners(result: Map<string, PartitionMap>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, map] of result) {
    for (const k of keys(map)) {
      expect(out.has(k), `${k} assigned twice`).toBe(false);
      out.set(k, id);
    }
  }
  return out;
}

function expectBalanced(members: AssignorMember[], result: Map<string, PartitionMap>, topics: Record<string, number>): void {
  const own = owners(result);
  const wanted = Object.entries(topics).filter(([t]) => members.some((m) => m.subscribedTopics.includes(t)));
  expect(own.size).toBe(wanted.reduce((n, [, c]) => n + c, 0));
  const byClass = new Map<string, number[]>();
  for (const m of members) {
    const cls = [...m.subscribedTopics].sort().join(',');
    byClass.set(cls, [...(byClass.get(cls) ?? []), size(result.get(m.memberId)!)]);
    for (const k of keys(result.get(m.memberId)!)) expect(m.subscribedTopics).toContain(k.split('/')[0]);
  }
  for (const list of byClass.values()) expect(Math.max(...list) - Math.min(...list)).toBeLessThanOrEqual(1);
}

describe('assignPartitions', () => {
  it('balances 12 over 3 as 4/4/4, moves exactly 3 for a 4th, and only the leaver\'s on a leave', () => {
    const topics = { t: 12 };
    const three = ['a', 'b', 'c'].map((id) => ({ memberId: id, subscribedTopics: ['t'], target: {} }));
    const first = assignPartitions(three, topics);
    expect([...first.values()].map(size)).toEqual([4, 4, 4]);
    const four = [...three.map((m) => ({ ...m, target: first.get(m.memberId)! })), { memberId: 'd', subscribedTopics: ['t'], target: {} }];
    const second = assignPartitions(four, topics);
    expect([...second.values()].map(size)).toEqual([3, 3, 3, 3]);
    const before = owners(first);
    const moved = [...owners(second)].filter(([k, id]) => before.get(k) !== id);
    expect(moved.map(([, id]) => id)).toEqual(['d', 'd', 'd']);
    const left = four.filter((m) => m.memberId !== 'b').map((m) => ({ ...m, target: second.get(m.memberId)! }));
    const third = assignPartitions(left, topics);
    const mid = owners(second);
    for (const [k, id] of owners(third)) if (mid.get(k) !== 'b') expect(id).toBe(mid.get(k));
  });

  it('is balanced, complete, sticky and deterministic over random groups', () => {
    const random = prng(7);
    for (let round = 0; round < 200; round++) {
      const topics: Record<string, number> = { a: 1 + Math.floor(random() * 20), b: Math.floor(random() * 9), c: 1 + Math.floor(random() * 5) };
      const n = 1 + Math.floor(random() * 7);
      const members: AssignorMember[] = Array.from({ length: n }, (_, i) => {
        const subs = ['a', 'b', 'c'].filter(() => random() < 0.6);
        return { memberId: `m${i}`, subscribedTopics: subs.length === 0 ? ['a'] : subs, target: {} };
      });
      const result = assignPartitions(members, topics);
      expectBalanced(members, result, topics);
      expect(assignPartitions([...members].reverse(), topics)).toEqual(result);
      // Again from its own result: nothing moves.
      const again = members.map((m) => ({ ...m, target: result.get(m.memberId)! }));
      expect(assignPartitions(again, topics)).toEqual(result);
      // With one subscription for all, a joiner takes only what balance needs, and only from others.
      const same = members.map((m) => ({ ...m, subscribedTopics: members[0]!.subscribedTopics, target: {} }));
      const settled = assignPartitions(same, topics);
      const joined = [...same.map((m) => ({ ...m, target: settled.get(m.memberId)! })), { memberId: 'new', subscribedTopics: members[0]!.subscribedTopics, target: {} }];
      const next = assignPartitions(joined, topics);
      expectBalanced(joined, next, topics);
      const was = owners(settled);
      const moved = [...owners(next)].filter(([k, id]) => was.get(k) !== id);
      expect(moved.every(([, id]) => id === 'new')).toBe(true);
      expect(moved.length).toBe(size(next.get('new')!));
    }
  });
});
