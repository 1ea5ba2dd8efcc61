// The in-process engine of the Coordinator: the single-node embedded default. The same
// semantics as the Redis engine (the conformance suite holds both to them), the state in memory,
// persisted under a directory as JSON files, one per unit that Redis keeps in one slot:
//
//   <dir>/cluster.json                   topics, controller lease and epoch, boot id
//   <dir>/partitions/<topic>-<p>.json    one partition: assignment, lease, epochs, HW, manifest
//   <dir>/groups/<group>.json            one group: epochs, members, assignments, committed offsets
//   <dir>/offsets/<first seq>.log        offset commits appended since their groups' files were written
//   (names that would pass 255 bytes are bounded by protocol's fileNameFor: prefix + hash)
//
// Each change rewrites its file atomically (tmp + fsync + rename + fsync dir) before it is
// applied in memory and before the call resolves, so an acknowledged change survives a crash
// and a failed write changes nothing. An offset commit that changes nothing else is appended to
// the offsets log instead (offsets-log.ts), synced within offsetsFlushIntervalMs: it survives the
// process being killed, and a machine crash loses at most that interval of commits, as Kafka's
// offsets topic and Redis under appendfsync everysec. Not persisted, on purpose: broker
// registrations and the extension of a lease by a renewal (a restarted process is a new process:
// its predecessor's heartbeats and leases mean nothing, and the epochs, which do matter, are
// persisted).
// Group members are persisted with everything else, but their sessions restart when the state is
// loaded (as Kafka's coordinator does after a failover): the time the process was down does not
// count against them. Changes run one at a time.

//
// This file is the engine's face: each call goes to the module of its concern, all of which share
// one MemoryState (state.ts: the documents, the queue of changes, the durable-before-applied rule).
//   brokers.ts      registrations and heartbeats (memory only)
//   topics.ts       topics (cluster.json)
//   controller.ts   the controller lease (cluster.json)
//   partitions.ts   assignment, leadership leases, ISR / high watermark (partitions/*.json)
//   manifests.ts    the remote segments of a partition (partitions/*.json)
//   groups.ts       consumer groups and committed offsets (groups/*.json, offsets/*.log)
//   offsets-log.ts  the offsets log: frames, recovery, roll
//   documents.ts    the documents' shapes, files and pure rules

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
import * as producerIds from './producer-ids.js';
import * as quotas from './quotas.js';
import * as controller from './controller.js';
import * as groups from './groups.js';
import { importState, type ImportedState } from './import.js';
import * as manifests from './manifests.js';
import * as partitions from './partitions.js';
import { MemoryState, type MemoryCoordinatorOptions } from './state.js';
import * as topics from './topics.js';
import * as users from './users.js';
import type { ApiTokenRecord, ScramCredentialChange, ScramCredentialOutcome, UserRecord } from '../users.js';

export type { MemoryCoordinatorOptions } from './state.js';
export type { ImportedPartition, ImportedState } from './import.js';

export class MemoryCoordinator implements Coordinator {
  readonly description: string;
  readonly #s: MemoryState;

  private constructor(state: MemoryState) {
    this.#s = state;
    this.description = `memory(${state.dir})`;
  }

  /** Loads the state persisted under `options.dir` (or starts empty). */
  static async open(options: MemoryCoordinatorOptions): Promise<MemoryCoordinator> {
    return new MemoryCoordinator(await MemoryState.load(options));
  }

