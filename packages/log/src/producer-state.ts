// One partition's idempotent-producer state (Kafka's ProducerStateManager, without transactions):
// per producer id, its epoch and the last PRODUCER_BATCHES_RETAINED batches' sequence ranges and
// offsets. A client batch is checked against it before the append (the partition's serial queue
// makes check and append one step): a batch equal to a retained one is a duplicate, answered with
// its original offsets and not written; the next sequence is written; anything else is refused.
// Followers and recovery replay batches without checks (Kafka's REPLICATION origin): the leader
// checked them. The rules, as Kafka 3.x applies them to a produce (ProducerAppendInfo):
//
//   same epoch  : firstSeq == lastSeq + 1 (wrapping at int32 max to 0), else OUT_OF_ORDER_SEQUENCE_NUMBER
//   newer epoch : firstSeq == 0, else OUT_OF_ORDER_SEQUENCE_NUMBER (the batch queue starts over)
//   older epoch : INVALID_PRODUCER_EPOCH (Kafka >= 2.7 answers this, not PRODUCER_FENCED, to a produce)
//   unknown id  : any sequence is accepted (Kafka >= 2.5, KIP-360: a producer whose state expired
//                 or was deleted with the log goes on; UNKNOWN_PRODUCER_ID is no longer answered)

import { BatchField, SEQUENCE_MAX, StrataError, incrementSequence, readInt64, type BatchFrame } from '@strata/protocol';

/** Batches remembered per producer: Kafka's NUM_BATCHES_TO_RETAIN (its max.in.flight.requests.per.connection cap for idempotence). */
export const PRODUCER_BATCHES_RETAINED = 5;

/** What bounds one partition's producer state. */
export interface ProducerStateLimits {
  /** Kafka's producer.id.expiration.ms (a broker setting): a producer idle this long (ms) is forgotten. */
  producerIdExpirationMs: number;
  /** Producer ids kept per partition; past it the least recently active is forgotten first (memory bound). */
  producersMax: number;
}

export const DEFAULT_PRODUCER_STATE_LIMITS: Readonly<ProducerStateLimits> = Object.freeze({
  producerIdExpirationMs: 86_400_000,
  producersMax: 5_000,
});

/** One written batch of a producer, as a duplicate is answered. */
export interface ProducerBatch {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
  /** The batch's max timestamp (ms). */
  timestamp: number;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_RETAINED, never empty. */
  batches: ProducerBatch[];
  /** The broker's clock (ms) at the producer's last write here: expiry counts from it. */
  lastActiveMs: number;
}

/** The idempotence fields of a batch header. */
export interface ProducerFields {
  producerId: number;
  epoch: number;
  firstSeq: number;
  lastSeq: number;
}

/** A client batch's verdict: null = write it; else the original offsets of the batch it duplicates. */
export type DuplicateOf = { baseOffset: number; lastOffset: number } | null;

/** The producer fields of the batch at `frame`, or null for a batch without a producer id. */
export function producerFields(buf: Buffer, frame: BatchFrame): ProducerFields | null {
  const producerId = readInt64(buf, frame.position + BatchField.producerId);
  if (producerId < 0) return null;
  const firstSeq = buf.readInt32BE(frame.position + BatchField.baseSequence);
  return { producerId, epoch: buf.readInt16BE(frame.position + BatchField.producerEpoch), firstSeq, lastSeq: incrementSequence(firstSeq, frame.lastOffsetDelta) };
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === SEQUENCE_MAX);
}

/** Each producer's epoch and last sequence among batches checked but not yet recorded. */
export type StagedProducers = Map<number, { epoch: number; lastSeq: number }>;

export class ProducerStates {
  /** Least recently active first: a write moves its producer to the end (the LRU the bound evicts from). */
  #entries = new Map<number, ProducerEntry>();
  #limits: ProducerStateLimits;

  constructor(limits: ProducerStateLimits = DEFAULT_PRODUCER_STATE_LIMITS) {
    this.#limits = { ...limits };
  }

  get size(): number {
    return this.#entries.size;
  }

  get(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.#entries.get(producerId);
  }

  /** Every entry, least recently active first (a snapshot's content). */
  entries(): IterableIterator<ProducerEntry> {
    return this.#entries.values();
  }

