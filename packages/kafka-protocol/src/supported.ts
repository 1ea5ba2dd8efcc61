// The version ranges Strata advertises in its ApiVersions answer, per API: what
// the listener offers clients (it lists only the APIs it has a handler for).
// SaslHandshake 0-1 and SaslAuthenticate 0-2 are listed (issue #14: SASL PLAIN and SCRAM;
// SaslAuthenticate v1 carries KIP-368's session lifetime). FindCoordinator was listed before
// consumer groups (issue #13) existed: librdkafka 2.0.2 compresses with lz4 only when
// FindCoordinator v0 is advertised (see below). KIP-848's consumer protocol and the group
// admin APIs are listed; the classic protocol (JoinGroup, ...) and offsets come with #13 too.
// Each range lies inside the schema's validVersions (a test checks it).
//
// Why these ranges:
// - Produce from 0, though only RecordBatch v2 is stored (a v0-2 request carrying magic 0/1
//   batches is refused per partition with UNSUPPORTED_FOR_MESSAGE_FORMAT): librdkafka 2.0.2
//   compresses with gzip, snappy or lz4 only when Produce v0 lies in the advertised range
//   (rd_kafka_msgset_writer_select_MsgVersion asks the broker for Produce [0, 0] for those codecs,
//   [0, 7] for zstd; measured: kcat -X compression.codec=gzip sent uncompressed batches against
//   Produce 2+). It still sends Produce v7. Fetch from 4: RecordBatch v2 only (issue #12).
// - Metadata from 0 and ApiVersions 0-3: kafka-python probes with Metadata v0
//   and ApiVersions v0; Kafka 3.x/4.x clients want the flexible versions
//   (Metadata >= 9, Fetch >= 12, topic ids from Fetch 13).
// - Produce up to 11 and InitProducerId up to 4: Produce 12 and InitProducerId 5
//   announce KIP-890's transactions v2, which Strata does not implement.
// - Metadata up to 12: v13 only adds a top-level error code for re-bootstrap.
// - DescribeCluster up to 1: v2 (fenced brokers, KIP-1073) is described but was
//   not checked against Kafka's definition.
// - FindCoordinator up to 4 (batched keys): v5 only announces TRANSACTION_ABORTABLE (KIP-890) and
//   v6 share groups (KIP-932), neither of which Strata has.
// - ListGroups up to 5 (the types filter, KIP-848); DeleteGroups up to 2: v3 only adds an error
//   message per group.
// - ConsumerGroupHeartbeat 0-1 (KIP-848; v1 is Kafka 4.0's: client-chosen member ids, the topic
//   regex, which Strata refuses); ConsumerGroupDescribe 0: v1 adds each member's type (classic or
//   consumer), which means something only once a group can hold both.
// - DescribeAcls, CreateAcls, DeleteAcls 0-3 (issue #14's ACLs): every version Kafka 4 defines.
// - DescribeUserScramCredentials and AlterUserScramCredentials 0 (KIP-554): all there are.
// - ListOffsets up to 7 (max timestamp, -3): v8/v9 announce earliest-local (-4)
//   and latest-tiered (-5), which Strata's tiering does not distinguish yet.
//
// librdkafka 2.0.2 (Debian's) enables a feature only when one specific version of
// each API it depends on lies inside the advertised range (rdkafka_feature.c,
// rd_kafka_feature_map):
// - gzip, snappy, lz4 compression: Produce 0 (see above); lz4 also FindCoordinator 0.
// - MsgVersion 2 (RecordBatch v2, needed for everything below): Produce 3, Fetch 4.
// - idempotent producer: InitProducerId 0 (and MsgVersion 2).
// - client quotas: DescribeClientQuotas and AlterClientQuotas 0-1 (KIP-546; all there are).
// - zstd: Produce 7 and Fetch 10.
// - lz4: FindCoordinator 0 (a proxy for "broker >= 0.8.2"): without FindCoordinator
//   in the ApiVersions answer librdkafka 2.0.2 refuses compression.codec=lz4.
// - time-based offsets (-o s@ts, -Q): ListOffsets 1.
// - throttle time: Produce 1-2 and Fetch 1-2 (lost with Produce from 3; harmless).
// - balanced consumer groups: FindCoordinator 0, OffsetCommit 1-2, OffsetFetch 1,
//   JoinGroup/SyncGroup/Heartbeat/LeaveGroup 0 (issue #13: all advertised from 0).
// - The classic group APIs and offsets at Kafka's full ranges (JoinGroup 0-9, SyncGroup 0-5,
//   Heartbeat 0-4, LeaveGroup 0-5, OffsetCommit 0-9, OffsetFetch 0-9, DescribeGroups 0-5,
//   OffsetDelete 0); DescribeGroups v6 (GROUP_ID_NOT_FOUND for an unknown group) is not offered.
// - SASL handshake: SaslHandshake 0; SaslAuthenticate: SaslHandshake 1 and
//   SaslAuthenticate 0-1 (the security issue).

