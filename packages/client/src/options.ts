// Every named default of the client in one place, and the one validation of
// user options (all problems reported together, fields checked against each
// other, as the broker's config does). Names and defaults follow Kafka's
// producer and consumer configs where one exists (linger.ms, batch.size,
// buffer.memory, delivery.timeout.ms, max.block.ms, request.timeout.ms,
// retry.backoff.ms, retry.backoff.max.ms, max.request.size, fetch.max.wait.ms).

import { Compression, StrataError, compressionUnavailable, type CompressionName } from '@strata/protocol';

const KiB = 1024;
const MiB = 1024 * KiB;

export const CONNECTION_DEFAULTS = Object.freeze({
  /** One attempt of one request (a long-poll adds its maxWaitMs); also the budget of an admin call's retries. */
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  /**
   * A client that has never reached any broker gives up after this long (a wrong URL fails in
   * seconds, not at deliveryTimeoutMs or never); once a broker answered, outages are retried.
   */
  unreachableTimeoutMs: 5_000,
  /** Kafka's retry.backoff.ms and retry.backoff.max.ms: exponential between them, with ±20% jitter. */
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1_000,
  /** Kept-alive connections per broker origin (each long-poll holds one while it waits). */
  connectionsPerBroker: 64,
  /** A response body larger than this is refused (the broker caps a fetch at 50 MiB plus one batch). */
  maxResponseBytes: 64 * MiB,
});

export const PRODUCER_DEFAULTS = Object.freeze({
  acks: 'all' as Acks,
  /**
   * Kafka 4's linger.ms. It applies only while the partition has a request in flight: a partition
   * with nothing in flight sends its batch at the end of the event-loop turn (producer.ts).
   */
  lingerMs: 5,
  /**
   * Kafka's batch.size is 16 KiB; here one batch is one HTTP request, whose fixed cost on the
   * broker is much larger than a Kafka request's share of a connection: 256 KiB requests took 100 B
   * records at 1.5-2x the rate of 64 KiB ones. A lone or paced record is not delayed (batches close
   * when the partition is idle, not when full).
   */
  batchBytes: 256 * KiB,
  /**
   * Kafka's max.in.flight.requests.per.connection (default 5, at most 5 with idempotence: the broker
   * remembers a producer's last 5 batches per partition, PRODUCER_BATCHES_RETAINED, and answers a
   * retry of one of them as a duplicate). Kafka sends all partitions of a broker on one connection;
   * here each partition has its own pipelined HTTP/1.1 connection per broker (connection.ts Lane),
   * so the bound is per partition. With one in flight the client waited a round trip per batch
   * while the broker idled, then the broker worked while the client idled.
   */
  maxInFlightRequestsPerPartition: 5,
  bufferBytes: 32 * MiB,
  /**
   * Records in batches not settled yet (Strata's own bound; Kafka has only buffer.memory). Each
   * buffered record still holds its send()'s promise functions (~200 bytes of heap whatever its
   * size): at 100 B records 32 MiB was ~240,000 of them alive, outliving young-generation GCs, and
   * 59% of the producer's time went to GC. A send past the bound is not free either: it waits
   * as an object of its own until space frees, so a caller keeping 40,000 sends outstanding paid
   * for 24,000 of those at 16,384 (46 scavenges per 600,000 records against 30 at 65,536, GC time
   * -22%, same run). 65,536 records is ~27 full 256 KiB batches of 100 B records, ~13 MiB of
   * promise functions at most. Larger records hit bufferBytes first.
   */
  bufferRecords: 65_536,
  /** Kafka's max.request.size; also capped per topic by its max.message.bytes. */
  maxRequestBytes: 1 * MiB,
  deliveryTimeoutMs: 120_000,
  /** How long send() may wait for topic metadata and buffer space before it fails. */
  maxBlockMs: 60_000,
  /** Kafka's metadata.max.age.ms: partition counts are re-read this often. */
  metadataMaxAgeMs: 300_000,
  compression: 'none' as ProducerCompression,
});

