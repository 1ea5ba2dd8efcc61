// core/producers.ts: producer ids from the coordinator's blocks, unique under concurrency and
// across blocks, one block request at a time.

import { Registry } from 'prom-client';
import type { Coordinator } from '@strata/coord';
import { Authorizer } from '../src/auth/authorizer.js';
import { createLogger } from '../src/logger.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '@strata/coord';
import { PRODUCER_ID_BLOCK_SIZE, ProducersCore } from '../src/core/producers.js';

let dir: string;
let coordinator: MemoryCoordinator;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-producers-core-'));
  coordinator = await MemoryCoordinator.open({ dir });
});
afterEach(async () => {
  await coordinator.close();
  await rm(dir, { recursive: true, force: true });
});

/** STRATA_AUTHORIZER=none: every check passes (the ACL checks have their own tests). */
function openAuthorizer(coordinator: Coordinator): Authorizer {
  return new Authorizer({
    config: { authorizer: 'none', superUsers: [], allowEveryoneIfNoAclFound: false, refreshIntervalMs: 1_000 },
    coordinator,
    logger: createLogger({ level: 'silent' }),
    metrics: new Registry(),
  });
}

describe('ProducersCore', () => {
  it('hands out unique ids to concurrent callers, crossing block boundaries with one block request at a time', async () => {
    let blockRequests = 0;
    const counting = new Proxy(coordinator, {
      get(target, key, receiver) {
        if (key === 'allocateProducerIds') {
          return (...args: Parameters<MemoryCoordinator['allocateProducerIds']>) => {
            blockRequests++;
            return target.allocateProducerIds(...args);
          };
        }
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const a = new ProducersCore(counting, 'b1', openAuthorizer(coordinator));
    const b = new ProducersCore(counting, 'b2', openAuthorizer(coordinator));
    const count = PRODUCER_ID_BLOCK_SIZE * 2 + 10;
    const signal = AbortSignal.timeout(10_000);
    const answers = await Promise.all(Array.from({ length: count }, (_, i) => (i % 2 === 0 ? a : b).initProducerId({}, {}, signal)));
    expect(new Set(answers.map((x) => x.producerId)).size).toBe(count);
    expect(answers.every((x) => x.producerEpoch === 0)).toBe(true);
    // Each core used about count / 2 ids: two blocks each, never a block per caller.
    expect(blockRequests).toBe(4);
  });

  it('refuses a transactional id with a typed error and takes no id for it', async () => {
    const core = new ProducersCore(coordinator, 'b1', openAuthorizer(coordinator));
    await expect(core.initProducerId({ transactionalId: 'tx-1' }, {}, AbortSignal.timeout(5_000))).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      details: { reason: 'TRANSACTIONS_UNSUPPORTED' },
    });
    const first = await core.initProducerId({ transactionalId: null, producerId: 5, producerEpoch: 3 }, {}, AbortSignal.timeout(5_000));
    // A producer without a transactional id always gets a new id, epoch 0 (as Kafka's coordinator answers).
    expect(first.producerEpoch).toBe(0);
    expect(first.producerId).not.toBe(5);
  });
});