import { ApiKey } from './api-keys.js';

export interface VersionSpan {
  readonly min: number;
  readonly max: number;
}

export const SUPPORTED_APIS: ReadonlyMap<number, VersionSpan> = new Map<number, VersionSpan>([
  [ApiKey.Produce, { min: 0, max: 11 }],
  [ApiKey.Fetch, { min: 4, max: 17 }],
  [ApiKey.ListOffsets, { min: 0, max: 7 }],
  [ApiKey.Metadata, { min: 0, max: 12 }],
  [ApiKey.ApiVersions, { min: 0, max: 3 }],
  [ApiKey.CreateTopics, { min: 0, max: 7 }],
  [ApiKey.DeleteTopics, { min: 0, max: 6 }],
  [ApiKey.DeleteRecords, { min: 0, max: 2 }],
  [ApiKey.InitProducerId, { min: 0, max: 4 }],
  [ApiKey.OffsetForLeaderEpoch, { min: 0, max: 4 }],
  [ApiKey.DescribeConfigs, { min: 0, max: 4 }],
  [ApiKey.CreatePartitions, { min: 0, max: 3 }],
  [ApiKey.IncrementalAlterConfigs, { min: 0, max: 1 }],
  [ApiKey.DescribeCluster, { min: 0, max: 1 }],
  [ApiKey.FindCoordinator, { min: 0, max: 4 }],
  [ApiKey.ListGroups, { min: 0, max: 5 }],
  [ApiKey.DeleteGroups, { min: 0, max: 2 }],
  [ApiKey.ConsumerGroupHeartbeat, { min: 0, max: 1 }],
  [ApiKey.ConsumerGroupDescribe, { min: 0, max: 0 }],
  [ApiKey.SaslHandshake, { min: 0, max: 1 }],
  [ApiKey.SaslAuthenticate, { min: 0, max: 2 }],
  [ApiKey.JoinGroup, { min: 0, max: 9 }],
  [ApiKey.SyncGroup, { min: 0, max: 5 }],
  [ApiKey.Heartbeat, { min: 0, max: 4 }],
  [ApiKey.LeaveGroup, { min: 0, max: 5 }],
  [ApiKey.OffsetCommit, { min: 0, max: 9 }],
  [ApiKey.OffsetFetch, { min: 0, max: 9 }],
  [ApiKey.OffsetDelete, { min: 0, max: 0 }],
  [ApiKey.DescribeGroups, { min: 0, max: 5 }],
  [ApiKey.DescribeClientQuotas, { min: 0, max: 1 }],
  [ApiKey.AlterClientQuotas, { min: 0, max: 1 }],
  [ApiKey.DescribeAcls, { min: 0, max: 3 }],
  [ApiKey.CreateAcls, { min: 0, max: 3 }],
  [ApiKey.DeleteAcls, { min: 0, max: 3 }],
  [ApiKey.DescribeUserScramCredentials, { min: 0, max: 0 }],
  [ApiKey.AlterUserScramCredentials, { min: 0, max: 0 }],
]);

export function isSupportedVersion(apiKey: number, apiVersion: number): boolean {
  const span = SUPPORTED_APIS.get(apiKey);
  return span !== undefined && apiVersion >= span.min && apiVersion <= span.max;
}
