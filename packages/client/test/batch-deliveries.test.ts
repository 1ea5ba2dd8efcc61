// A batch's deliveries: send()'s fast path gets a reaction on the batch's one outcome promise, callbacks
// and sends that waited are explicit; a batch that mixes them still gives each record its own offset.
import { describe, expect, it } from 'vitest';
import { StrataError } from '@strata/protocol';
import { Batch } from '../src/producer-state.js';
import { emptyRecordParts, measureRecord, type RecordMetadata, type RecordParts } from '../src/records.js';

function parts(value: string): RecordParts {
  const into = emptyRecordParts();
  measureRecord({ topic: 't', value }, into);
  return into;
}

/** Appends a record and hands back its delivery: a promise, or an explicit callback's outcome. */
function appendPromise(batch: Batch, value: string): Promise<RecordMetadata> {
  batch.builder.append(parts(value), 1_000);
  return batch.delivery();
}

function appendCallback(batch: Batch, value: string): Promise<RecordMetadata> {
  batch.builder.append(parts(value), 1_000);
  return new Promise((resolve, reject) => batch.join((error, metadata) => (error === null ? resolve(metadata!) : reject(error)), null));
}

describe('Batch deliveries', () => {
  it('gives each record of a batch its own offset, promises and callbacks mixed in any order', async () => {
    const batch = new Batch(0, 1024);
    const deliveries = [
      appendPromise(batch, 'a'),
      appendPromise(batch, 'b'),
      appendCallback(batch, 'c'),
      appendPromise(batch, 'd'),
      appendCallback(batch, 'e'),
      appendPromise(batch, 'f'),
    ];
    batch.deliver('t', 3, 100);
    const offsets = (await Promise.all(deliveries)).map((m) => m.offset);
    expect(offsets).toEqual([100, 101, 102, 103, 104, 105]);
    expect(await deliveries[3]).toEqual({ topic: 't', partition: 3, offset: 103 });
  });

  it('answers offset -1 for every record when the broker gives none (acks 0)', async () => {
    const batch = new Batch(0, 1024);
    const deliveries = [appendCallback(batch, 'a'), appendPromise(batch, 'b')];
    batch.deliver('t', 0, -1);
    expect((await Promise.all(deliveries)).map((m) => m.offset)).toEqual([-1, -1]);
  });

  it('fails every record with the batch error, promises and callbacks alike', async () => {
    const batch = new Batch(0, 1024);
    const deliveries = [appendPromise(batch, 'a'), appendCallback(batch, 'b'), appendPromise(batch, 'c')];
    const error = new StrataError('NOT_LEADER', 'moved');
    batch.fail(error);
    const outcomes = await Promise.allSettled(deliveries);
    expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : null))).toEqual([error, error, error]);
  });
});
