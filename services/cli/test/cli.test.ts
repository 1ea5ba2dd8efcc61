/**
 * runCli in-process against a broker started in-process (port 0, temp dir).
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { loadConfig, startBroker, type Broker } from '@strata/broker';
import { partitionForKey } from '@strata/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/index.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Start runCli; `signals` lets a test deliver SIGINT/SIGTERM, `stdout()` reads output so far. */
function start(args: string[], options: { stdin?: string | Readable; env?: Record<string, string> } = {}) {
  const out = capture();
  const err = capture();
  const signals = new EventEmitter();
  const forcedExits: number[] = [];
  const stdin = typeof options.stdin === 'string' ? Readable.from([Buffer.from(options.stdin)]) : (options.stdin ?? Readable.from([]));
  const io: Partial<CliIo> = {
    stdin,
    stdout: out.stream,
    stderr: err.stream,
    env: options.env ?? {},
    signals,
    forceExit: (code) => void forcedExits.push(code),
  };
  const done = runCli(args, io).then((code): Run => ({ code, stdout: out.text(), stderr: err.text() }));
  return { done, signals, forcedExits, stdout: out.text, stderr: err.text };
}

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('strata CLI (in-process)', () => {
  let broker: Broker;
  let dataDir: string;
  let run: (args: string[], stdin?: string | Readable) => Promise<Run>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'strata-cli-test-'));
    broker = await startBroker(loadConfig({ STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_DATA_DIR: dataDir, STRATA_LOG_LEVEL: 'error' }, []));
    run = (args, stdin) => start(args, { stdin, env: { STRATA_URL: broker.url } }).done;
  });

  afterAll(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('usage', () => {
    it('prints the version and help', async () => {
      const version = await run(['--version']);
      expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^strata \d+\.\d+\.\d+\n$/) });
      const help = await run(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Usage: strata <command>/);
      expect(help.stdout).toMatch(/Examples:/);
      for (const command of [['serve'], ['topics'], ['topics', 'create'], ['topics', 'list'], ['topics', 'describe'], ['topics', 'delete'], ['produce'], ['consume']]) {
        const answer = await run([...command, '--help']);
        expect(answer.code, command.join(' ')).toBe(0);
        expect(answer.stdout, command.join(' ')).toMatch(/^Usage: strata /);
        expect(answer.stdout, command.join(' ')).toMatch(/Examples:\n {2}\$ .*strata /);
      }
    });

    it('exits 2 on an unknown command, subcommand or flag, or a bad value', async () => {
      const cases = [
        [],
        ['frobnicate'],
        ['topics'],
        ['topics', 'rename', 'x'],
        ['topics', 'create'],
        ['topics', 'create', 'x', '--partitions', 'many'],
        ['topics', 'create', 'x', '--partitions', '0'],
        ['topics', 'create', 'x', '--config', 'novalue'],
        ['topics', 'list', '--bogus'],
        ['produce'],
        ['produce', 't', '--acks', '2'],
        ['produce', 't', '--no-key', '--key-separator', ':'],
        ['consume', 't', '--offset', '3'],
        ['consume', 't', '--from-beginning', '--timestamp', '0'],
        ['consume', 't', '--format', 'xml'],
        ['consume', 't', '--timestamp', 'yesterday'],
        ['consume', 't', 'extra'],
        ['topics', 'list', '--broker', 'not a url'],
      ];
      for (const args of cases) {
        const answer = await run(args);
        expect(answer.code, args.join(' ')).toBe(2);
        expect(answer.stderr.length, args.join(' ')).toBeGreaterThan(0);
        expect(answer.stdout, args.join(' ')).toBe('');
      }
      expect((await run(['consume', 't', '--bogus'])).stderr).toMatch(/^error: unknown option '--bogus'\nusage: strata consume/);
    });
  });

  describe('against a broker', () => {
    it('creates, lists, describes and deletes topics', async () => {
      const created = await run(['topics', 'create', 'admin-t', '--partitions', '2', '--config', 'retention.ms=3600000']);
      expect(created).toEqual({ code: 0, stdout: "created topic 'admin-t' with 2 partitions\n", stderr: '' });

      const exists = await run(['topics', 'create', 'admin-t']);
      expect(exists.code).toBe(1);
      expect(exists.stderr).toMatch(/^error: TOPIC_ALREADY_EXISTS: /);

      const list = await run(['topics', 'list']);
      expect(list.stdout).toMatch(/^NAME\s+PARTITIONS\s+REPLICATION-FACTOR\n/);
      expect(list.stdout).toMatch(/\nadmin-t\s+2\s+1\n/);
      const listJson = JSON.parse((await run(['topics', 'list', '--json'])).stdout);
      expect(listJson.topics).toContainEqual(expect.objectContaining({ name: 'admin-t', partitions: 2 }));

      const described = await run(['topics', 'describe', 'admin-t']);
      expect(described.code).toBe(0);
      expect(described.stdout).toMatch(/^Topic: admin-t {2}Partitions: 2\n/);
      expect(described.stdout).toMatch(/retention\.ms=3600000/);
      expect(described.stdout).toMatch(/\nPARTITION\s+LEADER\s+LOG-START\s+REMOTE-END\s+LOCAL-START\s+HIGH-WATERMARK\s+REMOTE-BYTES\s+LOCAL-BYTES\s+UPLOAD-LAG\n/);
      expect(described.stdout).toMatch(/\n\s+0\s+\S+\s+0\s+0\s+0\s+0\s+0\s+0\s+0 seg \/ 0 B\n\s+1\s+\S+(\s+0){6}\s+0 seg \/ 0 B\n$/);

      expect(await run(['topics', 'delete', 'admin-t'])).toEqual({ code: 0, stdout: "deleted topic 'admin-t'\n", stderr: '' });
      const gone = await run(['topics', 'describe', 'admin-t']);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^error: UNKNOWN_TOPIC: /);
    });

    it('produces lines from a stdin stream and consumes them back', async () => {
      expect((await run(['topics', 'create', 'roundtrip', '--partitions', '4'])).code).toBe(0);
      const lines = Array.from({ length: 1234 }, (_, i) => (i % 10 === 9 ? `no key here ${i}` : `key-${i % 13}\tvalue ${i}`));
      // Many small chunks, split mid-line and mid-character, like a pipe delivers.
      const bytes = Buffer.from(lines.map((l) => `${l}\n`).join('') + 'é last line without newline');
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += 997) chunks.push(bytes.subarray(at, at + 997));
      const produced = await run(['produce', 'roundtrip', '--batch-size', '100'], Readable.from(chunks));
      expect(produced.stderr).toMatch(/^produced 1235 records to 'roundtrip' \(partitions 0: \d+, 1: \d+, 2: \d+, 3: \d+\)\n$/);
      expect(produced.code).toBe(0);

      const consumed = await run(['consume', 'roundtrip', '--from-beginning', '--format', 'json']);
      expect(consumed.code, consumed.stderr).toBe(0);
      expect(consumed.stderr).toBe('consumed 1235 records\n');
      const records = consumed.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(records).toHaveLength(1235);
      for (const r of records) {
        expect(Object.keys(r).sort()).toEqual(['headers', 'key', 'offset', 'partition', 'timestamp', 'topic', 'value']);
        if (r.key !== null) expect(r.partition).toBe(partitionForKey(Buffer.from(r.key), 4));
      }
      const keyed = records.filter((r) => r.key !== null);
      const unkeyed = records.filter((r) => r.key === null).map((r) => r.value).sort();
      expect(keyed).toHaveLength(lines.filter((l) => l.includes('\t')).length);
      expect(unkeyed).toEqual([...lines.filter((l) => !l.includes('\t')), 'é last line without newline'].sort());
      // Per key, produce order; per partition, dense offsets.
      for (let k = 0; k < 13; k++) {
        const values = keyed.filter((r) => r.key === `key-${k}`).map((r) => r.value);
        expect(values).toEqual(lines.filter((l) => l.startsWith(`key-${k}\t`)).map((l) => l.split('\t')[1]));
      }
      for (let p = 0; p < 4; p++) {
        const offsets = records.filter((r) => r.partition === p).map((r) => r.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }

      // Lines with keys, one partition, a window of offsets.
      const p0 = partitionForKey(Buffer.from('key-0'), 4);
      const window = await run(['consume', 'roundtrip', '--partition', String(p0), '--offset', '2', '--max-records', '3', '--print-key', '--key-separator', '=']);
      expect(window.code).toBe(0);
      const expected = records.filter((r) => r.partition === p0 && r.offset >= 2 && r.offset < 5).map((r) => `${r.key ?? 'null'}=${r.value}`);
      expect(window.stdout).toBe(expected.map((l) => `${l}\n`).join(''));
      expect(window.stderr).toBe('consumed 3 records\n');
    });

    it('produces to an explicit partition with --no-key and a custom separator', async () => {
      expect((await run(['topics', 'create', 'explicit', '--partitions', '3'])).code).toBe(0);
      const produced = await run(['produce', 'explicit', '--partition', '2', '--no-key', '--acks', 'all'], 'a\tb\nc\n\nd');
      expect(produced).toMatchObject({ code: 0, stderr: "produced 4 records to 'explicit' (partitions 2: 4)\n" });
      const consumed = await run(['consume', 'explicit', '--from-beginning', '--print-key']);
      expect(consumed.stdout).toBe('null\ta\tb\nnull\tc\nnull\t\nnull\td\n');

      const colon = await run(['produce', 'explicit', '--partition', '1', '--key-separator', '::'], 'k1::v::1\nplain\n');
      expect(colon.code).toBe(0);
      const back = await run(['consume', 'explicit', '--partition', '1', '--from-beginning', '--format', 'json']);
      expect(back.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)).map((r) => [r.key, r.value])).toEqual([
        ['k1', 'v::1'],
        [null, 'plain'],
      ]);
    });

    it('starts at a timestamp, and at the end by default', async () => {
      expect((await run(['topics', 'create', 'timed'])).code).toBe(0);
      expect((await run(['produce', 'timed', '--no-key'], 'old-1\nold-2\n')).code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const cut = new Date();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await run(['produce', 'timed', '--no-key'], 'new-1\nnew-2\n')).code).toBe(0);
      expect((await run(['consume', 'timed', '--timestamp', cut.toISOString()])).stdout).toBe('new-1\nnew-2\n');
      expect((await run(['consume', 'timed', '--timestamp', String(cut.getTime())])).stdout).toBe('new-1\nnew-2\n');
      expect((await run(['consume', 'timed', '--timestamp', String(Date.now() + 60_000)])).stdout).toBe('');
      expect(await run(['consume', 'timed'])).toEqual({ code: 0, stdout: '', stderr: 'consumed 0 records\n' });
    });

    it('follows with long polls until interrupted', async () => {
      expect((await run(['topics', 'create', 'live', '--partitions', '2'])).code).toBe(0);
      const follower = start(['consume', 'live', '--follow', '--print-key'], { env: { STRATA_URL: broker.url } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await run(['produce', 'live'], 'a\t1\nb\t2\nc\t3\n')).code).toBe(0);
      await waitFor(() => follower.stdout().split('\n').length > 3, 'followed records');
      follower.signals.emit('SIGINT');
      const result = await follower.done;
      expect(result.code).toBe(0);
      expect(result.stdout.trimEnd().split('\n').sort()).toEqual(['a\t1', 'b\t2', 'c\t3']);
      expect(result.stderr).toBe('consumed 3 records\n');

      // --max-records ends a follow too.
      const capped = await run(['consume', 'live', '--from-beginning', '--follow', '--max-records', '2']);
      expect(capped.code).toBe(0);
      expect(capped.stdout.trimEnd().split('\n')).toHaveLength(2);
    });

    it('reports unknown topics and partitions with the code, exit 1', async () => {
      for (const args of [
        ['consume', 'missing', '--from-beginning'],
        ['produce', 'missing'],
        ['topics', 'describe', 'missing'],
        ['topics', 'delete', 'missing'],
      ]) {
        const answer = await run(args, 'x\n');
        expect(answer.code, args.join(' ')).toBe(1);
        expect(answer.stderr, args.join(' ')).toMatch(/^error: UNKNOWN_TOPIC: /);
      }
      expect((await run(['topics', 'create', 'single'])).code).toBe(0);
      const noPartition = await run(['consume', 'single', '--partition', '5']);
      expect(noPartition.code).toBe(1);
      expect(noPartition.stderr).toMatch(/^error: UNKNOWN_PARTITION: /);
    });

    it('reports a produce failure with the code and what was acknowledged', async () => {
      expect((await run(['topics', 'create', 'two', '--partitions', '2'])).code).toBe(0);
      const answer = await run(['produce', 'two', '--partition', '7'], 'x\n');
      expect(answer.code).toBe(1);
      expect(answer.stderr).toMatch(/^error: UNKNOWN_PARTITION: .*\nproduced 0 of 1 records sent to 'two' before the failure\n$/);
    });

    it('says when the broker cannot be reached', async () => {
      const answer = await start(['topics', 'list', '--broker', 'http://127.0.0.1:1']).done;
      expect(answer.code).toBe(1);
      expect(answer.stderr).toMatch(/^error: cannot connect to the broker at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\): is it running\?/);
    });
  });

  describe('against a fake broker', () => {
    it('keeps every partition error of a partly failed produce (HTTP 207)', async () => {
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(207, { 'content-type': 'application/json' });
          const error = (code: string, message: string) => ({ code, message, retriable: true });
          res.end(
            JSON.stringify({
              offsets: [
                { partition: 0, offset: 10 },
                { partition: 1, offset: -1, error: error('STORAGE_ERROR', 'disk full') },
                { partition: 2, offset: -1, error: error('STORAGE_ERROR', 'disk gone') },
              ],
            }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const answer = await start(['produce', 't', '--broker', url], { stdin: 'a\t1\nb\t2\nc\t3\n' }).done;
        expect(answer.code).toBe(1);
        expect(answer.stderr).toBe(
          'error: STORAGE_ERROR: appends to 2 partitions failed:\n' +
            '  - partition 1: STORAGE_ERROR: disk full\n' +
            '  - partition 2: STORAGE_ERROR: disk gone\n' +
            "produced 1 of 3 records sent to 't' before the failure (partitions 0: 1)\n",
        );
      } finally {
        server.close();
      }
    });
  });

  describe('serve', () => {
    it('runs a broker until SIGTERM, then exits 0', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-cli-serve-'));
      try {
        const server = start(['serve'], { env: { STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_DATA_DIR: dir } });
        const readyLine = (): string | undefined => server.stdout().split('\n').find((l) => l.includes('"broker ready"'));
        await waitFor(() => readyLine() !== undefined, 'the ready line');
        // The configuration is logged at start.
        expect(server.stdout()).toMatch(/"msg":"broker starting".*"config":\{/);
        const url = JSON.parse(readyLine() as string).url as string;
        expect((await run(['topics', 'create', 'served', '--broker', url])).code).toBe(0);
        server.signals.emit('SIGTERM');
        const result = await server.done;
        expect(result.code).toBe(0);
        expect(server.forcedExits).toEqual([]);
        expect(result.stdout).toMatch(/"signal":"SIGTERM"/);
        expect(result.stdout).toMatch(/"msg":"broker stopped"/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('exits at once on a second signal', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-cli-serve-'));
      try {
        const server = start(['serve'], { env: { STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_DATA_DIR: dir } });
        await waitFor(() => server.stdout().includes('"broker ready"'), 'the ready line');
        server.signals.emit('SIGINT');
        server.signals.emit('SIGINT');
        expect(server.forcedExits).toEqual([1]);
        expect(server.stderr()).toMatch(/received SIGINT again: exiting at once/);
        expect((await server.done).code).toBe(0); // in-process the graceful close still completes
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('lists every config problem and exits 1', async () => {
      const answer = await start(['serve'], { env: { STRATA_HTTP_PORT: 'eighty', STRATA_DEFAULT_SEGMENT_BYTES: '-5' } }).done;
      expect(answer.code).toBe(1);
      expect(answer.stderr).toMatch(/^error: INVALID_CONFIG: /);
      expect(answer.stderr).toMatch(/HTTP_PORT|http-port|httpPort/i);
      expect(answer.stderr).toMatch(/SEGMENT_BYTES|segment/i);
    });

    it('says when the port is in use, exit 1', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-cli-busy-'));
      try {
        const answer = await start(['serve'], { env: { STRATA_HTTP_PORT: String(broker.port), STRATA_KAFKA_PORT: '0', STRATA_DATA_DIR: dir } }).done;
        expect(answer.code).toBe(1);
        expect(answer.stderr).toMatch(/already in use/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('says when the Kafka port is in use, naming its setting, exit 1', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-cli-busy-'));
      const { createServer } = await import('node:net');
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
      try {
        const kafkaPort = (holder.address() as { port: number }).port;
        const answer = await start(['serve'], { env: { STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: String(kafkaPort), STRATA_DATA_DIR: dir } }).done;
        expect(answer.code).toBe(1);
        expect(answer.stderr).toMatch(/already in use.*STRATA_KAFKA_PORT/);
      } finally {
        await new Promise<void>((resolve) => holder.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
