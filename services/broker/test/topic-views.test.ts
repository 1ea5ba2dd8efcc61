// A topic's views for clients at scale: the list's health counts, and a describe that walks the
// cluster's brokers once (it walked them once per partition: a 1,000-partition topic on a broker of
// 10,000 partitions was 10 million partition views per describe, a topic page the console polls).

import { describe, expect, it } from 'vitest';
import { describeTopic, listTopic } from '../src/core/topics.js';
import type { Topic } from '../src/topics/topic-registry.js';

const PARTITIONS = 300;

function stubTopic(): Topic {
  const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({
    partition,
    key: `t/${partition}`,
    log: { stats: () => ({ logStartOffset: 0, logEndOffset: 10, sizeBytes: 100 }) },
    tier: {
      uploadLag: () => ({ segments: 1, bytes: 7 }),
      logStartOffset: () => 0,
      manifest: { segments: [], logStartOffset: 0 },
      remoteBytes: () => 0,
      remoteEndOffset: 0,
      lastError: null,
    },
  }));
  return { name: 't', meta: { topicId: 'id', replicationFactor: 3, configs: {} }, configs: {}, partitions, partitionCount: PARTITIONS, offline: new Map() } as unknown as Topic;
}

/** Partition p: led by b1 with a full ISR, except every 10th (no leader) and every 3rd (ISR short). */
function stubCluster() {
  const calls = { brokers: 0 };
  return {
    calls,
    partitionView: (h: { partition: number }) => ({
      leader: h.partition % 10 === 0 ? null : 'b1',
      leaderEpoch: 1,
      replicas: ['b1', 'b2', 'b3'],
      isr: h.partition % 3 === 0 ? ['b1'] : ['b1', 'b2', 'b3'],
      highWatermark: 10,
    }),
    brokers: () => {
      calls.brokers++;
      return [{ id: 'b1', url: 'http://b1', live: true, self: true, leaderOf: [] }];
    },
  };
}

describe('topic views', () => {
  it('describes a topic asking for the brokers once, not once per partition', () => {
    const cluster = stubCluster();
    const view = describeTopic(stubTopic(), 'b1', cluster);
    expect(view.partitions).toHaveLength(PARTITIONS);
    expect(cluster.calls.brokers).toBe(1);
    const p1 = view.partitions[1]!;
    expect('leaderUrl' in p1 && p1.leaderUrl).toBe('http://b1');
    const p0 = view.partitions[0]!;
    expect('leaderUrl' in p0 && p0.leaderUrl).toBe(null);
  });

  it('lists a topic with its health counts', () => {
    expect(listTopic(stubTopic(), stubCluster())).toEqual({
      name: 't',
      partitions: PARTITIONS,
      replicationFactor: 3,
      leaderless: PARTITIONS / 10,
      underReplicated: PARTITIONS / 3,
      offline: 0,
      uploadLagSegments: PARTITIONS,
      uploadLagBytes: 7 * PARTITIONS,
    });
  });
});
