/**
 * Monitoring: consumer-group lag in /metrics, and the Grafana dashboard and Prometheus alert rules
 * under infra/monitoring/ name only metrics that a real broker exports (a clustered one, so the
 * replication and leadership metrics are there too).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startBroker, type Broker } from '@strata/broker';
import { Admin } from '@strata/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startInProcessCluster } from './harness/index.js';

async function scrape(url: string): Promise<string> {
  const answer = await fetch(`${url}/metrics`);
  expect(answer.status).toBe(200);
  return answer.text();
}

/** The value of one series, or undefined when it is not exported. */
function sample(metrics: string, name: string, labels: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('consumer-group lag in /metrics', () => {
  let broker: Broker;
  let dataDir: string;
  let admin: Admin;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'strata-lag-metrics-'));
    broker = await startBroker(loadConfig({ STRATA_KAFKA_PORT: '0', STRATA_HTTP_PORT: '0', STRATA_DATA_DIR: dataDir, STRATA_LOG_LEVEL: 'error' }, []));
    admin = new Admin({ brokers: broker.url });
  });

  afterAll(async () => {
    await admin?.close();
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reports records and seconds behind per group and partition; nothing for a partition without a commit', async () => {
    await admin.createTopic({ name: 'lag-t', partitions: 2 });
    await admin.produceRecords('lag-t', { records: [0, 1, 2].map((i) => ({ value: `v${i}`, partition: 0 })) });
    await admin.resetOffsets('lag-behind', 'lag-t', { offset: 1 }, [0]);
    await admin.resetOffsets('lag-caught-up', 'lag-t', 'latest', [0]);

    const metrics = await scrape(broker.url);
    expect(sample(metrics, 'strata_consumer_group_lag_records', 'group="lag-behind",topic="lag-t",partition="0"')).toBe(2);
    // The first record not consumed (offset 1) is in the batch appended above: some age, never negative.
    expect(sample(metrics, 'strata_consumer_group_lag_seconds', 'group="lag-behind",topic="lag-t",partition="0"')).toBeGreaterThanOrEqual(0);
    expect(sample(metrics, 'strata_consumer_group_lag_records', 'group="lag-caught-up",topic="lag-t",partition="0"')).toBe(0);
    expect(sample(metrics, 'strata_consumer_group_lag_seconds', 'group="lag-caught-up",topic="lag-t",partition="0"')).toBe(0);
    // Partition 1: nothing committed, so no lag series (unknown is not 0).
    expect(sample(metrics, 'strata_consumer_group_lag_records', 'group="lag-behind",topic="lag-t",partition="1"')).toBeUndefined();

    // A deleted group's series go away at the next scrape.
    await admin.deleteGroup('lag-behind');
    expect(sample(await scrape(broker.url), 'strata_consumer_group_lag_records', 'group="lag-behind",topic="lag-t",partition="0"')).toBeUndefined();
  });
});

describe('infra/monitoring', () => {
  const files = ['infra/monitoring/alerts.yml', 'infra/monitoring/grafana-dashboard.json'];

  it('the dashboard is valid JSON with Prometheus panels', () => {
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'infra/monitoring/grafana-dashboard.json'), 'utf8'));
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0);
  });

  it('every metric the dashboard and the alert rules use is exported by a real (clustered) broker', async () => {
    const cluster = await startInProcessCluster({ brokers: 2 });
    try {
      const admin = new Admin({ brokers: cluster.broker('b1').url });
      await admin.createTopic({ name: 'mon-t', partitions: 2, replicationFactor: 2 });
      await admin.close();
      const exported = new Set<string>();
      for (const id of ['b1', 'b2']) {
        for (const m of (await scrape(cluster.broker(id).url)).matchAll(/^# TYPE (\S+) /gm)) exported.add(m[1]!);
      }
      const missing: string[] = [];
      let referenced = 0;
      for (const file of files) {
        const text = readFileSync(join(REPO_ROOT, file), 'utf8');
        for (const [name] of text.matchAll(/\bstrata_[a-z0-9_]+/g)) {
          referenced++;
          const base = name.replace(/_(bucket|sum|count)$/, '');
          if (!exported.has(name) && !exported.has(base)) missing.push(`${file}: ${name}`);
        }
      }
      expect(referenced).toBeGreaterThan(10);
      expect(missing).toEqual([]);
    } finally {
      await cluster.close();
    }
  });
});