  /**
   * The verdict of each client batch, in order, checked batch by batch (a batch sees the ones before
   * it in the same append); null when none is a duplicate (the common case costs no array). Throws
   * at the first refused batch: nothing of the append may be written. `staged`: the producers'
   * batches already accepted for the same write, not yet recorded (append-groups.ts); it is updated.
   */
  check(buf: Buffer, frames: readonly BatchFrame[], where: string, staged: StagedProducers | null = null): DuplicateOf[] | null {
    let verdicts: DuplicateOf[] | null = null;
    for (let i = 0; i < frames.length; i++) {
      const fields = producerFields(buf, frames[i]!);
      if (fields === null) continue;
      const { producerId, epoch, firstSeq, lastSeq } = fields;
      const details = { producerId, producerEpoch: epoch, baseSequence: firstSeq, batchIndex: i };
      if (epoch < 0) throw new StrataError('INVALID_RECORD', `${where}: batch ${i} has producer id ${producerId} but producer epoch ${epoch}`, { details });
      const entry = this.#entries.get(producerId);
      const earlier = staged?.get(producerId);
      if (earlier === undefined && entry !== undefined && entry.epoch === epoch) {
        const duplicate = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
        if (duplicate !== undefined) {
          verdicts ??= new Array<DuplicateOf>(frames.length).fill(null);
          verdicts[i] = { baseOffset: duplicate.baseOffset, lastOffset: duplicate.lastOffset };
          continue;
        }
      }
      const current = earlier ?? (entry === undefined ? undefined : { epoch: entry.epoch, lastSeq: entry.batches.at(-1)!.lastSeq });
      if (current !== undefined) {
        if (epoch < current.epoch) {
          throw new StrataError(
            'INVALID_PRODUCER_EPOCH',
            `${where}: producer ${producerId} sent epoch ${epoch}, older than its epoch ${current.epoch} here (a newer instance of the producer took over); nothing was written`,
            { details: { ...details, currentEpoch: current.epoch } },
          );
        }
        if (epoch > current.epoch ? firstSeq !== 0 : !inSequence(current.lastSeq, firstSeq)) {
          const expected = epoch > current.epoch ? 0 : incrementSequence(current.lastSeq, 1);
          throw new StrataError(
            'OUT_OF_ORDER_SEQUENCE_NUMBER',
            `${where}: producer ${producerId} (epoch ${epoch}) sent sequence ${firstSeq}, expected ${expected}` +
              (epoch > current.epoch ? ' (a new epoch starts at 0)' : ' (a batch before it is missing)') +
              '; nothing was written',
            { details: { ...details, expectedSequence: expected } },
          );
        }
      }
      staged ??= new Map();
      staged.set(producerId, { epoch, lastSeq });
    }
    return verdicts;
  }

  /** A batch was written at [baseOffset, lastOffset] (by a client, a leader we follow, or found by recovery). */
  record(fields: ProducerFields, baseOffset: number, lastOffset: number, timestamp: number, nowMs: number): void {
    const { producerId, epoch } = fields;
    let entry = this.#entries.get(producerId);
    if (entry !== undefined) this.#entries.delete(producerId);
    if (entry === undefined || entry.epoch !== epoch) {
      entry = { producerId, epoch, batches: [], lastActiveMs: nowMs };
    }
    entry.batches.push({ firstSeq: fields.firstSeq, lastSeq: fields.lastSeq, baseOffset, lastOffset, timestamp });
    if (entry.batches.length > PRODUCER_BATCHES_RETAINED) entry.batches.shift();
    entry.lastActiveMs = Math.max(entry.lastActiveMs, nowMs);
    this.#entries.set(producerId, entry);
    if (this.#entries.size > this.#limits.producersMax) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Forgets producers idle for producer.id.expiration.ms or longer; returns how many. */
  expire(nowMs: number): number {
    let expired = 0;
    for (const [producerId, entry] of this.#entries) {
      if (nowMs - entry.lastActiveMs < this.#limits.producerIdExpirationMs) continue;
      this.#entries.delete(producerId);
      expired++;
    }
    return expired;
  }

  /** Replaces the state (a snapshot loaded); entries in the order given (least recently active first). */
  replace(entries: Iterable<ProducerEntry>): void {
    this.#entries = new Map();
    for (const entry of entries) this.#entries.set(entry.producerId, entry);
    while (this.#entries.size > this.#limits.producersMax) this.#entries.delete(this.#entries.keys().next().value!);
  }

  clear(): void {
    this.#entries = new Map();
  }

  updateLimits(limits: ProducerStateLimits): void {
    this.#limits = { ...limits };
  }
}
