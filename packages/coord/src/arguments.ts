// The argument checks of every public Coordinator method, written once. Each engine calls the
// method of the same name as the first line of its own, before anything reaches its backend, so
// the two engines cannot drift apart on what they refuse (the conformance suite checks the
// outcome; this file makes it one piece of code). The field checks themselves are in validate.ts.

import { checkQuotaChanges, type QuotaChange } from './quotas.js';
import { COORDINATOR_DEFAULTS, type GroupLimits } from './defaults.js';
import type {
  BrokerRegistration,
  ClassicGroupMember,
  ClassicGroupState,
  ControllerAcquireRequest,
  GroupExpiryRequest,
  GroupHeartbeatRequest,
  GroupMember,
  LeadershipRequest,
  LeadershipTransfer,
  OffsetCommit,
  PartitionAssignment,
  PartitionStateChange,
  RemoteSegment,
  TopicConfigChange,
  TopicMetadata,
} from './coordinator.js';
import {
  Checks,
  checkAddress,
  checkAssignment,
  checkBrokerId,
  checkBrokerRegistration,
  checkConfigChange,
  checkEpoch,
  checkGroupId,
  checkInt,
  checkLeadershipRequest,
  checkMemberId,
  checkOffset,
  checkSegment,
  checkStateChange,
  checkTopicMetadata,
  checkTopicId,
  checkTopicName,
  checkTtl,
  LIMITS,
} from './validate.js';
import { checkClassicState, checkExpiryRequest, checkGroupMember, checkHeartbeatRequest, checkOffsetCommits } from './validate-groups.js';

/** What an engine was configured with that bounds its arguments. */
export interface ArgumentLimits {
  leaseTtlMaxMs: number;
  groupLimits: GroupLimits;
}

/** Runs the checks of one call and throws every problem found (INVALID_*), or returns. */
function check(what: string, body: (c: Checks) => void): void {
  const c = new Checks(what);
  body(c);
  c.done();
}

/** One method per public Coordinator method that takes arguments; each throws on bad input. */
export class CoordinatorArguments {
  readonly #limits: ArgumentLimits;

  constructor(limits: ArgumentLimits) {
    this.#limits = limits;
  }

  // ---- brokers ----

  registerBroker(broker: BrokerRegistration, ttlMs: number): void {
    check('registerBroker', (c) => {
      checkBrokerRegistration(c, broker);
      checkTtl(c, 'ttlMs', ttlMs, COORDINATOR_DEFAULTS.brokerTtlMaxMs);
    });
  }

  heartbeatBroker(brokerId: string, ttlMs: number): void {
    check('heartbeatBroker', (c) => {
      checkBrokerId(c, 'brokerId', brokerId);
      checkTtl(c, 'ttlMs', ttlMs, COORDINATOR_DEFAULTS.brokerTtlMaxMs);
    });
  }

  deregisterBroker(brokerId: string): void {
    check('deregisterBroker', (c) => checkBrokerId(c, 'brokerId', brokerId));
  }

  // ---- topics ----

  createTopic(topic: TopicMetadata): void {
    check('createTopic', (c) => checkTopicMetadata(c, topic));
  }

  getTopic(name: string): void {
    check('getTopic', (c) => checkTopicName(c, 'name', name));
  }

  updateTopicConfigs(name: string, change: TopicConfigChange): void {
    check('updateTopicConfigs', (c) => {
      checkTopicName(c, 'name', name);
      checkConfigChange(c, change);
    });
  }

  growTopicPartitions(name: string, topicId: string, partitions: number): void {
    check('growTopicPartitions', (c) => {
      checkTopicName(c, 'name', name);
      checkTopicId(c, 'topicId', topicId);
      checkInt(c, 'partitions', partitions, 1, LIMITS.partitionsMax, 'INVALID_PARTITIONS');
    });
  }

  deleteTopic(name: string): void {
    check('deleteTopic', (c) => checkTopicName(c, 'name', name));
  }

  // ---- controller ----

