// SCRAM credentials (KIP-554): DescribeUserScramCredentials (50) and AlterUserScramCredentials (51),
// v0 only (all Kafka defines), flexible from v0. A mechanism travels as an int8 (ScramMechanismCode).
// Describe: users null (or empty) = every user that has a credential. Alter: an upsertion carries
// the salt and the salted password (PBKDF2 over the password) computed by the client, never the
// password; the answer has one result per user named.

import type { MessageSchema } from '../schema/types.js';

/** Kafka's ScramMechanism.type(): 0 is UNKNOWN. */
export const ScramMechanismCode = { UNKNOWN: 0, SCRAM_SHA_256: 1, SCRAM_SHA_512: 2 } as const;

export const DescribeUserScramCredentialsRequest = {
  name: 'DescribeUserScramCredentialsRequest',
  apiKey: 50,
  kind: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    {
      name: 'users',
      type: '[]struct',
      versions: '0+',
      nullableVersions: '0+',
      fields: [{ name: 'name', type: 'string', versions: '0+' }],
    },
  ],
} as const satisfies MessageSchema;

export const DescribeUserScramCredentialsResponse = {
  name: 'DescribeUserScramCredentialsResponse',
  apiKey: 50,
  kind: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'user', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
        {
          name: 'credentialInfos',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'mechanism', type: 'int8', versions: '0+' },
            { name: 'iterations', type: 'int32', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const AlterUserScramCredentialsRequest = {
  name: 'AlterUserScramCredentialsRequest',
  apiKey: 51,
  kind: 'request',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    {
      name: 'deletions',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'mechanism', type: 'int8', versions: '0+' },
      ],
    },
    {
      name: 'upsertions',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'mechanism', type: 'int8', versions: '0+' },
        { name: 'iterations', type: 'int32', versions: '0+' },
        { name: 'salt', type: 'bytes', versions: '0+' },
        { name: 'saltedPassword', type: 'bytes', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageSchema;

export const AlterUserScramCredentialsResponse = {
  name: 'AlterUserScramCredentialsResponse',
  apiKey: 51,
  kind: 'response',
  validVersions: '0',
  flexibleVersions: '0+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'user', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
      ],
    },
  ],
} as const satisfies MessageSchema;
