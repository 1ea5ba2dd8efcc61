// The Redis engine's producer-id blocks (KIP-730): one hash under {cluster}, changed by one script.

import type { CallOptions, ProducerIdBlock } from '../coordinator.js';
import { PRODUCER_IDS_PER_MS } from '../coordinator.js';
import { int } from './codec.js';
import type { RedisConnection } from './connection.js';

export async function allocateProducerIds(c: RedisConnection, brokerId: string, blockSize: number, options?: CallOptions): Promise<ProducerIdBlock> {
  c.args.allocateProducerIds(brokerId, blockSize);
  return c.call(`allocateProducerIds ${brokerId}`, { brokerId }, options, async () => {
    const reply = (await c.eval('allocate-producer-ids', [c.keys.producerIds()], [brokerId, blockSize, PRODUCER_IDS_PER_MS])) as unknown[];
    return { firstId: int(reply[0], 'first producer id'), size: int(reply[1], 'producer id block size') };
  });
}
