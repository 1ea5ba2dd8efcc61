// The Redis engine's controller lease: one key, acquired under the session's quarantine.

import type { CallOptions, ControllerAcquireRequest, ControllerLease, LeaseAcquisition } from '../coordinator.js';
import { LIMITS } from '../validate.js';
import { int } from './codec.js';
import type { RedisConnection } from './connection.js';

export async function acquireController(c: RedisConnection, request: ControllerAcquireRequest, options?: CallOptions): Promise<LeaseAcquisition> {
  c.args.acquireController(request);
  return c.call(`acquireController ${request.brokerId}`, { brokerId: request.brokerId }, options, () =>
    c.acquire(
      'acquire-controller',
      [c.keys.controller()],
      (s) => [request.brokerId, request.ttlMs, request.knownEpoch ?? 0, s.runId, s.untilMs, LIMITS.epochMax],
      options?.signal,
    ),
  );
}

export async function renewController(c: RedisConnection, brokerId: string, epoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
  c.args.renewController(brokerId, epoch, ttlMs);
  return c.call(`renewController ${brokerId}`, { brokerId }, options, async () => {
    return (await c.eval('renew-controller', [c.keys.controller()], [brokerId, epoch, ttlMs])) === 1;
  });
}

export async function releaseController(c: RedisConnection, brokerId: string, epoch: number, options?: CallOptions): Promise<boolean> {
  c.args.releaseController(brokerId, epoch);
  return c.call(`releaseController ${brokerId}`, { brokerId }, options, async () => {
    return (await c.eval('release-controller', [c.keys.controller()], [brokerId, epoch])) === 1;
  });
}

export async function getController(c: RedisConnection, options?: CallOptions): Promise<ControllerLease> {
  return c.call('getController', {}, options, async () => {
    const reply = (await c.eval('read-controller', [c.keys.controller()], [])) as unknown[];
    const holder = String(reply[0]);
    return { holder: holder === '' ? null : holder, epoch: int(reply[1], 'controller epoch'), remainingMs: int(reply[2], 'controller TTL') };
  });
}
