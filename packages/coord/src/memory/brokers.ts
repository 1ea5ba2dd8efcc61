// The in-process engine's broker registrations: in memory only, on purpose (a restarted process is
// a new process: its predecessor's heartbeats mean nothing).

import type { BrokerRegistration, CallOptions, LiveBroker } from '../coordinator.js';
import { sortBrokers } from '../results.js';
import type { MemoryState } from './state.js';

export async function registerBroker(s: MemoryState, broker: BrokerRegistration, ttlMs: number, options?: CallOptions): Promise<void> {
  s.args.registerBroker(broker, ttlMs);
  return s.serialize('registerBroker', options, async () => {
    const registration: BrokerRegistration = {
      id: broker.id,
      url: broker.url,
      internalUrl: broker.internalUrl,
      rack: broker.rack,
      kafkaAddress: broker.kafkaAddress ?? null,
      startedAtMs: broker.startedAtMs,
    };
    s.brokers.set(broker.id, { registration, expiresAtMs: s.now() + ttlMs });
  });
}

export async function heartbeatBroker(s: MemoryState, brokerId: string, ttlMs: number, options?: CallOptions): Promise<boolean> {
  s.args.heartbeatBroker(brokerId, ttlMs);
  return s.serialize('heartbeatBroker', options, async () => {
    const entry = s.brokers.get(brokerId);
    const now = s.now();
    if (entry === undefined || entry.expiresAtMs <= now) {
      s.brokers.delete(brokerId);
      return false;
    }
    entry.expiresAtMs = now + ttlMs;
    return true;
  });
}

export async function deregisterBroker(s: MemoryState, brokerId: string, options?: CallOptions): Promise<boolean> {
  s.args.deregisterBroker(brokerId);
  return s.serialize('deregisterBroker', options, async () => {
    const entry = s.brokers.get(brokerId);
    s.brokers.delete(brokerId);
    return entry !== undefined && entry.expiresAtMs > s.now();
  });
}

export async function listBrokers(s: MemoryState, options?: CallOptions): Promise<LiveBroker[]> {
  return s.read('listBrokers', options, () => {
    const now = s.now();
    const out: LiveBroker[] = [];
    for (const [id, entry] of s.brokers) {
      if (entry.expiresAtMs <= now) s.brokers.delete(id);
      else out.push({ ...entry.registration, expiresInMs: entry.expiresAtMs - now });
    }
    return sortBrokers(out);
  });
}
