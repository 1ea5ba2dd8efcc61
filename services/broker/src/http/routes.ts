// Every route the broker serves: one table, used by the router and checked
// against the OpenAPI document by the tests.

import type { RouteSpec } from './router.js';

export const ROUTES = [
  { id: 'listTopics', method: 'GET', path: '/v1/topics' },
  { id: 'createTopic', method: 'POST', path: '/v1/topics' },
  { id: 'describeTopic', method: 'GET', path: '/v1/topics/{topic}' },
  { id: 'deleteTopic', method: 'DELETE', path: '/v1/topics/{topic}' },
  { id: 'updateTopicConfigs', method: 'PATCH', path: '/v1/topics/{topic}/configs' },
  { id: 'produceRecords', method: 'POST', path: '/v1/topics/{topic}/records' },
  { id: 'produceBatches', method: 'POST', path: '/v1/topics/{topic}/partitions/{partition}/batches' },
  { id: 'fetchRecords', method: 'GET', path: '/v1/topics/{topic}/partitions/{partition}/records' },
  { id: 'fetchBatches', method: 'GET', path: '/v1/topics/{topic}/partitions/{partition}/batches' },
  { id: 'listOffsets', method: 'GET', path: '/v1/topics/{topic}/partitions/{partition}/offsets' },
  { id: 'listGroups', method: 'GET', path: '/v1/groups' },
  { id: 'describeGroup', method: 'GET', path: '/v1/groups/{group}' },
  { id: 'deleteGroup', method: 'DELETE', path: '/v1/groups/{group}' },
  { id: 'joinGroup', method: 'POST', path: '/v1/groups/{group}/members' },
  { id: 'groupHeartbeat', method: 'POST', path: '/v1/groups/{group}/members/{member}/heartbeat' },
  { id: 'leaveGroup', method: 'DELETE', path: '/v1/groups/{group}/members/{member}' },
  { id: 'commitGroupOffsets', method: 'POST', path: '/v1/groups/{group}/offsets' },
  { id: 'fetchGroupOffsets', method: 'GET', path: '/v1/groups/{group}/offsets' },
  { id: 'resetGroupOffsets', method: 'POST', path: '/v1/groups/{group}/offsets/reset' },
  { id: 'describeCluster', method: 'GET', path: '/v1/cluster' },
  { id: 'openapi', method: 'GET', path: '/v1/openapi.json', operational: true },
  { id: 'metrics', method: 'GET', path: '/metrics', operational: true },
  { id: 'healthz', method: 'GET', path: '/healthz', operational: true },
  { id: 'readyz', method: 'GET', path: '/readyz', operational: true },
] as const satisfies readonly RouteSpec[];

export type RouteId = (typeof ROUTES)[number]['id'];
