// The quota arithmetic on an injected clock: Kafka's sampled rate, its throttle time, the
// precedence of entities, and the bounds of the manager.

import { describe, expect, it } from 'vitest';
import type { QuotaRecord } from '@strata/coord';
import { Registry } from 'prom-client';
import { SampledRate } from '../../src/quotas/sampled-rate.js';
import { QuotaTable, quotaUserOf } from '../../src/quotas/quota-table.js';
import { QuotaManager } from '../../src/quotas/quota-manager.js';
import { captureLogger } from '../helpers.js';

const WINDOWS = { samples: 11, windowMs: 1000 };

describe('SampledRate', () => {
  it('measures a first burst over (samples - 1) windows, not over the moment it took', () => {
    const r = new SampledRate(WINDOWS);
    r.record(10_000, 0);
    expect(r.spanMs(0)).toBe(10_000);
    expect(r.ratePerSecond(0)).toBe(1_000);
  });

  it('measures over the windows that cover the elapsed time once past the minimum', () => {
    const r = new SampledRate(WINDOWS);
    for (let t = 0; t <= 10_500; t += 500) r.record(500, t); // 1000 bytes/s for 10.5 s
    expect(r.spanMs(10_500)).toBe(10_500);
    expect(r.ratePerSecond(10_500)).toBeCloseTo((22 * 500 * 1000) / 10_500, 6);
  });

  it('forgets windows older than the whole span', () => {
    const r = new SampledRate(WINDOWS);
    r.record(1_000_000, 0);
    for (let t = 1000; t <= 11_000; t += 1000) r.record(1, t);
    // At 11 s the first window (started at 0) is exactly one span old: gone.
    expect(r.ratePerSecond(11_000)).toBeLessThan(2);
  });

  it("throttles for Kafka's (rate - bound) / bound * span, capped at one span", () => {
    const r = new SampledRate(WINDOWS);
    r.record(20_000, 0); // 2000 bytes/s over the 10 s minimum span
    expect(r.throttleMs(2_000, 0)).toBe(0);
    expect(r.throttleMs(1_000, 0)).toBe(10_000); // (2000 - 1000) / 1000 * 10 s
    expect(r.throttleMs(1_500, 0)).toBe(Math.round((500 / 1500) * 10_000));
    r.record(10_000_000, 1);
    expect(r.throttleMs(1, 1)).toBe(11_000);
  });

  it('after pausing for the throttle time, the client is within its bound again', () => {
    const r = new SampledRate(WINDOWS);
    const bound = 1000;
    let now = 0;
    let sent = 0;
    // A client that sends 5000 bytes whenever allowed and then pauses as told, for 60 s.
    while (now < 60_000) {
      r.record(5000, now);
      sent += 5000;
      now += Math.max(1, r.throttleMs(bound, now));
    }
    // Held to its rate: what it sent over the minute is within a burst of bound * 60 s.
    expect(sent).toBeGreaterThan(bound * 50);
    expect(sent).toBeLessThan(bound * 60 + 5000 + bound * 11);
  });

  it('takes a value back (an unsent answer)', () => {
    const r = new SampledRate(WINDOWS);
    r.record(5000, 0);
    r.record(-5000, 0);
    expect(r.ratePerSecond(0)).toBe(0);
  });
});

describe('QuotaTable (KIP-55 precedence)', () => {
  const records: QuotaRecord[] = [
    { entity: { user: 'alice', clientId: 'app' }, values: { producer_byte_rate: 1 } },
    { entity: { user: 'alice', clientId: null }, values: { producer_byte_rate: 2, consumer_byte_rate: 20 } },
    { entity: { user: 'alice' }, values: { producer_byte_rate: 3, request_percentage: 30 } },
    { entity: { user: null, clientId: 'app' }, values: { producer_byte_rate: 4 } },
    { entity: { user: null, clientId: null }, values: { producer_byte_rate: 5 } },
    { entity: { user: null }, values: { producer_byte_rate: 6 } },
    { entity: { clientId: 'app' }, values: { producer_byte_rate: 7 } },
    { entity: { clientId: null }, values: { producer_byte_rate: 8, consumer_byte_rate: 80 } },
    { entity: { ip: '10.0.0.1' }, values: { connection_creation_rate: 9 } },
  ];

  it('takes the most specific entity holding the key, each key on its own', () => {
    const t = new QuotaTable(records);
    expect(t.resolve('producer_byte_rate', 'alice', 'app')).toEqual({ bound: 1, scope: 'alice\u0000app' });
    expect(t.resolve('producer_byte_rate', 'alice', 'other')).toEqual({ bound: 2, scope: 'alice\u0000other' });
    expect(t.resolve('request_percentage', 'alice', 'app')).toEqual({ bound: 30, scope: 'alice\u0000' });
    expect(t.resolve('consumer_byte_rate', 'alice', 'x')).toEqual({ bound: 20, scope: 'alice\u0000x' });
    expect(t.resolve('producer_byte_rate', 'bob', 'app')).toEqual({ bound: 4, scope: 'bob\u0000app' });
    expect(t.resolve('consumer_byte_rate', 'bob', 'app')).toEqual({ bound: 80, scope: '\u0000app' });
    expect(t.resolve('request_percentage', 'bob', 'app')).toBeNull();
    expect(t.connectionRate('10.0.0.1', 0)).toBe(9);
    expect(t.connectionRate('10.0.0.2', 3)).toBe(3);
  });

  it('walks the rest of the order as entities are missing', () => {
    const order = [5, 6, 7, 8].map((n) => new QuotaTable(records.filter((r) => (r.values.producer_byte_rate ?? 0) >= n)));
    expect(order.map((t) => t.resolve('producer_byte_rate', 'bob', 'app')?.bound)).toEqual([5, 6, 7, 8]);
    expect(new QuotaTable(records.slice(7)).resolve('producer_byte_rate', 'bob', '')?.bound).toBe(8);
  });

  it("names the user as Kafka's principal does", () => {
    expect(quotaUserOf(undefined)).toBe('ANONYMOUS');
    expect(quotaUserOf('User:alice')).toBe('alice');
    expect(quotaUserOf('CN=alice,O=acme')).toBe('CN=alice,O=acme');
  });
});

