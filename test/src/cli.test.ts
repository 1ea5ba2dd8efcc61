/**
 * The `strata` CLI as a user runs it: child processes against a spawned broker.
 */
import { spawn } from 'node:child_process';
import { partitionForKey } from '@strata/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, REPO_ROOT, runStrata, tempDir, type BrokerProcess } from './harness/index.js';
import { brokerLifecycle } from './support.js';

describe('strata CLI against a spawned broker', () => {
  const startBroker = brokerLifecycle();
  let broker: BrokerProcess;
  let strata: (args: string[], stdin?: string) => ReturnType<typeof runStrata>;

  beforeAll(async () => {
    broker = await startBroker();
    strata = (args, stdin) => runStrata(args, { stdin, env: { STRATA_URL: broker.url } });
  });

  it('creates a topic, produces lines, consumes them back and describes the topic', async () => {
    const created = await strata(['topics', 'create', 'cli-orders', '--partitions', '3']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);

    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const lines = Array.from({ length: 200 }, (_, i) => `${keys[i % keys.length]}\tvalue-${i}`);
    const produced = await strata(['produce', 'cli-orders', '--batch-size', '17'], lines.join('\n') + '\n');
    expect(produced.stderr).toMatch(/^produced 200 records to 'cli-orders' \(partitions /);
    expect(produced.code).toBe(0);

    const consumed = await strata(['consume', 'cli-orders', '--from-beginning', '--print-key']);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.stderr).toBe('consumed 200 records\n');
    const out = consumed.stdout.trimEnd().split('\n');
    expect([...out].sort()).toEqual([...lines].sort());
    for (const key of keys) {
      // Each key's records in produce order (one key lives in one partition).
      expect(out.filter((l) => l.startsWith(`${key}\t`))).toEqual(lines.filter((l) => l.startsWith(`${key}\t`)));
    }

    // JSON output of one partition: dense offsets, keys that belong there.
    const partition = partitionForKey(Buffer.from('alpha'), 3);
    const json = await strata(['consume', 'cli-orders', '--partition', String(partition), '--from-beginning', '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const records = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    for (const r of records) {
      expect(r).toMatchObject({ topic: 'cli-orders', partition });
      expect(partitionForKey(Buffer.from(r.key), 3)).toBe(partition);
    }

    const described = await strata(['topics', 'describe', 'cli-orders']);
    expect(described.code, described.stderr).toBe(0);
    const rows = described.stdout
      .split('\n')
      .filter((l) => /^\s*\d+\s/.test(l))
      .map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => Number(r[0]))).toEqual([0, 1, 2]);
    expect(rows.reduce((n, r) => n + Number(r[7]), 0)).toBe(200); // high watermarks
    expect(described.stdout).toMatch(/PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+LOG-START\s+REMOTE-END\s+LOCAL-START\s+HIGH-WATERMARK\s+REMOTE-BYTES\s+LOCAL-BYTES\s+UPLOAD-LAG/);

    const listed = await strata(['topics', 'list']);
    expect(listed.stdout).toMatch(/cli-orders\s+3\s+1/);
  });

  it('topics add-partitions grows a topic (its records kept), refuses a shrink with INVALID_PARTITIONS, and needs --partitions', async () => {
    expect((await strata(['topics', 'create', 'cli-grow', '--partitions', '2'])).code).toBe(0);
    expect((await strata(['produce', 'cli-grow', '--partition', '1'], 'before\n')).code).toBe(0);
    const grown = await strata(['topics', 'add-partitions', 'cli-grow', '--partitions', '4']);
    expect(grown.stderr).toBe('');
    expect(grown.code).toBe(0);
    expect(grown.stdout).toBe("topic 'cli-grow' now has 4 partitions\n");
    expect((await strata(['topics', 'list'])).stdout).toMatch(/cli-grow\s+4\s+1/);
    expect((await strata(['produce', 'cli-grow', '--partition', '3'], 'after\n')).code).toBe(0);
    const kept = await strata(['consume', 'cli-grow', '--partition', '1', '--from-beginning']);
    expect(kept.stdout).toBe('before\n');
    const added = await strata(['consume', 'cli-grow', '--partition', '3', '--from-beginning']);
    expect(added.stdout).toBe('after\n');
    const shrink = await strata(['topics', 'add-partitions', 'cli-grow', '--partitions', '3']);
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toMatch(/^error: INVALID_PARTITIONS: /);
    expect((await strata(['topics', 'add-partitions', 'cli-grow'])).code).toBe(2);
  });

  it('topics delete-records and POST .../delete-records move the log start; above the high watermark is OFFSET_OUT_OF_RANGE and changes nothing', async () => {
    expect((await strata(['topics', 'create', 'cli-trim'])).code).toBe(0);
    expect((await strata(['produce', 'cli-trim', '--partition', '0'], Array.from({ length: 10 }, (_, i) => `r${i}`).join('\n') + '\n')).code).toBe(0);
    const trimmed = await strata(['topics', 'delete-records', 'cli-trim', '--partition', '0', '--before', '4']);
    expect(trimmed.stderr).toBe('');
    expect(trimmed.code).toBe(0);
    expect(trimmed.stdout).toBe("topic 'cli-trim' partition 0 now starts at offset 4\n");
    expect((await broker.http.get('/v1/topics/cli-trim/partitions/0/offsets?at=earliest')).body).toEqual({ offset: 4 });
    expect((await strata(['consume', 'cli-trim', '--partition', '0', '--from-beginning'])).stdout).toBe(['r4', 'r5', 'r6', 'r7', 'r8', 'r9'].join('\n') + '\n');
    // Over HTTP: the same call; -1 is the high watermark.
    const tooFar = await broker.http.post('/v1/topics/cli-trim/partitions/0/delete-records', { beforeOffset: 11 });
    expect(tooFar.status).toBe(416);
    expect(tooFar.body.error.code).toBe('OFFSET_OUT_OF_RANGE');
    expect((await broker.http.get('/v1/topics/cli-trim/partitions/0/offsets?at=earliest')).body).toEqual({ offset: 4 });
    const bad = await broker.http.post('/v1/topics/cli-trim/partitions/0/delete-records', { beforeOffset: -2 });
    expect(bad.status).toBe(416);
    const all = await broker.http.post('/v1/topics/cli-trim/partitions/0/delete-records', { beforeOffset: -1 });
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    expect(all.body).toEqual({ lowWatermark: 10 });
    expect((await broker.http.post('/v1/topics/cli-trim/partitions/5/delete-records', { beforeOffset: 0 })).status).toBe(404);
    const beyond = await strata(['topics', 'delete-records', 'cli-trim', '--partition', '0', '--before', '99']);
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toMatch(/^error: OFFSET_OUT_OF_RANGE: /);
    expect((await strata(['topics', 'delete-records', 'cli-trim', '--partition', '0'])).code).toBe(2);
  });

  it('reports broker errors with their code and exits 1; usage errors exit 2', async () => {
    const unknown = await strata(['consume', 'no-such-topic', '--from-beginning']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: UNKNOWN_TOPIC: /);

    const usage = await strata(['consume']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing <topic>/);

    const refused = await runStrata(['topics', 'list', '--broker', 'http://127.0.0.1:1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is it running\?/);
    // A group consumer says the same, rather than that it never joined.
    const groupRefused = await runStrata(['consume', 'cli-orders', '--group', 'g', '--idle-ms', '300', '--broker', 'http://127.0.0.1:1']);
    expect(groupRefused.code).toBe(1);
    expect(groupRefused.stderr).toMatch(/is it running\?/);
    const groupUnknown = await strata(['consume', 'no-such-topic', '--group', 'g']);
    expect(groupUnknown.code).toBe(1);
    expect(groupUnknown.stderr).toMatch(/UNKNOWN_TOPIC/);
  });

  it('exits quietly when its reader goes away (EPIPE)', async () => {
    expect((await strata(['topics', 'create', 'cli-many'])).code).toBe(0);
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(100)}`);
    expect((await strata(['produce', 'cli-many', '--no-key'], lines.join('\n'))).code).toBe(0);
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const shell = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI_MAIN}" consume cli-many --from-beginning | head -n 3 >/dev/null`], {
        cwd: REPO_ROOT,
        env: { ...process.env, STRATA_URL: broker.url },
      });
      let stderr = '';
      shell.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      shell.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('serve: reports a port in use and an invalid config, exit 1', async () => {
    const busy = await runStrata(['serve'], { env: { STRATA_HTTP_PORT: String(broker.port), STRATA_DATA_DIR: tempDir() } });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/already in use/);

    const bad = await runStrata(['serve'], { env: { STRATA_HTTP_PORT: 'eighty', STRATA_DATA_DIR: tempDir() } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/INVALID_CONFIG/);
  });
});
