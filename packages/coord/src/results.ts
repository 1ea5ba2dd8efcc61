// How both engines shape what they answer, written once: the orders of the lists, the field a
// committed offset is stored under, a group's listing. The memory engine computes these from its
// documents, the Redis engine from what its scripts and reads return; neither computes them apart.

import type { ClassicGroupState, CommittedOffset, GroupDescription, GroupListing, LiveBroker } from './coordinator.js';

/** Code-unit order of names (topics, groups, broker ids): what Redis' sorts and `.sort()` give. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Live brokers by id. */
export function sortBrokers(brokers: LiveBroker[]): LiveBroker[] {
  return brokers.sort((a, b) => compareNames(a.id, b.id));
}

/** Committed offsets by topic, then partition. */
export function sortOffsets(offsets: CommittedOffset[]): CommittedOffset[] {
  return offsets.sort((a, b) => compareNames(a.topic, b.topic) || a.partition - b.partition);
}

/** The field a committed offset is stored under: "<topic>/<partition>" (a topic name has no '/'). */
export function offsetField(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The topic and partition of an offsetField; null when the field is not one. */
export function parseOffsetField(field: string): { topic: string; partition: number } | null {
  const slash = field.lastIndexOf('/');
  if (slash <= 0) return null;
  return { topic: field.slice(0, slash), partition: Number(field.slice(slash + 1)) };
}

/**
 * The listing of groups, in name order: each described (a describe also sweeps expired members),
 * those that no longer exist left out.
 */
export async function listGroupsBy(names: Iterable<string>, describe: (group: string) => Promise<GroupDescription | null>): Promise<GroupListing[]> {
  const out: GroupListing[] = [];
  for (const group of [...names].sort(compareNames)) {
    const d = await describe(group);
    if (d === null) continue;
    const classic = d.classic !== undefined && d.members.length === 0 && (d.classic.members.length > 0 || d.classic.generation > 0);
    out.push({
      group,
      members: d.members.length + (d.classic?.members.length ?? 0),
      state: d.state,
      type: classic ? 'classic' : 'consumer',
      protocolType: classic && d.classic!.protocolType !== '' ? d.classic!.protocolType : 'consumer',
    });
  }
  return out;
}

/** A description with the group's stored classic generation; a group whose members are classic ones takes their state. */
export function withClassic(d: GroupDescription, classic: ClassicGroupState | undefined): GroupDescription {
  if (classic === undefined) return d;
  return { ...d, classic, state: d.members.length === 0 ? classic.state : d.state };
}
