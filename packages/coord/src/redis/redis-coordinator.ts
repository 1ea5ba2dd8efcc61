// The Redis engine of the Coordinator (docs/architecture.md#coordination): every multi-key change is one Lua script
// (../../lua/), loaded once per connection and called by SHA; every key comes from CoordKeys;
// every error goes through redis/errors.ts. See README.md for the fencing design, in particular
// how a restart or failover that loses recent writes can never produce two leaders of one epoch.

//
// This file is the engine's face: each call goes to the module of its concern, all of which talk to
// Redis through one RedisConnection (connection.ts: client, scripts, session, deadlines, errors).
//   brokers.ts      registrations and heartbeats
//   topics.ts       topics
//   controller.ts   the controller lease
//   partitions.ts   assignment, leadership leases, ISR / high watermark
//   manifests.ts    the remote segments of a partition
//   groups.ts       consumer groups and committed offsets
//   codec.ts        how values are stored, both ways

import type {
  ClassicGroupMember,
  ClassicGroupState,
  BrokerRegistration,
  CallOptions,
  CommittedOffset,
  ControllerAcquireRequest,
  ControllerLease,
  ProducerIdBlock,
  Coordinator,
  CoordinatorListener,
  CoordinatorStatus,
  GroupDescription,
  GroupExpiry,
  GroupExpiryRequest,
  GroupHeartbeatRequest,
  GroupHeartbeatResponse,
  GroupListing,
  GroupMember,
  LeadershipRequest,
  LeadershipTransfer,
  LeadershipTransferResult,
  LeaseAcquisition,
  LiveBroker,
  LogStartAdvance,
  OffsetCommit,
  PartitionAssignment,
  PartitionManifest,
  PartitionState,
  PartitionStateChange,
  PartitionStateUpdate,
  RemoteSegment,
  SegmentCommit,
  TopicConfigChange,
  TopicMetadata,
} from '../coordinator.js';
import type { QuotaChange, QuotaRecord } from '../quotas.js';
import type { AclBinding } from '@strata/protocol';
import type { AclChange, AclSnapshot } from '../acls.js';
import * as acls from './acls.js';
import * as brokers from './brokers.js';
import { RedisConnection, type RedisCoordinatorOptions } from './connection.js';
import * as producerIds from './producer-ids.js';
import * as quotas from './quotas.js';
import * as controller from './controller.js';
import * as groups from './groups.js';
import type { CoordKeys } from './keys.js';
import * as manifests from './manifests.js';
import * as partitions from './partitions.js';
import * as topics from './topics.js';
import * as users from './users.js';
import type { ApiTokenRecord, ScramCredentialChange, ScramCredentialOutcome, UserRecord } from '../users.js';

export type { RedisCoordinatorOptions } from './connection.js';

export class RedisCoordinator implements Coordinator {
  readonly description: string;
  readonly keys: CoordKeys;
  readonly #c: RedisConnection;

  private constructor(connection: RedisConnection) {
    this.#c = connection;
    this.keys = connection.keys;
    this.description = connection.description;
  }

  /** Connects, loads the scripts and reads the boot record; rejects (STORAGE_ERROR) if Redis is unreachable. */
  static async connect(options: RedisCoordinatorOptions = {}, callOptions: CallOptions = {}): Promise<RedisCoordinator> {
    return new RedisCoordinator(await RedisConnection.connect(options, callOptions));
  }

  // ---- brokers ---------------------------------------------------------------------------------

