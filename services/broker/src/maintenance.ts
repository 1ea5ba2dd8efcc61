// The maintenance timer: every interval, one pass calls log.maintain() on each
// partition in turn (roll by segment.ms, retention, flush.ms). Partitions are
// visited one at a time, yielding between them, so the work is staggered; the
// next pass is scheduled only when this one ends, so passes never overlap.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from './logger.js';
import type { BrokerMetrics } from './metrics.js';
import { PeriodicPass } from './periodic-pass.js';
import type { PartitionHandle } from './topics/topic-registry.js';

export interface MaintenanceOptions {
  intervalMs: number;
  partitions: () => Iterable<PartitionHandle>;
  /** False once the partition's topic is gone (a failure then is expected, not an error). */
  isLive: (handle: PartitionHandle) => boolean;
  logger: Logger;
  metrics: BrokerMetrics;
}

export class MaintenanceLoop {
  readonly #opts: MaintenanceOptions;
  readonly #loop: PeriodicPass;

  constructor(options: MaintenanceOptions) {
    this.#opts = options;
    this.#loop = new PeriodicPass(options.intervalMs, () => this.#pass());
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops scheduling and waits for a running pass to finish. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #pass(): Promise<void> {
    const end = this.#opts.metrics.maintenanceDuration.startTimer();
    for (const handle of [...this.#opts.partitions()]) {
      if (this.#loop.stopped) break;
      if (!this.#opts.isLive(handle)) continue;
      try {
        await handle.log.maintain();
        this.#opts.metrics.maintenanceRuns.inc({ result: 'ok' });
      } catch (e) {
        if (!this.#opts.isLive(handle)) continue; // deleted under us
        this.#opts.metrics.maintenanceRuns.inc({ result: 'error' });
        this.#opts.logger.error('log maintenance failed', { topic: handle.topic, partition: handle.partition, err: e });
      }
      await yieldToEventLoop();
    }
    end();
  }
}
