// Which stored quota applies to a client, by Kafka's precedence (KIP-55), resolved per quota key:
// for user U and client id C the first entity holding that key wins,
//   1. user=U, client-id=C        2. user=U, client-id=<default>    3. user=U
//   4. user=<default>, client-id=C 5. user=<default>, client-id=<default> 6. user=<default>
//   7. client-id=C                8. client-id=<default>
// and for connections from IP address A: ip=A, then ip=<default>, then the broker's setting.
//
// Who shares one measured rate is Kafka's rule too: the clients the entity names. A quota on
// user=U (or user=<default>) is shared by all of U's client ids; one on (U, C) only by U's C; one
// on client-id=C by C under every user. `scope` is that key (user and client id, each "" when the
// entity does not name its type).

import { quotaEntityKey, type QuotaEntity, type QuotaKey, type QuotaRecord, type QuotaValues } from '@strata/coord';

export interface ResolvedQuota {
  /** The bound, in the key's unit (bytes/s, percent of one thread, connections/s). */
  bound: number;
  /** The rate this client shares with the others the entity names (see the header). */
  scope: string;
}

/** Kafka's user for a principal ("User:alice" -> "alice"); nobody authenticated is ANONYMOUS. */
export function quotaUserOf(principal: string | undefined): string {
  if (principal === undefined || principal === '') return 'ANONYMOUS';
  return principal.startsWith('User:') ? principal.slice('User:'.length) : principal;
}

const SHAPES: readonly { user: 'name' | 'default' | null; client: 'name' | 'default' | null }[] = [
  { user: 'name', client: 'name' },
  { user: 'name', client: 'default' },
  { user: 'name', client: null },
  { user: 'default', client: 'name' },
  { user: 'default', client: 'default' },
  { user: 'default', client: null },
  { user: null, client: 'name' },
  { user: null, client: 'default' },
];

export class QuotaTable {
  readonly #byEntity = new Map<string, QuotaValues>();
  /** Whether any user/client-id entity holds a value: when none does, resolving costs one check. */
  readonly #hasClientQuotas: boolean;

  constructor(records: readonly QuotaRecord[]) {
    let client = false;
    for (const r of records) {
      this.#byEntity.set(quotaEntityKey(r.entity), r.values);
      if (r.entity.ip === undefined && Object.keys(r.values).length > 0) client = true;
    }
    this.#hasClientQuotas = client;
  }

  get size(): number {
    return this.#byEntity.size;
  }

  /** Whether any user or client-id quota is stored: when none is, no client is measured. */
  get hasClientQuotas(): boolean {
    return this.#hasClientQuotas;
  }

  /** The quota on `key` for this user and client id, or null when no entity holds one. */
  resolve(key: QuotaKey, user: string, clientId: string): ResolvedQuota | null {
    if (!this.#hasClientQuotas) return null;
    for (const shape of SHAPES) {
      const entity: QuotaEntity = {};
      if (shape.user !== null) entity.user = shape.user === 'name' ? user : null;
      if (shape.client !== null) entity.clientId = shape.client === 'name' ? clientId : null;
      // An empty client id cannot be an entity name; it still falls under client-id=<default>.
      if (shape.client === 'name' && clientId === '') continue;
      const bound = this.#byEntity.get(quotaEntityKey(entity))?.[key];
      if (bound !== undefined) return { bound, scope: `${shape.user === null ? '' : user}\u0000${shape.client === null ? '' : clientId}` };
    }
    return null;
  }

  /** connection_creation_rate for connections from `ip`: ip=A, then ip=<default>, then `fallback` (0: none). */
  connectionRate(ip: string, fallback: number): number {
    return this.#byEntity.get(quotaEntityKey({ ip }))?.connection_creation_rate ?? this.#byEntity.get(quotaEntityKey({ ip: null }))?.connection_creation_rate ?? fallback;
  }
}
