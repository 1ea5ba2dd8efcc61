// The Kafka front door, wired: the TCP server (server.ts) with the dispatcher of the Kafka APIs
// (dispatch.ts) over the broker core. broker.ts starts it beside the HTTP listener.

import type { BrokerContext } from '../context.js';
import type { DataCore } from '../core/data.js';
import type { ProducersCore } from '../core/producers.js';
import { ClassicGroups } from '../core/classic-groups.js';
import { GroupsCore } from '../core/groups.js';
import { KafkaClusterView, ONE_ADDRESS_NODE_ID, nodeIdOf } from './cluster-view.js';
import { createDispatch } from './dispatch.js';
import { KafkaServer } from './server.js';
import { PeriodicPass } from '../periodic-pass.js';
import type { TlsMaterial } from '../security/tls.js';

/** Deadline of one takeover pass's coordinator calls (listing the groups, loading them). */
const TAKEOVER_CALL_MS = 10_000;

export interface KafkaListener {
  /** The bound port. */
  readonly port: number;
  /** host:port as clients are told to reach this broker (Metadata). */
  readonly advertisedAddress: string;
  close(timeoutMs: number): Promise<void>;
}

/**
 * Listens on config.kafka.port. `advertisedHost` is the host of the broker's advertised URL (or of
 * its bound address): the Kafka address is derived from it as the HTTP URL is, unless
 * STRATA_KAFKA_ADVERTISED_ADDRESS says otherwise.
 */
export async function startKafkaListener(ctx: BrokerContext, data: DataCore, producers: ProducersCore, advertisedHost: () => string, tls: TlsMaterial | null): Promise<KafkaListener> {
  const { config } = ctx;
  let advertisedAddress = config.kafka.advertisedAddress;
  const server: KafkaServer = new KafkaServer({
    config: config.kafka,
    host: config.host,
    logger: ctx.logger,
    registry: ctx.metrics.registry,
    frameIdleTimeoutMs: config.bodyIdleTimeoutMs,
    tls,
    handshakeTimeoutMs: config.headersTimeoutMs,
    dispatch: (request, signal) => dispatch(request, signal),
    admitConnection: (ip) => ctx.quotas.admitConnection(ip),
    maxConnectionsPerPrincipal: config.quotas.maxConnectionsPerPrincipal,
  });
  const groups = new GroupsCore(ctx, data);
  // The broker FindCoordinator names for a group runs its classic joins and syncs; any other answers NOT_COORDINATOR.
  const view = new KafkaClusterView(ctx, () => advertisedAddress);
  const ownNodeId = config.kafka.metadataMode === 'one-address' ? ONE_ADDRESS_NODE_ID : nodeIdOf(config.brokerId);
  const classic = new ClassicGroups(ctx, groups, {
    config: config.kafka.groups,
    membersMax: config.groups.limits.groupMembersMax,
    groupsMax: config.groups.limits.groupsMax,
    isCoordinator: (group) => view.groupCoordinator(group)?.nodeId === ownNodeId,
  });
  // One-address mode names this broker for every group: alone, it is every group's coordinator;
  // beside other brokers behind one address, none of them may take over groups by itself.
  const takeover = new PeriodicPass(config.kafka.groups.takeoverIntervalMs, async () => {
    if (config.kafka.metadataMode === 'one-address' && ctx.cluster.node.kafkaAddresses().size > 1) return;
    try {
      const loaded = await classic.takeOver(AbortSignal.timeout(TAKEOVER_CALL_MS));
      if (loaded > 0) ctx.logger.info('classic groups taken over', { loaded });
    } catch (e) {
      ctx.logger.warn('classic group takeover failed; the next pass retries', { err: e });
    }
  }, { keepsProcessAlive: false });
  const dispatch = createDispatch({ ctx, data, producers, metrics: server.metrics, advertisedAddress: () => advertisedAddress, groups, classic });
  const port = await server.listen();
  if (advertisedAddress === '') advertisedAddress = `${advertisedHost()}:${port}`;
  takeover.start();
  ctx.logger.info('kafka listener up', { port, advertisedAddress, metadataMode: config.kafka.metadataMode });
  return {
    port,
    advertisedAddress,
    close: async (timeoutMs) => {
      await takeover.stop();
      classic.close();
      return server.close(timeoutMs);
    },
  };
}
