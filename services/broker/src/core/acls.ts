// ACL management without HTTP (Kafka's CreateAcls, DescribeAcls, DeleteAcls): the same calls for the
// HTTP API, the CLI (through HTTP) and the Kafka listener. Managing ACLs is itself authorized as
// Kafka's is: alter on the cluster to create or delete, describe on the cluster to list. Each change
// is one audit line, and this broker applies it at once (the others within their refresh bound).

import { ACLS_PER_CALL_MAX } from '@strata/coord';
import { StrataError, aclFilterMatches, type AclBinding, type AclFilter } from '@strata/protocol';
import { principalOf } from '../auth/principal.js';
import type { BrokerContext } from '../context.js';
import { checkCluster } from './cluster.js';
import type { RequestOrigin } from './leader-client.js';

/** Deadline of one coordinator call made for an ACL request. */
const COORDINATOR_CALL_MS = 10_000;

export class AclsCore {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  /** Stores the bindings (all or nothing; INVALID_REQUEST names a bad one); answers how many were new. */
  async create(bindings: readonly AclBinding[], origin: RequestOrigin, signal: AbortSignal): Promise<number> {
    checkCluster(this.#ctx, origin, 'alter');
    const change = await this.#ctx.coordinator.createAcls(bindings, { signal: deadline(signal) });
    this.#audit(origin, 'create', bindings, change.changed);
    await this.#applyHere();
    return change.changed;
  }

  /** The stored bindings the filter matches. */
  async list(filter: AclFilter, origin: RequestOrigin, signal: AbortSignal): Promise<AclBinding[]> {
    checkCluster(this.#ctx, origin, 'describe');
    const { bindings } = await this.#ctx.coordinator.listAcls({ signal: deadline(signal) });
    return bindings.filter((b) => aclFilterMatches(filter, b));
  }

  /** Removes every stored binding the filter matches; answers them. */
  async delete(filter: AclFilter, origin: RequestOrigin, signal: AbortSignal): Promise<AclBinding[]> {
    checkCluster(this.#ctx, origin, 'alter');
    const coordSignal = deadline(signal);
    const { bindings } = await this.#ctx.coordinator.listAcls({ signal: coordSignal });
    const matched = bindings.filter((b) => aclFilterMatches(filter, b));
    for (let at = 0; at < matched.length; at += ACLS_PER_CALL_MAX) {
      await this.#ctx.coordinator.deleteAcls(matched.slice(at, at + ACLS_PER_CALL_MAX), { signal: coordSignal });
    }
    this.#audit(origin, 'delete', matched, matched.length);
    await this.#applyHere();
    return matched;
  }

  #audit(origin: RequestOrigin, action: 'create' | 'delete', bindings: readonly AclBinding[], changed: number): void {
    this.#ctx.logger.info(`acl ${action}`, { audit: 'acl', principal: principalOf(origin.principal), source: origin.host ?? '', action, changed, acls: bindings });
  }

  /** The change applies on this broker before the answer (a client that changes then uses an ACL here sees it). */
  async #applyHere(): Promise<void> {
    await this.#ctx.authorizer.refresh().catch((e: unknown) => {
      this.#ctx.logger.warn('acl change stored, but this broker could not read the ACLs again yet (its refresh will)', { err: e });
    });
  }
}

/** A filter's fields, checked: INVALID_REQUEST when one is not a value Kafka's filter admits. */
export function aclFilterOf(fields: Readonly<Record<string, unknown>>): AclFilter {
  const filter: Record<string, string> = {};
  for (const key of ['principal', 'host', 'resourceType', 'patternType', 'resourceName', 'operation', 'permission'] as const) {
    const value = fields[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new StrataError('INVALID_REQUEST', `ACL filter field ${key} must be a string`);
    filter[key] = value;
  }
  return filter as AclFilter;
}

function deadline(signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal, AbortSignal.timeout(COORDINATOR_CALL_MS)]);
}
