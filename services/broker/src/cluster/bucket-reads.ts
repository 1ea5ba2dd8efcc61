// Bucket reads: a read of a partition led elsewhere, served from the bucket when it holds the
// offset, so any broker serves history and replays spread over the cluster.

import type { FetchResult } from '../fetch.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import type { ClusterState } from './cluster-state.js';
import { BUCKET_MANIFEST_MAX_AGE_AT_END_MS, BUCKET_MANIFEST_MAX_AGE_BELOW_END_MS } from './timings.js';

export class BucketReads {
  readonly #s: ClusterState;
  /** When each partition's manifest was last loaded here, by handle key. */
  readonly #manifestReadAt = new Map<string, number>();

  constructor(state: ClusterState) {
    this.#s = state;
  }

  /** null: not in the bucket, or this broker leads the partition (ask the leader). */
  async read(handle: PartitionHandle, offset: number, maxBytes: number, signal: AbortSignal): Promise<FetchResult | null> {
    const tier = handle.tier;
    if (tier.leading) return null;
    const age = performance.now() - (this.#manifestReadAt.get(handle.key) ?? -Infinity);
    if (age > (offset >= tier.remoteEndOffset ? BUCKET_MANIFEST_MAX_AGE_AT_END_MS : BUCKET_MANIFEST_MAX_AGE_BELOW_END_MS)) {
      const deadline = AbortSignal.timeout(this.#s.opts.config.leaseTtlMs);
      tier.refresh(await this.#s.coord.loadManifest(handle.topic, handle.partition, { signal: AbortSignal.any([signal, deadline]) }));
      this.#manifestReadAt.set(handle.key, performance.now());
    }
    const manifest = tier.manifest;
    const first = manifest.segments[0];
    if (first === undefined) return null;
    const logStartOffset = Math.max(manifest.logStartOffset, first.baseOffset);
    const end = tier.remoteEndOffset;
    if (offset < logStartOffset || offset >= end) return null;
    const result = await tier.read(offset, maxBytes, signal);
    return {
      data: result.data,
      release: result.release ?? (() => undefined),
      batchCount: result.batchCount,
      nextOffset: result.nextOffset,
      highWatermark: Math.max(end, this.#s.states.get(handle.key)?.highWatermark ?? 0),
      logStartOffset,
    };
  }

  forget(key: string): void {
    this.#manifestReadAt.delete(key);
  }
}
