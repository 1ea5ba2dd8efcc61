// Idempotent producers' ids (Kafka's InitProducerId for a producer without a transactional id):
// each call hands out a producer id no producer got before, anywhere in the cluster and across
// restarts, with epoch 0. Ids come from the coordinator in blocks (Kafka's KIP-730), so most calls
// touch nothing remote. What the id buys is enforced where the batches land: each partition log
// keeps the producer's epoch and last sequences (@strata/log producer-state.ts).

import type { Coordinator } from '@strata/coord';
import { CLUSTER_RESOURCE_NAME, StrataError } from '@strata/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import type { RequestOrigin } from './leader-client.js';

/** Ids taken from the coordinator at a time (Kafka's KIP-730 block size). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export interface InitProducerIdRequest {
  /** Transactions are not supported: a transactional id is refused. */
  transactionalId?: string | null;
  /**
   * The producer's current id and epoch (KIP-360, InitProducerId v3+). A producer without a
   * transactional id gets a new id whatever it sends, as Kafka's transaction coordinator does.
   */
  producerId?: number;
  producerEpoch?: number;
}

export interface InitProducerIdResult {
  producerId: number;
  producerEpoch: number;
}

export class ProducersCore {
  readonly #coordinator: Coordinator;
  readonly #brokerId: string;
  /** The ids not handed out yet: [next, end). */
  #next = 0;
  #end = 0;
  /** One block request at a time: callers waiting for ids share it. */
  #refill: Promise<void> | null = null;

  readonly #authorizer: Authorizer;

  constructor(coordinator: Coordinator, brokerId: string, authorizer: Authorizer) {
    this.#coordinator = coordinator;
    this.#authorizer = authorizer;
    this.#brokerId = brokerId;
  }

  /** Kafka's InitProducerId without transactions: a new producer id, epoch 0. */
  async initProducerId(request: InitProducerIdRequest, origin: RequestOrigin, signal: AbortSignal): Promise<InitProducerIdResult> {
    if (request.transactionalId !== undefined && request.transactionalId !== null) {
      this.#authorizer.check(origin, 'write', { type: 'transactional-id', name: request.transactionalId });
      throw new StrataError('INVALID_REQUEST', 'transactional producers are not supported (Strata has no transactions): leave transactionalId unset for an idempotent producer', {
        details: { reason: 'TRANSACTIONS_UNSUPPORTED' },
      });
    }
    // Kafka's rule before KIP-679 (3.0) made write on any topic imply it: idempotent-write on the cluster.
    this.#authorizer.check(origin, 'idempotent-write', { type: 'cluster', name: CLUSTER_RESOURCE_NAME });
    return { producerId: await this.#nextId(signal), producerEpoch: 0 };
  }

  async #nextId(signal: AbortSignal): Promise<number> {
    // Bounded: each pass either takes an id or waits for a block of PRODUCER_ID_BLOCK_SIZE fresh ones.
    for (let attempt = 0; attempt < 100; attempt++) {
      if (this.#next < this.#end) return this.#next++;
      // Shared by every waiting caller, so no one caller's signal aborts it: the coordinator's own call deadline bounds it.
      this.#refill ??= this.#coordinator
        .allocateProducerIds(this.#brokerId, PRODUCER_ID_BLOCK_SIZE)
        .then((block) => {
          this.#next = block.firstId;
          this.#end = block.firstId + block.size;
        })
        .finally(() => {
          this.#refill = null;
        });
      await this.#refill;
      signal.throwIfAborted();
    }
    throw new StrataError('REQUEST_TIMED_OUT', 'no producer id could be taken: every block was used up by other callers before this one');
  }
}
