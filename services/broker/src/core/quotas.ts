// Client quotas, managed (docs/architecture.md#quotas): what HTTP's /v1/quotas, the CLI and Kafka's
// DescribeClientQuotas/AlterClientQuotas call. The coordinator stores them (all or nothing, checked
// there); a change made through this broker is in force here at once, elsewhere at the next refresh.

import type { QuotaChange, QuotaRecord } from '@strata/coord';
import type { BrokerContext } from '../context.js';

export class QuotasCore {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  list(signal?: AbortSignal): Promise<QuotaRecord[]> {
    return this.#ctx.coordinator.listQuotas(signal === undefined ? {} : { signal });
  }

  /** Applies every change or none (INVALID_REQUEST / INVALID_CONFIG name each problem); answers every stored quota after it. */
  async alter(changes: readonly QuotaChange[], signal?: AbortSignal): Promise<QuotaRecord[]> {
    const options = signal === undefined ? {} : { signal };
    await this.#ctx.coordinator.alterQuotas(changes, options);
    const records = await this.#ctx.coordinator.listQuotas(options);
    this.#ctx.quotas.apply(records);
    this.#ctx.logger.info('client quotas changed', { entities: changes.length });
    return records;
  }
}
