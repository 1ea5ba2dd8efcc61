// The in-process engine's controller lease: held in cluster.json; a renewal extends it in memory
// only (a restarted process is a new holder anyway), the epoch is persisted.

import type { CallOptions, ControllerAcquireRequest, ControllerLease, LeaseAcquisition } from '../coordinator.js';
import { coordError } from '../errors.js';
import { LIMITS } from '../validate.js';
import type { MemoryState } from './state.js';

export async function acquireController(s: MemoryState, request: ControllerAcquireRequest, options?: CallOptions): Promise<LeaseAcquisition> {
  s.args.acquireController(request);
  return s.serialize('acquireController', options, () =>
    s.changeCluster<LeaseAcquisition>((draft) => {
      const now = s.now();
      const lease = draft.controller;
      const holder = lease.expiresAtMs > now ? lease.holder : '';
      if (holder !== '' && holder !== request.brokerId) {
        return { value: { acquired: false, reason: 'held', holder, epoch: lease.epoch, retryAfterMs: lease.expiresAtMs - now } };
      }
      const epoch = Math.max(lease.epoch, request.knownEpoch ?? 0) + 1;
      if (epoch > LIMITS.epochMax) return { error: coordError('EPOCH_EXHAUSTED', { topic: '', partition: 'controller' }) };
      draft.controller = { holder: request.brokerId, epoch, expiresAtMs: now + request.ttlMs };
      return { next: draft, value: { acquired: true, epoch } };
    }),
  );
}

export async function renewController(s: MemoryState, brokerId: string, epoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
  s.args.renewController(brokerId, epoch, ttlMs);
  return s.serialize('renewController', options, async () => {
    const lease = s.cluster.controller;
    if (epoch > lease.epoch) return rememberControllerEpoch(s, epoch);
    const now = s.now();
    if (epoch !== lease.epoch || lease.holder !== brokerId || lease.expiresAtMs <= now) return false;
    lease.expiresAtMs = now + ttlMs; // in memory only: a restarted process is a new holder anyway
    return true;
  });
}

export async function releaseController(s: MemoryState, brokerId: string, epoch: number, options?: CallOptions): Promise<boolean> {
  s.args.releaseController(brokerId, epoch);
  return s.serialize('releaseController', options, async () => {
    const lease = s.cluster.controller;
    if (epoch > lease.epoch) return rememberControllerEpoch(s, epoch);
    if (epoch !== lease.epoch || lease.holder !== brokerId || lease.expiresAtMs <= s.now()) return false;
    return s.changeCluster((draft) => {
      draft.controller = { holder: '', epoch: draft.controller.epoch, expiresAtMs: 0 };
      return { next: draft, value: true };
    });
  });
}

/** A controller epoch never granted here (a caller bug, or a backend that forgot): remember it, refuse. */
function rememberControllerEpoch(s: MemoryState, epoch: number): Promise<boolean> {
  return s.changeCluster((draft) => {
    draft.controller = { holder: '', epoch, expiresAtMs: 0 };
    return { next: draft, value: false };
  });
}

export async function getController(s: MemoryState, options?: CallOptions): Promise<ControllerLease> {
  return s.read('getController', options, () => {
    const lease = s.cluster.controller;
    const now = s.now();
    const live = lease.holder !== '' && lease.expiresAtMs > now;
    return { holder: live ? lease.holder : null, epoch: lease.epoch, remainingMs: live ? lease.expiresAtMs - now : 0 };
  });
}
