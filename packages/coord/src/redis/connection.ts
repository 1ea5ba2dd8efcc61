// The Redis engine's connection (redis-coordinator.ts is its face): the ioredis client, the Lua
// scripts loaded once per connection and called by SHA, the session (which server run the client
// talks to, and its restart quarantine), deadlines and the mapping of every failure to a
// StrataError (errors.ts). The operations (brokers.ts, topics.ts, controller.ts, partitions.ts,
// manifests.ts, groups.ts) reach Redis only through it.

import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { KAFKA_JITTER, StrataError, backoffMs, type BackoffPolicy } from '@strata/protocol';
import type { CallOptions, CoordinatorStatus, LeaseAcquisition, LeaseRefusal } from '../coordinator.js';
import { assert } from '../assert.js';
import { CoordinatorArguments } from '../arguments.js';
import { withDeadline } from '../deadline.js';
import { COORDINATOR_DEFAULTS, GROUP_LIMIT_DEFAULTS, type GroupLimits } from '../defaults.js';
import { unavailable } from '../errors.js';
import { Listeners } from '../events.js';
import { Checks, LIMITS, checkTtl } from '../validate.js';
import { groupLimitsFrom } from '../validate-groups.js';
import { int } from './codec.js';
import { fromRedisError, isNoScript } from './errors.js';
import { CoordKeys } from './keys.js';
import { loadScripts, type Script, type ScriptName } from './scripts.js';

export interface RedisCoordinatorOptions {
  /** redis://[user:password@]host:port[/db] (default redis://127.0.0.1:6379). */
  url?: string;
  /** Extra ioredis options (they win over the ones set here). */
  redis?: RedisOptions;
  /** Prefix of every key (default "strata:"): several clusters can share one Redis. */
  prefix?: string;
  /** Longest lease TTL granted (default 60 s); the quarantine must cover it. */
  leaseTtlMaxMs?: number;
  /**
   * How long after a restart or failover is first seen no lease is granted (default: leaseTtlMaxMs).
   * It must be at least the longest TTL any broker uses, or a forgotten leader may still be writing
   * when a new one is granted: lower it only in tests.
   */
  restartQuarantineMs?: number;
  /** Deadline of a call that has no signal of its own, or a longer one (default 5 s). */
  callTimeoutMs?: number;
  /** What groups may store (default GROUP_LIMIT_DEFAULTS). */
  groupLimits?: Partial<GroupLimits>;
}

/** What boot-1.lua answered: the server run the client talks to and its quarantine (server ms). */
export interface Session {
  runId: string;
  bootId: string;
  sinceMs: number;
  untilMs: number;
  nowMs: number;
}

const SESSION_ATTEMPTS_MAX = 3;
/** Between reconnects to Redis (ioredis counts them from 1): 40 ms doubling to 1 s, ±20%. */
const RECONNECT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 40, maxMs: 1_000, jitter: KAFKA_JITTER });
/** Most commands sent in one pipeline (listBrokers, listTopics, deleteTopic). */
export const PIPELINE_CHUNK = 1000;

export class RedisConnection {
  readonly description: string;
  readonly keys: CoordKeys;
  readonly redis: Redis;
  readonly #scripts: ReadonlyMap<ScriptName, Script>;
  readonly #leaseTtlMaxMs: number;
  readonly #quarantineMs: number;
  readonly #callTimeoutMs: number;
  readonly groupLimits: GroupLimits;
  /** The argument checks both engines share (arguments.ts). */
  readonly args: CoordinatorArguments;
  readonly events = new Listeners();
  #scriptsLoading: Promise<void> | undefined;
  #session: Promise<Session> | undefined;
  #lastRunId: string | undefined;
  #restartsSeen = 0;
  #closed = false;

