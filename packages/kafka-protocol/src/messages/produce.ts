// Produce (key 0): ProduceRequest.json / ProduceResponse.json.
// v3 adds the transactional id and RecordBatch v2 (Strata takes nothing older);
// v5 the log start offset; v7 zstd; v8 per-record errors; v9 is flexible; v10
// adds the current leader and node endpoints (KIP-951: a client moves to a new
// leader without a Metadata round trip); v11 and v12 are v10 with newer
// transaction semantics on the client (KIP-890). v13 (topic ids instead of names)
// is not described here.

import type { MessageSchema } from '../schema/types.js';

export const ProduceRequest = {
  name: 'ProduceRequest',
  apiKey: 0,
  kind: 'request',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'acks', type: 'int16', versions: '0+' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    {
      name: 'topicData',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitionData',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'index', type: 'int32', versions: '0+' },
            { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const ProduceResponse = {
  name: 'ProduceResponse',
  apiKey: 0,
  kind: 'response',
  validVersions: '0-12',
  flexibleVersions: '9+',
  fields: [
    {
      name: 'responses',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitionResponses',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'index', type: 'int32', versions: '0+' },
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'baseOffset', type: 'int64', versions: '0+' },
            { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1, ignorable: true },
            { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1, ignorable: true },
            {
              name: 'recordErrors',
              type: '[]struct',
              versions: '8+',
              ignorable: true,
              fields: [
                { name: 'batchIndex', type: 'int32', versions: '8+' },
                { name: 'batchIndexErrorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
              ],
            },
            { name: 'errorMessage', type: 'string', versions: '8+', nullableVersions: '8+', default: null, ignorable: true },
            {
              name: 'currentLeader',
              type: 'struct',
              versions: '10+',
              taggedVersions: '10+',
              tag: 0,
              ignorable: true,
              fields: [
                { name: 'leaderId', type: 'int32', versions: '10+', default: -1 },
                { name: 'leaderEpoch', type: 'int32', versions: '10+', default: -1 },
              ],
            },
          ],
        },
      ],
    },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', ignorable: true, default: 0 },
    {
      name: 'nodeEndpoints',
      type: '[]struct',
      versions: '10+',
      taggedVersions: '10+',
      tag: 0,
      ignorable: true,
      fields: [
        { name: 'nodeId', type: 'int32', versions: '10+' },
        { name: 'host', type: 'string', versions: '10+' },
        { name: 'port', type: 'int32', versions: '10+' },
        { name: 'rack', type: 'string', versions: '10+', nullableVersions: '10+', default: null, ignorable: true },
      ],
    },
  ],
} as const satisfies MessageSchema;
