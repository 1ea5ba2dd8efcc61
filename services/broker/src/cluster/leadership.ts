// Partition leadership (docs/architecture.md, "cluster" and "hand-over"): acquire the lease of each
// partition assigned to this broker (deciding whether its local tail can be kept), renew it, stop
// writing before it can have expired, lose it when fenced or replaced, and hand the partition over
// (the tail replicated to an in-sync successor, or uploaded first) when the assignment moves or the
// broker leaves. Each reign's writes go through its PartitionLeader.
//
// Time for leases is this process's monotonic clock (performance.now), which keeps running while
// the process is paused: a leader woken from SIGSTOP finds its deadline passed before it can write.

import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { manifestEndOffset, type LeadershipTransferResult, type PartitionState } from '@strata/coord';
import { KAFKA_JITTER, backoffMs } from '@strata/protocol';
import { Counter } from 'prom-client';
import { writeFileAtomic } from '../fs-util.js';
import { PartitionLeader } from '../partition/partition-leader.js';
import type { TieredPartition } from '../tiering/tiered-partition.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import { gauge, type ClusterState, type Reign } from './cluster-state.js';
import { LeaderReplicas } from '../partition/leader-replicas.js';
import { notLeader, type PartitionRoute } from './routing.js';
import {
  COORDINATOR_CALL_TIMEOUT_MS,
  HANDOVER_UPLOAD_RETRY_FIRST_MS,
  HANDOVER_UPLOAD_RETRY_MAX_MS,
  REFUSED_WARN_EVERY_MS,
  LEASE_RENEWALS_PER_TTL,
  SUCCESSOR_CATCH_UP_MAX_MS,
  SUCCESSOR_POLL_MS,
} from './timings.js';

/** Names the leader epoch this broker last took the partition in; its local tail is trusted only under it. */
const REIGN_FILE = 'leader-epoch';

export interface LeadershipOptions {
  /** Replication: no replica append may land while this broker takes a partition over. */
  stopFollowing(key: string): Promise<void>;
  /** The routing view: where a partition's writes go now (named in NOT_LEADER answers). */
  routeNow(handle: PartitionHandle): PartitionRoute;
}

export class Leadership {
  readonly #s: ClusterState;
  readonly #o: LeadershipOptions;
  readonly #events: Counter<'event'>;
  readonly #unacknowledged: Counter;
  /** When a refused (not electable) acquisition was last logged, per partition. */
  readonly #refusedWarnedAt = new Map<string, number>();

