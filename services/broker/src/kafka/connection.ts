// One Kafka client connection: frames in, requests dispatched concurrently (up to the in-flight cap),
// answers written strictly in request order, as Kafka requires of a broker.
//
// Reading stops (socket.pause) while any of these holds, and resumes when none does:
// - the connection has `maxInFlight` requests read and not yet answered;
// - the frame being read cannot reserve its bytes in the listener's budget (ByteBudget);
// - the socket's write buffer is full (a client that does not read its answers).
// A frame's bytes are reserved when its size prefix is read and given back once it is answered.
//
// A reply may carry a throttle time (a client over its quota, docs/architecture.md#quotas): once
// it is written, the connection reads nothing more for that long (Kafka >= 2.0 mutes the channel,
// KIP-219), so a client that ignores the throttle_time_ms it was told is held back all the same.
//
// Closed at once, never answered: a size <= 0 or above the cap, a header too short to hold the api
// key, version and correlation id, a request the dispatcher refuses (unknown api key, garbage), a
// dispatcher that throws. Other requests' answers already written stay written; nothing else is.

import { setMaxListeners } from 'node:events';
import { peerPrincipal } from '../security/tls.js';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';
import type { PrincipalSeat } from './principal-connections.js';
import { SaslSession } from './sasl-session.js';
import type { ByteBudget } from './byte-budget.js';
import { FrameReader } from './frame-reader.js';
import type { KafkaListenerMetrics, RefusalReason } from './metrics.js';

/** The request header's fixed start (every version): api key, api version, correlation id. */
export const REQUEST_HEADER_PREFIX_BYTES = 8;

export interface InboundRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** The whole request (header and body), without the size prefix: a slice of what was received. */
  frame: Buffer;
  /** The client's address, for logs. */
  remote: string;
  /** The client's principal when the request was read (kafka/sasl-session.ts). */
  principal?: string | undefined;
  /** The connection's authentication: the SASL handlers change it, dispatch asks it (gate). */
  session?: SaslSession | undefined;
  /** The client's IP address (what ACL hosts name). */
  host?: string | undefined;
}

/**
 * What to do with a request: write its answer (the whole frame, size prefix included, as
 * encodeResponse makes it: the chunks are written as they are; `release` runs once they are written
 * or dropped), write nothing (produce with acks=0), or close the connection (garbage).
 */
export type KafkaReply =
  /** closeAfter: the answer is the connection's last (written, then the connection closes for that reason). */
  | { kind: 'respond'; chunks: Buffer[]; release?: () => void; throttleMs?: number; closeAfter?: { reason: RefusalReason; message: string } }
  | { kind: 'silent'; throttleMs?: number }
  | { kind: 'close'; reason: RefusalReason; message: string };

export type Dispatch = (request: InboundRequest, signal: AbortSignal) => Promise<KafkaReply>;

export interface ConnectionOptions {
  dispatch: Dispatch;
  budget: ByteBudget;
  maxRequestBytes: number;
  maxInFlight: number;
  /** Nothing in flight and no byte for this long: closed (connections.max.idle.ms). */
  idleTimeoutMs: number;
  /** A frame whose bytes stop arriving for this long: closed (its reservation is given back). */
  frameIdleTimeoutMs: number;
  logger: Logger;
  metrics: KafkaListenerMetrics;
  /** Where the connection counts against STRATA_MAX_CONNECTIONS_PER_PRINCIPAL (SASL moves it to its principal). */
  seat?: PrincipalSeat;
}

interface Pending {
  bytes: number;
  reply: KafkaReply | null;
  /** The connection closed while the request ran: its bytes and reply are given back when it settles. */
  abandoned: boolean;
}

