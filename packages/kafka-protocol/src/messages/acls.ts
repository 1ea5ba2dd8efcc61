// ACL administration: DescribeAcls (29), CreateAcls (30), DeleteAcls (31), after Kafka's
// DescribeAclsRequest.json, CreateAclsRequest.json, DeleteAclsRequest.json (and their responses).
// v1 adds the resource pattern type (default 3: literal); v2 is flexible; v3 only adds the user
// resource type (Strata has no user resources: refused as an unknown type). The int8 codes of
// resource types, pattern types, operations and permissions are acl-codes.ts'.

import type { MessageSchema } from '../schema/types.js';

const FILTER_FIELDS = [
  { name: 'resourceTypeFilter', type: 'int8', versions: '0+' },
  { name: 'resourceNameFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'patternTypeFilter', type: 'int8', versions: '1+', default: 3 },
  { name: 'principalFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'hostFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'operation', type: 'int8', versions: '0+' },
  { name: 'permissionType', type: 'int8', versions: '0+' },
] as const;

export const DescribeAclsRequest = {
  name: 'DescribeAclsRequest',
  apiKey: 29,
  kind: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: FILTER_FIELDS,
} as const satisfies MessageSchema;

export const DescribeAclsResponse = {
  name: 'DescribeAclsResponse',
  apiKey: 29,
  kind: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    {
      name: 'resources',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'resourceType', type: 'int8', versions: '0+' },
        { name: 'resourceName', type: 'string', versions: '0+' },
        { name: 'patternType', type: 'int8', versions: '1+', default: 3 },
        {
          name: 'acls',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'principal', type: 'string', versions: '0+' },
            { name: 'host', type: 'string', versions: '0+' },
            { name: 'operation', type: 'int8', versions: '0+' },
            { name: 'permissionType', type: 'int8', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const CreateAclsRequest = {
  name: 'CreateAclsRequest',
  apiKey: 30,
  kind: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'creations',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'resourceType', type: 'int8', versions: '0+' },
        { name: 'resourceName', type: 'string', versions: '0+' },
        { name: 'resourcePatternType', type: 'int8', versions: '1+', default: 3 },
        { name: 'principal', type: 'string', versions: '0+' },
        { name: 'host', type: 'string', versions: '0+' },
        { name: 'operation', type: 'int8', versions: '0+' },
        { name: 'permissionType', type: 'int8', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const CreateAclsResponse = {
  name: 'CreateAclsResponse',
  apiKey: 30,
  kind: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const DeleteAclsRequest = {
  name: 'DeleteAclsRequest',
  apiKey: 31,
  kind: 'request',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [{ name: 'filters', type: '[]struct', versions: '0+', fields: FILTER_FIELDS }],
} as const satisfies MessageSchema;

export const DeleteAclsResponse = {
  name: 'DeleteAclsResponse',
  apiKey: 31,
  kind: 'response',
  validVersions: '0-3',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'filterResults',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
        {
          name: 'matchingAcls',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
            { name: 'resourceType', type: 'int8', versions: '0+' },
            { name: 'resourceName', type: 'string', versions: '0+' },
            { name: 'patternType', type: 'int8', versions: '1+', default: 3 },
            { name: 'principal', type: 'string', versions: '0+' },
            { name: 'host', type: 'string', versions: '0+' },
            { name: 'operation', type: 'int8', versions: '0+' },
            { name: 'permissionType', type: 'int8', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageSchema;
