// Every message this package describes, by API key: the request and response
// schema of each API. Adding an API = a schema file and one line here.

import { CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DescribeAclsRequest, DescribeAclsResponse } from './acls.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './api-versions.js';
import {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from './cluster.js';
import { AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest, DescribeClientQuotasResponse } from './client-quotas.js';
import { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from './consumer-group.js';
import {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from './classic-groups.js';
import { DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from './configs.js';
import { FetchRequest, FetchResponse } from './fetch.js';
import { DeleteGroupsRequest, DeleteGroupsResponse, ListGroupsRequest, ListGroupsResponse } from './group-admin.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './list-offsets.js';
import { MetadataRequest, MetadataResponse } from './metadata.js';
import { OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest, OffsetFetchResponse } from './offsets.js';
import { ProduceRequest, ProduceResponse } from './produce.js';
import { InitProducerIdRequest, InitProducerIdResponse } from './producer.js';
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from './scram-credentials.js';
import { SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse } from './sasl.js';
import {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from './topics.js';
import type { MessageInput, MessageSchema, MessageValue } from '../schema/types.js';

export const MESSAGES = {
  0: { request: ProduceRequest, response: ProduceResponse },
  1: { request: FetchRequest, response: FetchResponse },
  2: { request: ListOffsetsRequest, response: ListOffsetsResponse },
  3: { request: MetadataRequest, response: MetadataResponse },
  8: { request: OffsetCommitRequest, response: OffsetCommitResponse },
  9: { request: OffsetFetchRequest, response: OffsetFetchResponse },
  10: { request: FindCoordinatorRequest, response: FindCoordinatorResponse },
  16: { request: ListGroupsRequest, response: ListGroupsResponse },
  11: { request: JoinGroupRequest, response: JoinGroupResponse },
  12: { request: HeartbeatRequest, response: HeartbeatResponse },
  13: { request: LeaveGroupRequest, response: LeaveGroupResponse },
  14: { request: SyncGroupRequest, response: SyncGroupResponse },
  15: { request: DescribeGroupsRequest, response: DescribeGroupsResponse },
  17: { request: SaslHandshakeRequest, response: SaslHandshakeResponse },
  18: { request: ApiVersionsRequest, response: ApiVersionsResponse },
  19: { request: CreateTopicsRequest, response: CreateTopicsResponse },
  20: { request: DeleteTopicsRequest, response: DeleteTopicsResponse },
  21: { request: DeleteRecordsRequest, response: DeleteRecordsResponse },
  22: { request: InitProducerIdRequest, response: InitProducerIdResponse },
  23: { request: OffsetForLeaderEpochRequest, response: OffsetForLeaderEpochResponse },
  29: { request: DescribeAclsRequest, response: DescribeAclsResponse },
  30: { request: CreateAclsRequest, response: CreateAclsResponse },
  31: { request: DeleteAclsRequest, response: DeleteAclsResponse },
  32: { request: DescribeConfigsRequest, response: DescribeConfigsResponse },
  36: { request: SaslAuthenticateRequest, response: SaslAuthenticateResponse },
  37: { request: CreatePartitionsRequest, response: CreatePartitionsResponse },
  42: { request: DeleteGroupsRequest, response: DeleteGroupsResponse },
  44: { request: IncrementalAlterConfigsRequest, response: IncrementalAlterConfigsResponse },
  47: { request: OffsetDeleteRequest, response: OffsetDeleteResponse },
  48: { request: DescribeClientQuotasRequest, response: DescribeClientQuotasResponse },
  49: { request: AlterClientQuotasRequest, response: AlterClientQuotasResponse },
  50: { request: DescribeUserScramCredentialsRequest, response: DescribeUserScramCredentialsResponse },
  51: { request: AlterUserScramCredentialsRequest, response: AlterUserScramCredentialsResponse },
  60: { request: DescribeClusterRequest, response: DescribeClusterResponse },
  68: { request: ConsumerGroupHeartbeatRequest, response: ConsumerGroupHeartbeatResponse },
  69: { request: ConsumerGroupDescribeRequest, response: ConsumerGroupDescribeResponse },
} as const satisfies Record<number, { request: MessageSchema; response: MessageSchema }>;

/** An API key this package has schemas for. */
export type KnownApiKey = keyof typeof MESSAGES;

export type RequestBody<K extends KnownApiKey> = MessageValue<(typeof MESSAGES)[K]['request']>;
export type RequestInput<K extends KnownApiKey> = MessageInput<(typeof MESSAGES)[K]['request']>;
export type ResponseBody<K extends KnownApiKey> = MessageValue<(typeof MESSAGES)[K]['response']>;
export type ResponseInput<K extends KnownApiKey> = MessageInput<(typeof MESSAGES)[K]['response']>;

export function isKnownApiKey(apiKey: number): apiKey is KnownApiKey {
  return Object.prototype.hasOwnProperty.call(MESSAGES, apiKey);
}

export {
  ApiVersionsRequest,
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  ApiVersionsResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
  SyncGroupRequest,
  SyncGroupResponse,
  FetchRequest,
  FetchResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  ProduceRequest,
  ProduceResponse,
};