  constructor(state: ClusterState, options: LeadershipOptions) {
    this.#s = state;
    this.#o = options;
    const registers = [state.opts.metrics];
    gauge(state.opts.metrics, 'strata_cluster_partitions_led', 'Partitions this broker leads now.', () => state.reigns.size);
    this.#events = new Counter({
      name: 'strata_cluster_leadership_events_total',
      help: 'Partition leadership changes on this broker: acquired, handed_over, lost (expired or fenced).',
      labelNames: ['event'],
      registers,
    });
    this.#unacknowledged = new Counter({
      name: 'strata_cluster_unacknowledged_appends_total',
      help: 'Appends that finished after the lease deadline or under a newer epoch, answered with NOT_LEADER instead of an ack.',
      registers,
    });
  }

  /** One tick for one partition: lose, hand over, give back or acquire, as the state read says. */
  lead(handle: PartitionHandle): void {
    const s = this.#s;
    const key = handle.key;
    const state = s.states.get(key);
    const reign = s.reigns.get(key);
    const topicId = s.topicIdOf(handle.topic);
    if (reign !== undefined) {
      const { leader } = reign;
      if (state && (state.leaderEpoch !== leader.epoch || (state.leader !== null && state.leader !== s.me))) {
        this.lose(key, reign, `epoch ${state.leaderEpoch} of ${state.leader ?? 'nobody'} replaced it`);
      } else if (performance.now() >= leader.deadline && leader.status === 'leading' && state?.leader !== s.me) {
        this.lose(key, reign, 'the lease expired');
      } else if (leader.status === 'leading' && !s.busy.has(key)) {
        const moved = !state || state.replicas[0] !== s.me || state.topicId !== topicId;
        // Leaving: wait for the controller to name a successor, unless nobody else is live or time runs short.
        const leaveNow = s.leaving && (s.brokers.size === 0 || performance.now() > s.leaveDeadline - s.opts.config.handoverTimeoutMs / 2);
        if ((moved && performance.now() >= reign.handOverNotBefore) || leaveNow) {
          s.track(this.#handOver(reign, moved ? `reassigned to ${state?.replicas[0] ?? 'nobody'}` : 'broker leaving'));
        }
      }
      return;
    }
    if (s.leaving && state?.leader === s.me && !s.busy.has(key)) {
      // A lease handed to this broker as it leaves: give it back at once rather than let it lapse.
      s.track(s.coord.releaseLeadership(handle.topic, handle.partition, s.me, state.leaderEpoch).catch(() => undefined));
      return;
    }
    if (s.leaving || s.busy.has(key) || !state || state.replicas[0] !== s.me || state.topicId !== topicId) return;
    if (state.leader === null || state.leader === s.me) s.track(this.#acquire(handle, state));
  }

  /** Renewals every TTL / LEASE_RENEWALS_PER_TTL, each on its own: a slow read never delays one. */
  renewDue(): void {
    const s = this.#s;
    const { config, logger } = s.opts;
    const now = performance.now();
    const every = Math.floor(config.leaseTtlMs / LEASE_RENEWALS_PER_TTL);
    for (const [key, reign] of s.reigns) {
      if (reign.renewing || now - reign.renewSentAt < every) continue;
      reign.renewing = true;
      const sentAt = performance.now();
      const { handle, epoch } = reign.leader;
      s.track(
        s.coord
          .renewLeadership(handle.topic, handle.partition, s.me, epoch, config.leaseTtlMs, { signal: AbortSignal.timeout(every) })
          .then(
            (ok) => {
              if (s.reigns.get(key) !== reign) return;
              if (!ok) return this.lose(key, reign, 'the lease could not be renewed');
              reign.renewSentAt = sentAt;
              reign.leader.extendLease(sentAt + config.leaseTtlMs - s.marginMs);
            },
            (e: unknown) => logger.debug('lease renewal failed; retrying', { topic: handle.topic, partition: handle.partition, err: e }),
          )
          .finally(() => {
            reign.renewing = false;
          }),
      );
    }
  }

  /** The reign ends here: no more writes, its acks=all waiters fail (retriable), the tier follows. */
  lose(key: string, reign: Reign, why: string): void {
    const s = this.#s;
    if (s.reigns.get(key) !== reign) return;
    const { handle, epoch } = reign.leader;
    s.reigns.delete(key);
    handle.tier.follow();
    reign.leader.end(notLeader(handle, { kind: 'unavailable', reason: why }, 'leadership was lost before the in-sync replicas confirmed the records'));
    this.#events.inc({ event: 'lost' });
    s.opts.events.log.record({ kind: 'leadership-lost', topic: handle.topic, partition: handle.partition, message: `${s.me} lost the leadership of epoch ${epoch}: ${why}` });
    s.opts.logger.warn('partition leadership lost', { topic: handle.topic, partition: handle.partition, epoch, why });
  }

  /** The registry dropped a partition (its topic was deleted): forget its leadership. */
  forget(handle: PartitionHandle): void {
    const s = this.#s;
    const reign = s.reigns.get(handle.key);
    if (reign?.leader.handle === handle) {
      s.reigns.delete(handle.key);
      reign.leader.end(notLeader(handle, { kind: 'unavailable', reason: 'its topic was deleted' }));
      void s.coord.releaseLeadership(handle.topic, handle.partition, s.me, reign.leader.epoch).catch(() => undefined);
    }
  }

  /** The tier's manifest write was fenced: a newer leader exists (this incarnation's tier only). */
  fenced(tier: TieredPartition): void {
    for (const [key, reign] of this.#s.reigns) {
      if (reign.leader.handle.tier === tier) this.lose(key, reign, 'a manifest write was fenced');
    }
  }

  /** Stopping: every reign ends where it stands. */
  endAll(): void {
    for (const [key, reign] of this.#s.reigns) {
      this.#s.reigns.delete(key);
      reign.leader.end(notLeader(reign.leader.handle, { kind: 'unavailable', reason: 'the broker is stopping' }));
      reign.leader.handle.tier.follow();
    }
  }

  async #acquire(handle: PartitionHandle, seen: PartitionState): Promise<void> {
    const s = this.#s;
    const key = handle.key;
    const { config, logger } = s.opts;
    s.busy.add(key);
    try {
      const log = handle.log;
      // No replica append may land while this broker takes over: stop following first.
      await this.#o.stopFollowing(key);
      // An upload of an earlier reign may still be in flight: let it finish (or be fenced) first.
      await handle.tier.idle();
      const signal = AbortSignal.any([s.abort.signal, AbortSignal.timeout(config.leaseTtlMs)]);
      const manifest = await s.coord.loadManifest(handle.topic, handle.partition, { signal });
      const remoteEnd = manifestEndOffset(manifest);
      const reignEpoch = await readReign(log.dir);
      const history = seen.epochHistory;
      const unclean = s.unclean(handle.topic);
      const covers = log.logStartOffset <= remoteEnd && remoteEnd <= log.logEndOffset;
      // The local tail was written in reignEpoch. It is ours to keep if every reign since was this
      // broker's own (an epoch granted to us and never used cannot conflict with our records) and the
      // log still joins the bucket, or if we are in the ISR (a follower that has every acknowledged
      // record: that is what replication is for; the clean grant below checks it against the HW
      // atomically). Otherwise what is newer than the bucket may conflict with another leader's records.
      const ours = reignEpoch !== null && history.some((e) => e.epoch === reignEpoch && e.leader === s.me);
      const onlyOursSince = history.every((e) => reignEpoch === null || e.epoch <= reignEpoch || e.leader === s.me);
      const ownReign = ours && onlyOursSince && seen.leaderEpoch === history.at(-1)?.epoch && covers;
      const inSync = !unclean && seen.isr.includes(s.me) && covers;
      const keep = ownReign || inSync;
      // An empty log already at the bucket end (a topic just created) has nothing to distrust: it
      // is not reset, so a reader of it (a describe) never meets it halfway through a reset.
      const emptyAtRemoteEnd = log.logStartOffset === remoteEnd && log.logEndOffset === remoteEnd;
      if (!keep && !emptyAtRemoteEnd) {
        await rm(join(log.dir, REIGN_FILE), { force: true });
        await log.resetTo(remoteEnd, await handle.tier.producerSnapshot(remoteEnd, signal));
      }
      const knownEpoch = Math.max(seen.leaderEpoch, manifest.epoch, reignEpoch ?? 0, log.latestEpoch ?? 0);
      const sentAt = performance.now();
      const grant = await s.coord.acquireLeadership(
        handle.topic,
        handle.partition,
        { topicId: seen.topicId, brokerId: s.me, ttlMs: config.leaseTtlMs, startOffset: log.logEndOffset, knownEpoch, clean: !unclean },
        { signal },
      );
      if (!grant.acquired) {
        if (grant.reason === 'not-in-isr' && performance.now() - (this.#refusedWarnedAt.get(key) ?? -Infinity) > REFUSED_WARN_EVERY_MS) {
          this.#refusedWarnedAt.set(key, performance.now());
          logger.warn('not electable: outside the ISR or behind the high watermark (unclean.leader.election.enable is false)', {
            topic: handle.topic,
            partition: handle.partition,
            isr: seen.isr,
            highWatermark: seen.highWatermark,
            logEnd: log.logEndOffset,
          });
        } else if (grant.reason !== 'held') logger.debug('partition lease not granted', { topic: handle.topic, partition: handle.partition, reason: grant.reason });
        return;
      }
      // Recorded before anything else can fail: a retry after a failure below must still know this
      // log is the one of our reigns, or it would throw away the acknowledged tail.
      await writeFileAtomic(join(log.dir, REIGN_FILE), `${grant.epoch}\n`);
      // The lease is ours now: nobody else can commit. If another reign came between our read and
      // the grant (its epoch would lie between), or the bucket moved meanwhile, a tail kept only
      // because we led last is not to be trusted: continue from the bucket's end instead. A tail
      // kept as an ISR member stays (the grant checked the ISR and HW), unless the bucket passed it.
      const after = await s.coord.getPartitionState(handle.topic, handle.partition, { signal });
      const current = await s.coord.loadManifest(handle.topic, handle.partition, { signal });
      const intervening = grant.epoch !== knownEpoch + 1 || (after?.epochHistory ?? []).some((e) => e.epoch > seen.leaderEpoch && e.epoch < grant.epoch && e.leader !== s.me);
      const currentEnd = manifestEndOffset(current);
      const distrust = !inSync && ((keep && intervening) || currentEnd !== remoteEnd);
      if (distrust || log.logEndOffset < currentEnd || log.logStartOffset > currentEnd) {
        await rm(join(log.dir, REIGN_FILE), { force: true });
        await log.resetTo(currentEnd, await handle.tier.producerSnapshot(currentEnd, signal));
        logger.warn('leadership or the bucket moved while taking the partition; continuing from the bucket end', {
          topic: handle.topic,
          partition: handle.partition,
          remoteEnd: currentEnd,
        });
      }
      if (after === null || after.leaderEpoch !== grant.epoch) {
        // Granted and already superseded (expired while we worked): the next tick looks again.
        return;
      }
      await writeFileAtomic(join(log.dir, REIGN_FILE), `${grant.epoch}\n`);
      if (!s.opts.registry.isCurrent(handle) || s.stopped) {
        await s.coord.releaseLeadership(handle.topic, handle.partition, s.me, grant.epoch).catch(() => undefined);
        return;
      }
      handle.tier.lead(grant.epoch, current);
      const replicas = new LeaderReplicas({
        me: s.me,
        log,
        isr: after.isr,
        highWatermark: after.highWatermark,
        onAdvance: (hw) => s.opts.waiters.notify(key, hw),
      });
      const leader = new PartitionLeader(
        { handle, epoch: grant.epoch, deadline: sentAt + config.leaseTtlMs - s.marginMs, replicas },
        {
          waiters: s.opts.waiters,
          explainFailure: (h, e) => s.opts.registry.explainFailure(h, e),
          notLeader: (h, why) => notLeader(h, this.#o.routeNow(h), why),
          onUnacknowledged: () => this.#unacknowledged.inc(),
          replicaAckTimeoutMs: config.replicaAckTimeoutMs,
        },
      );
      s.reigns.set(key, { leader, replicas, renewSentAt: sentAt, renewing: false, publishedHighWatermark: -1, publishing: false, handOverNotBefore: 0 });
      s.states.set(key, after);
      this.#events.inc({ event: 'acquired' });
      s.opts.events.log.record({ kind: 'leadership-acquired', topic: handle.topic, partition: handle.partition, message: `${s.me} leads in epoch ${grant.epoch} from offset ${log.logEndOffset}` });
      logger.info('partition leadership acquired', {
        topic: handle.topic,
        partition: handle.partition,
        epoch: grant.epoch,
        startOffset: log.logEndOffset,
        remoteEnd,
        keptLocalTail: keep,
        isr: after.isr,
        highWatermark: replicas.highWatermark,
      });
    } catch (e) {
      logger.warn('taking partition leadership failed; will retry', { topic: handle.topic, partition: handle.partition, err: e });
    } finally {
      s.busy.delete(key);
    }
  }

  /**
   * Stops writes and hands the lease to the assigned successor. When the successor is an in-sync
   * follower, it is given the time to fetch the last records and then the lease, with no upload
   * (it continues with the tail it has); otherwise the tail is uploaded first and the next leader
   * continues from the bucket.
   */
  async #handOver(reign: Reign, why: string): Promise<void> {
    const s = this.#s;
    const { leader, replicas } = reign;
    const { handle } = leader;
    const key = handle.key;
    if (s.busy.has(key) && leader.status === 'draining') return;
    s.busy.add(key);
    leader.drain();
    const started = performance.now();
    const { config, logger } = s.opts;
    const deadline = started + config.handoverTimeoutMs;
    let successor: string | null = null;
    let keepReign = false;
    const transferTo = (startOffset: number, expected?: string): Promise<LeadershipTransferResult | null> =>
      s.coord
        .transferLeadership(
          handle.topic,
          handle.partition,
          { brokerId: s.me, leaderEpoch: leader.epoch, ttlMs: config.leaseTtlMs, startOffset, ...(expected !== undefined ? { successor: expected } : {}) },
          { signal: AbortSignal.timeout(COORDINATOR_CALL_TIMEOUT_MS) },
        )
        .catch((e: unknown) => {
          logger.warn('transferring the partition lease failed; releasing it', { topic: handle.topic, partition: handle.partition, err: e });
          return null;
        });
    try {
      // An in-sync successor with every record takes over without an upload.
      const caughtUp = await this.#successorCaughtUp(reign, Math.min(SUCCESSOR_CATCH_UP_MAX_MS, config.handoverTimeoutMs / 2));
      let transfer = caughtUp !== null ? await transferTo(handle.log.logEndOffset, caughtUp) : null;
      const uploaded = transfer?.transferred !== true && (caughtUp === null || (transfer !== null && transfer.reason === 'successor-moved'));
      if (transfer?.transferred === true) replicas.resolveUpTo(handle.log.logEndOffset); // on the successor's disk and ours
      for (let attempt = 0; uploaded; attempt++) {
        if (s.reigns.get(key) !== reign) return; // lost meanwhile
        try {
          await handle.tier.drain(s.abort.signal);
          // Everything appended is in the bucket now: acks=all produces still waiting are safe.
          replicas.resolveUpTo(handle.tier.remoteEndOffset);
          break;
        } catch (e) {
          if (!handle.tier.leading || s.abort.signal.aborted) return;
          if (performance.now() >= deadline && !s.leaving) {
            // Reassigned, not leaving: keep leading (and the tail) rather than lose acknowledged records; try again later.
            logger.warn('hand-over could not upload the partition tail in time; leading on and trying again later', {
              topic: handle.topic,
              partition: handle.partition,
              err: e,
            });
            leader.resume();
            reign.handOverNotBefore = performance.now() + config.handoverTimeoutMs;
            keepReign = true;
            return;
          }
          if (performance.now() >= deadline) {
            logger.error('hand-over could not upload the partition tail in time; releasing anyway: records not uploaded stay only on this broker\'s disk (uploaded when it starts again with the same data dir; a leader elsewhere does not have them)', {
              topic: handle.topic,
              partition: handle.partition,
              remoteEnd: handle.tier.remoteEndOffset,
              logEnd: handle.log.logEndOffset,
              err: e,
            });
            break;
          }
          await sleep(backoffMs(attempt + 1, { baseMs: HANDOVER_UPLOAD_RETRY_FIRST_MS, maxMs: HANDOVER_UPLOAD_RETRY_MAX_MS, jitter: KAFKA_JITTER }), undefined, { ref: false });
        }
      }
      // Straight to the assigned leader when there is one (the partition never lacks a lease holder), else released.
      if (uploaded) {
        // Only to a live successor: a lease handed to a broker that is gone blocks the partition for a TTL.
        const assigned = s.states.get(key)?.replicas[0];
        const successorLive = assigned !== undefined && assigned !== s.me && s.brokers.has(assigned);
        transfer = successorLive ? await transferTo(handle.tier.remoteEndOffset) : null;
      }
      if (transfer?.transferred !== true) {
        await s.coord.releaseLeadership(handle.topic, handle.partition, s.me, leader.epoch, { signal: AbortSignal.timeout(COORDINATOR_CALL_TIMEOUT_MS) }).catch((e: unknown) => {
          logger.warn('releasing the partition lease failed; it expires by itself', { topic: handle.topic, partition: handle.partition, err: e });
        });
      }
      successor = transfer?.transferred === true ? transfer.successor : null;
      this.#events.inc({ event: 'handed_over' });
      s.opts.events.log.record({
        kind: 'leadership-handed-over',
        topic: handle.topic,
        partition: handle.partition,
        message: `${s.me} handed epoch ${leader.epoch} over to ${successor ?? 'whoever the controller names'} (${why}; tail ${uploaded ? 'uploaded' : 'replicated'})`,
      });
      logger.info('partition handed over', {
        topic: handle.topic,
        partition: handle.partition,
        epoch: leader.epoch,
        why,
        successor,
        tail: uploaded ? 'uploaded' : 'replicated',
        uploadedTo: handle.tier.remoteEndOffset,
        logEnd: handle.log.logEndOffset,
        ms: Math.round(performance.now() - started),
      });
    } finally {
      const unconfirmed = notLeader(handle, { kind: 'unavailable', reason: 'its leader handed it over' }, 'the records were not confirmed by the in-sync replicas');
      if (s.reigns.get(key) === reign && !keepReign) {
        s.reigns.delete(key);
        handle.tier.follow();
        leader.end(unconfirmed);
      } else replicas.failAll(unconfirmed);
      s.busy.delete(key);
    }
  }

  /**
   * With writes stopped: the assigned successor, once it is an in-sync follower with every record
   * of this log (within timeoutMs), else null. Clean election only: then the successor is also what
   * the transfer names (or the transfer is refused), and every record it lacks would be lost.
   */
  async #successorCaughtUp(reign: Reign, timeoutMs: number): Promise<string | null> {
    const s = this.#s;
    const { handle } = reign.leader;
    if (!s.opts.registry.has(handle.topic) || s.unclean(handle.topic)) return null;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const successor = s.states.get(handle.key)?.replicas[0];
      if (s.reigns.get(handle.key) !== reign || successor === undefined || successor === s.me || !reign.replicas.isr.includes(successor)) return null;
      const end = reign.replicas.followers.get(successor)?.logEndOffset ?? -1;
      if (end === handle.log.logEndOffset) return successor;
      if (performance.now() >= deadline || s.abort.signal.aborted) return null;
      await sleep(SUCCESSOR_POLL_MS, undefined, { ref: false });
    }
  }
}

/**
 * Records that the log in `dir` was written in `epoch` by this broker: the import of an older
 * release's data dir (whose logs a single node wrote in epoch 0) names its reign, so the first
 * acquisition keeps the tail as its own.
 */
export async function recordReign(dir: string, epoch: number): Promise<void> {
  await writeFileAtomic(join(dir, REIGN_FILE), `${epoch}\n`);
}

async function readReign(dir: string): Promise<number | null> {
  const text = await readFile(join(dir, REIGN_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  const epoch = Number(text.trim());
  return Number.isSafeInteger(epoch) && epoch >= 0 ? epoch : null;
}
