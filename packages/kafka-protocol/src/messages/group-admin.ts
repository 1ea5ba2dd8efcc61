// Group administration: ListGroups (16) and DeleteGroups (42).
// ListGroups: v1 adds the throttle time; v3 is flexible; v4 filters by state (KIP-518) and
// answers each group's state; v5 filters by type and answers it (KIP-848: "classic" or
// "consumer"). DeleteGroups: v2 is flexible; v3 answers an error message per group.

import type { MessageSchema } from '../schema/types.js';

export const ListGroupsRequest = {
  name: 'ListGroupsRequest',
  apiKey: 16,
  kind: 'request',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'statesFilter', type: '[]string', versions: '4+' },
    { name: 'typesFilter', type: '[]string', versions: '5+' },
  ],
} as const satisfies MessageSchema;

export const ListGroupsResponse = {
  name: 'ListGroupsResponse',
  apiKey: 16,
  kind: 'response',
  validVersions: '0-5',
  flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true, default: 0 },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    {
      name: 'groups',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'groupId', type: 'string', versions: '0+' },
        { name: 'protocolType', type: 'string', versions: '0+' },
        { name: 'groupState', type: 'string', versions: '4+', ignorable: true, default: '' },
        { name: 'groupType', type: 'string', versions: '5+', ignorable: true, default: '' },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const DeleteGroupsRequest = {
  name: 'DeleteGroupsRequest',
  apiKey: 42,
  kind: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [{ name: 'groupsNames', type: '[]string', versions: '0+' }],
} as const satisfies MessageSchema;

export const DeleteGroupsResponse = {
  name: 'DeleteGroupsResponse',
  apiKey: 42,
  kind: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+', default: 0 },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'groupId', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '3+', nullableVersions: '3+', ignorable: true, default: null },
      ],
    },
  ],
} as const satisfies MessageSchema;
