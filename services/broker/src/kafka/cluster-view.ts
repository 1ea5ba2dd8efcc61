// The cluster as Kafka clients must see it: int32 node ids, each at a host:port, and each
// partition's leader, replicas and ISR as node ids. Two shapes (STRATA_KAFKA_METADATA_MODE):
// - brokers: every live broker with a Kafka listener at its own registered address; a partition's
//   leader is its lease holder (a single node leads every partition);
// - one-address: one node (ONE_ADDRESS_NODE_ID) at the advertised address leads every partition:
//   a TCP load balancer in front of all brokers, each of which serves or forwards through the core.

import { createHash } from 'node:crypto';
import { murmur2, toPositive } from '@strata/protocol';
import type { BrokerContext } from '../context.js';
import type { PartitionHandle, Topic } from '../topics/topic-registry.js';

/** The one node of one-address mode. */
export const ONE_ADDRESS_NODE_ID = 0;
/** Kafka's "no node" (no leader, no controller). */
export const NO_NODE = -1;

export interface KafkaNode {
  nodeId: number;
  host: string;
  port: number;
}

export interface KafkaPartitionView {
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

/**
 * A Strata broker id as a Kafka node id: the number itself when the id is a non-negative int32
 * written in decimal ("0", "2"), else a stable positive hash of it (host names in a cluster). Every
 * broker computes the same id for the same broker, so clients see one id per broker.
 */
export function nodeIdOf(brokerId: string): number {
  if (/^(?:0|[1-9]\d{0,9})$/.test(brokerId) && Number(brokerId) <= 0x7fffffff) return Number(brokerId);
  return toPositive(murmur2(Buffer.from(brokerId, 'utf8')));
}

/** host:port (the host may be a bracketed IPv6 address) split for Metadata. */
export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port: Number(address.slice(at + 1)) };
}

const kafkaTopicIds = new Map<string, string>();

/**
 * A topic's id in Kafka's textual uuid form (22 base64url characters): the topic's own id when it is
 * a UUID, else a stable UUID derived from it (so every broker answers the same one).
 */
export function kafkaTopicId(topic: Topic): string {
  const id = topic.meta.topicId;
  let cached = kafkaTopicIds.get(id);
  if (cached === undefined) {
    const hex = id.replaceAll('-', '');
    let bytes: Buffer;
    if (/^[0-9a-fA-F]{32}$/.test(hex) && !/^0+$/.test(hex)) bytes = Buffer.from(hex, 'hex');
    else {
      bytes = createHash('sha256').update(id, 'utf8').digest().subarray(0, 16);
      bytes[6] = (bytes[6]! & 0x0f) | 0x50; // a name-based UUID (version 5 layout)
      bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    }
    cached = bytes.toString('base64url');
    if (kafkaTopicIds.size >= 100_000) kafkaTopicIds.clear(); // a bound, not a cache policy: ids are cheap to derive again
    kafkaTopicIds.set(id, cached);
  }
  return cached;
}

/** The topic with this Kafka topic id, if this broker knows it. */
export function topicByKafkaId(ctx: BrokerContext, id: string): Topic | undefined {
  return ctx.registry.list().find((t) => kafkaTopicId(t) === id);
}

export class KafkaClusterView {
  readonly #ctx: BrokerContext;
  readonly #advertisedAddress: () => string;

  constructor(ctx: BrokerContext, advertisedAddress: () => string) {
    this.#ctx = ctx;
    this.#advertisedAddress = advertisedAddress;
  }

  get #oneAddress(): boolean {
    return this.#ctx.config.kafka.metadataMode === 'one-address';
  }

  /** The nodes clients may connect to. */
  brokers(): KafkaNode[] {
    if (this.#oneAddress) return [{ nodeId: ONE_ADDRESS_NODE_ID, ...splitAddress(this.#advertisedAddress()) }];
    return [...this.#ctx.cluster.node.kafkaAddresses()].map(([id, address]) => ({ nodeId: nodeIdOf(id), ...splitAddress(address) }));
  }

  /**
   * The node that coordinates a consumer group (FindCoordinator): in one-address mode the one node;
   * in brokers mode the live broker with a Kafka listener that scores highest for the group
   * (rendezvous hashing), so every broker names the same one from the same live set and a group's
   * members meet on it; a broker joining or leaving moves only the groups it wins or held. null
   * when no broker is live.
   */
  groupCoordinator(groupId: string): KafkaNode | null {
    let best: KafkaNode | null = null;
    let bestScore = -1n;
    for (const node of this.brokers()) {
      const score = createHash('sha256').update(`group\0${groupId}\0${node.nodeId}`).digest().readBigUInt64BE(0);
      if (score > bestScore || (score === bestScore && best !== null && node.nodeId < best.nodeId)) {
        best = node;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * Whether this broker is the group's coordinator as FindCoordinator names it (always in one-address
   * mode). ListGroups answers only these, as a Kafka broker lists the groups it coordinates: a client
   * asks every broker and joins the lists, which would otherwise name each group once per broker.
   * With no live broker known yet, every broker answers for the group (a rare duplicate rather than a
   * group missing from every list).
   */
  coordinatesGroup(groupId: string): boolean {
    if (this.#oneAddress) return true;
    const coordinator = this.groupCoordinator(groupId);
    return coordinator === null || coordinator.nodeId === nodeIdOf(this.#ctx.config.brokerId);
  }

  controllerId(): number {
    if (this.#oneAddress) return ONE_ADDRESS_NODE_ID;
    const controller = this.#ctx.cluster.node.controller;
    return controller === null ? NO_NODE : nodeIdOf(controller);
  }

  /** Leader, epoch, replicas and ISR of a partition; leaderId NO_NODE when it has none a Kafka client can reach. */
  partition(handle: PartitionHandle, reachable: ReadonlySet<number>): KafkaPartitionView {
    const cluster = this.#ctx.cluster;
    if (this.#oneAddress) {
      const epoch = cluster.node.partitionView(handle).leaderEpoch;
      return { leaderId: ONE_ADDRESS_NODE_ID, leaderEpoch: epoch, replicas: [ONE_ADDRESS_NODE_ID], isr: [ONE_ADDRESS_NODE_ID] };
    }
    const view = cluster.node.partitionView(handle);
    const leaderId = view.leader === null ? NO_NODE : nodeIdOf(view.leader);
    return {
      leaderId: reachable.has(leaderId) ? leaderId : NO_NODE,
      leaderEpoch: view.leaderEpoch,
      replicas: view.replicas.map(nodeIdOf),
      isr: view.isr.map(nodeIdOf),
    };
  }
}
