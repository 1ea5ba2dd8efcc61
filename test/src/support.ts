/**
 * Vitest glue for the integration tests (kept out of the harness so bench can load the harness
 * without vitest): start brokers for a suite, always stop them, print their output when a test fails.
 */
import { afterAll, beforeEach, expect } from 'vitest';
import { BrokerProcess, cleanupAll, liveChildren, type BrokerProcessOptions } from './harness/index.js';

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
