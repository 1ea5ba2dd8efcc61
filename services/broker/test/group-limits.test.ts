// Issue #10 item 5 at the broker: the group limits and the offsets retention come from the
// configuration, reach the coordinator, and the expiry pass runs only where it should.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '@strata/coord';
import { DEFAULTS, loadConfig } from '../src/config.js';
import { GroupExpiryLoop } from '../src/group-expiry.js';
import { call, captureLogger, createTopic, startTestBroker, type TestBroker } from './helpers.js';

describe('group settings', () => {
  it("default to Kafka's where Kafka has one (offset.metadata.max.bytes 4096, offsets.retention.minutes 7 days)", () => {
    const config = loadConfig({ STRATA_KAFKA_PORT: '0', }, []);
    expect(config.groups.limits).toEqual({ groupsMax: 10_000, groupMembersMax: 1_000, offsetsPerCommitMax: 10_000, offsetMetadataMaxBytes: 4096, groupMetadataMaxBytes: 65_536 });
    expect(config.groups.offsetsRetentionMs).toBe(7 * 24 * 3_600_000);
    expect(DEFAULTS.offsetsRetentionCheckIntervalMs).toBe(60_000);
  });

  it('are read from the environment and flags, and checked against each other', () => {
    const config = loadConfig({ STRATA_KAFKA_PORT: '0', STRATA_MAX_GROUPS: '5', STRATA_OFFSETS_RETENTION_MS: '1000' }, ['--group-max-size', '3']);
    expect(config.groups.limits).toMatchObject({ groupsMax: 5, groupMembersMax: 3 });
    expect(config.groups.offsetsRetentionMs).toBe(1000);
    expect(() => loadConfig({ STRATA_KAFKA_PORT: '0', STRATA_MAX_GROUPS: '0', STRATA_OFFSET_METADATA_MAX_BYTES: '100000', STRATA_GROUP_METADATA_MAX_BYTES: '1000' }, [])).toThrow(
      /STRATA_MAX_GROUPS: must be an integer in \[1, 1000000\].*STRATA_OFFSET_METADATA_MAX_BYTES \(100000\) must not exceed STRATA_GROUP_METADATA_MAX_BYTES \(1000\)/,
    );
  });
});

describe('group limits over HTTP', () => {
  let t: TestBroker;
  beforeEach(async () => {
    t = await startTestBroker({ STRATA_MAX_GROUPS: '2', STRATA_GROUP_MAX_SIZE: '1', STRATA_OFFSET_METADATA_MAX_BYTES: '8', STRATA_MAX_OFFSETS_PER_COMMIT: '2' });
    await createTopic(t.url, 't', 3);
  });
  afterEach(async () => {
    await t.stop();
  });

  it('answers each bound with its code and a clear message', async () => {
    expect((await call(t.url, 'POST', '/v1/groups/a/members', { topics: ['t'] })).status).toBe(200);
    const full = await call(t.url, 'POST', '/v1/groups/a/members', { topics: ['t'] });
    expect([full.status, full.body.error.code]).toEqual([409, 'GROUP_MAX_SIZE_REACHED']);
    const metadata = await call(t.url, 'POST', '/v1/groups/b/offsets', { offsets: [{ topic: 't', partition: 0, offset: 1, metadata: 'nine char' }] });
    expect([metadata.status, metadata.body.error.code]).toEqual([400, 'OFFSET_METADATA_TOO_LARGE']);
    expect(metadata.body.error.message).toMatch(/offsets\[0\]\.metadata is 9 bytes, over the limit of 8 \(offset\.metadata\.max\.bytes\)/);
    const many = await call(t.url, 'POST', '/v1/groups/b/offsets', { offsets: [0, 1, 2].map((p) => ({ topic: 't', partition: p, offset: 1 })) });
    expect([many.status, many.body.error.code, many.body.error.details.reason]).toEqual([400, 'INVALID_REQUEST', 'TOO_MANY_OFFSETS']);
    expect((await call(t.url, 'POST', '/v1/groups/b/offsets', { offsets: [{ topic: 't', partition: 0, offset: 1 }] })).status).toBe(200);
    const third = await call(t.url, 'POST', '/v1/groups/c/members', { topics: ['t'] });
    expect([third.status, third.body.error.code, third.body.error.retriable]).toEqual([409, 'GROUP_LIMIT_REACHED', false]);
    expect(third.body.error.message).toMatch(/group "c" cannot be created: the coordinator holds 2 groups/);
    expect((await call(t.url, 'GET', '/v1/groups')).body.groups.map((g: { group: string }) => g.group)).toEqual(['a', 'b']);
  });
});

describe('the offsets log settings', () => {
  it('reach the in-process coordinator: a small STRATA_OFFSETS_LOG_ROLL_BYTES rolls the log, and the commits survive a restart', async () => {
    const t = await startTestBroker({ STRATA_OFFSETS_LOG_ROLL_BYTES: '4096', STRATA_OFFSETS_FLUSH_INTERVAL_MS: '0' });
    try {
      await createTopic(t.url, 't', 1);
      // Each commit's frame is over 100 bytes: 80 of them fill 4 KiB about twice, 16 MiB (the default) not at all.
      for (let offset = 1; offset <= 80; offset++) {
        expect((await call(t.url, 'POST', '/v1/groups/g/offsets', { offsets: [{ topic: 't', partition: 0, offset }] })).status).toBe(200);
      }
      const logFiles = (await readdir(join(t.dataDir, '__strata', 'coord', 'offsets'))).filter((name) => name.endsWith('.log'));
      const firstSeqs = logFiles.map((name) => Number(name.slice(0, -'.log'.length)));
      expect(Math.max(...firstSeqs), `offsets log files ${logFiles.join(', ')}`).toBeGreaterThan(40);
      await t.restart();
      const offsets = await call(t.url, 'GET', '/v1/groups/g/offsets');
      expect(JSON.stringify(offsets.body)).toMatch(/"offset":80\b/);
    } finally {
      await t.stop();
    }
  });
});

describe('GroupExpiryLoop', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-expiry-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('expires only while this broker is responsible (the controller), in bounded passes', async () => {
    const coordinator = await MemoryCoordinator.open({ dir });
    for (let i = 0; i < 7; i++) await coordinator.commitOffsets(`g${i}`, null, [{ topic: 't', partition: 0, offset: i }]);
    let responsible = false;
    const lines: string[] = [];
    const loop = new GroupExpiryLoop({ coordinator, intervalMs: 20, offsetsRetentionMs: 1, groupsPerPass: 2, isResponsible: () => responsible, logger: captureLogger(lines) });
    loop.start();
    await sleep(300);
    expect(await coordinator.listGroups()).toHaveLength(7);
    responsible = true;
    const deadline = Date.now() + 10_000;
    while ((await coordinator.listGroups()).length > 0 && Date.now() < deadline) await sleep(20);
    await loop.stop();
    expect(await coordinator.listGroups()).toEqual([]);
    expect(lines.some((l) => l.includes('expired consumer group offsets'))).toBe(true);
    await coordinator.close();
  });
});
