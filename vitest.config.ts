import { configDefaults, defineConfig } from 'vitest/config';

// `source` resolves workspace packages to their TypeScript sources, so unit
// tests run without a build; spawned broker processes use the built dist.
const INCLUDE = ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/src/**/*.test.ts'];
// Files that hold a fixed port (8080, as a new user's machine might) or run `pnpm install` and
// `tsc -b` on the shared tree: they run alone, after the rest.
const ALONE = ['test/src/first-hour.test.ts'];

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    pool: 'forks',
    // Two files at a time: most integration tests wait on brokers, timers and sockets, so two
    // share the 2-core CI machine well (each test's timings are bounded for a loaded machine).
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'shared', include: INCLUDE, exclude: [...configDefaults.exclude, ...ALONE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
