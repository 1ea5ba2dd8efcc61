// The consumer's membership of its group (consumer.ts is the Consumer): the join, retried while
// retriable; the heartbeat loop at the interval the broker gives, reporting the partitions owned
// now; and what a fence or an expired session means (the owner drops everything, then this joins
// again). The assignment each answer carries goes to the owner, which moves towards it.

import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, isStrataError } from '@strata/protocol';
import type { CallOptions, GroupHeartbeatAnswer, StrataApi, TopicPartitions } from './api.js';
import type { ConsumerEvent } from './consumer-options.js';
import { LOOP_BACKOFF } from './consumer-fetch.js';

export interface Member {
  memberId: string;
  memberEpoch: number;
}

export interface MembershipSettings {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly clientId: string | undefined;
}

export interface MembershipHooks {
  /** Every answer of a join or a heartbeat: the assignment to move towards. */
  assigned(answer: GroupHeartbeatAnswer): void;
  /** Fenced or expired: drop every partition without a commit; the loop joins again after. */
  lost(reason: 'FENCED_MEMBER_EPOCH' | 'UNKNOWN_MEMBER_ID'): Promise<void>;
  /** The partitions owned now, as a heartbeat reports them. */
  owned(): TopicPartitions[];
  publish(event: ConsumerEvent): void;
}

export class Membership {
  #member: Member | null = null;
  #heartbeatIntervalMs = 1_000;
  #wakeHeartbeat: (() => void) | null = null;
  #heartbeatNow = false;

  constructor(
    private readonly api: StrataApi,
    private readonly settings: MembershipSettings,
    /** Aborted when the consumer stops or fails: the loops end. */
    private readonly stop: AbortSignal,
    private readonly hooks: MembershipHooks,
  ) {}

  /** The member id and epoch while joined (null before the first join and after a fence, until the rejoin). */
  get current(): Member | null {
    return this.#member;
  }

  /** The membership is gone (fenced, expired): the heartbeat loop joins again. */
  forget(): void {
    this.#member = null;
  }

  async join(): Promise<void> {
    const { groupId } = this.settings;
    // Closed while still retrying: the caller hears why it never joined, not that it was closed.
    let lastFailure: unknown = null;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await this.api.joinGroup(
          groupId,
          {
            topics: [...this.settings.topics],
            sessionTimeoutMs: this.settings.sessionTimeoutMs,
            rebalanceTimeoutMs: this.settings.rebalanceTimeoutMs,
            ...(this.settings.clientId !== undefined ? { clientId: this.settings.clientId } : {}),
          },
          this.#call(),
        );
        this.#member = { memberId: answer.memberId, memberEpoch: answer.memberEpoch };
        this.hooks.publish({ type: 'joined', group: groupId, memberId: answer.memberId, memberEpoch: answer.memberEpoch });
        this.#answered(answer);
        return;
      } catch (e) {
        if (this.stop.aborted) throw lastFailure ?? e;
        if (!(isStrataError(e) && e.retriable)) throw e;
        lastFailure = e;
        this.hooks.publish({ type: 'retry', group: groupId, what: 'join', error: e });
        await sleep(backoffMs(attempt, LOOP_BACKOFF), undefined, { signal: this.stop }).catch(() => undefined);
      }
    }
  }

  /** Heartbeats (joining again after a loss) until stopped; throws a non-retriable failure. */
  async heartbeatLoop(): Promise<void> {
    const { groupId } = this.settings;
    let failures = 0;
    while (!this.stop.aborted) {
      await this.#waitForHeartbeat();
      if (this.stop.aborted) return;
      try {
        if (this.#member === null) {
          await this.join();
        } else {
          const answer = await this.api.groupHeartbeat(
            groupId,
            this.#member.memberId,
            {
              memberEpoch: this.#member.memberEpoch,
              ownedPartitions: this.hooks.owned(),
              sessionTimeoutMs: this.settings.sessionTimeoutMs,
              rebalanceTimeoutMs: this.settings.rebalanceTimeoutMs,
            },
            // A heartbeat must come back well within the session.
            this.#call(Math.max(1_000, Math.floor(this.settings.sessionTimeoutMs / 2))),
          );
          if (this.#member === null || answer.memberId !== this.#member.memberId) continue; // fenced meanwhile
          this.#member.memberEpoch = answer.memberEpoch;
          this.#answered(answer);
        }
        failures = 0;
      } catch (e) {
        if (this.stop.aborted) return;
        if (isStrataError(e) && (e.code === 'FENCED_MEMBER_EPOCH' || e.code === 'UNKNOWN_MEMBER_ID')) {
          await this.hooks.lost(e.code);
          this.#heartbeatNow = true;
          continue;
        }
        if (isStrataError(e) && e.retriable) {
          failures++;
          this.hooks.publish({ type: 'retry', group: groupId, what: 'heartbeat', error: e });
          await sleep(backoffMs(failures, { ...LOOP_BACKOFF, maxMs: this.#heartbeatIntervalMs }), undefined, { signal: this.stop }).catch(() => undefined);
          this.#heartbeatNow = true;
          continue;
        }
        throw e;
      }
    }
  }

  /** Heartbeat at once (a revocation done: the partitions' new owners are waiting; or a fence heard elsewhere). */
  heartbeatSoon(): void {
    this.#heartbeatNow = true;
    this.#wakeHeartbeat?.();
  }

  /** Leaves the group, if a member (its partitions move at once); a failure is the session's to clean up. */
  async leave(timeoutMs: number): Promise<void> {
    const member = this.#member;
    this.#member = null;
    if (member !== null) await this.api.leaveGroup(this.settings.groupId, member.memberId, this.#call(timeoutMs)).catch(() => undefined);
  }

  #answered(answer: GroupHeartbeatAnswer): void {
    this.#heartbeatIntervalMs = Math.max(50, answer.heartbeatIntervalMs);
    this.hooks.assigned(answer);
  }

  async #waitForHeartbeat(): Promise<void> {
    if (this.#heartbeatNow) {
      this.#heartbeatNow = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#heartbeatIntervalMs);
      const onAbort = (): void => done();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeHeartbeat = () => {
        this.#wakeHeartbeat = null;
        this.stop.removeEventListener('abort', onAbort);
        done();
      };
      this.stop.addEventListener('abort', onAbort, { once: true });
    });
    this.#wakeHeartbeat = null;
    this.#heartbeatNow = false;
  }

  #call(timeoutMs = this.api.connection.options.requestTimeoutMs): CallOptions {
    return { deadline: Date.now() + timeoutMs };
  }
}
