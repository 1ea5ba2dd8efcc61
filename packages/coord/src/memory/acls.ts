// The in-process engine's ACL bindings: kept in cluster.json beside the topics, rewritten durably
// before a change resolves (state.ts changeCluster), with the version that moves on each change.

import { aclBindingFromKey, aclBindingKey } from '@strata/protocol';
import { ACLS_MAX, aclKeysOf, aclLimitReached, type AclChange, type AclSnapshot } from '../acls.js';
import type { CallOptions } from '../coordinator.js';
import type { AclBinding } from '@strata/protocol';
import type { MemoryState } from './state.js';

export async function createAcls(s: MemoryState, bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
  const keys = aclKeysOf('createAcls', bindings);
  return s.serialize('createAcls', options, () =>
    s.changeCluster<AclChange>((draft) => {
      const stored = new Set(draft.acls ?? []);
      const fresh = keys.filter((k) => !stored.has(k));
      const version = draft.aclsVersion ?? 0;
      if (fresh.length === 0) return { next: null, value: { changed: 0, version } };
      if (stored.size + fresh.length > ACLS_MAX) return { next: null, error: aclLimitReached(stored.size, fresh.length) };
      return { next: { ...draft, acls: [...stored, ...fresh].sort(), aclsVersion: version + 1 }, value: { changed: fresh.length, version: version + 1 } };
    }),
  );
}

export async function deleteAcls(s: MemoryState, bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
  const keys = new Set(aclKeysOf('deleteAcls', bindings));
  return s.serialize('deleteAcls', options, () =>
    s.changeCluster<AclChange>((draft) => {
      const stored = draft.acls ?? [];
      const kept = stored.filter((k) => !keys.has(k));
      const version = draft.aclsVersion ?? 0;
      const changed = stored.length - kept.length;
      if (changed === 0) return { next: null, value: { changed: 0, version } };
      return { next: { ...draft, acls: kept, aclsVersion: version + 1 }, value: { changed, version: version + 1 } };
    }),
  );
}

export function listAcls(s: MemoryState, options?: CallOptions): Promise<AclSnapshot> {
  return s.read('listAcls', options, () => {
    const bindings: AclBinding[] = [];
    for (const key of s.cluster.acls ?? []) {
      const binding = aclBindingFromKey(key);
      // checkDoc refused a corrupt cluster.json at load; a key stored by this engine always parses.
      if (binding !== null && aclBindingKey(binding) === key) bindings.push(binding);
    }
    return { version: s.cluster.aclsVersion ?? 0, bindings };
  });
}

export function aclsVersion(s: MemoryState, options?: CallOptions): Promise<number> {
  return s.read('aclsVersion', options, () => s.cluster.aclsVersion ?? 0);
}
