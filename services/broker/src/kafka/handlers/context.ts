// What every Kafka handler gets: the request (its decoded header and frame), the broker core, and
// the helpers to answer. A handler is thin: decode, call the core, encode.

import {
  decodeRequest,
  encodeResponse,
  isKafkaProtocolError,
  kafkaErrorCodeFor,
  kafkaErrorInfo,
  type KnownApiKey,
  type RequestBody,
  type RequestHeaderFields,
  type ResponseInput,
} from '@strata/kafka-protocol';
import type { DecompressionSlots, StrataError } from '@strata/protocol';
import type { BrokerContext } from '../../context.js';
import type { ClassicGroups } from '../../core/classic-groups.js';
import type { DataCore } from '../../core/data.js';
import type { GroupsCore } from '../../core/groups.js';
import type { TopicsCore } from '../../core/topics.js';
import type { RequestOrigin } from '../../core/leader-client.js';
import type { ByteQuota, ClientIdentity } from '../../quotas/quota-manager.js';
import type { KafkaClusterView } from '../cluster-view.js';
import type { KafkaReply } from '../connection.js';
import type { SaslSession } from '../sasl-session.js';
import type { KafkaListenerMetrics } from '../metrics.js';

export interface KafkaRequest {
  header: RequestHeaderFields;
  /** The whole request without its size prefix; the body starts at header.bodyOffset. */
  frame: Buffer;
  signal: AbortSignal;
  remote: string;
  /** The client's principal (`User:<name>`, kafka/sasl-session.ts) when the request was read, carried to the core in every origin. */
  principal?: string | undefined;
  /** The client's IP address, carried with the principal (ACL hosts). */
  host?: string | undefined;
  /** The connection's SASL state (the SASL handlers move it along). */
  session?: SaslSession | undefined;
  /** The request's share of its client's quotas (docs/architecture.md#quotas). */
  quota: RequestQuota;
}

/**
 * Who the request counts against, and the handler time it spent: dispatch records the wall time
 * of most requests against request_percentage; Produce and Fetch count only their own work
 * (`busyMs`: validation, reads; never a long-poll or a wait for replicas) and record it themselves
 * with their bytes (`recorded`), so that their answer carries the throttle time.
 */
export interface RequestQuota {
  client: ClientIdentity;
  busyMs: number;
  recorded: boolean;
}

/** Records the request's bytes and work; answers the throttle time its answer carries (Kafka: the larger of the two). */
export function quotaThrottle(deps: Pick<HandlerDeps, 'ctx'>, request: KafkaRequest, kind: ByteQuota, bytes: number): number {
  const { quotas } = deps.ctx;
  request.quota.recorded = true;
  return Math.max(quotas.recordBytes(kind, request.quota.client, bytes), quotas.recordRequestTime(request.quota.client, request.quota.busyMs));
}

export interface HandlerDeps {
  ctx: BrokerContext;
  data: DataCore;
  topics: TopicsCore;
  view: KafkaClusterView;
  metrics: KafkaListenerMetrics;
  /** The bound on decompressions at once (produce validation), shared with nothing else on this listener. */
  decompressionSlots: DecompressionSlots;
  /** Consumer groups: offsets and descriptions (shared with HTTP), and the classic protocol's groups this broker coordinates. */
  groups: GroupsCore;
  classic: ClassicGroups;
}

export type KafkaHandler = (request: KafkaRequest) => Promise<KafkaReply>;

/** A request whose body does not decode: the client's fault (the connection closes), not the broker's. */
export class MalformedRequest extends Error {
  override readonly name = 'MalformedRequest';
}

/** The request's body, decoded; MalformedRequest when its bytes do not fit the schema of its version. */
export function decodeBody<K extends KnownApiKey>(apiKey: K, request: KafkaRequest): RequestBody<K> {
  try {
    return decodeRequest(apiKey, request.header.apiVersion, request.frame, request.header.bodyOffset);
  } catch (e) {
    if (isKafkaProtocolError(e)) throw new MalformedRequest(e.message, { cause: e });
    throw e;
  }
}

/** The encoded answer to `request`. */
export function respond<K extends KnownApiKey>(apiKey: K, request: KafkaRequest, body: ResponseInput<K>, release?: () => void): KafkaReply {
  const chunks = encodeResponse(apiKey, request.header.apiVersion, request.header.correlationId, body);
  return release === undefined ? { kind: 'respond', chunks } : { kind: 'respond', chunks, release };
}

/** The Kafka name of a code ("NOT_LEADER_OR_FOLLOWER"), for metrics. */
function kafkaErrorName(code: number): string {
  return kafkaErrorInfo(code)?.name ?? `ERROR_${code}`;
}

/** A StrataError as the Kafka code an answer carries (@strata/kafka-protocol's one table), counted by api and name. */
export function errorCode(deps: Pick<HandlerDeps, 'metrics'>, api: string, error: StrataError): number {
  const code = kafkaErrorCodeFor(error.code);
  deps.metrics.errors.inc({ api, code: kafkaErrorName(code) });
  return code;
}

/** A Kafka error code (not from a StrataError), counted. */
export function countError(deps: Pick<HandlerDeps, 'metrics'>, api: string, code: number): number {
  if (code !== 0) deps.metrics.errors.inc({ api, code: kafkaErrorName(code) });
  return code;
}

/**
 * How the core may reach a partition's leader for a read: in one-address mode the receiving broker
 * serves every partition, so a read led elsewhere is asked of its leader over HTTP (the same read
 * the raw HTTP endpoint answers); in brokers mode the client is told NOT_LEADER_OR_FOLLOWER and asks
 * the leader itself, as with Kafka.
 */
export function readOrigin(deps: Pick<HandlerDeps, 'ctx'>, replay: string, request: Pick<KafkaRequest, 'principal' | 'host'>): RequestOrigin {
  return { ...(deps.ctx.config.kafka.metadataMode === 'one-address' ? { replay } : {}), ...originOf(request) };
}

/** The origin of a request that is never carried to another broker (a produce answers NOT_LEADER there). */
export function originOf(request: Pick<KafkaRequest, 'principal' | 'host'>): RequestOrigin {
  return { ...(request.principal === undefined ? {} : { principal: request.principal }), ...(request.host === undefined ? {} : { host: request.host }) };
}