  private constructor(options: RedisCoordinatorOptions) {
    this.keys = new CoordKeys(options.prefix);
    this.#scripts = loadScripts();
    this.#leaseTtlMaxMs = options.leaseTtlMaxMs ?? COORDINATOR_DEFAULTS.leaseTtlMaxMs;
    this.#quarantineMs = options.restartQuarantineMs ?? this.#leaseTtlMaxMs;
    this.#callTimeoutMs = options.callTimeoutMs ?? COORDINATOR_DEFAULTS.callTimeoutMs;
    this.groupLimits = groupLimitsFrom(options.groupLimits, GROUP_LIMIT_DEFAULTS);
    this.args = new CoordinatorArguments({ leaseTtlMaxMs: this.#leaseTtlMaxMs, groupLimits: this.groupLimits });
    const c = new Checks('RedisCoordinator options');
    checkTtl(c, 'leaseTtlMaxMs', this.#leaseTtlMaxMs, LIMITS.leaseTtlMaxMsCeiling);
    if (typeof this.#quarantineMs !== 'number' || !Number.isSafeInteger(this.#quarantineMs) || this.#quarantineMs < 0) {
      c.add('INVALID_CONFIG', 'restartQuarantineMs', `restartQuarantineMs must be an integer >= 0, got ${String(this.#quarantineMs)}`);
    }
    checkTtl(c, 'callTimeoutMs', this.#callTimeoutMs, 600_000);
    if (options.redis?.keyPrefix !== undefined) c.add('INVALID_CONFIG', 'redis.keyPrefix', 'set `prefix`, not ioredis\' keyPrefix: every key comes from CoordKeys');
    c.done();
    const url = options.url ?? 'redis://127.0.0.1:6379';
    this.redis = new Redis(url, {
      lazyConnect: true,
      // Commands wait through a reconnect; each call's own deadline bounds the wait (withDeadline).
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      // After a restart, wait until the AOF is replayed before anything runs.
      enableReadyCheck: true,
      retryStrategy: (attempt) => backoffMs(attempt, RECONNECT_BACKOFF),
      ...options.redis,
    });
    const where = redactUrl(url);
    this.description = `redis(${where}, prefix ${JSON.stringify(this.keys.prefix)})`;
    this.redis.on('error', () => {
      // Connection errors surface on the calls (STORAGE_ERROR) and as 'disconnected' events.
    });
    this.redis.on('close', () => {
      // A restart or failover always closes the connection: the next acquisition asks again.
      this.#session = undefined;
      if (!this.#closed) this.events.emit({ type: 'disconnected' });
    });
    this.redis.on('ready', () => {
      // Scripts are not persisted by Redis: load them on every connection (NOSCRIPT is the backstop).
      void this.#loadScripts('connect').catch(() => undefined);
      void this.ensureSession(undefined)
        .then((s) => this.events.emit({ type: 'connected', serverRunId: s.runId }))
        .catch(() => undefined);
    });
  }

  /** Connects, loads the scripts and reads the boot record; rejects (STORAGE_ERROR) if Redis is unreachable. */
  static async connect(options: RedisCoordinatorOptions = {}, callOptions: CallOptions = {}): Promise<RedisConnection> {
    const connection = new RedisConnection(options);
    try {
      await withDeadline('connect to Redis', callOptions.signal, connection.#callTimeoutMs, () => connection.redis.connect());
      await connection.#loadScripts('connect');
      await connection.ensureSession(callOptions.signal);
    } catch (e) {
      connection.#closed = true;
      connection.redis.disconnect();
      throw fromRedisError(e, `connect to ${connection.description}`);
    }
    return connection;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** Any call: the deadline, and every failure as a StrataError. */
  async call<T>(what: string, context: Record<string, unknown>, options: CallOptions | undefined, task: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StrataError('INTERNAL_ERROR', `${what}: the coordinator is closed`);
    try {
      return await withDeadline(what, options?.signal, this.#callTimeoutMs, task);
    } catch (e) {
      throw fromRedisError(e, what, context);
    }
  }

  /** One script by SHA; after NOSCRIPT (a restarted server forgot its scripts), load them and retry once. */
  async eval(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const script = this.#scripts.get(name);
    assert(script !== undefined && script.numKeys === keys.length, `script ${name} takes ${script?.numKeys} keys, got ${keys.length}`);
    const argv = args.map((a) => (typeof a === 'number' ? numberArg(a) : a));
    // A new connection is loading the scripts: wait for it rather than race it (a call whose script
    // happened to be loaded already returned before the load ended, and before 'scripts-loaded').
    await this.#scriptsLoading?.catch(() => undefined);
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...argv);
    } catch (e) {
      if (!isNoScript(e)) throw e;
      await this.#loadScripts('noscript');
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...argv);
    }
  }

  #loadScripts(reason: 'connect' | 'noscript'): Promise<void> {
    this.#scriptsLoading ??= (async () => {
      try {
        // One pipeline, one round trip: a call waiting for the load (eval) waits as little as possible.
        const scripts = [...this.#scripts.values()];
        const shas = await this.pipelineExec((p) => {
          for (const script of scripts) p.script('LOAD', script.source);
        });
        scripts.forEach((script, i) => assert(shas[i] === script.sha, `Redis computed SHA ${String(shas[i])} for ${script.file}, expected ${script.sha}`));
        this.events.emit({ type: 'scripts-loaded', count: this.#scripts.size, reason });
      } finally {
        this.#scriptsLoading = undefined;
      }
    })();
    return this.#scriptsLoading;
  }

  /** The server run this client talks to, read once per connection (or when forced). */
  ensureSession(signal: AbortSignal | undefined, force = false): Promise<Session> {
    if (force || this.#session === undefined) {
      const session = this.#readBoot();
      this.#session = session;
      session.catch(() => {
        if (this.#session === session) this.#session = undefined;
      });
    }
    const current = this.#session!;
    return withDeadline('read the coordinator boot record', signal, this.#callTimeoutMs, () => current);
  }

  async #readBoot(): Promise<Session> {
    const reply = (await this.eval('boot', [this.keys.boot()], [randomUUID(), this.#quarantineMs])) as unknown[];
    const session: Session = {
      runId: String(reply[0]),
      bootId: String(reply[1]),
      sinceMs: int(reply[2], 'boot since'),
      untilMs: int(reply[3], 'boot until'),
      nowMs: int(reply[4], 'server time'),
    };
    const previousRunId = this.#lastRunId ?? String(reply[5]);
    const changed = reply[6] === 1;
    const created = reply[7] === 1;
    const restart = (this.#lastRunId !== undefined && this.#lastRunId !== session.runId) || (this.#lastRunId === undefined && changed);
    if (this.#lastRunId !== undefined && this.#lastRunId !== session.runId) this.#restartsSeen++;
    this.#lastRunId = session.runId;
    if (restart) {
      this.events.emit({
        type: 'restart-detected',
        previousRunId,
        serverRunId: session.runId,
        stateLost: created,
        quarantineRemainingMs: Math.max(0, session.untilMs - session.nowMs),
      });
    }
    return session;
  }

  /** Runs an acquisition script with the session's run id and quarantine; re-reads the session if the server changed. */
  async acquire(
    name: 'acquire-controller' | 'acquire-leadership',
    keys: string[],
    args: (session: Session) => (string | number)[],
    signal: AbortSignal | undefined,
  ): Promise<LeaseAcquisition> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.ensureSession(signal);
      const reply = (await this.eval(name, keys, args(session))) as unknown[];
      if (reply[0] === 1) return { acquired: true, epoch: int(reply[1], 'epoch') };
      const reason = String(reply[1]);
      if (reason === 'session') {
        // The server changed between our boot check and this call: the run id in the script did not match.
        if (attempt >= SESSION_ATTEMPTS_MAX) throw unavailable(`${name}: the Redis server changed ${attempt} times during the call`);
        await this.ensureSession(signal, true);
        continue;
      }
      assert(reason === 'held' || reason === 'quarantine' || reason === 'not-assigned' || reason === 'not-in-isr', `${name} answered reason ${reason}`);
      const holder = String(reply[2]);
      return {
        acquired: false,
        reason: reason as LeaseRefusal,
        holder: holder === '' ? null : holder,
        epoch: int(reply[3], 'epoch'),
        retryAfterMs: int(reply[4], 'retryAfterMs'),
      };
    }
  }

  pipelineExec(build: (p: ReturnType<Redis['pipeline']>) => void): Promise<unknown[]> {
    const p = this.redis.pipeline();
    build(p);
    return p.exec().then((results) => {
      assert(results !== null, 'pipeline was discarded');
      return results.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
    });
  }


  async status(options?: CallOptions): Promise<CoordinatorStatus> {
    return this.call('status', {}, options, async () => {
      const s = await this.ensureSession(options?.signal, true);
      return {
        engine: 'redis',
        serverRunId: s.runId,
        bootId: s.bootId,
        serverFirstSeenAtMs: s.sinceMs,
        quarantineRemainingMs: Math.max(0, s.untilMs - s.nowMs),
        restartsSeen: this.#restartsSeen,
      };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await withDeadline('close the Redis connection', undefined, 1000, () => this.redis.quit());
    } catch {
      this.redis.disconnect();
    }
  }
}

/** Numbers reach Redis as exact decimal strings (ioredis would do the same; this says so). */
function numberArg(n: number): string {
  assert(Number.isSafeInteger(n), `not a safe integer: ${n}`);
  return String(n);
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'redis';
  }
}
