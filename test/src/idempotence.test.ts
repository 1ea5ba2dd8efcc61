// Idempotent producers across a leader failover and a hand-over (docs/architecture.md#produce,
// #hand-over): the follower keeps each producer's state from the batches it replicates, so after
// the leader is killed (-9) or stopped the new leader answers a retry of an acknowledged batch
// with its original offsets and writes it once.

import { describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '@strata/protocol';
import { RedisCoordinator } from '@strata/coord';
import { Cluster, expectStatus, type BrokerProcess } from './harness/index.js';
import { clusterPerTest } from './support.js';

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function batch(producerId: number, baseSequence: number, value: string): Buffer {
  return encodeRecordBatch([{ key: null, value: Buffer.from(value) }], { producerId, producerEpoch: 0, baseSequence });
}

async function post(broker: BrokerProcess, bytes: Buffer): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await broker.http.raw('POST', '/v1/topics/idem/partitions/0/batches?acks=all', {
    body: bytes,
    headers: { 'content-type': 'application/vnd.kafka.record-batch' },
    timeoutMs: 10_000,
  });
  return { status: answer.status, body: JSON.parse(answer.body.toString('utf8')) as Record<string, unknown> };
}

describe('idempotent producers in a cluster', () => {
  const t = clusterPerTest();

  for (const how of ['killed (-9)', 'stopped (a graceful hand-over)'] as const) {
    it(`a retry after the leader was ${how} is answered by the new leader with the original offsets, written once`, async () => {
      const cluster = (t.cluster = await Cluster.start({ brokers: 2, env: { STRATA_LOG_LEVEL: 'info' } }));
      const coord = (t.coord = await RedisCoordinator.connect({ url: cluster.redis.url }));
      await until('b1 to see two live brokers', async () => {
        const res = await cluster.broker('b1').http.get('/v1/cluster');
        return res.status === 200 && (res.body.brokers as Array<{ live: boolean }>).filter((b) => b.live).length === 2;
      });
      expectStatus(await cluster.broker('b1').http.post('/v1/topics', { name: 'idem', partitions: 1, replicationFactor: 2, configs: { 'min.insync.replicas': 1 } }), 201, 'create');
      await until('a leader and two in-sync replicas', async () => {
        const s = await coord.getPartitionState('idem', 0);
        return s !== null && s.leader !== null && s.isr.length === 2 ? s : null;
      });
      // Ids come from the coordinator: unique whichever broker hands them out.
      const ids = await Promise.all(['b1', 'b2'].map(async (id) => (await cluster.broker(id).http.post('/v1/producers', {})).body.producerId as number));
      expect(new Set(ids).size).toBe(2);
      const producerId = ids[0]!;

      const leaderId = (await coord.getPartitionState('idem', 0))!.leader!;
      const leader = cluster.broker(leaderId);
      // The coordinator names the leader a moment before that broker has taken the partition over (503 NOT_LEADER, nothing written).
      const first = await until('the leader to take its first batch', async () => {
        const answer = await post(leader, batch(producerId, 0, 'a'));
        return answer.status === 503 ? null : answer;
      });
      expect(first).toEqual({ status: 200, body: { baseOffset: 0, lastOffset: 0, recordCount: 1 } });
      const second = await post(leader, batch(producerId, 1, 'b'));
      expect(second.body).toMatchObject({ baseOffset: 1 });
      // acks=all with both replicas in sync: the follower has both batches, and so their producer state.
      if (how === 'killed (-9)') await leader.kill();
      else await leader.stop();
      const otherId = leaderId === 'b1' ? 'b2' : 'b1';
      const other = cluster.broker(otherId);
      await until('the follower to lead', async () => ((await coord.getPartitionState('idem', 0))?.leader === otherId ? true : null));

      // The client never got the answer to its second batch: it sends it again, to the new leader.
      const retry = await until('the new leader to take the retry', async () => {
        const answer = await post(other, batch(producerId, 1, 'b'));
        return answer.status === 200 ? answer : null;
      });
      expect(retry.body).toEqual({ baseOffset: 1, lastOffset: 1, recordCount: 1, duplicate: true });
      expect((await post(other, batch(producerId, 5, 'gap'))).body).toMatchObject({ error: { code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' } });
      expect((await post(other, batch(producerId, 2, 'c'))).body).toEqual({ baseOffset: 2, lastOffset: 2, recordCount: 1 });
      const read = await other.http.get('/v1/topics/idem/partitions/0/records?offset=0');
      expect((read.body.records as Array<{ value: string }>).map((r) => r.value)).toEqual(['a', 'b', 'c']);
    });
  }
});
