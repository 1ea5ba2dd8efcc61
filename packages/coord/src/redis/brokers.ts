// The Redis engine's broker registrations: a sorted set of expiries and a hash per broker.

import type { BrokerRegistration, CallOptions, LiveBroker } from '../coordinator.js';
import { sortBrokers } from '../results.js';
import { int } from './codec.js';
import { PIPELINE_CHUNK, type RedisConnection } from './connection.js';

export async function registerBroker(c: RedisConnection, broker: BrokerRegistration, ttlMs: number, options?: CallOptions): Promise<void> {
  c.args.registerBroker(broker, ttlMs);
  return c.call(`registerBroker ${broker.id}`, { brokerId: broker.id }, options, async () => {
    await c.eval(
      'register-broker',
      [c.keys.brokers(), c.keys.broker(broker.id)],
      [broker.id, ttlMs, broker.url, broker.internalUrl, broker.rack ?? '', broker.startedAtMs, broker.kafkaAddress ?? ''],
    );
  });
}

export async function heartbeatBroker(c: RedisConnection, brokerId: string, ttlMs: number, options?: CallOptions): Promise<boolean> {
  c.args.heartbeatBroker(brokerId, ttlMs);
  return c.call(`heartbeatBroker ${brokerId}`, { brokerId }, options, async () => {
    return (await c.eval('heartbeat-broker', [c.keys.brokers(), c.keys.broker(brokerId)], [brokerId, ttlMs])) === 1;
  });
}

export async function deregisterBroker(c: RedisConnection, brokerId: string, options?: CallOptions): Promise<boolean> {
  c.args.deregisterBroker(brokerId);
  return c.call(`deregisterBroker ${brokerId}`, { brokerId }, options, async () => {
    return (await c.eval('deregister-broker', [c.keys.brokers(), c.keys.broker(brokerId)], [brokerId])) === 1;
  });
}

export async function listBrokers(c: RedisConnection, options?: CallOptions): Promise<LiveBroker[]> {
  return c.call('listBrokers', {}, options, async () => {
    const reply = (await c.eval('list-brokers', [c.keys.brokers()], [])) as unknown[];
    const nowMs = int(reply[0], 'server time');
    const live: { id: string; expiresAtMs: number }[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) live.push({ id: String(reply[i]), expiresAtMs: int(reply[i + 1], 'broker expiry') });
    const out: LiveBroker[] = [];
    for (let at = 0; at < live.length; at += PIPELINE_CHUNK) {
      const chunk = live.slice(at, at + PIPELINE_CHUNK);
      const hashes = await c.pipelineExec((p) => chunk.forEach((b) => p.hgetall(c.keys.broker(b.id))));
      chunk.forEach((b, i) => {
        const h = hashes[i] as Record<string, string>;
        if (h['url'] === undefined) return; // expired between the two reads
        out.push({
          id: b.id,
          url: h['url'],
          internalUrl: h['internal'] ?? '',
          rack: h['rack'] === undefined || h['rack'] === '' ? null : h['rack'],
          kafkaAddress: h['kafka'] === undefined || h['kafka'] === '' ? null : h['kafka'],
          startedAtMs: int(h['started'], 'broker startedAtMs'),
          expiresInMs: Math.max(0, b.expiresAtMs - nowMs),
        });
      });
    }
    return sortBrokers(out);
  });
}
