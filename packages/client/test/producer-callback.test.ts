// send(record, callback): Kafka's callback form, no promise per record.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StrataError } from '@strata/protocol';
import { Admin, Producer, type RecordMetadata } from '../src/index.js';
import { readPartition, startTestBroker, type TestBroker } from './helpers.js';

let broker: TestBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startTestBroker();
  admin = new Admin({ brokers: broker.url });
  producer = new Producer({ brokers: broker.url, bufferRecords: 50 });
});
afterAll(async () => {
  await producer.close();
  await admin.close();
  await broker.stop();
});

interface Outcome {
  error: unknown;
  metadata: RecordMetadata | undefined;
}

/** Sends with one shared callback, as a fast loop would; resolves once every callback ran. */
function sendAll(records: Array<Parameters<Producer['send']>[0]>): { returned: unknown[]; outcomes: Promise<Outcome[]> } {
  const outcomes: Outcome[] = new Array<Outcome>(records.length);
  let done = 0;
  let finish!: (all: Outcome[]) => void;
  const all = new Promise<Outcome[]>((resolve) => (finish = resolve));
  const returned = records.map((record, i) =>
    producer.send(record, (error, metadata) => {
      outcomes[i] = { error, metadata };
      if (++done === records.length) finish(outcomes);
    }),
  );
  return { returned, outcomes: all };
}

describe('Producer.send(record, callback)', () => {
  it('calls back once per record, in order, with its offset, through waits for buffer space too', async () => {
    await admin.createTopic({ name: 'called-back', partitions: 1 });
    // 200 records with bufferRecords 50: most wait for space before they join a batch.
    const { returned, outcomes } = sendAll(Array.from({ length: 200 }, (_, i) => ({ topic: 'called-back', value: `v${i}` })));
    expect(returned.every((r) => r === undefined)).toBe(true);
    const results = await outcomes;
    expect(results.map((r) => r.error)).toEqual(results.map(() => null));
    expect(results.map((r) => r.metadata)).toEqual(results.map((_, i) => ({ topic: 'called-back', partition: 0, offset: i })));
    expect((await readPartition(broker.url, 'called-back', 0)).map((r) => r.value)).toEqual(results.map((_, i) => `v${i}`));
  });

  it('mixes with promise sends in one batch, each record its own offset', async () => {
    await admin.createTopic({ name: 'mixed', partitions: 1 });
    const viaCallback = sendAll([0, 2, 4].map((i) => ({ topic: 'mixed', value: `v${i}` })));
    // Interleave: promise sends go between the callback ones in send order.
    const promised: Array<Promise<RecordMetadata>> = [];
    const order: string[] = [];
    const callbacks = new Promise<void>((resolve) => {
      let left = 2;
      for (const i of [6, 8]) {
        promised.push(producer.send({ topic: 'mixed', value: `p${i}` }));
        producer.send({ topic: 'mixed', value: `c${i}` }, (error, metadata) => {
          order.push(`c${i}:${String(error)}:${metadata?.offset}`);
          if (--left === 0) resolve();
        });
      }
    });
    expect((await viaCallback.outcomes).map((r) => r.metadata?.offset)).toEqual([0, 1, 2]);
    expect((await Promise.all(promised)).map((m) => m.offset)).toEqual([3, 5]);
    await callbacks;
    expect(order).toEqual(['c6:null:4', 'c8:null:6']);
  });

  it('rethrows what a callback throws on its own stack (never swallowed), and settles the other records', async () => {
    await admin.createTopic({ name: 'throwing', partitions: 1 });
    // The rethrow would be an uncaught exception: catch it where it is queued, to look at it.
    const thrown: unknown[] = [];
    const queue = globalThis.queueMicrotask.bind(globalThis);
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) =>
      queue(() => {
        try {
          task();
        } catch (e) {
          thrown.push(e);
        }
      }),
    );
    try {
      const offsets: Array<number | undefined> = [];
      await new Promise<void>((resolve) => {
        for (let i = 0; i < 3; i++) {
          producer.send({ topic: 'throwing', value: `v${i}` }, (_error, metadata) => {
            offsets.push(metadata?.offset);
            if (i === 2) resolve();
            if (i === 0) throw new Error('a bug in the caller\'s callback');
          });
        }
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(offsets).toEqual([0, 1, 2]);
      expect(thrown).toHaveLength(1);
      expect((thrown[0] as Error).message).toBe('a bug in the caller\'s callback');
    } finally {
      spy.mockRestore();
    }
  });

  it('passes a refused record\'s error to its callback, never synchronously, and the failure of its batch too', async () => {
    let calledDuringSend = true;
    const invalid = new Promise<unknown>((resolve) => producer.send({ topic: 'called-back' } as never, (error) => resolve(error)));
    calledDuringSend = false;
    const error = await invalid;
    expect(calledDuringSend).toBe(false);
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: 'INVALID_RECORD' });
    // A send that waited for metadata of a topic that does not exist.
    const { outcomes } = sendAll([{ topic: 'no-such-topic', value: 'x' }]);
    const [missing] = await outcomes;
    expect(missing!.metadata).toBeUndefined();
    expect(missing!.error).toMatchObject({ code: 'UNKNOWN_TOPIC', retriable: false });
  });
});
