// Idempotent producers' sequence numbers (RecordBatch baseSequence): int32, wrapping from
// 2^31-1 to 0, as Kafka's DefaultRecordBatch.incrementSequence. The producer stamps them, each
// partition log checks them (@strata/log producer-state.ts): one rule for both.

export const SEQUENCE_MAX = 0x7fffffff;

/** `sequence` moved on by `increment` (a batch's first sequence plus lastOffsetDelta is its last), wrapping at SEQUENCE_MAX to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > SEQUENCE_MAX - increment ? increment - (SEQUENCE_MAX - sequence) - 1 : sequence + increment;
}