  /**
   * Fills this engine once from outside (import.ts): an older release's data dir, or an empty data
   * dir restored from the bucket. Idempotent: an interrupted import is run again.
   */
  importState(state: ImportedState, options?: CallOptions): Promise<void> {
    return importState(this.#s, state, options);
  }

  // ---- brokers ---------------------------------------------------------------------------------
  registerBroker(broker: BrokerRegistration, ttlMs: number, options?: CallOptions): Promise<void> {
    return brokers.registerBroker(this.#s, broker, ttlMs, options);
  }

  heartbeatBroker(brokerId: string, ttlMs: number, options?: CallOptions): Promise<boolean> {
    return brokers.heartbeatBroker(this.#s, brokerId, ttlMs, options);
  }

  deregisterBroker(brokerId: string, options?: CallOptions): Promise<boolean> {
    return brokers.deregisterBroker(this.#s, brokerId, options);
  }

  listBrokers(options?: CallOptions): Promise<LiveBroker[]> {
    return brokers.listBrokers(this.#s, options);
  }

  // ---- topics ----------------------------------------------------------------------------------
  createTopic(topic: TopicMetadata, options?: CallOptions): Promise<void> {
    return topics.createTopic(this.#s, topic, options);
  }

  getTopic(name: string, options?: CallOptions): Promise<TopicMetadata | null> {
    return topics.getTopic(this.#s, name, options);
  }

  listTopics(options?: CallOptions): Promise<TopicMetadata[]> {
    return topics.listTopics(this.#s, options);
  }

  updateTopicConfigs(name: string, change: TopicConfigChange, options?: CallOptions): Promise<TopicMetadata> {
    return topics.updateTopicConfigs(this.#s, name, change, options);
  }

  growTopicPartitions(name: string, topicId: string, partitions: number, options?: CallOptions): Promise<TopicMetadata> {
    return topics.growTopicPartitions(this.#s, name, topicId, partitions, options);
  }

  deleteTopic(name: string, options?: CallOptions): Promise<boolean> {
    return topics.deleteTopic(this.#s, name, options);
  }

  // ---- producer ids ----------------------------------------------------------------------------
  allocateProducerIds(brokerId: string, blockSize: number, options?: CallOptions): Promise<ProducerIdBlock> {
    return producerIds.allocateProducerIds(this.#s, brokerId, blockSize, options);
  }

  // ---- quotas ----------------------------------------------------------------------------------
  alterQuotas(changes: readonly QuotaChange[], options?: CallOptions): Promise<void> {
    return quotas.alterQuotas(this.#s, changes, options);
  }

  listQuotas(options?: CallOptions): Promise<QuotaRecord[]> {
    return quotas.listQuotas(this.#s, options);
  }

  // ---- ACL bindings ----------------------------------------------------------------------------

  createAcls(bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
    return acls.createAcls(this.#s, bindings, options);
  }

  deleteAcls(bindings: readonly AclBinding[], options?: CallOptions): Promise<AclChange> {
    return acls.deleteAcls(this.#s, bindings, options);
  }

  listAcls(options?: CallOptions): Promise<AclSnapshot> {
    return acls.listAcls(this.#s, options);
  }

  aclsVersion(options?: CallOptions): Promise<number> {
    return acls.aclsVersion(this.#s, options);
  }

  // ---- controller ------------------------------------------------------------------------------
  acquireController(request: ControllerAcquireRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    return controller.acquireController(this.#s, request, options);
  }

  renewController(brokerId: string, epoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    return controller.renewController(this.#s, brokerId, epoch, ttlMs, options);
  }

  releaseController(brokerId: string, epoch: number, options?: CallOptions): Promise<boolean> {
    return controller.releaseController(this.#s, brokerId, epoch, options);
  }

  getController(options?: CallOptions): Promise<ControllerLease> {
    return controller.getController(this.#s, options);
  }

  // ---- partitions ------------------------------------------------------------------------------
  setReplicas(topic: string, partition: number, assignment: PartitionAssignment, options?: CallOptions): Promise<void> {
    return partitions.setReplicas(this.#s, topic, partition, assignment, options);
  }

  acquireLeadership(topic: string, partition: number, request: LeadershipRequest, options?: CallOptions): Promise<LeaseAcquisition> {
    return partitions.acquireLeadership(this.#s, topic, partition, request, options);
  }

  renewLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number, options?: CallOptions): Promise<boolean> {
    return partitions.renewLeadership(this.#s, topic, partition, brokerId, leaderEpoch, ttlMs, options);
  }

  releaseLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, options?: CallOptions): Promise<boolean> {
    return partitions.releaseLeadership(this.#s, topic, partition, brokerId, leaderEpoch, options);
  }

  transferLeadership(topic: string, partition: number, request: LeadershipTransfer, options?: CallOptions): Promise<LeadershipTransferResult> {
    return partitions.transferLeadership(this.#s, topic, partition, request, options);
  }

  updatePartitionState(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange, options?: CallOptions): Promise<PartitionStateUpdate> {
    return partitions.updatePartitionState(this.#s, topic, partition, leaderEpoch, change, options);
  }

  getPartitionState(topic: string, partition: number, options?: CallOptions): Promise<PartitionState | null> {
    return partitions.getPartitionState(this.#s, topic, partition, options);
  }

  // ---- manifests -------------------------------------------------------------------------------
  loadManifest(topic: string, partition: number, options?: CallOptions): Promise<PartitionManifest> {
    return manifests.loadManifest(this.#s, topic, partition, options);
  }

  commitSegment(topic: string, partition: number, segment: RemoteSegment, options?: CallOptions): Promise<SegmentCommit> {
    return manifests.commitSegment(this.#s, topic, partition, segment, options);
  }

  advanceLogStart(topic: string, partition: number, leaderEpoch: number, offset: number, options?: CallOptions): Promise<LogStartAdvance> {
    return manifests.advanceLogStart(this.#s, topic, partition, leaderEpoch, offset, options);
  }

  // ---- groups ----------------------------------------------------------------------------------
  groupHeartbeat(group: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatResponse> {
    return groups.groupHeartbeat(this.#s, group, request, options);
  }

  leaveGroup(group: string, memberId: string, options?: CallOptions): Promise<boolean> {
    return groups.leaveGroup(this.#s, group, memberId, options);
  }

  describeGroup(group: string, options?: CallOptions): Promise<GroupDescription | null> {
    return groups.describeGroup(this.#s, group, options);
  }

  listGroups(options?: CallOptions): Promise<GroupListing[]> {
    return groups.listGroups(this.#s, options);
  }

  deleteGroup(group: string, options?: CallOptions): Promise<boolean> {
    return groups.deleteGroup(this.#s, group, options);
  }

  commitOffsets(group: string, member: GroupMember | ClassicGroupMember | null, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    return groups.commitOffsets(this.#s, group, member, offsets, options);
  }

  fetchOffsets(group: string, options?: CallOptions & { topic?: string }): Promise<CommittedOffset[]> {
    return groups.fetchOffsets(this.#s, group, options);
  }

  resetOffsets(group: string, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
    return groups.resetOffsets(this.#s, group, offsets, options);
  }

  deleteOffsets(group: string, partitions: readonly { topic: string; partition: number }[], options?: CallOptions): Promise<number> {
    return groups.deleteOffsets(this.#s, group, partitions, options);
  }

  loadClassicGroup(group: string, options?: CallOptions): Promise<ClassicGroupState | null> {
    return groups.loadClassicGroup(this.#s, group, options);
  }

  storeClassicGroup(group: string, state: ClassicGroupState, options?: CallOptions): Promise<void> {
    return groups.storeClassicGroup(this.#s, group, state, options);
  }

  expireGroups(request: GroupExpiryRequest, options?: CallOptions): Promise<GroupExpiry> {
    return groups.expireGroups(this.#s, request, options);
  }

  // ---- users -----------------------------------------------------------------------------------
  putUser(user: UserRecord, options?: CallOptions): Promise<{ created: boolean }> {
    return users.putUser(this.#s, user, options);
  }

  alterScramCredentials(change: ScramCredentialChange, options?: CallOptions): Promise<ScramCredentialOutcome> {
    return users.alterScramCredentials(this.#s, change, options);
  }

  getUser(name: string, options?: CallOptions): Promise<UserRecord | null> {
    return users.getUser(this.#s, name, options);
  }

  listUsers(options?: CallOptions): Promise<UserRecord[]> {
    return users.listUsers(this.#s, options);
  }

  deleteUser(name: string, options?: CallOptions): Promise<boolean> {
    return users.deleteUser(this.#s, name, options);
  }

  createToken(token: ApiTokenRecord, options?: CallOptions): Promise<void> {
    return users.createToken(this.#s, token, options);
  }

  getToken(id: string, options?: CallOptions): Promise<ApiTokenRecord | null> {
    return users.getToken(this.#s, id, options);
  }

  listTokens(user: string, options?: CallOptions): Promise<ApiTokenRecord[]> {
    return users.listTokens(this.#s, user, options);
  }

  revokeToken(user: string, id: string, options?: CallOptions): Promise<boolean> {
    return users.revokeToken(this.#s, user, id, options);
  }

  // ---- identity, lifecycle -------------------------------------------------------------------

  async status(options?: CallOptions): Promise<CoordinatorStatus> {
    return this.#s.read('status', options, () => ({
      engine: 'memory' as const,
      serverRunId: this.#s.runId,
      bootId: this.#s.cluster.bootId,
      serverFirstSeenAtMs: this.#s.openedAtMs,
      quarantineRemainingMs: 0,
      restartsSeen: 0,
    }));
  }

  onEvent(listener: CoordinatorListener): () => void {
    return this.#s.events.add(listener);
  }

  close(): Promise<void> {
    return this.#s.close();
  }
}
