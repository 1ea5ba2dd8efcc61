import { describe, expect, it } from 'vitest';
import { consumerAssignmentPartitions, consumerSubscriptionTopics } from '@strata/kafka-protocol';

/** ConsumerProtocolAssignment v0 as kafkajs and librdkafka write it: version, [topic, [partition]], user data. */
function assignment(topics: Array<[string, number[]]>): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0]), int32(topics.length)];
  for (const [topic, partitions] of topics) parts.push(str(topic), int32(partitions.length), ...partitions.map(int32));
  parts.push(int32(-1));
  return Buffer.concat(parts);
}
function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
function str(s: string): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(Buffer.byteLength(s));
  return Buffer.concat([b, Buffer.from(s)]);
}

describe('the consumer protocol bytes a group shows', () => {
  it('reads a subscription\'s topics and an assignment\'s partitions (sorted), in any version', () => {
    const subscription = Buffer.concat([Buffer.from([0, 3]), int32(2), str('orders'), str('payments'), int32(-1)]);
    expect(consumerSubscriptionTopics(subscription)).toEqual(['orders', 'payments']);
    expect(consumerAssignmentPartitions(assignment([['orders', [3, 1]], ['payments', [0]]]))).toEqual([
      { topic: 'orders', partitions: [1, 3] },
      { topic: 'payments', partitions: [0] },
    ]);
    expect(consumerAssignmentPartitions(Buffer.alloc(0))).toEqual([]);
  });

  it('answers null for bytes that are not one (cut short, counts past the end)', () => {
    const whole = assignment([['orders', [0, 1, 2]]]);
    for (let cut = 1; cut < whole.length - 4; cut++) expect(consumerAssignmentPartitions(whole.subarray(0, cut)), `cut at ${cut}`).toBeNull();
    expect(consumerSubscriptionTopics(Buffer.concat([Buffer.from([0, 0]), int32(1_000_000)]))).toBeNull();
    expect(consumerSubscriptionTopics(Buffer.from([0]))).toBeNull();
  });
});