export class KafkaConnection {
  readonly socket: Socket;
  readonly remote: string;
  /** Who the client is: its certificate's principal (mTLS) from the start, or what SASL authenticated. */
  readonly session: SaslSession;
  readonly #o: ConnectionOptions;
  readonly #reader: FrameReader;
  /**
   * One abort controller per request running, aborted when the connection closes. Each request waits
   * on its own signal: the listeners of its waits (a Fetch's max wait, a JoinGroup's round) go with
   * it, where one signal shared by the connection gathered one per request in flight.
   */
  readonly #running = new Set<AbortController>();
  /** Requests read and not yet answered, in request order. */
  readonly #queue: Pending[] = [];
  /** Bytes reserved for the frame being received (0: none reserved yet). */
  #frameReserved = 0;
  #withdrawWait: (() => void) | null = null;
  #waitingBudget = false;
  #waitingDrain = false;
  /** Muted for a quota's throttle time (KIP-219): no request is read until the timer fires. */
  #muteTimer: NodeJS.Timeout | null = null;
  #mutedUntil = 0;
  /** No more requests are read (graceful close, or a refusal). */
  #draining = false;
  #closed = false;
  readonly #closedPromise: Promise<void>;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.session = new SaslSession(socket.remoteAddress ?? 'unknown', peerPrincipal(socket), options.seat);
    this.#o = options;
    this.#reader = new FrameReader(options.maxRequestBytes);
    this.#closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      options.metrics.bytesReceived.inc(chunk.length);
      this.#reader.push(chunk);
      this.#pump();
    });
    socket.on('timeout', () => this.#onTimeout());
    socket.on('drain', () => {
      this.#waitingDrain = false;
      this.#pump();
    });
    socket.on('error', (e) => options.logger.debug('kafka connection error', { remote: this.remote, err: e }));
    socket.once('close', () => this.#onClose());
  }

  /** Resolves once the socket is closed. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  get inFlight(): number {
    return this.#queue.length;
  }

  /** Graceful: reads no more requests, answers those in flight, then ends the connection. */
  drain(): void {
    this.#draining = true;
    this.#updateReading();
    if (this.#queue.length === 0) this.socket.end();
  }

  /** Abrupt: in-flight requests are abandoned. */
  destroy(): void {
    this.socket.destroy();
  }

  #pump(): void {
    while (!this.#closed && !this.#draining && !this.#waitingBudget && this.#muteTimer === null && this.#queue.length < this.#o.maxInFlight) {
      const event = this.#reader.next();
      if (event.kind === 'need-more') break;
      if (event.kind === 'bad-size') {
        this.#refuse('bad_size', `request size ${event.size} is outside [1, ${this.#o.maxRequestBytes}] (STRATA_KAFKA_MAX_REQUEST_BYTES)`);
        return;
      }
      if (event.kind === 'size') {
        this.#reserve(event.size);
        continue;
      }
      this.#accept(event.frame);
    }
    // A frame begun and not complete: its sender must keep sending (frameIdleTimeoutMs), not idle.
    this.socket.setTimeout(this.#reader.pendingSize >= 0 ? this.#o.frameIdleTimeoutMs : this.#o.idleTimeoutMs);
    this.#updateReading();
  }

  #reserve(size: number): void {
    if (this.#o.budget.tryReserve(size)) {
      this.#frameReserved = size;
      return;
    }
    this.#o.metrics.budgetWaits.inc();
    this.#waitingBudget = true;
    this.#withdrawWait = this.#o.budget.wait(size, () => {
      this.#withdrawWait = null;
      this.#waitingBudget = false;
      this.#frameReserved = size;
      if (this.#closed) this.#releaseFrame();
      else this.#pump();
    });
  }

  #releaseFrame(): void {
    if (this.#frameReserved > 0) this.#o.budget.release(this.#frameReserved);
    this.#frameReserved = 0;
  }

  #accept(frame: Buffer): void {
    const bytes = this.#frameReserved;
    this.#frameReserved = 0;
    const pending: Pending = { bytes, reply: null, abandoned: false };
    this.#queue.push(pending);
    if (frame.length < REQUEST_HEADER_PREFIX_BYTES) {
      pending.reply = { kind: 'close', reason: 'bad_header', message: `a request of ${frame.length} bytes cannot hold a request header` };
      this.#flush();
      return;
    }
    const request: InboundRequest = {
      apiKey: frame.readInt16BE(0),
      apiVersion: frame.readInt16BE(2),
      correlationId: frame.readInt32BE(4),
      frame,
      remote: this.remote,
      principal: this.session.principal,
      session: this.session,
      host: this.socket.remoteAddress,
    };
    const abort = new AbortController();
    // The signal lives as long as its request and its listeners go with it; what bounds them is the
    // request (its bytes, its partitions), so Node's leak warning past 10 listeners does not apply.
    setMaxListeners(0, abort.signal);
    this.#running.add(abort);
    let answer: Promise<KafkaReply>;
    try {
      answer = this.#o.dispatch(request, abort.signal);
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.finally(() => this.#running.delete(abort)).then(
      (reply) => this.#settle(pending, reply),
      (e: unknown) => {
        this.#o.logger.error('kafka request failed; closing the connection', { remote: this.remote, apiKey: request.apiKey, apiVersion: request.apiVersion, err: e });
        this.#settle(pending, { kind: 'close', reason: 'handler_error', message: 'the request failed (see the broker log)' });
      },
    );
  }

  #settle(pending: Pending, reply: KafkaReply): void {
    pending.reply = reply;
    if (pending.abandoned) this.#drop(pending);
    else this.#flush();
  }

  /** Writes every answer at the head of the queue that is ready, in order. */
  #flush(): void {
    if (this.#closed) return;
    let wrote = false;
    while (this.#queue.length > 0 && this.#queue[0]!.reply !== null) {
      const { bytes, reply } = this.#queue.shift()!;
      this.#o.budget.release(bytes);
      if (reply!.kind === 'close') {
        if (wrote) this.socket.uncork();
        this.#refuse(reply!.reason, reply!.message);
        return;
      }
      this.#mute(reply!.throttleMs ?? 0);
      if (reply!.kind === 'silent') continue;
      if (!wrote) this.socket.cork();
      wrote = true;
      this.#write(reply!);
      if (reply!.closeAfter !== undefined) {
        this.socket.uncork();
        this.#refuse(reply!.closeAfter.reason, reply!.closeAfter.message);
        return;
      }
    }
    if (wrote) {
      this.socket.uncork();
      if (this.socket.writableNeedDrain) this.#waitingDrain = true;
    }
    if (this.#draining && this.#queue.length === 0) this.socket.end();
    else this.#pump();
  }

  /** The chunks as they are (slices of the log are not copied; the socket is corked: one writev). */
  #write(reply: Extract<KafkaReply, { kind: 'respond' }>): void {
    let size = 0;
    for (const chunk of reply.chunks) size += chunk.length;
    this.#o.metrics.bytesSent.inc(size);
    const last = reply.chunks.length - 1;
    reply.chunks.forEach((chunk, i) => {
      if (i === last && reply.release !== undefined) this.socket.write(chunk, () => reply.release!());
      else this.socket.write(chunk);
    });
    if (last < 0) reply.release?.();
  }

  /** Reads nothing for `ms` (a longer mute already running is kept). */
  #mute(ms: number): void {
    if (ms <= 0 || this.#closed) return;
    const until = performance.now() + ms;
    if (this.#muteTimer !== null) {
      if (until <= this.#mutedUntil) return;
      clearTimeout(this.#muteTimer);
    }
    this.#mutedUntil = until;
    this.#muteTimer = setTimeout(() => {
      this.#muteTimer = null;
      this.#pump();
    }, ms);
    this.#o.metrics.muted.inc();
  }

  #updateReading(): void {
    if (this.#closed) return;
    const read = !this.#draining && !this.#waitingBudget && !this.#waitingDrain && this.#muteTimer === null && this.#queue.length < this.#o.maxInFlight;
    if (read && this.socket.isPaused()) this.socket.resume();
    else if (!read && !this.socket.isPaused()) this.socket.pause();
  }

  #onTimeout(): void {
    if (this.#reader.pendingSize >= 0) {
      this.#refuse('request_timeout', `no byte of a ${this.#reader.pendingSize}-byte request for ${this.#o.frameIdleTimeoutMs} ms`);
    } else if (this.#queue.length === 0) {
      this.#o.metrics.refused.inc({ reason: 'idle' });
      this.#o.logger.debug('kafka connection idle; closing it', { remote: this.remote, idleMs: this.#o.idleTimeoutMs });
      this.socket.destroy();
    }
    // Requests in flight (a long-poll fetch): not idle; the timer starts again with the next byte.
  }

  /** Closes the connection for garbage: counted, logged, never answered. */
  #refuse(reason: RefusalReason, message: string): void {
    this.#o.metrics.refused.inc({ reason });
    this.#o.metrics.logRefusal(this.#o.logger, reason, { remote: this.remote, message });
    this.#draining = true;
    // Answers already queued in the socket go out first; nothing more is read or answered.
    this.socket.end();
    this.socket.pause();
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  #onClose(): void {
    this.#closed = true;
    if (this.#muteTimer !== null) clearTimeout(this.#muteTimer);
    for (const abort of this.#running) abort.abort();
    this.#running.clear();
    this.#withdrawWait?.();
    this.#withdrawWait = null;
    this.#releaseFrame();
    // Requests still running give their bytes back when they settle (their reply is dropped then).
    for (const pending of this.#queue) {
      if (pending.reply !== null) this.#drop(pending);
      else pending.abandoned = true;
    }
    this.#queue.length = 0;
  }

  #drop(pending: Pending): void {
    this.#o.budget.release(pending.bytes);
    if (pending.reply?.kind === 'respond') pending.reply.release?.();
  }
}
