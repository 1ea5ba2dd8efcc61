// Client quotas (KIP-546): DescribeClientQuotas (48) and AlterClientQuotas (49), v0-1 (v1 is
// flexible). An entity is a list of (entity type, name) with a null name for the type's default;
// the types are "user", "client-id" and "ip"; values are float64.
// Describe filters: match type 0 = exact name, 1 = the default, 2 = any name given.

import type { MessageSchema } from '../schema/types.js';

export const ClientQuotaMatchType = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;

const entityFields = [
  { name: 'entityType', type: 'string', versions: '0+' },
  { name: 'entityName', type: 'string', versions: '0+', nullableVersions: '0+' },
] as const;

export const DescribeClientQuotasRequest = {
  name: 'DescribeClientQuotasRequest',
  apiKey: 48,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    {
      name: 'components',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'entityType', type: 'string', versions: '0+' },
        { name: 'matchType', type: 'int8', versions: '0+' },
        { name: 'match', type: 'string', versions: '0+', nullableVersions: '0+' },
      ],
    },
    { name: 'strict', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageSchema;

export const DescribeClientQuotasResponse = {
  name: 'DescribeClientQuotasResponse',
  apiKey: 48,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    {
      name: 'entries',
      type: '[]struct',
      versions: '0+',
      nullableVersions: '0+',
      fields: [
        { name: 'entity', type: '[]struct', versions: '0+', fields: entityFields },
        {
          name: 'values',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'key', type: 'string', versions: '0+' },
            { name: 'value', type: 'float64', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const AlterClientQuotasRequest = {
  name: 'AlterClientQuotasRequest',
  apiKey: 49,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    {
      name: 'entries',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'entity', type: '[]struct', versions: '0+', fields: entityFields },
        {
          name: 'ops',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'key', type: 'string', versions: '0+' },
            { name: 'value', type: 'float64', versions: '0+' },
            { name: 'remove', type: 'bool', versions: '0+' },
          ],
        },
      ],
    },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
} as const satisfies MessageSchema;

export const AlterClientQuotasResponse = {
  name: 'AlterClientQuotasResponse',
  apiKey: 49,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'entries',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
        { name: 'entity', type: '[]struct', versions: '0+', fields: entityFields },
      ],
    },
  ],
} as const satisfies MessageSchema;