/** Kafka's cap on max.in.flight.requests.per.connection under idempotence (the broker's PRODUCER_BATCHES_RETAINED). */
export const MAX_IN_FLIGHT_REQUESTS_IDEMPOTENT = 5;

/** Connections a Producer opens per broker for its pipelined requests; its partitions past this share them (connection.ts LanePool). */
export const PRODUCER_CONNECTIONS_PER_BROKER_MAX = 8;
/** Without idempotence: a bound on the requests (and their bodies) a partition holds at once. */
const MAX_IN_FLIGHT_REQUESTS_PER_PARTITION_MAX = 100;

export const READER_DEFAULTS = Object.freeze({
  maxBytes: 1 * MiB,
  /**
   * Records decoded from one fetch answer; the rest are fetched next time. A gzip batch of 1 MiB can
   * hold 740,000 records: decoding them all at once would take ~100 MB of the client's memory.
   */
  maxRecords: 10_000,
  /** Long-poll: how long the broker holds a fetch that has nothing to return yet. */
  maxWaitMs: 5_000,
  autoOffsetReset: 'latest' as AutoOffsetReset,
});

export type Acks = 0 | 1 | 'all';
/** Kafka's compression.type: none, gzip, snappy, lz4 or zstd (zstd needs Node.js >= 22.15 to write). */
export type ProducerCompression = CompressionName;
export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface ConnectionOptions {
  /** One broker URL, a list (the next is tried on connection errors), or a load balancer's URL. */
  brokers: string | readonly string[];
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Until a broker first answers: how long connection failures to every URL are retried (default 5 s). */
  unreachableTimeoutMs?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  connectionsPerBroker?: number;
  maxResponseBytes?: number;
  /** Sent with every request (e.g. an Authorization header for a proxy in front of the brokers). */
  headers?: Readonly<Record<string, string>>;
  /** For https:// brokers: the CA their certificates are checked against, and a client certificate (mTLS). */
  tls?: ClientTls;
  /** Who the client is to a broker with STRATA_AUTH on: an API token (Bearer), or a user and its password (Basic). */
  auth?: ClientAuth;
}

export type ClientAuth = { token: string } | { username: string; password: string };

/** PEM contents (not paths). `ca` replaces Node's roots; `cert` and `key` go together. */
export interface ClientTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export type ResolvedConnectionOptions = Required<Omit<ConnectionOptions, 'brokers' | 'headers' | 'tls' | 'auth'>> & {
  origins: string[];
  headers: Readonly<Record<string, string>>;
  tls: ClientTls | null;
};

export interface ProducerTuning {
  acks?: Acks;
  lingerMs?: number;
  batchBytes?: number;
  bufferBytes?: number;
  /** At most this many records buffered (in batches not settled); send() waits past it as past bufferBytes. */
  bufferRecords?: number;
  maxRequestBytes?: number;
  deliveryTimeoutMs?: number;
  maxBlockMs?: number;
  metadataMaxAgeMs?: number;
  compression?: ProducerCompression;
  /**
   * Kafka's enable.idempotence: each batch carries a producer id (one POST /v1/producers per
   * producer) and a sequence per partition, so a retry of a request whose answer was lost is
   * answered with the first write's offsets instead of being written twice. Default: on with
   * acks 'all', off otherwise (as Kafka; turning it on with another acks is refused).
   */
  idempotent?: boolean;
  /**
   * Produce requests a partition may have sent and not settled (Kafka's
   * max.in.flight.requests.per.connection): 1 to 5 when idempotent (default 5), up to 100 otherwise
   * (default 1). Without idempotence, more than one can reorder a partition's records when a
   * request fails and is retried after the next one was written (as in Kafka), so it is opt-in.
   */
  maxInFlightRequestsPerPartition?: number;
  /** Transactions are not supported: setting one is refused (INVALID_CONFIG). */
  transactionalId?: string;
}

export type ResolvedProducerTuning = Required<Omit<ProducerTuning, 'transactionalId'>>;

/** Collects problems, then throws one INVALID_CONFIG listing all of them. */
export class Problems {
  readonly list: string[] = [];

