/**
 * Every code block of README.md runs: shell blocks as a user pastes them (bash, in the repo root,
 * `strata` on PATH, STRATA_URL pointing at a broker started on a free port), TypeScript blocks
 * type-checked against the workspace packages and then run against the same broker. They run in
 * README order against one broker, as a reader following the page would.
 *
 * A block that cannot run here says why in a visible marker on the line before it,
 * `<!-- not run: needs docker -->` (harness/readme.ts); the test lists what it skipped.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { readmeBlocks, REPO_ROOT, type BrokerProcess } from './harness/index.js';
import { brokerLifecycle } from './support.js';

const README = join(REPO_ROOT, 'README.md');
/** Where a TypeScript block is written: inside the test package, so `@strata/client` resolves. */
const TS_DIR = join(REPO_ROOT, 'test', '.tmp', `readme-${process.pid}`);
/** Longest a block may run, in milliseconds (the walkthrough long-polls 5 s, a group consume idles 2 s). */
const BLOCK_TIMEOUT_MS = 150_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Type-check a TypeScript block as an ES module of the test package, strict; the problems, or ''. */
function typeCheck(file: string): string {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    skipLibCheck: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => REPO_ROOT,
    getNewLine: () => '\n',
  });
}

const blocks = readmeBlocks(readFileSync(README, 'utf8'));
const runnable = blocks.filter((b) => b.notRun === undefined && b.lang !== '');

describe('README.md code blocks', () => {
  const startBroker = brokerLifecycle();
  let broker: BrokerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    broker = await startBroker();
    env = {
      STRATA_URL: broker.url,
      PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}`,
    };
  });

  it('marks every block that is not run, with a reason, and knows every language', () => {
    const skipped = blocks.filter((b) => b.notRun !== undefined);
    process.stdout.write(`README blocks not run:\n${skipped.map((b) => `  README.md:${b.line} (${b.lang}): ${b.notRun}\n`).join('')}`);
    for (const block of runnable) expect(['sh', 'ts'], `README.md:${block.line}`).toContain(block.lang);
    expect(runnable.length).toBeGreaterThanOrEqual(3);
  });

  for (const block of runnable) {
    it(`README.md:${block.line} (${block.lang}) runs`, async () => {
      if (block.lang === 'sh') {
        const answer = await run('bash', ['-e', '-o', 'pipefail', '-c', block.text], env);
        expect(answer.code, `README.md:${block.line}\n${answer.stderr}\n${answer.stdout.slice(-4000)}`).toBe(0);
        // curl -s exits 0 on an HTTP error: no answer may be an error body. Answers are printed
        // back to back, so one starts at the beginning or right after another's closing brace.
        const refused = /(^|\}\s*)(\{"error":\{"code":"[A-Z_]+"[^\n]{0,300})/.exec(answer.stdout);
        expect(refused?.[2], `README.md:${block.line}: the broker refused a request`).toBeUndefined();
        return;
      }
      mkdirSync(TS_DIR, { recursive: true });
      try {
        const source = join(TS_DIR, `block-${block.line}.ts`);
        writeFileSync(source, block.text);
        expect(typeCheck(source), `README.md:${block.line} does not compile`).toBe('');
        const js = ts.transpileModule(block.text, {
          compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        const compiled = join(TS_DIR, `block-${block.line}.mjs`);
        writeFileSync(compiled, js);
        const answer = await run(process.execPath, [compiled], env);
        expect(answer.code, `README.md:${block.line}\n${answer.stderr}`).toBe(0);
      } finally {
        rmSync(TS_DIR, { recursive: true, force: true });
      }
    }, BLOCK_TIMEOUT_MS + 10_000);
  }
});
