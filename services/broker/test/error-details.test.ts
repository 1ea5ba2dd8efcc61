// What an error tells a client (issue #10, item 9): no server path, input echoed only up to a bound,
// a name the file system refuses is not retriable, and a request target in absolute form can
// never send a forwarded request to another host.

import { describe, expect, it } from 'vitest';
import { StrataError } from '@strata/protocol';
import { Forwarder } from '../src/cluster/forwarder.js';
import { BrokerCredentials } from '../src/security/broker-credentials.js';
import { ClusterSecrets } from '../src/security/cluster-secrets.js';
import { createLogger } from '../src/logger.js';
import { errorBody, toStrataError } from '../src/http/errors.js';
import { MAX_ECHOED_INPUT_CHARS, MAX_ERROR_DETAIL_ITEMS, MAX_ERROR_MESSAGE_CHARS, redactPaths, registerPrivatePath, registerSecret } from '../src/redact.js';

describe('error bodies', () => {
  it('name no server path: a registered directory, or a path quoted by a file-system error', () => {
    registerPrivatePath('/srv/strata-test-data/');
    const error = new StrataError('STORAGE_ERROR', 'cannot write /srv/strata-test-data/__strata/topics.json', {
      details: { lastUploadError: "ENOTDIR: not a directory, open '/elsewhere/objects/.tmp/x'", topic: 'orders', partition: 0 },
    });
    const body = JSON.stringify(errorBody(error));
    expect(body).not.toContain('/srv/strata-test-data');
    expect(body).not.toContain('/elsewhere');
    expect(body).toContain('<data>/__strata/topics.json');
    expect(body).toContain('"topic":"orders"');
    // Routes and object keys are not server paths: left alone.
    expect(redactPaths('no route for GET /v1/topics/x/y; key topics/orders/0/a.seg')).toBe('no route for GET /v1/topics/x/y; key topics/orders/0/a.seg');
  });

  it('cut echoed input: the message, each detail string and each detail list, with an ellipsis', () => {
    const huge = 'z'.repeat(1024 * 1024);
    const error = new StrataError('INVALID_REQUEST', `unknown field "${huge}"`, {
      details: { field: huge, problems: Array.from({ length: 5000 }, (_, i) => `problem ${i}`), nested: { [huge]: { deeper: { deepest: { end: huge } } } } },
    });
    const body = errorBody(error);
    expect(body.error.message.length).toBe(MAX_ERROR_MESSAGE_CHARS + 1);
    expect(body.error.message.endsWith('…')).toBe(true);
    expect((body.error.details!.field as string).length).toBe(MAX_ECHOED_INPUT_CHARS + 1);
    expect(body.error.details!.problems).toHaveLength(MAX_ERROR_DETAIL_ITEMS + 1);
    expect(JSON.stringify(body).length).toBeLessThan(8 * 1024);
  });

  it('keep a detail key named __proto__ as a key', () => {
    const details = JSON.parse('{"__proto__": "x", "topic": "t"}') as Record<string, unknown>;
    const body = errorBody(new StrataError('INVALID_REQUEST', 'bad', { details }));
    expect(JSON.parse(JSON.stringify(body)).error.details).toEqual(JSON.parse('{"__proto__": "x", "topic": "t"}'));
  });
});

describe('storage failures', () => {
  it('a name the file system refuses is not retriable; a full disk is (STORAGE_FULL)', () => {
    const tooLong = Object.assign(new Error("ENAMETOOLONG: name too long, open '/data/x'"), { code: 'ENAMETOOLONG', syscall: 'open' });
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', syscall: 'write' });
    expect(toStrataError(tooLong).error).toMatchObject({ code: 'STORAGE_ERROR', retriable: false });
    expect(toStrataError(full).error).toMatchObject({ code: 'STORAGE_FULL', retriable: true });
    expect(toStrataError(tooLong).error.message).not.toContain('/data');
  });
});

describe('forwarding', () => {
  it('refuses a target that is not a path on the leader, before any connection, as INVALID_REQUEST', async () => {
    const secrets = await ClusterSecrets.load({ clusterSecret: 'a-test-secret-of-some-length', clusterSecretPrevious: '', clusterSecretFile: '', clusterSecretReloadIntervalMs: 1_000 }, createLogger({ level: 'error' }));
    const forwarder = new Forwarder(new BrokerCredentials('b1', secrets, { maxSkewMs: 30_000, noncesMax: 1_000 }), { timeoutMs: 1_000 });
    try {
      for (const target of ['http://evil.invalid/v1/topics/t/partitions/0/records', '//evil.invalid/v1/topics', 'v1/topics']) {
        const failure = await forwarder.proxy('http://127.0.0.1:9', target, {}).then(
          () => null,
          (e: unknown) => e,
        );
        expect(failure, target).toBeInstanceOf(StrataError);
        // Not NOT_LEADER/unreachable: that would make the caller drop its cached leader.
        expect((failure as StrataError).code, target).toBe('INVALID_REQUEST');
        expect((failure as StrataError).details?.unreachable).toBeUndefined();
      }
    } finally {
      await forwarder.close();
    }
  });
});

describe('secrets', () => {
  it('are replaced in error bodies and in log lines once registered', () => {
    const secret = 'a-registered-secret-value-42';
    registerSecret(secret);
    const body = JSON.stringify(errorBody(new StrataError('STORAGE_ERROR', `cannot reach redis://u:${secret}@h:6379`, { details: { url: `redis://u:${secret}@h` } })));
    expect(body).not.toContain(secret);
    expect(body).toContain('redis://u:***@h:6379');
    const lines: string[] = [];
    createLogger({ level: 'info', write: (l) => void lines.push(l) }).error('failed', { err: new Error(`auth ${secret} refused`, { cause: new Error(secret) }) });
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).toContain('auth *** refused');
  });
});
