// SaslHandshake (17) and SaslAuthenticate (36), described now because they are
// small; the listener answers them with the security issue. SaslHandshake v1
// means the SASL tokens then travel in SaslAuthenticate requests (KIP-152).
// SaslAuthenticate: v1 the session lifetime; v2 is flexible.

import type { MessageSchema } from '../schema/types.js';

export const SaslHandshakeRequest = {
  name: 'SaslHandshakeRequest',
  apiKey: 17,
  kind: 'request',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [{ name: 'mechanism', type: 'string', versions: '0+' }],
} as const satisfies MessageSchema;

export const SaslHandshakeResponse = {
  name: 'SaslHandshakeResponse',
  apiKey: 17,
  kind: 'response',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'mechanisms', type: '[]string', versions: '0+' },
  ],
} as const satisfies MessageSchema;

export const SaslAuthenticateRequest = {
  name: 'SaslAuthenticateRequest',
  apiKey: 36,
  kind: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [{ name: 'authBytes', type: 'bytes', versions: '0+' }],
} as const satisfies MessageSchema;

export const SaslAuthenticateResponse = {
  name: 'SaslAuthenticateResponse',
  apiKey: 36,
  kind: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    { name: 'authBytes', type: 'bytes', versions: '0+' },
    { name: 'sessionLifetimeMs', type: 'int64', versions: '1+', default: 0, ignorable: true },
  ],
} as const satisfies MessageSchema;
