// The expiry of consumer groups (Kafka's offsets.retention.minutes): every interval, one pass
// asks the coordinator to expire what is due in a bounded slice of the groups
// (Coordinator.expireGroups), continuing from where the previous pass stopped. One broker runs
// it: the controller (a single node is its own; the others skip their turn), so the work is done
// once, not once per broker. A pass never overlaps the next; a failed pass is
// logged and the next one starts the round again.

import type { Coordinator } from '@strata/coord';
import type { Logger } from './logger.js';
import { PeriodicPass } from './periodic-pass.js';

export interface GroupExpiryOptions {
  coordinator: Coordinator;
  intervalMs: number;
  offsetsRetentionMs: number;
  groupsPerPass: number;
  /** False while another broker is the controller. */
  isResponsible: () => boolean;
  logger: Logger;
  /** Deadline of one pass's coordinator call. */
  callTimeoutMs?: number;
}

const PASS_CALL_TIMEOUT_MS = 30_000;

export class GroupExpiryLoop {
  readonly #opts: GroupExpiryOptions;
  readonly #loop: PeriodicPass;
  #cursor = '';

  constructor(options: GroupExpiryOptions) {
    this.#opts = options;
    this.#loop = new PeriodicPass(options.intervalMs, () => this.#pass(), { keepsProcessAlive: false });
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops scheduling and waits for a running pass to finish. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #pass(): Promise<void> {
    if (!this.#opts.isResponsible()) {
      this.#cursor = '';
      return;
    }
    try {
      const result = await this.#opts.coordinator.expireGroups(
        { offsetsRetentionMs: this.#opts.offsetsRetentionMs, groupsMax: this.#opts.groupsPerPass, cursor: this.#cursor },
        { signal: AbortSignal.timeout(this.#opts.callTimeoutMs ?? PASS_CALL_TIMEOUT_MS) },
      );
      this.#cursor = result.cursor;
      if (result.offsetsExpired > 0 || result.groupsDeleted > 0) {
        this.#opts.logger.info('expired consumer group offsets', {
          groupsVisited: result.groupsVisited,
          offsetsExpired: result.offsetsExpired,
          groupsDeleted: result.groupsDeleted,
        });
      }
    } catch (e) {
      this.#cursor = '';
      this.#opts.logger.warn('consumer group expiry failed; the next pass retries', { err: e });
    }
  }
}
