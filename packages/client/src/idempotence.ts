// The idempotent producer's identity (producer.ts): the producer id and epoch taken once from a
// broker (POST /v1/producers, Kafka's InitProducerId), a generation that changes each time a new id
// is taken, and each partition's next sequence under it. Batches are stamped when they are encoded,
// right before their first send, so a retry resends the same producer id, epoch and sequence.

import { incrementSequence } from '@strata/protocol';
import type { ProducerIdentity, StrataApi } from './api.js';
import type { PartitionState } from './producer-state.js';

export type StampedIdentity = ProducerIdentity & { readonly generation: number };

export interface BatchStamp {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export class Idempotence {
  readonly #api: StrataApi;
  #identity: StampedIdentity | null = null;
  #loading: Promise<void> | null = null;
  #generation = 0;

  constructor(api: StrataApi) {
    this.#api = api;
  }

  /** The identity to stamp batches with; null until taken (or after forget()). */
  get current(): StampedIdentity | null {
    return this.#identity;
  }

  /** Takes a new producer id unless a request for one is out; `done` runs once it settled (error or null). */
  load(deadlineMs: number, done: (error: unknown) => void): void {
    if (this.#loading !== null) return;
    this.#loading = this.#api
      .initProducerId({ deadline: deadlineMs })
      .then(
        (answer) => {
          this.#identity = { ...answer, generation: ++this.#generation };
          return null;
        },
        (e: unknown) => e,
      )
      .then((error) => {
        this.#loading = null;
        done(error);
      });
  }

  /**
   * A batch stamped with `stampedWith` failed for good: whether its sequences were written is
   * unknown, so the partition's next batches would be refused as out of order. Start over with a
   * new producer id (Kafka bumps the epoch), and every partition's sequences from 0.
   */
  forget(stampedWith: StampedIdentity): void {
    if (this.#identity?.generation === stampedWith.generation) this.#identity = null;
  }

  /** The idempotence fields of the partition's next batch of `count` records (its sequences are then used). */
  stamp(tp: PartitionState, identity: StampedIdentity, count: number): BatchStamp {
    if (tp.sequenceGeneration !== identity.generation) {
      tp.sequenceGeneration = identity.generation;
      tp.nextSequence = 0;
    }
    const baseSequence = tp.nextSequence;
    tp.nextSequence = incrementSequence(baseSequence, count);
    return { producerId: identity.producerId, producerEpoch: identity.producerEpoch, baseSequence };
  }
}