describe('QuotaManager', () => {
  function manager(records: QuotaRecord[], clock: { now: number }, trackedMax = 100) {
    const m = new QuotaManager({
      config: { windowSamples: 11, windowMs: 1000, refreshIntervalMs: 1000, trackedMax, connectionCreationRatePerIp: 0, maxConnectionsPerPrincipal: 0 },
      coordinator: { listQuotas: async () => records },
      logger: captureLogger([]),
      registry: new Registry(),
      now: () => clock.now,
    });
    m.apply(records);
    return m;
  }

  it('throttles a producer over producer_byte_rate and shares a user quota across client ids', () => {
    const clock = { now: 0 };
    const m = manager([{ entity: { user: 'alice' }, values: { producer_byte_rate: 1000 } }], clock);
    expect(m.recordBytes('produce', { principal: 'User:alice', clientId: 'a' }, 5000)).toBe(0);
    expect(m.recordBytes('produce', { principal: 'User:alice', clientId: 'b' }, 10_000)).toBe(5000);
    expect(m.throttleNow('produce', { principal: 'User:alice', clientId: 'c' })).toBe(5000);
    expect(m.recordBytes('produce', { principal: 'User:bob', clientId: 'a' }, 1e9)).toBe(0);
    expect(m.recordBytes('fetch', { principal: 'User:alice', clientId: 'a' }, 1e9)).toBe(0);
  });

  it('throttles on request_percentage as handler ms per second', () => {
    const clock = { now: 0 };
    const m = manager([{ entity: { clientId: null }, values: { request_percentage: 10 } }], clock);
    // 10% of one thread over the 10 s minimum span: 1000 ms of handler time.
    expect(m.recordRequestTime({ clientId: 'x' }, 1000)).toBe(0);
    expect(m.recordRequestTime({ clientId: 'x' }, 1000)).toBe(10_000);
  });

  it('caps a fetch at the bytes the quota allows over the span, and takes back an unsent answer', () => {
    const clock = { now: 0 };
    const m = manager([{ entity: { user: null }, values: { consumer_byte_rate: 100 } }], clock);
    expect(m.fetchBytesCap({ clientId: '' })).toBe(1000);
    expect(m.recordBytes('fetch', { clientId: '' }, 2000)).toBeGreaterThan(0);
    m.unrecordBytes('fetch', { clientId: '' }, 2000);
    expect(m.throttleNow('fetch', { clientId: '' })).toBe(0);
  });

  it('refuses connections past connection_creation_rate per IP, without counting them', () => {
    const clock = { now: 0 };
    const m = manager([{ entity: { ip: '10.0.0.1' }, values: { connection_creation_rate: 1 } }], clock);
    const admitted = Array.from({ length: 15 }, () => m.admitConnection('10.0.0.1')).filter(Boolean).length;
    expect(admitted).toBe(10); // 1/s over the 10 s minimum span
    expect(Array.from({ length: 15 }, () => m.admitConnection('10.0.0.2')).every(Boolean)).toBe(true);
  });

  it('tracks at most trackedMax rates, dropping the least recently used, and drops idle ones on refresh', async () => {
    const clock = { now: 0 };
    const m = manager([{ entity: { clientId: null }, values: { producer_byte_rate: 1 } }], clock, 100);
    for (let i = 0; i < 250; i++) m.recordBytes('produce', { clientId: `c${i}` }, 10);
    expect(m.tracked).toBe(100);
    clock.now = 12_000;
    m.recordBytes('produce', { clientId: 'fresh' }, 1);
    await m.refresh();
    expect(m.tracked).toBe(1);
  });
});
