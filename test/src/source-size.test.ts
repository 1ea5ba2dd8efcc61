// No source file over the bound (docs: "small modules with one job"): every .ts file under
// packages/*/src and services/*/src has at most SOURCE_LINES_MAX lines, except the files of the
// allow-list below, each being split by someone now. When one lands under the bound, the second
// test fails until its entry is removed: the list only shrinks.

import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness/broker-process.js';

/** The bound on a source file, in lines. */
const SOURCE_LINES_MAX = 500;

/**
 * Files allowed over the bound for now, by path from the repository root: none. A file that must
 * stay long for a while goes here with the reason beside it, and leaves once it is split.
 */
const OVER_THE_BOUND_FOR_NOW: ReadonlySet<string> = new Set<string>([]);

/** The source roots: `<root>/{packages,services}/<name>/src`. */
const SOURCE_GROUPS = ['packages', 'services'];

/** Lines of a text as `wc -l` counts them, plus a last line without its newline. */
function lineCount(text: string): number {
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return text.length > 0 && !text.endsWith('\n') ? lines + 1 : lines;
}

/** Every .ts file under the source roots of `root`, with its line count; paths from `root`, `/`-separated. */
async function sourceFiles(root: string): Promise<Array<{ path: string; lines: number }>> {
  const files: Array<{ path: string; lines: number }> = [];
  for (const group of SOURCE_GROUPS) {
    const packages = await readdir(join(root, group), { withFileTypes: true }).catch(() => []);
    for (const pkg of packages) {
      if (!pkg.isDirectory()) continue;
      const src = join(root, group, pkg.name, 'src');
      const entries = await readdir(src, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
        const file = join(entry.parentPath, entry.name);
        files.push({ path: relative(root, file).split(sep).join('/'), lines: lineCount(await readFile(file, 'utf8')) });
      }
    }
  }
  return files;
}

/** The files of `root` over the bound and not allowed to be, as `path (lines)`. */
async function oversized(root: string, allowed: ReadonlySet<string>): Promise<string[]> {
  return (await sourceFiles(root)).filter((f) => f.lines > SOURCE_LINES_MAX && !allowed.has(f.path)).map((f) => `${f.path} (${f.lines} lines)`);
}

describe(`source files stay under ${SOURCE_LINES_MAX} lines`, () => {
  it('every source file of the repository, but the allow-list', async () => {
    const files = await sourceFiles(REPO_ROOT);
    expect(files.length).toBeGreaterThan(100); // the walk found the sources
    expect(await oversized(REPO_ROOT, OVER_THE_BOUND_FOR_NOW), `split these files by concern (at most ${SOURCE_LINES_MAX} lines each)`).toEqual([]);
  });

  it('the allow-list names only files still over the bound', async () => {
    const lines = new Map((await sourceFiles(REPO_ROOT)).map((f) => [f.path, f.lines]));
    const stale = [...OVER_THE_BOUND_FOR_NOW].filter((path) => (lines.get(path) ?? 0) <= SOURCE_LINES_MAX);
    expect(stale, 'these files are under the bound now (or gone): remove them from OVER_THE_BOUND_FOR_NOW').toEqual([]);
  });

  it('fails on a file one line over, in packages and in services, and passes one at the bound', async () => {
    const root = await mkdtemp(join(tmpdir(), 'strata-source-size-'));
    try {
      const lines = (n: number): string => 'export const x = 1;\n'.repeat(n);
      await mkdir(join(root, 'packages', 'a', 'src', 'deep'), { recursive: true });
      await mkdir(join(root, 'services', 'b', 'src'), { recursive: true });
      await writeFile(join(root, 'packages', 'a', 'src', 'deep', 'long.ts'), lines(SOURCE_LINES_MAX + 1));
      await writeFile(join(root, 'packages', 'a', 'src', 'fits.ts'), lines(SOURCE_LINES_MAX));
      await writeFile(join(root, 'services', 'b', 'src', 'long.ts'), `${lines(SOURCE_LINES_MAX)}export const y = 2;`); // no final newline
      await writeFile(join(root, 'services', 'b', 'src', 'allowed.ts'), lines(SOURCE_LINES_MAX + 100));
      await writeFile(join(root, 'services', 'b', 'src', 'notes.md'), lines(SOURCE_LINES_MAX + 100));
      expect((await oversized(root, new Set(['services/b/src/allowed.ts']))).sort()).toEqual([
        `packages/a/src/deep/long.ts (${SOURCE_LINES_MAX + 1} lines)`,
        `services/b/src/long.ts (${SOURCE_LINES_MAX + 1} lines)`,
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
