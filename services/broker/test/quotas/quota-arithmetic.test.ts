// The quota arithmetic on an injected clock: the token bucket and its throttle time, the
// precedence of entities, and the bounds of the manager.

import { describe, expect, it } from 'vitest';
import type { QuotaRecord } from '@strata/coord';
import { Registry } from 'prom-client';
import { TokenBucket } from '../../src/quotas/token-bucket.js';
import { QuotaTable, quotaUserOf } from '../../src/quotas/quota-table.js';
import { QuotaManager } from '../../src/quotas/quota-manager.js';
import { captureLogger } from '../helpers.js';

const WINDOWS = { samples: 11, windowMs: 1000 };

describe('TokenBucket', () => {
  it('lets a first burst of (samples - 1) windows of the bound through, then throttles', () => {
    const b = new TokenBucket(WINDOWS);
    b.record(10_000, 1000, 0);
    expect(b.throttleMs(1000, 0)).toBe(0);
    b.record(1, 1000, 0);
    expect(b.throttleMs(1000, 0)).toBe(1);
  });

  it('throttles for the time the refill takes to pay the debt back, capped at one span', () => {
    const b = new TokenBucket(WINDOWS);
    b.record(20_000, 1000, 0); // 10,000 over the burst
    expect(b.throttleMs(1000, 0)).toBe(10_000);
    expect(b.throttleMs(1000, 4000)).toBe(6000);
    expect(b.throttleMs(2000, 4000)).toBe(3000); // a raised bound applies at once: the debt is paid back faster
    b.record(10_000_000, 1, 4001);
    expect(b.throttleMs(1, 4001)).toBe(11_000);
  });

  it('refills at the bound up to the burst, never past it', () => {
    const b = new TokenBucket(WINDOWS);
    b.record(10_000, 1000, 0);
    expect(b.throttleMs(1000, 1_000_000)).toBe(0);
    b.record(10_001, 1000, 1_000_000); // a long silence buys no more than the burst
    expect(b.throttleMs(1000, 1_000_000)).toBe(1);
  });

  it('refills nothing when the clock steps back', () => {
    const b = new TokenBucket(WINDOWS);
    b.record(12_000, 1000, 5000);
    b.record(0, 1000, 1000);
    expect(b.throttleMs(1000, 1000)).toBe(2000);
  });

  it('after pausing for the throttle time, the client is within its bound again', () => {
    const b = new TokenBucket(WINDOWS);
    const bound = 1000;
    let now = 0;
    let sent = 0;
    // A client that sends 5000 bytes whenever allowed and then pauses as told, for 60 s.
    while (now < 60_000) {
      b.record(5000, bound, now);
      sent += 5000;
      now += Math.max(1, b.throttleMs(bound, now));
    }
    // Held to its rate: the first burst plus the bound over the minute, within one request.
    expect(sent).toBeGreaterThanOrEqual(bound * 70);
    expect(sent).toBeLessThanOrEqual(bound * 70 + 5000);
  });

  it('takes a value back (an unsent answer)', () => {
    const b = new TokenBucket(WINDOWS);
    b.record(15_000, 1000, 0);
    b.record(-15_000, 1000, 0);
    b.record(10_000, 1000, 0);
    expect(b.throttleMs(1000, 0)).toBe(0);
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

  // `pnpm bench quotas` showed a producer always over its quota admitted in bursts one span apart
  // (per 5 s: 0.27, 1.92, 0.07 of its quota): with Kafka's sampled rate the window holding a burst
  // expires whole, and the span it frees is taken again at once, so the rate held only on average.
  it('holds a client always over its quota to its rate in every 5 s, not in bursts one span apart', () => {
    const clock = { now: 0 };
    const bound = 1024 * 1024;
    const m = manager([{ entity: { clientId: 'greedy' }, values: { producer_byte_rate: bound } }], clock);
    const requestBytes = 16 * 1024;
    const admittedPer5s = new Array<number>(12).fill(0);
    // A client that sends one request whenever it may (the muted connection or its own wait), for 60 s.
    while (clock.now < 60_000) {
      admittedPer5s[Math.floor(clock.now / 5000)]! += requestBytes;
      clock.now += Math.max(1, m.recordBytes('produce', { clientId: 'greedy' }, requestBytes));
    }
    // After the first span (its first burst, as Kafka allows), every 5 s is within 10% of the quota.
    const steady = admittedPer5s.slice(3).map((bytes) => bytes / (5 * bound));
    expect(Math.min(...steady)).toBeGreaterThan(0.9);
    expect(Math.max(...steady)).toBeLessThan(1.1);
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

  it('measures nobody while no user or client-id quota is in force, and starts with the first one set at runtime', () => {
    const clock = { now: 0 };
    const m = manager([{ entity: { ip: null }, values: { connection_creation_rate: 5 } }], clock);
    const client = { principal: 'User:alice', clientId: 'a' };
    expect(m.enforcing).toBe(false); // an ip quota measures connections, not clients
    expect(m.recordBytes('produce', client, 1e9)).toBe(0);
    expect(m.recordRequestTime(client, 1e6)).toBe(0);
    expect(m.fetchBytesCap(client)).toBeNull();
    expect(m.tracked).toBe(0);
    m.apply([{ entity: { user: 'alice' }, values: { producer_byte_rate: 1000 } }]);
    expect(m.enforcing).toBe(true);
    expect(m.recordBytes('produce', client, 20_000)).toBe(10_000);
    expect(m.throttleNow('produce', client)).toBe(10_000);
    m.apply([]);
    expect(m.enforcing).toBe(false);
    expect(m.throttleNow('produce', client)).toBe(0);
  });
});
