// Which handler answers a request: by api key, within the versions both the codec
// (SUPPORTED_APIS) and the handler support; ApiVersions advertises exactly these ranges.
// - an unknown api key, or a header that does not decode: garbage, the connection closes (as
//   Kafka's broker does);
// - a version outside the range: ApiVersions answers v0 with UNSUPPORTED_VERSION and the ranges
//   (so the client can fall back); any other api closes the connection, as Kafka's broker does;
// - a body that does not decode: the connection closes (the client sent bytes it did not mean).
// A handler's failure is not the client's: the connection closes and the broker logs it.

import { ApiKey, apiKeyName, decodeRequestHeader, isKafkaProtocolError, SUPPORTED_APIS, type RequestHeaderFields } from '@strata/kafka-protocol';
import { DecompressionSlots } from '@strata/protocol';
import type { BrokerContext } from '../context.js';
import type { ClassicGroups } from '../core/classic-groups.js';
import type { DataCore } from '../core/data.js';
import type { GroupsCore } from '../core/groups.js';
import type { ProducersCore } from '../core/producers.js';
import { TopicsCore } from '../core/topics.js';
import { KafkaClusterView } from './cluster-view.js';
import type { Dispatch, InboundRequest, KafkaReply } from './connection.js';
import { QuotasCore } from '../core/quotas.js';
import { alterClientQuotasHandler, describeClientQuotasHandler } from './handlers/client-quotas.js';
import { apiVersionsHandler, type ApiRange } from './handlers/api-versions.js';
import { consumerGroupDescribeHandler } from './handlers/consumer-group-describe.js';
import { consumerGroupHeartbeatHandler } from './handlers/consumer-group-heartbeat.js';
import { createPartitionsHandler } from './handlers/create-partitions.js';
import { createTopicsHandler } from './handlers/create-topics.js';
import { deleteGroupsHandler } from './handlers/delete-groups.js';
import { deleteRecordsHandler } from './handlers/delete-records.js';
import { deleteTopicsHandler } from './handlers/delete-topics.js';
import { describeClusterHandler } from './handlers/describe-cluster.js';
import { describeConfigsHandler } from './handlers/describe-configs.js';
import { findCoordinatorHandler } from './handlers/find-coordinator.js';
import { describeGroupsHandler } from './handlers/describe-groups.js';
import { heartbeatHandler } from './handlers/heartbeat.js';
import { joinGroupHandler } from './handlers/join-group.js';
import { leaveGroupHandler } from './handlers/leave-group.js';
import { offsetCommitHandler } from './handlers/offset-commit.js';
import { offsetDeleteHandler } from './handlers/offset-delete.js';
import { offsetFetchHandler } from './handlers/offset-fetch.js';
import { syncGroupHandler } from './handlers/sync-group.js';
import { incrementalAlterConfigsHandler } from './handlers/incremental-alter-configs.js';
import { initProducerIdHandler } from './handlers/init-producer-id.js';
import { offsetForLeaderEpochHandler } from './handlers/offset-for-leader-epoch.js';
import { MalformedRequest, type HandlerDeps, type KafkaHandler } from './handlers/context.js';
import { fetchHandler } from './handlers/fetch.js';
import { createAclsHandler, deleteAclsHandler, describeAclsHandler } from './handlers/acls.js';
import { listGroupsHandler } from './handlers/list-groups.js';
import { listOffsetsHandler } from './handlers/list-offsets.js';
import { metadataHandler } from './handlers/metadata.js';
import { produceHandler } from './handlers/produce.js';
import { saslAuthenticateHandler, saslHandshakeHandler } from './handlers/sasl.js';
import { alterUserScramCredentialsHandler, describeUserScramCredentialsHandler } from './handlers/scram-credentials.js';
import type { KafkaListenerMetrics } from './metrics.js';

export interface DispatchContext {
  ctx: BrokerContext;
  data: DataCore;
  producers: ProducersCore;
  metrics: KafkaListenerMetrics;
  /** host:port this broker tells clients (Metadata). */
  advertisedAddress: () => string;
  groups: GroupsCore;
  classic: ClassicGroups;
}

/**
 * Not counted against request_percentage: ApiVersions (Kafka exempts it: a client must always be
 * able to learn the versions) and the group calls that wait for other members by design (their wall
 * time is the group's, not this client's work).
 */
const WAITING_APIS: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.ConsumerGroupHeartbeat]);

interface Route {
  minVersion: number;
  maxVersion: number;
  handle: KafkaHandler;
}

