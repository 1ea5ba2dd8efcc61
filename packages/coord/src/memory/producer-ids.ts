// The in-process engine's producer-id blocks (KIP-730): the next free id lives in cluster.json,
// rewritten (durably) before a block is handed out, so a restart never hands one out again.

import type { CallOptions, ProducerIdBlock } from '../coordinator.js';
import { PRODUCER_IDS_PER_MS } from '../coordinator.js';
import type { MemoryState } from './state.js';

export async function allocateProducerIds(s: MemoryState, brokerId: string, blockSize: number, options?: CallOptions): Promise<ProducerIdBlock> {
  s.args.allocateProducerIds(brokerId, blockSize);
  return s.serialize('allocateProducerIds', options, () =>
    s.changeCluster<ProducerIdBlock>((draft) => {
      const firstId = Math.max(draft.nextProducerId ?? 0, s.now() * PRODUCER_IDS_PER_MS);
      draft.nextProducerId = firstId + blockSize;
      return { next: draft, value: { firstId, size: blockSize } };
    }),
  );
}
