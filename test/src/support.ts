/**
 * Vitest glue for the integration tests (kept out of the harness so bench can load the harness
 * without vitest): start brokers for a suite, always stop them, print their output when a test fails.
 */
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import type { Coordinator } from '@strata/coord';
import { BrokerProcess, cleanupAll, liveChildren, type BrokerProcessOptions, type Cluster } from './harness/index.js';

/**
 * Registers hooks in the calling suite: every broker started through the returned function is
 * stopped after the suite (killed if it does not stop), and its output is printed when a test fails.
 */
export function brokerLifecycle(): (options?: BrokerProcessOptions) => Promise<BrokerProcess> {
  const brokers: BrokerProcess[] = [];
  let failed = false;
  beforeEach((context) => {
    context.onTestFailed(() => {
      failed = true;
      for (const broker of brokers) broker.printLogs();
    });
  });
  afterAll(async () => {
    await Promise.all(brokers.map((broker) => broker.stop(10_000)));
    // A failure keeps the data dirs for a look (their paths are in the printed logs).
    if (failed) process.stderr.write(`keeping data dirs: ${brokers.map((b) => b.dataDir).join(' ')}\n`);
    const leaked = liveChildren();
    cleanupAll({ keepDirs: failed });
    expect(leaked, 'child processes left running').toBe(0);
  });
  return async (options) => {
    const broker = await BrokerProcess.start(options);
    brokers.push(broker);
    return broker;
  };
}

/** What a per-test cluster holds: set its fields in the test; everything is stopped after it. */
export interface ClusterTestState {
  cluster: Cluster | undefined;
  coord: Coordinator | undefined;
  /** Stopped after the cluster (servers a test started itself: an S3 server, a fault proxy). */
  extras: Array<{ stop(): Promise<unknown> }>;
}

/**
 * Registers hooks in the calling suite for tests that each start their own cluster: after every
 * test the coordinator client, the cluster and the extras are stopped (in that order), the
 * brokers' and Redis' output is printed if the test failed, and their directories are kept then.
 */
export function clusterPerTest(): ClusterTestState {
  const state: ClusterTestState = { cluster: undefined, coord: undefined, extras: [] };
  let failed = false;
  beforeEach((context) => {
    context.onTestFailed(() => {
      failed = true;
    });
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') state.cluster?.printLogs();
    await state.coord?.close();
    await state.cluster?.stop();
    for (const extra of state.extras) await extra.stop().catch(() => undefined);
    Object.assign(state, { cluster: undefined, coord: undefined, extras: [] });
    cleanupAll({ keepDirs: failed });
  }, 90_000);
  return state;
}
