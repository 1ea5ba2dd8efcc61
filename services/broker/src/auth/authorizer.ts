// Who may do what: Kafka's ACL authorizer, checked by the broker core for every front door (HTTP,
// Kafka, the console through HTTP). The bindings live in the coordinator; each broker holds them
// all in memory (acl-matcher.ts) and asks the coordinator every STRATA_ACL_REFRESH_INTERVAL_MS
// whether they changed (one small read: the version), so a change made through any broker applies
// on every broker within that bound; a change made through this broker applies here at once.
// With STRATA_AUTHORIZER=none every check passes and nothing is loaded.
//
// One decision per request: a request asks the same question at each layer it crosses (an HTTP
// produce: the handler, before it reads the body; the core's forward and its append), so the
// authorizer remembers the last decision that allowed a request, by its origin (a front door makes
// one per request), and answers the same question again without the matcher, as long as the
// bindings it was made under are still the ones in force (issue #11). A refusal is not remembered:
// the request ends there.

import type { Coordinator } from '@strata/coord';
import {
  StrataError,
  type AclOperation,
  type AclResourceType,
  type ErrorCode,
} from '@strata/protocol';
import { Counter, type Registry } from 'prom-client';
import type { AuthorizationConfig } from '../config/types.js';
import type { RequestOrigin } from '../core/leader-client.js';
import type { Logger } from '../logger.js';
import { AclMatcher, aclHostOf } from './acl-matcher.js';
import { principalOf } from './principal.js';

/** One coordinator read's deadline during a refresh: a slow coordinator delays the next refresh, never a request. */
const REFRESH_CALL_MS = 5_000;

const FAILURE_CODE: Readonly<Record<AclResourceType, ErrorCode>> = {
  topic: 'TOPIC_AUTHORIZATION_FAILED',
  group: 'GROUP_AUTHORIZATION_FAILED',
  cluster: 'CLUSTER_AUTHORIZATION_FAILED',
  'transactional-id': 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
};

/** The origin of the broker's own work (metrics): no client's, never refused. */
export const BROKER_ORIGIN: RequestOrigin = Object.freeze({ internal: true });

export interface Resource {
  type: AclResourceType;
  name: string;
}

/** The last question a request's origin was allowed, and under which bindings. */
interface Allowed {
  matcher: AclMatcher;
  operation: AclOperation;
  resourceType: AclResourceType;
  resourceName: string;
}

export interface AuthorizerOptions {
  config: AuthorizationConfig;
  coordinator: Coordinator;
  logger: Logger;
  metrics: Registry;
}

export class Authorizer {
  readonly #config: AuthorizationConfig;
  readonly #coordinator: Coordinator;
  readonly #logger: Logger;
  readonly #superUsers: ReadonlySet<string>;
  readonly #denied: Counter<'operation' | 'resource_type'>;
  #matcher = new AclMatcher([]);
  /** Per origin (so per request, and gone with it): its last allowed question. */
  readonly #allowed = new WeakMap<RequestOrigin, Allowed>();
  #version = -1;
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;

  constructor(options: AuthorizerOptions) {
    this.#config = options.config;
    this.#coordinator = options.coordinator;
    this.#logger = options.logger;
    this.#superUsers = new Set(options.config.superUsers);
    this.#denied = new Counter({
      name: 'strata_authorization_denied_total',
      help: 'Requests (or parts of one: a topic of a produce) refused by the ACL authorizer, by operation and resource type.',
      labelNames: ['operation', 'resource_type'],
      registers: [options.metrics],
    });
  }

  get enabled(): boolean {
    return this.#config.authorizer === 'acl';
  }

  /**
   * An authorizer with the bindings loaded and its bounded refresh started: the broker opens it
   * before any listener, so with STRATA_AUTHORIZER=acl no request is served without the ACLs.
   */
  static async open(options: AuthorizerOptions): Promise<Authorizer> {
    const authorizer = new Authorizer(options);
    await authorizer.#start();
    return authorizer;
  }

  async #start(): Promise<void> {
    if (!this.enabled) return;
    await this.refresh();
    this.#logger.info('authorization: Kafka ACLs', {
      bindings: this.#matcher.size,
      superUsers: [...this.#superUsers],
      allowEveryoneIfNoAclFound: this.#config.allowEveryoneIfNoAclFound,
      refreshIntervalMs: this.#config.refreshIntervalMs,
    });
    this.#timer = setInterval(() => {
      this.refresh().catch((e: unknown) => this.#logger.warn('authorization: the ACLs could not be refreshed (the last ones known still apply)', { err: e }));
    }, this.#config.refreshIntervalMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Reads the bindings again when their version moved; one refresh at a time (callers share it). */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      const signal = AbortSignal.timeout(REFRESH_CALL_MS);
      const version = await this.#coordinator.aclsVersion({ signal });
      if (version === this.#version) return;
      const snapshot = await this.#coordinator.listAcls({ signal });
      this.#matcher = new AclMatcher(snapshot.bindings);
      this.#version = snapshot.version;
    })().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /** Whether the request's principal may do `operation` on the resource (no audit: for filtering what a listing shows). */
  allows(origin: RequestOrigin, operation: AclOperation, resource: Resource): boolean {
    if (!this.enabled || origin.internal === true) return true;
    const matcher = this.#matcher;
    const last = this.#allowed.get(origin);
    if (last !== undefined && last.matcher === matcher && last.operation === operation && last.resourceType === resource.type && last.resourceName === resource.name) return true;
    const principal = principalOf(origin.principal);
    const allowed =
      this.#superUsers.has(principal) ||
      matcher.decide(principal, aclHostOf(origin.host), operation, resource.type, resource.name, this.#config.allowEveryoneIfNoAclFound).decision === 'allowed';
    if (allowed) this.#allowed.set(origin, { matcher, operation, resourceType: resource.type, resourceName: resource.name });
    return allowed;
  }

  /** Throws the resource type's *_AUTHORIZATION_FAILED (audited, counted) unless the principal may do it; changes nothing. */
  check(origin: RequestOrigin, operation: AclOperation, resource: Resource): void {
    if (this.allows(origin, operation, resource)) return;
    throw this.denied(origin, operation, resource);
  }

  /** The refusal of a request the principal may not make: one audit line, the counter, and the typed error to throw or report. */
  denied(origin: RequestOrigin, operation: AclOperation, resource: Resource): StrataError {
    const principal = principalOf(origin.principal);
    this.#denied.inc({ operation, resource_type: resource.type });
    this.#logger.warn('authorization denied', {
      audit: 'authorization',
      principal,
      source: origin.host ?? '',
      operation,
      resource: `${resource.type}:${resource.name}`,
      outcome: 'denied',
      ...(origin.forwardedBy === undefined ? {} : { forwardedBy: origin.forwardedBy }),
    });
    return new StrataError(FAILURE_CODE[resource.type], `${principal} may not ${operation} ${resource.type} "${resource.name}" (no ACL allows it, or one denies it)`, {
      details: { reason: 'AUTHORIZATION_FAILED', principal, operation, resourceType: resource.type, resourceName: resource.name },
    });
  }
}
