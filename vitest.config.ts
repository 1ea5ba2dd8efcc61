import { configDefaults, defineConfig } from 'vitest/config';

// `source` resolves workspace packages to their TypeScript sources, so unit
// tests run without a build; spawned broker processes use the built dist.
const INCLUDE = ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/src/**/*.test.ts'];
// Files that run one at a time, after the rest: one holds a fixed port (8080, as a new user's
// machine might) and runs `pnpm install` and `tsc -b` on the shared tree; the others are the
// cluster and fault tests whose processes (3 brokers, Redis, s3rver, load) fill both cores by
// themselves, so that a second file beside them only stretches their lease and failover timings.
const ALONE = [
  'test/src/first-hour.test.ts',
  'test/src/cluster-scaling.test.ts',
  'test/src/cluster-faults.test.ts',
  'test/src/kafka/cluster-faults.test.ts',
  'test/src/kafka/groups-cluster.test.ts',
  'test/src/replication.test.ts',
  'test/src/hostile/files.test.ts',
  'test/src/hostile/memory.test.ts',
  'test/src/hostile/coordinator.test.ts',
  'packages/coord/test/redis-restart.test.ts',
];

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