export function createDispatch(dc: DispatchContext): Dispatch {
  const { ctx, metrics } = dc;
  const deps: HandlerDeps = {
    ctx,
    data: dc.data,
    topics: new TopicsCore(ctx),
    view: new KafkaClusterView(ctx, dc.advertisedAddress),
    metrics,
    decompressionSlots: new DecompressionSlots(ctx.config.maxConcurrentDecompressions),
    groups: dc.groups,
    classic: dc.classic,
  };
  const quotas = new QuotasCore(ctx);
  const handlers = new Map<number, KafkaHandler>([
    [ApiKey.Produce, produceHandler(deps)],
    [ApiKey.Fetch, fetchHandler(deps)],
    [ApiKey.ListOffsets, listOffsetsHandler(deps)],
    [ApiKey.Metadata, metadataHandler(deps)],
    [ApiKey.CreateTopics, createTopicsHandler(deps)],
    [ApiKey.DeleteTopics, deleteTopicsHandler(deps)],
    [ApiKey.CreatePartitions, createPartitionsHandler(deps)],
    [ApiKey.DescribeConfigs, describeConfigsHandler(deps)],
    [ApiKey.IncrementalAlterConfigs, incrementalAlterConfigsHandler(deps)],
    [ApiKey.DescribeCluster, describeClusterHandler(deps)],
    [ApiKey.OffsetForLeaderEpoch, offsetForLeaderEpochHandler(deps)],
    [ApiKey.DeleteRecords, deleteRecordsHandler(deps)],
    [ApiKey.InitProducerId, initProducerIdHandler(deps, dc.producers)],
    [ApiKey.FindCoordinator, findCoordinatorHandler(deps)],
    [ApiKey.ListGroups, listGroupsHandler(deps)],
    [ApiKey.DeleteGroups, deleteGroupsHandler(deps)],
    [ApiKey.ConsumerGroupHeartbeat, consumerGroupHeartbeatHandler(deps)],
    [ApiKey.ConsumerGroupDescribe, consumerGroupDescribeHandler(deps)],
    [ApiKey.JoinGroup, joinGroupHandler(deps)],
    [ApiKey.SyncGroup, syncGroupHandler(deps)],
    [ApiKey.Heartbeat, heartbeatHandler(deps)],
    [ApiKey.LeaveGroup, leaveGroupHandler(deps)],
    [ApiKey.OffsetCommit, offsetCommitHandler(deps)],
    [ApiKey.OffsetFetch, offsetFetchHandler(deps)],
    [ApiKey.OffsetDelete, offsetDeleteHandler(deps)],
    [ApiKey.DescribeGroups, describeGroupsHandler(deps)],
    [ApiKey.DescribeClientQuotas, describeClientQuotasHandler(deps, quotas)],
    [ApiKey.AlterClientQuotas, alterClientQuotasHandler(deps, quotas)],
    [ApiKey.SaslHandshake, saslHandshakeHandler(deps)],
    [ApiKey.SaslAuthenticate, saslAuthenticateHandler(deps)],
    [ApiKey.DescribeAcls, describeAclsHandler(deps)],
    [ApiKey.CreateAcls, createAclsHandler(deps)],
    [ApiKey.DeleteAcls, deleteAclsHandler(deps)],
    [ApiKey.DescribeUserScramCredentials, describeUserScramCredentialsHandler(deps)],
    [ApiKey.AlterUserScramCredentials, alterUserScramCredentialsHandler(deps)],
  ]);
  const routes = new Map<number, Route>();
  const ranges: ApiRange[] = [];
  const apiVersionsSpan = SUPPORTED_APIS.get(ApiKey.ApiVersions)!;
  handlers.set(ApiKey.ApiVersions, apiVersionsHandler(() => ranges, apiVersionsSpan.max));
  for (const [apiKey, handle] of handlers) {
    const span = SUPPORTED_APIS.get(apiKey);
    if (span === undefined) throw new Error(`a handler for ${apiKeyName(apiKey)}, which the codec does not support`);
    routes.set(apiKey, { minVersion: span.min, maxVersion: span.max, handle });
    ranges.push({ apiKey, minVersion: span.min, maxVersion: span.max });
  }
  ranges.sort((a, b) => a.apiKey - b.apiKey);

  return async (inbound: InboundRequest, signal: AbortSignal): Promise<KafkaReply> => {
    const route = routes.get(inbound.apiKey);
    if (route === undefined) return { kind: 'close', reason: 'unknown_api', message: `unknown api key ${inbound.apiKey}` };
    const refusal = inbound.session?.gate(ctx.auth, inbound.apiKey, ctx.now());
    if (refusal !== undefined && refusal !== null) return { kind: 'close', reason: 'unauthenticated', message: `${apiKeyName(inbound.apiKey)} refused: ${refusal}` };
    const api = apiKeyName(inbound.apiKey).replace(/\(\d+\)$/, '');
    metrics.requests.inc({ api, version: String(inbound.apiVersion) });
    const inRange = inbound.apiVersion >= route.minVersion && inbound.apiVersion <= route.maxVersion;
    if (!inRange && inbound.apiKey !== ApiKey.ApiVersions) {
      return { kind: 'close', reason: 'unsupported_version', message: `${api} v${inbound.apiVersion} is not supported (v${route.minVersion}-${route.maxVersion})` };
    }
    let header: RequestHeaderFields;
    try {
      header = decodeRequestHeader(inbound.frame);
    } catch (e) {
      if (isKafkaProtocolError(e)) return { kind: 'close', reason: 'bad_request', message: `${api} v${inbound.apiVersion} header: ${e.message}` };
      throw e;
    }
    const quota = { client: { principal: inbound.principal, clientId: header.clientId ?? '' }, busyMs: 0, recorded: false };
    const startedMs = performance.now();
    let reply: KafkaReply;
    try {
      reply = await route.handle({ header, frame: inbound.frame, signal, remote: inbound.remote, principal: inbound.principal, quota, session: inbound.session, host: inbound.host });
    } catch (e) {
      if (e instanceof MalformedRequest) return { kind: 'close', reason: 'bad_request', message: `${api} v${inbound.apiVersion}: ${e.message}` };
      throw e;
    }
    if (quota.recorded || WAITING_APIS.has(inbound.apiKey) || reply.kind === 'close') return reply;
    // Throttled on request time: the connection is muted (this answer's own throttle_time_ms is not rewritten).
    const throttleMs = ctx.quotas.recordRequestTime(quota.client, performance.now() - startedMs);
    return throttleMs > (reply.throttleMs ?? 0) ? { ...reply, throttleMs } : reply;
  };
}