  registerBroker(broker: BrokerRegistration, ttlMs: number, options?: CallOptions): Promise<void> {
    return brokers.registerBroker(this.#c, broker, ttlMs, options);
  }

  heartbeatBroker(brokerId: string, ttlMs: number, options?: CallOptions): Promise<boolean> {
    return brokers.heartbeatBroker(this.#c, brokerId, ttlMs, options);
  }

  deregisterBroker(brokerId: string, options?: CallOptions): Promise<boolean> {
    return brokers.deregisterBroker(this.#c, brokerId, options);
  }

  listBrokers(options?: CallOptions): Promise<LiveBroker[]> {
    return brokers.listBrokers(this.#c, options);
  }

  // ---- topics ----------------------------------------------------------------------------------

  createTopic(topic: TopicMetadata, options?: CallOptions): Promise<void> {
    return topics.createTopic(this.#c, topic, options);
  }

  getTopic(name: string, options?: CallOptions): Promise<TopicMetadata | null> {
    return topics.getTopic(this.#c, name, options);
  }

  listTopics(options?: CallOptions): Promise<TopicMetadata[]> {
    return topics.listTopics(this.#c, options);
  }

  updateTopicConfigs(name: string, change: TopicConfigChange, options?: CallOptions): Promise<TopicMetadata> {
    return topics.updateTopicConfigs(this.#c, name, change, options);
  }

  growTopicPartitions(name: string, topicId: string, partitions: number, options?: CallOptions): Promise<TopicMetadata> {
    return topics.growTopicPartitions(this.#c, name, topicId, partitions, options);
  }

  deleteTopic(name: string, options?: CallOptions): Promise<boolean> {
    return topics.deleteTopic(this.#c, name, options);
  }

  // ---- producer ids ----------------------------------------------------------------------------

  allocateProducerIds(brokerId: string, blockSize: number, options?: CallOptions): Promise<ProducerIdBlock> {
    return producerIds.allocateProducerIds(this.#c, brokerId, blockSize, options);
  }

  // ---- quotas ----------------------------------------------------------------------------------
  alterQuotas(changes: readonly QuotaChange[], options?: CallOptions): Promise<void> {
    return quotas.alterQuotas(this.#c, changes, options);
  }

  listQuotas(options?: CallOptions): Promise<QuotaRecord[]> {
    return quotas.listQuotas(this.#c, options);
  }

  // ---- ACL bindings ----------------------------------------------------------------------------

  createAcls(bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
    return acls.createAcls(this.#c, bindings, options);
  }

  deleteAcls(bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
    return acls.deleteAcls(this.#c, bindings, options);
  }

  listAcls(options?: CallOptions): Promise<AclSnapshot> {
    return acls.listAcls(this.#c, options);
  }

  aclsVersion(options?: CallOptions): Promise<number> {
    return acls.aclsVersion(this.#c, options);
  }

  // ---- controller ------------------------------------------------------------------------------

  acquireController(request: ControllerAcquireRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    return controller.acquireController(this.#c, request, options);
  }

  renewController(brokerId: string, epoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    return controller.renewController(this.#c, brokerId, epoch, ttlMs, options);
  }

  releaseController(brokerId: string, epoch: number, options?: CallOptions): Promise<boolean> {
    return controller.releaseController(this.#c, brokerId, epoch, options);
  }

  getController(options?: CallOptions): Promise<ControllerLease> {
    return controller.getController(this.#c, options);
  }

  // ---- partitions ------------------------------------------------------------------------------

  setReplicas(topic: string, partition: number, assignment: PartitionAssignment, options?: CallOptions): Promise<void> {
    return partitions.setReplicas(this.#c, topic, partition, assignment, options);
  }

  acquireLeadership(topic: string, partition: number, request: LeadershipRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    return partitions.acquireLeadership(this.#c, topic, partition, request, options);
  }

  renewLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    return partitions.renewLeadership(this.#c, topic, partition, brokerId, leaderEpoch, ttlMs, options);
  }

  releaseLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, options?: CallOptions): Promise<boolean> {
    return partitions.releaseLeadership(this.#c, topic, partition, brokerId, leaderEpoch, options);
  }

  transferLeadership(topic: string, partition: number, request: LeadershipTransfer, options?: CallOptions): Promise<LeadershipTransferResult> {
    return partitions.transferLeadership(this.#c, topic, partition, request, options);
  }

  updatePartitionState(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange, options?: CallOptions): Promise<PartitionStateUpdate> {
    return partitions.updatePartitionState(this.#c, topic, partition, leaderEpoch, change, options);
  }

  getPartitionState(topic: string, partition: number, options?: CallOptions): Promise<PartitionState | null> {
    return partitions.getPartitionState(this.#c, topic, partition, options);
  }

  // ---- manifests -------------------------------------------------------------------------------

  loadManifest(topic: string, partition: number, options?: CallOptions): Promise<PartitionManifest> {
    return manifests.loadManifest(this.#c, topic, partition, options);
  }

  commitSegment(topic: string, partition: number, segment: RemoteSegment, options?: CallOptions): Promise<SegmentCommit> {
    return manifests.commitSegment(this.#c, topic, partition, segment, options);
  }

  advanceLogStart(topic: string, partition: number, leaderEpoch: number, offset: number, options?: CallOptions): Promise<LogStartAdvance> {
    return manifests.advanceLogStart(this.#c, topic, partition, leaderEpoch, offset, options);
  }

  // ---- groups ----------------------------------------------------------------------------------

  groupHeartbeat(group: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatResponse> {
    return groups.groupHeartbeat(this.#c, group, request, options);
  }

  leaveGroup(group: string, memberId: string, options?: CallOptions): Promise<boolean> {
    return groups.leaveGroup(this.#c, group, memberId, options);
  }

  describeGroup(group: string, options?: CallOptions): Promise<GroupDescription | null> {
    return groups.describeGroup(this.#c, group, options);
  }

  listGroups(options?: CallOptions): Promise<GroupListing[]> {
    return groups.listGroups(this.#c, options);
  }

  deleteGroup(group: string, options?: CallOptions): Promise<boolean> {
    return groups.deleteGroup(this.#c, group, options);
  }

  commitOffsets(group: string, member: GroupMember | ClassicGroupMember | null, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    return groups.commitOffsets(this.#c, group, member, offsets, options);
  }

  fetchOffsets(group: string, options?: CallOptions & { topic?: string }): Promise<CommittedOffset[]> {
    return groups.fetchOffsets(this.#c, group, options);
  }

  resetOffsets(group: string, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    return groups.resetOffsets(this.#c, group, offsets, options);
  }

  deleteOffsets(group: string, partitions: readonly { topic: string; partition: number }[], options?: CallOptions): Promise<number> {
    return groups.deleteOffsets(this.#c, group, partitions, options);
  }

  loadClassicGroup(group: string, options?: CallOptions): Promise<ClassicGroupState | null> {
    return groups.loadClassicGroup(this.#c, group, options);
  }

  storeClassicGroup(group: string, state: ClassicGroupState, options?: CallOptions): Promise<void> {
    return groups.storeClassicGroup(this.#c, group, state, options);
  }

  expireGroups(request: GroupExpiryRequest, options?: CallOptions): Promise<GroupExpiry> {
    return groups.expireGroups(this.#c, request, options);
  }

  // ---- users -----------------------------------------------------------------------------------
  putUser(user: UserRecord, options?: CallOptions): Promise<{ created: boolean }> {
    return users.putUser(this.#c, user, options);
  }

  alterScramCredentials(change: ScramCredentialChange, options?: CallOptions): Promise<ScramCredentialOutcome> {
    return users.alterScramCredentials(this.#c, change, options);
  }

  getUser(name: string, options?: CallOptions): Promise<UserRecord | null> {
    return users.getUser(this.#c, name, options);
  }

  listUsers(options?: CallOptions): Promise<UserRecord[]> {
    return users.listUsers(this.#c, options);
  }

  deleteUser(name: string, options?: CallOptions): Promise<boolean> {
    return users.deleteUser(this.#c, name, options);
  }

  createToken(token: ApiTokenRecord, options?: CallOptions): Promise<void> {
    return users.createToken(this.#c, token, options);
  }

  getToken(id: string, options?: CallOptions): Promise<ApiTokenRecord | null> {
    return users.getToken(this.#c, id, options);
  }

  listTokens(user: string, options?: CallOptions): Promise<ApiTokenRecord[]> {
    return users.listTokens(this.#c, user, options);
  }

  revokeToken(user: string, id: string, options?: CallOptions): Promise<boolean> {
    return users.revokeToken(this.#c, user, id, options);
  }

  // ---- identity, lifecycle -------------------------------------------------------------------

  status(options?: CallOptions): Promise<CoordinatorStatus> {
    return this.#c.status(options);
  }

  onEvent(listener: CoordinatorListener): () => void {
    return this.#c.events.add(listener);
  }

  close(): Promise<void> {
    return this.#c.close();
  }
}
