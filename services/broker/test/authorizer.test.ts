// auth/authorizer.ts: one ACL decision per request (issue #11's latency). A request that asks the
// same question again (the HTTP handler, then the core's forward and its append) is answered from
// the decision already made, under the same bindings only; a refusal is made (and audited) each time.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { MemoryCoordinator } from '@strata/coord';
import type { AclBinding } from '@strata/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AclMatcher } from '../src/auth/acl-matcher.js';
import { Authorizer } from '../src/auth/authorizer.js';
import type { RequestOrigin } from '../src/core/leader-client.js';
import { createLogger } from '../src/logger.js';
import { startTestBroker, type TestBroker } from './helpers.js';
import { encodeRecordBatch } from '@strata/protocol';

const aliceWrites: AclBinding = { principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'literal', resourceName: 'orders', operation: 'write', permission: 'allow' };
const write = { type: 'topic', name: 'orders' } as const;

describe('Authorizer: one decision per request', () => {
  let dir: string;
  let coordinator: MemoryCoordinator;
  let authorizer: Authorizer;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-authorizer-'));
    coordinator = await MemoryCoordinator.open({ dir });
    await coordinator.createAcls([aliceWrites]);
    authorizer = await Authorizer.open({
      config: { authorizer: 'acl', superUsers: [], allowEveryoneIfNoAclFound: false, refreshIntervalMs: 60_000 },
      coordinator,
      logger: createLogger({ level: 'silent' }),
      metrics: new Registry(),
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    authorizer.close();
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('asks the matcher once for a request asking the same question again, and again for the next request', () => {
    const decide = vi.spyOn(AclMatcher.prototype, 'decide');
    const request: RequestOrigin = { principal: 'User:alice', host: '127.0.0.1' };
    for (let i = 0; i < 3; i++) authorizer.check(request, 'write', write);
    expect(decide).toHaveBeenCalledTimes(1);
    authorizer.check({ principal: 'User:alice', host: '127.0.0.1' }, 'write', write);
    expect(decide).toHaveBeenCalledTimes(2);
  });

  it('answers another question of the same request with the matcher (read is not write)', () => {
    const request: RequestOrigin = { principal: 'User:alice', host: '127.0.0.1' };
    authorizer.check(request, 'write', write);
    expect(() => authorizer.check(request, 'read', write)).toThrow(expect.objectContaining({ code: 'TOPIC_AUTHORIZATION_FAILED' }));
    expect(() => authorizer.check(request, 'write', { type: 'topic', name: 'payments' })).toThrow(expect.objectContaining({ code: 'TOPIC_AUTHORIZATION_FAILED' }));
  });

  it('does not keep an allowed decision past a change of the bindings, even for the same origin', async () => {
    const request: RequestOrigin = { principal: 'User:alice', host: '127.0.0.1' };
    authorizer.check(request, 'write', write);
    await coordinator.deleteAcls([aliceWrites]);
    await authorizer.refresh();
    expect(() => authorizer.check(request, 'write', write)).toThrow(expect.objectContaining({ code: 'TOPIC_AUTHORIZATION_FAILED' }));
  });

  it('makes a refusal each time it is asked (each one audited and counted)', () => {
    const decide = vi.spyOn(AclMatcher.prototype, 'decide');
    const request: RequestOrigin = { principal: 'User:bob', host: '127.0.0.1' };
    expect(authorizer.allows(request, 'write', write)).toBe(false);
    expect(authorizer.allows(request, 'write', write)).toBe(false);
    expect(decide).toHaveBeenCalledTimes(2);
  });
});

describe('an HTTP produce under STRATA_AUTHORIZER=acl', () => {
  let t: TestBroker;
  beforeEach(async () => {
    // Requests are anonymous here (STRATA_AUTH=none); with no ACL on the topic, everyone may write it.
    t = await startTestBroker({ STRATA_AUTHORIZER: 'acl', STRATA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true' });
    const created = await fetch(`${t.url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'orders', partitions: 1 }) });
    expect(created.status).toBe(201);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.stop();
  });

  it('is authorized once, raw and JSON (it was three times: the handler, the forward check, the append)', async () => {
    const decide = vi.spyOn(AclMatcher.prototype, 'decide');
    const raw = await fetch(`${t.url}/v1/topics/orders/partitions/0/batches?acks=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kafka.record-batch' },
      body: encodeRecordBatch([{ key: null, value: Buffer.from('v') }]),
    });
    expect(raw.status).toBe(200);
    expect(decide.mock.calls.filter((c) => c[2] === 'write')).toHaveLength(1);
    const json = await fetch(`${t.url}/v1/topics/orders/records?acks=all`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ value: 'v' }] }),
    });
    expect(json.status).toBe(200);
    expect(decide.mock.calls.filter((c) => c[2] === 'write')).toHaveLength(2);
  });
});
