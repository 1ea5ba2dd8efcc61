// Client quotas on this broker (docs/architecture.md#quotas): the quotas the coordinator holds,
// read every STRATA_QUOTA_REFRESH_INTERVAL_MS (and at once after a change made here), and what each
// client took here, per broker, as Kafka's (each broker enforces the whole quota on its own share
// of the traffic).
//
// Every front door asks the same questions: how long must this client pause after these bytes
// (produce, fetch) or this handler time (request_percentage), and may this address open one more
// connection. The answers are Kafka's throttle times (token-bucket.ts); what a front door does with
// them is its own (Kafka: throttle_time_ms and a muted connection; HTTP: 429 and Retry-After).
//
// Bounded: at most STRATA_QUOTA_TRACKED_MAX buckets, kept in least-recently-used order (a Map's
// insertion order, renewed on each use); past it the least recently used is dropped, which loses
// nothing a client could have been held to for more than one span (an idle bucket is full again by
// then; the refresh also drops those idle for a whole span).

import type { Coordinator, QuotaKey, QuotaRecord } from '@strata/coord';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { QuotasConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { PeriodicPass } from '../periodic-pass.js';
import { TokenBucket, type RateWindows } from './token-bucket.js';
import { QuotaTable, quotaUserOf } from './quota-table.js';

/** What a front door knows of its client. */
export interface ClientIdentity {
  /** RequestOrigin.principal: `User:<name>` (or an mTLS subject); absent = ANONYMOUS. */
  principal?: string | undefined;
  /** Kafka's request header client_id; HTTP's X-Client-Id header; "" when none. */
  clientId: string;
}

export type ByteQuota = 'produce' | 'fetch';
type QuotaKind = ByteQuota | 'request' | 'connection';

const KEY_OF: Readonly<Record<Exclude<QuotaKind, 'connection'>, QuotaKey>> = { produce: 'producer_byte_rate', fetch: 'consumer_byte_rate', request: 'request_percentage' };
/** request_percentage is a share of one thread: handler ms per second, over 10 ms per percent. */
const MS_PER_SECOND_PER_PERCENT = 10;

export interface QuotaManagerOptions {
  config: QuotasConfig;
  coordinator: Pick<Coordinator, 'listQuotas'>;
  logger: Logger;
  registry: Registry;
  /** ms; Date.now by default (tests pass their own clock). */
  now?: () => number;
}

export class QuotaManager {
  readonly #o: QuotaManagerOptions;
  readonly #windows: RateWindows;
  readonly #now: () => number;
  #table = new QuotaTable([]);
  readonly #rates = new Map<string, TokenBucket>();
  readonly #refresher: PeriodicPass;
  readonly #throttled: Counter<'kind'>;
  readonly #throttleMs: Counter<'kind'>;

  constructor(options: QuotaManagerOptions) {
    this.#o = options;
    this.#windows = { samples: options.config.windowSamples, windowMs: options.config.windowMs };
    this.#now = options.now ?? Date.now;
    this.#refresher = new PeriodicPass(options.config.refreshIntervalMs, () => this.refresh());
    const registers = [options.registry];
    this.#throttled = new Counter({ name: 'strata_quota_throttled_total', help: 'Answers throttled by a client quota (produce, fetch, request) and connections refused by connection_creation_rate (connection), by kind.', labelNames: ['kind'], registers });
    this.#throttleMs = new Counter({ name: 'strata_quota_throttle_ms_total', help: 'Throttle time handed to clients over their quota, ms, by kind.', labelNames: ['kind'], registers });
    const rates = this.#rates;
    new Gauge({ name: 'strata_quota_tracked', help: 'Quota rates this broker measures now (bounded by STRATA_QUOTA_TRACKED_MAX).', registers, collect() { this.set(rates.size); } });
  }

  /** Reads the quotas once, then every refresh interval. */
  async start(): Promise<void> {
    await this.refresh();
    this.#refresher.start();
  }

  stop(): Promise<void> {
    return this.#refresher.stop();
  }

  /** Reads the quotas from the coordinator; a failure keeps the last ones (and is logged). */
  async refresh(): Promise<void> {
    try {
      this.apply(await this.#o.coordinator.listQuotas({ signal: AbortSignal.timeout(this.#o.config.refreshIntervalMs) }));
    } catch (e) {
      this.#o.logger.warn('reading the client quotas failed; the last ones stay in force', { err: e });
    }
    this.#dropIdle(this.#now());
  }

  /** Puts `records` in force (after a refresh, or a change made through this broker). */
  apply(records: readonly QuotaRecord[]): void {
    this.#table = new QuotaTable(records);
  }

  /**
   * Whether any user or client-id quota is in force now: when none is (the default), a front door
   * skips the quota work of a request altogether (issue #11: it cost every produce). Asked per
   * request, so a quota set at runtime (here, or on another broker and read by the refresh) holds
   * every request that starts after it is in force.
   */
  get enforcing(): boolean {
    return this.#table.hasClientQuotas;
  }

  /** Records `bytes` produced or fetched; answers the throttle time (ms), 0 within the quota. */
  recordBytes(kind: ByteQuota, client: ClientIdentity, bytes: number): number {
    return this.#record(kind, client, bytes, 1);
  }

  /** Takes back bytes recorded for an answer that was not sent (a throttled fetch answers empty, as Kafka's). */
  unrecordBytes(kind: ByteQuota, client: ClientIdentity, bytes: number): void {
    if (!this.enforcing) return;
    const user = quotaUserOf(client.principal);
    const quota = this.#table.resolve(KEY_OF[kind], user, client.clientId);
    if (quota !== null) this.#rates.get(`${kind}\u0000${quota.scope}`)?.record(-bytes, quota.bound, this.#now());
  }

  /** Records `ms` of handler time (request_percentage); answers the throttle time (ms). */
  recordRequestTime(client: ClientIdentity, ms: number): number {
    return this.#record('request', client, ms, MS_PER_SECOND_PER_PERCENT);
  }

  /** The throttle time owed now without recording anything: HTTP refuses a request while it is > 0. */
  throttleNow(kind: ByteQuota | 'request', client: ClientIdentity): number {
    if (!this.enforcing) return 0;
    const quota = this.#table.resolve(KEY_OF[kind], quotaUserOf(client.principal), client.clientId);
    if (quota === null) return 0;
    const rate = this.#rates.get(`${kind}\u0000${quota.scope}`);
    return rate === undefined ? 0 : rate.throttleMs(quota.bound * (kind === 'request' ? MS_PER_SECOND_PER_PERCENT : 1), this.#now());
  }

  /**
   * The most bytes one fetch may return to this client: Kafka caps a fetch at what the quota allows
   * over the measured span, so one answer cannot take many spans' worth at once. null: no quota.
   */
  fetchBytesCap(client: ClientIdentity): number | null {
    if (!this.enforcing) return null;
    const quota = this.#table.resolve('consumer_byte_rate', quotaUserOf(client.principal), client.clientId);
    if (quota === null) return null;
    return Math.max(1, Math.floor((quota.bound * (this.#windows.samples - 1) * this.#windows.windowMs) / 1000));
  }

  /** Counts a new connection from `ip`; false when it goes past the address's connection_creation_rate (it is refused, and not counted). */
  admitConnection(ip: string): boolean {
    const bound = this.#table.connectionRate(ip, this.#o.config.connectionCreationRatePerIp);
    if (bound <= 0) return true;
    const now = this.#now();
    const rate = this.#rate(`connection\u0000${ip}`);
    rate.record(1, bound, now);
    if (rate.throttleMs(bound, now) === 0) return true;
    rate.record(-1, bound, now);
    this.#throttled.inc({ kind: 'connection' });
    return false;
  }

  /** Counts a throttle a front door applied (for the metrics). */
  #count(kind: QuotaKind, ms: number): void {
    this.#throttled.inc({ kind });
    this.#throttleMs.inc({ kind }, ms);
  }

  #record(kind: Exclude<QuotaKind, 'connection'>, client: ClientIdentity, value: number, boundScale: number): number {
    if (!this.enforcing) return 0;
    const quota = this.#table.resolve(KEY_OF[kind], quotaUserOf(client.principal), client.clientId);
    if (quota === null) return 0;
    const now = this.#now();
    const rate = this.#rate(`${kind}\u0000${quota.scope}`);
    rate.record(value, quota.bound * boundScale, now);
    const ms = rate.throttleMs(quota.bound * boundScale, now);
    if (ms > 0) this.#count(kind, ms);
    return ms;
  }

  /** The bucket of `key`, made when missing, moved to the most recently used end. */
  #rate(key: string): TokenBucket {
    let rate = this.#rates.get(key);
    if (rate !== undefined) this.#rates.delete(key);
    else {
      rate = new TokenBucket(this.#windows);
      if (this.#rates.size >= this.#o.config.trackedMax) this.#rates.delete(this.#rates.keys().next().value!);
    }
    this.#rates.set(key, rate);
    return rate;
  }

  #dropIdle(now: number): void {
    const idleMs = this.#windows.samples * this.#windows.windowMs;
    for (const [key, rate] of this.#rates) if (now - rate.lastRecordMs > idleMs) this.#rates.delete(key);
  }

  /** Rates tracked now (tests). */
  get tracked(): number {
    return this.#rates.size;
  }
}
