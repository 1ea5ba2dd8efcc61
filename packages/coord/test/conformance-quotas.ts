// The client quota part of the Coordinator conformance suite (conformance.ts runs it for every
// engine): the same stored records, the same refusals, nothing stored by a refused call.

import { describe, expect, it } from 'vitest';
import { QUOTA_LIMITS, type QuotaChange } from '@strata/coord';
import { expectStrataError, type ConformanceTarget } from './conformance.js';

/** Runs inside describeCoordinatorConformance's describe: `current` is the test's fresh target. */
export function describeQuotaConformance(current: () => ConformanceTarget): void {
  const withTarget = (test: (t: ConformanceTarget) => Promise<void>) => () => test(current());
  describe('client quotas', () => {
    it('stores, merges, lists in entity-key order and removes values', withTarget(async ({ coordinator: co }) => {
      expect(await co.listQuotas()).toEqual([]);
      await co.alterQuotas([
        { entity: { user: 'alice', clientId: null }, set: { producer_byte_rate: 1024 } },
        { entity: { user: null }, set: { consumer_byte_rate: 2048, request_percentage: 12.5 } },
        { entity: { clientId: 'a,b=c<default>' }, set: { producer_byte_rate: 10 } },
        { entity: { ip: '10.0.0.1' }, set: { connection_creation_rate: 5 } },
      ]);
      await co.alterQuotas([{ entity: { user: 'alice', clientId: null }, set: { consumer_byte_rate: 99 } }]);
      expect(await co.listQuotas()).toEqual([
        { entity: { clientId: 'a,b=c<default>' }, values: { producer_byte_rate: 10 } },
        { entity: { ip: '10.0.0.1' }, values: { connection_creation_rate: 5 } },
        { entity: { user: null }, values: { consumer_byte_rate: 2048, request_percentage: 12.5 } },
        { entity: { user: 'alice', clientId: null }, values: { producer_byte_rate: 1024, consumer_byte_rate: 99 } },
      ]);
      await co.alterQuotas([
        { entity: { user: 'alice', clientId: null }, remove: ['producer_byte_rate', 'consumer_byte_rate'] },
        { entity: { ip: '10.0.0.2' }, remove: ['connection_creation_rate'] },
      ]);
      const left = await co.listQuotas();
      expect(left.map((r) => r.entity)).toEqual([{ clientId: 'a,b=c<default>' }, { ip: '10.0.0.1' }, { user: null }]);
    }));

    it('refuses bad changes whole, storing nothing', withTarget(async (t) => {
      const co = t.coordinator;
      await co.alterQuotas([{ entity: { user: 'bob' }, set: { producer_byte_rate: 1 } }]);
      const before = await t.footprint();
      const bad: [unknown, string][] = [
        [[{ entity: {}, set: { producer_byte_rate: 1 } }], 'INVALID_REQUEST'],
        [[{ entity: { ip: 'x', user: 'y' }, set: { connection_creation_rate: 1 } }], 'INVALID_REQUEST'],
        [[{ entity: { user: 'x' }, set: { connection_creation_rate: 1 } }], 'INVALID_CONFIG'],
        [[{ entity: { user: 'x' }, set: { producer_byte_rate: 0 } }], 'INVALID_CONFIG'],
        [[{ entity: { user: 'x' }, set: { producer_byte_rate: 1.5 } }], 'INVALID_CONFIG'],
        [[{ entity: { user: 'x' }, set: { nope: 1 } }], 'INVALID_CONFIG'],
        [[{ entity: { user: 'x' }, set: { producer_byte_rate: 1 }, remove: ['producer_byte_rate'] }], 'INVALID_REQUEST'],
        [[{ entity: { user: '' }, set: { producer_byte_rate: 1 } }], 'INVALID_REQUEST'],
        [[{ entity: { user: 'ok' }, set: { producer_byte_rate: 1 } }, { entity: { user: 'ok' }, remove: ['producer_byte_rate'] }], 'INVALID_REQUEST'],
        // a good change beside a bad one: neither is applied
        [[{ entity: { user: 'good' }, set: { producer_byte_rate: 1 } }, { entity: { user: 'x\n' }, set: { producer_byte_rate: 1 } }], 'INVALID_REQUEST'],
      ];
      for (const [changes, code] of bad) await expectStrataError(co.alterQuotas(changes as QuotaChange[]), code);
      expect(await t.footprint()).toBe(before);
    }));

    it('bounds the values stored (QUOTA_LIMITS.valuesMax)', withTarget(async (t) => {
      const co = t.coordinator;
      const perCall = QUOTA_LIMITS.changesPerCallMax;
      const full = QUOTA_LIMITS.valuesMax / 3;
      for (let start = 0; start < full; start += perCall) {
        const changes: QuotaChange[] = [];
        for (let i = start; i < Math.min(full, start + perCall); i++) changes.push({ entity: { user: `u${i}` }, set: { producer_byte_rate: 1, consumer_byte_rate: 1, request_percentage: 1 } });
        await co.alterQuotas(changes);
      }
      const before = await t.footprint();
      await expectStrataError(co.alterQuotas([{ entity: { clientId: 'one-more' }, set: { producer_byte_rate: 1 } }]), 'INVALID_REQUEST', 'QUOTA_LIMIT_REACHED');
      expect(await t.footprint()).toBe(before);
      // replacing a stored value is no growth
      await co.alterQuotas([{ entity: { user: 'u0' }, set: { producer_byte_rate: 7 } }]);
      expect((await co.listQuotas()).length).toBe(full);
    }), 60_000);
  });
}