  int(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.list.push(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
      return fallback;
    }
    return value;
  }

  add(message: string): void {
    this.list.push(message);
  }

  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    throw new StrataError('INVALID_CONFIG', `invalid ${what} options: ${this.list.join('; ')}`, { details: { problems: [...this.list] } });
  }
}

/** `http://host:port` for each broker URL (paths are not supported: the API lives at /v1). */
function parseOrigins(brokers: unknown, problems: Problems): string[] {
  const list = typeof brokers === 'string' ? brokers.split(',') : Array.isArray(brokers) ? (brokers as unknown[]) : null;
  if (list === null || list.length === 0) {
    problems.add('brokers must be a URL or a non-empty list of URLs');
    return [];
  }
  const origins: string[] = [];
  for (const raw of list) {
    const text = typeof raw === 'string' ? raw.trim() : '';
    let url: URL | null = null;
    try {
      url = new URL(text);
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      problems.add(`broker "${String(raw)}" is not an http(s) URL`);
      continue;
    }
    if (url.pathname !== '/' && url.pathname !== '') problems.add(`broker "${text}": a path is not supported (give the origin, e.g. http://host:8080)`);
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  return origins;
}

/** The Authorization header of `auth` (none without it). */
function authorizationOf(auth: ClientAuth | undefined, problems: Problems): Record<string, string> {
  if (auth === undefined) return {};
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token === '' || /\s/.test(auth.token)) problems.add('auth.token must be a non-empty token without spaces');
    return { authorization: `Bearer ${auth.token}` };
  }
  if (typeof auth.username !== 'string' || auth.username === '' || auth.username.includes(':')) problems.add('auth.username must be a non-empty name without ":"');
  if (typeof auth.password !== 'string') problems.add('auth.password must be a string');
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}` };
}

export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
  const problems = new Problems();
  const d = CONNECTION_DEFAULTS;
  const origins = parseOrigins(options?.brokers, problems);
  const resolved: ResolvedConnectionOptions = {
    origins,
    requestTimeoutMs: problems.int('requestTimeoutMs', options.requestTimeoutMs, d.requestTimeoutMs, 1, 24 * 3_600_000),
    connectTimeoutMs: problems.int('connectTimeoutMs', options.connectTimeoutMs, d.connectTimeoutMs, 1, 3_600_000),
    unreachableTimeoutMs: problems.int('unreachableTimeoutMs', options.unreachableTimeoutMs, d.unreachableTimeoutMs, 1, 24 * 3_600_000),
    retryBackoffMs: problems.int('retryBackoffMs', options.retryBackoffMs, d.retryBackoffMs, 0, 3_600_000),
    retryBackoffMaxMs: problems.int('retryBackoffMaxMs', options.retryBackoffMaxMs, d.retryBackoffMaxMs, 0, 3_600_000),
    connectionsPerBroker: problems.int('connectionsPerBroker', options.connectionsPerBroker, d.connectionsPerBroker, 1, 65_536),
    maxResponseBytes: problems.int('maxResponseBytes', options.maxResponseBytes, d.maxResponseBytes, 1024, 2 ** 31 - 1),
    headers: { ...(options.headers ?? {}), ...authorizationOf(options.auth, problems) },
    tls: options.tls === undefined ? null : { ...options.tls },
  };
  if (resolved.tls !== null && (resolved.tls.cert === undefined) !== (resolved.tls.key === undefined)) problems.add('tls.cert and tls.key go together (a client certificate needs its key)');
  if (resolved.retryBackoffMaxMs < resolved.retryBackoffMs) {
    problems.add(`retryBackoffMaxMs (${resolved.retryBackoffMaxMs}) must be >= retryBackoffMs (${resolved.retryBackoffMs})`);
  }
  problems.throwIfAny('connection');
  return resolved;
}

export function resolveProducerTuning(options: ProducerTuning): ResolvedProducerTuning {
  const problems = new Problems();
  const d = PRODUCER_DEFAULTS;
  const acks = options.acks ?? d.acks;
  if (acks !== 0 && acks !== 1 && acks !== 'all') problems.add(`acks must be 0, 1 or 'all', got ${String(acks)}`);
  const compression = options.compression ?? d.compression;
  if (typeof compression !== 'string' || !Object.hasOwn(Compression, compression)) {
    problems.add(`compression must be one of ${Object.keys(Compression).join(', ')}, got ${String(compression)}`);
  } else {
    const unavailable = compressionUnavailable(compression);
    if (unavailable !== null) problems.add(`compression: ${unavailable}`);
  }
  const tuning: ResolvedProducerTuning = {
    acks,
    compression,
    lingerMs: problems.int('lingerMs', options.lingerMs, d.lingerMs, 0, 3_600_000),
    batchBytes: problems.int('batchBytes', options.batchBytes, d.batchBytes, 1, 2 ** 30),
    bufferBytes: problems.int('bufferBytes', options.bufferBytes, d.bufferBytes, 1, Number.MAX_SAFE_INTEGER),
    bufferRecords: problems.int('bufferRecords', options.bufferRecords, d.bufferRecords, 1, Number.MAX_SAFE_INTEGER),
    maxRequestBytes: problems.int('maxRequestBytes', options.maxRequestBytes, d.maxRequestBytes, 1, 2 ** 31 - 1),
    deliveryTimeoutMs: problems.int('deliveryTimeoutMs', options.deliveryTimeoutMs, d.deliveryTimeoutMs, 1, 24 * 3_600_000),
    maxBlockMs: problems.int('maxBlockMs', options.maxBlockMs, d.maxBlockMs, 0, 24 * 3_600_000),
    metadataMaxAgeMs: problems.int('metadataMaxAgeMs', options.metadataMaxAgeMs, d.metadataMaxAgeMs, 100, 24 * 3_600_000),
    idempotent: options.idempotent ?? acks === 'all',
    // Without idempotence a retry behind a written request reorders the partition: 1 unless asked.
    maxInFlightRequestsPerPartition: problems.int(
      'maxInFlightRequestsPerPartition',
      options.maxInFlightRequestsPerPartition,
      (options.idempotent ?? acks === 'all') === true ? d.maxInFlightRequestsPerPartition : 1,
      1,
      MAX_IN_FLIGHT_REQUESTS_PER_PARTITION_MAX,
    ),
  };
  if (typeof tuning.idempotent !== 'boolean') problems.add(`idempotent must be true or false, got ${String(options.idempotent)}`);
  if (options.idempotent === true && acks !== 'all') problems.add(`idempotent producers need acks 'all' (as Kafka's enable.idempotence), got acks ${String(acks)}`);
  if (tuning.idempotent === true && tuning.maxInFlightRequestsPerPartition > MAX_IN_FLIGHT_REQUESTS_IDEMPOTENT) {
    problems.add(
      `maxInFlightRequestsPerPartition must be <= ${MAX_IN_FLIGHT_REQUESTS_IDEMPOTENT} for an idempotent producer (the broker keeps that many batches per producer to answer retries), got ${tuning.maxInFlightRequestsPerPartition}`,
    );
  }
  if (options.transactionalId !== undefined) problems.add('transactionalId: transactional producers are not supported (Strata has no transactions); an idempotent producer (the default) needs none');
  // Kafka asks delivery.timeout.ms >= linger.ms + request.timeout.ms. Here an attempt's timeout is
  // min(requestTimeoutMs, what is left of the delivery timeout), so only the linger must fit.
  if (tuning.deliveryTimeoutMs <= tuning.lingerMs) {
    problems.add(`deliveryTimeoutMs (${tuning.deliveryTimeoutMs}) must be > lingerMs (${tuning.lingerMs})`);
  }
  if (tuning.batchBytes > tuning.bufferBytes) problems.add(`batchBytes (${tuning.batchBytes}) must be <= bufferBytes (${tuning.bufferBytes})`);
  if (tuning.batchBytes > tuning.maxRequestBytes) problems.add(`batchBytes (${tuning.batchBytes}) must be <= maxRequestBytes (${tuning.maxRequestBytes})`);
  problems.throwIfAny('producer');
  return tuning;
}