  acquireController(request: ControllerAcquireRequest): void {
    check('acquireController', (c) => {
      checkBrokerId(c, 'brokerId', request?.brokerId);
      checkTtl(c, 'ttlMs', request?.ttlMs, this.#limits.leaseTtlMaxMs);
      if (request?.knownEpoch !== undefined) checkEpoch(c, 'knownEpoch', request.knownEpoch);
    });
  }

  renewController(brokerId: string, epoch: number, ttlMs: number): void {
    check('renewController', (c) => {
      checkBrokerId(c, 'brokerId', brokerId);
      checkEpoch(c, 'epoch', epoch, 1);
      checkTtl(c, 'ttlMs', ttlMs, this.#limits.leaseTtlMaxMs);
    });
  }

  releaseController(brokerId: string, epoch: number): void {
    check('releaseController', (c) => {
      checkBrokerId(c, 'brokerId', brokerId);
      checkEpoch(c, 'epoch', epoch, 1);
    });
  }

  // ---- quotas ----

  alterQuotas(changes: readonly QuotaChange[]): void {
    check('alterQuotas', (c) => checkQuotaChanges(c, changes));
  }

  // ---- producer ids ----

  allocateProducerIds(brokerId: string, blockSize: number): void {
    check('allocateProducerIds', (c) => {
      checkBrokerId(c, 'brokerId', brokerId);
      checkInt(c, 'blockSize', blockSize, 1, LIMITS.producerIdBlockMax);
    });
  }

  // ---- partitions ----

  setReplicas(topic: string, partition: number, assignment: PartitionAssignment): void {
    const c = checkAddress('setReplicas', topic, partition);
    checkAssignment(c, assignment);
    c.done();
  }

  acquireLeadership(topic: string, partition: number, request: LeadershipRequest): void {
    const c = checkAddress('acquireLeadership', topic, partition);
    checkLeadershipRequest(c, request, this.#limits.leaseTtlMaxMs);
    c.done();
  }

  renewLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number, ttlMs: number): void {
    const c = checkAddress('renewLeadership', topic, partition);
    checkBrokerId(c, 'brokerId', brokerId);
    checkEpoch(c, 'leaderEpoch', leaderEpoch, 1);
    checkTtl(c, 'ttlMs', ttlMs, this.#limits.leaseTtlMaxMs);
    c.done();
  }

  releaseLeadership(topic: string, partition: number, brokerId: string, leaderEpoch: number): void {
    const c = checkAddress('releaseLeadership', topic, partition);
    checkBrokerId(c, 'brokerId', brokerId);
    checkEpoch(c, 'leaderEpoch', leaderEpoch, 1);
    c.done();
  }

  transferLeadership(topic: string, partition: number, request: LeadershipTransfer): void {
    const c = checkAddress('transferLeadership', topic, partition);
    checkBrokerId(c, 'brokerId', request.brokerId);
    checkEpoch(c, 'leaderEpoch', request.leaderEpoch, 1);
    checkTtl(c, 'ttlMs', request.ttlMs, this.#limits.leaseTtlMaxMs);
    checkOffset(c, 'startOffset', request.startOffset);
    if (request.successor !== undefined) checkBrokerId(c, 'successor', request.successor);
    c.done();
  }

  updatePartitionState(topic: string, partition: number, leaderEpoch: number, change: PartitionStateChange): void {
    const c = checkAddress('updatePartitionState', topic, partition);
    checkEpoch(c, 'leaderEpoch', leaderEpoch, 1);
    checkStateChange(c, change);
    c.done();
  }

  getPartitionState(topic: string, partition: number): void {
    checkAddress('getPartitionState', topic, partition).done();
  }

  loadManifest(topic: string, partition: number): void {
    checkAddress('loadManifest', topic, partition).done();
  }

  commitSegment(topic: string, partition: number, segment: RemoteSegment): void {
    const c = checkAddress('commitSegment', topic, partition);
    checkSegment(c, segment);
    c.done();
  }

  advanceLogStart(topic: string, partition: number, leaderEpoch: number, offset: number): void {
    const c = checkAddress('advanceLogStart', topic, partition);
    checkEpoch(c, 'leaderEpoch', leaderEpoch, 1);
    checkOffset(c, 'offset', offset);
    c.done();
  }

  // ---- groups ----

  groupHeartbeat(group: string, request: GroupHeartbeatRequest): void {
    check('groupHeartbeat', (c) => {
      checkGroupId(c, 'group', group);
      checkHeartbeatRequest(c, request);
    });
  }

  leaveGroup(group: string, memberId: string): void {
    check('leaveGroup', (c) => {
      checkGroupId(c, 'group', group);
      checkMemberId(c, 'memberId', memberId);
    });
  }

  describeGroup(group: string): void {
    check('describeGroup', (c) => checkGroupId(c, 'group', group));
  }

  deleteGroup(group: string): void {
    check('deleteGroup', (c) => checkGroupId(c, 'group', group));
  }

  loadClassicGroup(group: string): void {
    check('loadClassicGroup', (c) => checkGroupId(c, 'group', group));
  }

  storeClassicGroup(group: string, state: ClassicGroupState): void {
    check('storeClassicGroup', (c) => {
      checkGroupId(c, 'group', group);
      checkClassicState(c, state, this.#limits.groupLimits.groupMembersMax);
    });
  }

  deleteOffsets(group: string, partitions: readonly { topic: string; partition: number }[]): void {
    check('deleteOffsets', (c) => {
      checkGroupId(c, 'group', group);
      if (!Array.isArray(partitions) || partitions.length > this.#limits.groupLimits.offsetsPerCommitMax) {
        c.add('INVALID_REQUEST', 'partitions', `partitions must be a list of at most ${this.#limits.groupLimits.offsetsPerCommitMax}`);
        return;
      }
      partitions.forEach((p, i) => {
        checkTopicName(c, `partitions[${i}].topic`, p.topic);
        checkInt(c, `partitions[${i}].partition`, p.partition, 0, LIMITS.partitionsMax - 1);
      });
    });
  }

  commitOffsets(group: string, member: GroupMember | ClassicGroupMember | null, offsets: readonly OffsetCommit[]): void {
    check('commitOffsets', (c) => {
      checkGroupId(c, 'group', group);
      checkGroupMember(c, member, true);
      checkOffsetCommits(c, offsets, this.#limits.groupLimits);
    });
  }

  fetchOffsets(group: string, topic: string | undefined): void {
    check('fetchOffsets', (c) => {
      checkGroupId(c, 'group', group);
      if (topic !== undefined) checkTopicName(c, 'topic', topic);
    });
  }

  resetOffsets(group: string, offsets: readonly OffsetCommit[]): void {
    check('resetOffsets', (c) => {
      checkGroupId(c, 'group', group);
      checkOffsetCommits(c, offsets, this.#limits.groupLimits);
    });
  }

  /** The request's fields; the cursor's form is each engine's own (a group name, a scan cursor). */
  expireGroups(request: GroupExpiryRequest): void {
    check('expireGroups', (c) => checkExpiryRequest(c, request));
  }
}
