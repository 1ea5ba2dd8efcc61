// The follower's side of one partition in one leader epoch (Kafka's fetcher thread, per
// partition here): first truncate to where this log and the leader's agree (KIP-101/279, by
// leader epoch), then long-poll the leader from this log's end and append its batches as they
// are. A fetcher serves exactly one (leader, epoch); a new epoch gets a new fetcher.

import { setTimeout as sleep } from 'node:timers/promises';
import { EQUAL_JITTER, backoffMs, validateBatches, type BackoffPolicy } from '@strata/protocol';
import type { Logger } from '../logger.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import type { ReplicaClient } from './replica-client.js';

/** Between failed fetches from the leader: 50 ms doubling to 1 s, at least half of it (fetchers of many partitions spread out). */
const FETCH_RETRY_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 50, maxMs: 1_000, jitter: EQUAL_JITTER });

export interface ReplicaFetcherOptions {
  handle: PartitionHandle;
  me: string;
  leaderId: string;
  leaderUrl: string;
  epoch: number;
  client: ReplicaClient;
  logger: Logger;
  maxBytes: number;
  maxWaitMs: number;
}

export class ReplicaFetcher {
  readonly handle: PartitionHandle;
  readonly leaderId: string;
  readonly leaderUrl: string;
  readonly epoch: number;
  /** The leader's HW as last heard (lag metrics). */
  leaderHighWatermark = -1;
  readonly #opts: ReplicaFetcherOptions;
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;

  constructor(options: ReplicaFetcherOptions) {
    this.#opts = options;
    this.handle = options.handle;
    this.leaderId = options.leaderId;
    this.leaderUrl = options.leaderUrl;
    this.epoch = options.epoch;
    this.#done = this.#run().catch((e: unknown) => {
      if (!this.#abort.signal.aborted) options.logger.warn('replica fetcher stopped', { topic: this.handle.topic, partition: this.handle.partition, err: e });
    });
  }

  /** Replication lag in offsets, as the follower sees it (the leader's HW may be newer). */
  get lag(): number {
    return this.leaderHighWatermark < 0 ? 0 : Math.max(0, this.leaderHighWatermark - this.handle.log.logEndOffset);
  }

  /** Stops and waits until no append of this fetcher is in flight. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error('fetcher stopped'));
    await this.#done;
  }

  async #run(): Promise<void> {
    const { handle, client, logger } = this.#opts;
    const signal = this.#abort.signal;
    let failures = 0;
    let truncated = false;
    while (!signal.aborted) {
      try {
        if (!truncated) {
          truncated = await this.#truncate(signal);
          if (!truncated) {
            await sleep(100, undefined, { signal });
            continue;
          }
        }
        const log = handle.log;
        const reply = await client.fetch(
          this.leaderUrl,
          handle.topic,
          handle.partition,
          { replica: this.#opts.me, epoch: this.epoch, offset: log.logEndOffset, maxBytes: this.#opts.maxBytes, maxWaitMs: this.#opts.maxWaitMs },
          signal,
        );
        if (signal.aborted) return;
        switch (reply.kind) {
          case 'data':
            this.leaderHighWatermark = reply.highWatermark;
            if (reply.uploadedEnd >= 0) handle.tier.uploadedElsewhere(reply.uploadedEnd);
            if (reply.data.length > 0) {
              const frames = validateBatches(reply.data, { deep: false });
              await log.appendReplica(reply.data, frames);
            }
            break;
          case 'reset':
            logger.info('follower starts over at the leader\'s unuploaded tail', { topic: handle.topic, partition: handle.partition, from: log.logEndOffset, to: reply.to });
            handle.tier.uploadedElsewhere(reply.to);
            // The producers' state as of the bucket end comes from the bucket (the leader uploaded it with the segment).
            await log.resetTo(reply.to, await handle.tier.producerSnapshot(reply.to, signal));
            break;
          case 'truncate':
            logger.warn('follower log ran past the leader\'s; truncating', { topic: handle.topic, partition: handle.partition, from: log.logEndOffset, to: reply.to });
            if (reply.to < log.logStartOffset) await log.resetTo(reply.to);
            else await log.truncateTo(reply.to);
            break;
          case 'fenced':
            // The leader is not (yet, or any more) in our epoch: the cluster loop replaces this fetcher when the state moves.
            await sleep(50, undefined, { signal });
            break;
        }
        failures = 0;
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        if (failures === 1 || failures % 50 === 0) logger.debug('replica fetch failed; retrying', { topic: handle.topic, partition: handle.partition, leader: this.leaderId, failures, err: e });
        // A batch that does not continue our log means our view is off: redo the truncation.
        truncated = false;
        await sleep(backoffMs(failures, FETCH_RETRY_BACKOFF), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * KIP-101/279: ask the leader where our latest epoch ends in its log; cut ours to the lesser of
   * that and where that epoch ends here. false: the leader cannot answer yet (retry).
   */
  async #truncate(signal: AbortSignal): Promise<boolean> {
    const { handle, client, logger } = this.#opts;
    const log = handle.log;
    const before = log.logEndOffset;
    const first = log.latestEpoch;
    // Each round agrees on one more epoch or cuts below it (epochs only go down): bounded.
    for (let round = 0; round < 64; round++) {
      const ours = log.latestEpoch;
      if (ours === null) break; // empty: nothing can disagree
      const answer = await client.epochEnd(this.leaderUrl, handle.topic, handle.partition, ours, this.epoch, signal);
      if ('fenced' in answer) return false;
      if (answer.epoch < 0) {
        // The leader's log holds no epoch as old as ours: nothing of ours is known to agree.
        await log.resetTo(Math.max(answer.logStartOffset, 0));
        break;
      }
      const here = log.endOffsetForEpoch(answer.epoch);
      const to = Math.min(answer.endOffset, here.epoch < 0 ? log.logStartOffset : here.endOffset);
      if (to < log.logEndOffset) {
        if (to <= log.logStartOffset) await log.resetTo(to);
        else await log.truncateTo(to);
      }
      // Same epoch on both sides at the cut: the logs agree below it (both are prefixes of that epoch's leader's log).
      if (here.epoch === answer.epoch) break;
    }
    if (log.logEndOffset !== before) {
      logger.info('follower truncated to the new leader\'s history', { topic: handle.topic, partition: handle.partition, epoch: this.epoch, from: before, to: log.logEndOffset, ourEpoch: first });
    }
    return true;
  }
}
