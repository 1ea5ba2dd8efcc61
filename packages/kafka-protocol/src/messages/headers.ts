// Request header v0-v2 and response header v0-v1 (RequestHeader.json,
// ResponseHeader.json). v2/v1 are the flexible ones (a tagged-field section);
// the client id stays a non-compact nullable string even in v2, as in Kafka.

import type { MessageSchema } from '../schema/types.js';

export const RequestHeader = {
  name: 'RequestHeader',
  apiKey: -1,
  kind: 'header',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'requestApiKey', type: 'int16', versions: '0+' },
    { name: 'requestApiVersion', type: 'int16', versions: '0+' },
    { name: 'correlationId', type: 'int32', versions: '0+' },
    { name: 'clientId', type: 'string', versions: '1+', nullableVersions: '1+', ignorable: true, flexibleVersions: 'none', default: '' },
  ],
} as const satisfies MessageSchema;

export const ResponseHeader = {
  name: 'ResponseHeader',
  apiKey: -1,
  kind: 'header',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [{ name: 'correlationId', type: 'int32', versions: '0+' }],
} as const satisfies MessageSchema;
