// The Redis engine's ACL bindings: one hash under {cluster} (keys.ts acls()), changed by one script.

import { aclBindingFromKey, type AclBinding } from '@strata/protocol';
import { ACLS_MAX, aclKeysOf, aclLimitReached, type AclChange, type AclSnapshot } from '../acls.js';
import type { CallOptions } from '../coordinator.js';
import { int } from './codec.js';
import type { RedisConnection } from './connection.js';

const BINDING_FIELD = 'b:';
const VERSION_FIELD = 'v';

async function change(c: RedisConnection, op: 'add' | 'remove', bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
  const keys = aclKeysOf(op === 'add' ? 'createAcls' : 'deleteAcls', bindings);
  return c.call(`${op === 'add' ? 'createAcls' : 'deleteAcls'} (${keys.length})`, {}, options, async () => {
    if (keys.length === 0) return { changed: 0, version: await readVersion(c) };
    const reply = (await c.eval('change-acls', [c.keys.acls()], [op, ACLS_MAX, ...keys])) as unknown[];
    const changed = int(reply[0], 'changed ACL bindings');
    if (changed === -1) throw aclLimitReached(int(reply[1], 'stored ACL bindings'), keys.length);
    return { changed, version: int(reply[1], 'ACL version') };
  });
}

export function createAcls(c: RedisConnection, bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
  return change(c, 'add', bindings, options);
}

export function deleteAcls(c: RedisConnection, bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
  return change(c, 'remove', bindings, options);
}

export function listAcls(c: RedisConnection, options?: CallOptions): Promise<AclSnapshot> {
  return c.call('listAcls', {}, options, async () => {
    // One HGETALL: the version and the bindings of the same moment.
    const hash = await c.redis.hgetall(c.keys.acls());
    const bindings: AclBinding[] = [];
    const fields = Object.keys(hash).filter((f) => f.startsWith(BINDING_FIELD)).sort();
    for (const field of fields) {
      const binding = aclBindingFromKey(field.slice(BINDING_FIELD.length));
      // Only this engine writes the hash (with checked bindings); anything else there is not a binding of ours.
      if (binding !== null) bindings.push(binding);
    }
    return { version: hash[VERSION_FIELD] === undefined ? 0 : int(hash[VERSION_FIELD], 'ACL version'), bindings };
  });
}

export function aclsVersion(c: RedisConnection, options?: CallOptions): Promise<number> {
  return c.call('aclsVersion', {}, options, () => readVersion(c));
}

async function readVersion(c: RedisConnection): Promise<number> {
  const v = await c.redis.hget(c.keys.acls(), VERSION_FIELD);
  return v === null ? 0 : int(v, 'ACL version');
}
