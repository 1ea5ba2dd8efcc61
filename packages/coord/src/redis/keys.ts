// The one place that builds Redis keys (docs/architecture.md#coordination). Every key starts with the configurable
// prefix and carries a Redis Cluster hash tag, so that every script touches keys of ONE slot:
//
//   <prefix>p:{<topic>/<partition>}:lease   leader broker id, PX TTL
//   <prefix>p:{<topic>/<partition>}:state   hash: topic id, replicas, controller epoch, leader,
//                                           leader epoch, ISR, HW, log start, epoch history
//   <prefix>p:{<topic>/<partition>}:segs    sorted set: the remote manifest, scored by baseOffset
//   <prefix>g:{<group>}:meta                hash: group epoch, assignment epoch, topic partition counts
//   <prefix>g:{<group>}:members             hash: member id -> member JSON (lua/_group.lua)
//   <prefix>g:{<group>}:offsets             hash: "<topic>/<partition>" -> "<committedAtMs> <json>"
//   <prefix>{cluster}:brokers               sorted set: broker id scored by expiry (server ms)
//   <prefix>{cluster}:broker:<id>           hash: urls, rack, startedAtMs; PX TTL
//   <prefix>{cluster}:topics                hash: collision key -> topic name
//   <prefix>{cluster}:topic:<name>          hash: id, partitions, replication factor, c:<config>
//   <prefix>{cluster}:controller            hash: holder, epoch, expiry (server ms)
//   <prefix>{cluster}:boot                  hash: the server run id seen, boot id, quarantine
//   <prefix>{cluster}:producer-ids          hash: the next producer id not handed out, the last caller
//   <prefix>{cluster}:quotas                hash: "<entity key>\t<quota key>" -> value (quotas.ts)
//   <prefix>{users}:users                   hash: user name -> user JSON (SCRAM salts and keys, never a password)
//   <prefix>{users}:tokens                  hash: token id -> token JSON (the secret's SHA-256, never the secret)
//   <prefix>{cluster}:acls                  hash: "v" -> version, "b:<binding key>" -> 1 (Kafka's ACLs)
//   <prefix>{cluster}:groups                set: group ids (an index for listGroups, kept apart from
//                                           the groups' own slots: a separate, idempotent SADD)
//
// The cluster-wide keys share the tag {cluster} (the original design left them untagged; docs/architecture.md#design-changes): creating a
// topic writes `topics` and `topic:<name>` in one script, which Redis Cluster allows only
// within one slot. They are few and small, so one slot holds them all.
//
// Names are validated (validate.ts) before they get here: topic and group names are
// [a-zA-Z0-9._-], so they cannot contain "{", "}", "/" or ":" and cannot break out of a tag.

import { StrataError } from '@strata/protocol';

export const DEFAULT_KEY_PREFIX = 'strata:';
const PREFIX_PATTERN = /^[A-Za-z0-9:._-]{0,64}$/;

export class CoordKeys {
  readonly prefix: string;

  constructor(prefix: string = DEFAULT_KEY_PREFIX) {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new StrataError('INVALID_CONFIG', `key prefix must be 0..64 of [A-Za-z0-9:._-] (no hash tag braces), got ${JSON.stringify(prefix)}`);
    }
    this.prefix = prefix;
  }

  // cluster-wide (one slot: {cluster})
  brokers(): string {
    return `${this.prefix}{cluster}:brokers`;
  }
  broker(id: string): string {
    return `${this.prefix}{cluster}:broker:${id}`;
  }
  topics(): string {
    return `${this.prefix}{cluster}:topics`;
  }
  topic(name: string): string {
    return `${this.prefix}{cluster}:topic:${name}`;
  }
  controller(): string {
    return `${this.prefix}{cluster}:controller`;
  }
  boot(): string {
    return `${this.prefix}{cluster}:boot`;
  }
  groups(): string {
    return `${this.prefix}{cluster}:groups`;
  }
  quotas(): string {
    return `${this.prefix}{cluster}:quotas`;
  }
  producerIds(): string {
    return `${this.prefix}{cluster}:producer-ids`;
  }
  acls(): string {
    return `${this.prefix}{cluster}:acls`;
  }

  // users and API tokens (one slot: {users}; deleting a user removes its tokens in one script)
  users(): string {
    return `${this.prefix}{users}:users`;
  }
  tokens(): string {
    return `${this.prefix}{users}:tokens`;
  }

  // one partition (one slot: {<topic>/<partition>})
  partitionLease(topic: string, partition: number): string {
    return `${this.prefix}p:{${topic}/${partition}}:lease`;
  }
  partitionState(topic: string, partition: number): string {
    return `${this.prefix}p:{${topic}/${partition}}:state`;
  }
  partitionSegments(topic: string, partition: number): string {
    return `${this.prefix}p:{${topic}/${partition}}:segs`;
  }

  // one group (one slot: {<group>})
  groupMeta(group: string): string {
    return `${this.prefix}g:{${group}}:meta`;
  }
  groupMembers(group: string): string {
    return `${this.prefix}g:{${group}}:members`;
  }
  groupOffsets(group: string): string {
    return `${this.prefix}g:{${group}}:offsets`;
  }

  /** A SCAN/KEYS pattern matching every key of this prefix (tests, tooling). */
  pattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  }
}

/** The Redis Cluster hash slot's tag of a key: the part between the first "{" and the next "}". */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}
