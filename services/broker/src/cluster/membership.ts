// Membership: this broker's registration and heartbeats, and the live set as last read
// (docs/architecture.md, "cluster"). The registration lives for the session TTL; a heartbeat that
// finds it expired registers again.

import { gauge, type ClusterState } from './cluster-state.js';
import { COORDINATOR_CALL_TIMEOUT_MS, HEARTBEATS_PER_SESSION_TTL } from './timings.js';

export class Membership {
  readonly #s: ClusterState;
  #heartbeatAt = 0;

  constructor(state: ClusterState) {
    this.#s = state;
    gauge(state.opts.metrics, 'strata_cluster_live_brokers', 'Live brokers as this broker last saw them.', () => state.brokers.size);
  }

  async register(): Promise<void> {
    const { opts } = this.#s;
    const registration = { id: this.#s.me, url: opts.url(), internalUrl: opts.internalUrl(), rack: null, startedAtMs: opts.startedAtMs, kafkaAddress: opts.kafkaAddress?.() ?? null };
    await this.#s.coord.registerBroker(registration, opts.config.sessionTtlMs, { signal: AbortSignal.timeout(opts.config.leaseTtlMs) });
    this.#heartbeatAt = performance.now();
  }

  /** Heartbeats when a fraction of the session TTL has passed (never while leaving). */
  async heartbeatIfDue(): Promise<void> {
    const { config, logger } = this.#s.opts;
    if (this.#s.leaving || performance.now() - this.#heartbeatAt < config.sessionTtlMs / HEARTBEATS_PER_SESSION_TTL) return;
    const sentAt = performance.now();
    const alive = await this.#s.coord.heartbeatBroker(this.#s.me, config.sessionTtlMs, { signal: AbortSignal.timeout(config.leaseTtlMs) });
    if (!alive) {
      logger.warn('the broker registration had expired; registering again');
      await this.register();
    }
    this.#heartbeatAt = sentAt;
  }

  /** The live set, read again. */
  async refresh(signal: AbortSignal): Promise<void> {
    const brokers = await this.#s.coord.listBrokers({ signal });
    this.#s.brokers = new Map(brokers.map((b) => [b.id, b]));
  }

  /** Leaving: out of the live set, so the controller reassigns this broker's partitions. */
  async deregister(): Promise<void> {
    await this.#s.coord.deregisterBroker(this.#s.me, { signal: AbortSignal.timeout(COORDINATOR_CALL_TIMEOUT_MS) }).catch((e: unknown) => {
      this.#s.opts.logger.warn('could not deregister; the registration will expire by itself', { err: e });
    });
  }

  liveBrokerCount(): number {
    return Math.max(1, this.#s.brokers.size);
  }
}
